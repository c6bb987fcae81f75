import { z } from 'zod';

/**
 * Object names are used as path components and lock names, so they are kept to a
 * safe, DNS-like alphabet.
 */
export const objectName = z
  .string()
  .min(1, 'must not be empty')
  .max(63, 'must be at most 63 characters')
  .regex(/^[A-Za-z0-9][A-Za-z0-9._-]*$/, 'must start with a letter or digit and use only letters, digits, ".", "_" and "-"');

export const tagName = z
  .string()
  .min(1, 'a tag must not be empty')
  .max(128, 'a tag must be at most 128 characters')
  .regex(/^[\w.+*/:@-]+$/, 'a tag uses letters, digits and . + * / : @ - _ only');
