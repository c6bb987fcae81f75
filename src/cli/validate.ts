import type { z } from 'zod';
import { quote } from './text.js';
import { UsageError } from './usage-error.js';

type RawIssue = Parameters<z.core.$ZodErrorMap>[0];

const sizeWords = (origin: string, what: 'least' | 'most', bound: number | bigint): string =>
  origin === 'string' ? `must be at ${what} ${bound} characters` : `must name at ${what} ${bound}`;

/**
 * What a schema says when its author gave no message: zod's own wording ("Too small:
 * expected number to be >0") is not ours. A message the schema gives wins over this one.
 */
const inOurWords = (issue: RawIssue): string => {
  switch (issue.code) {
    case 'invalid_type':
      if (issue.input === undefined) return 'is required';
      return ({ int: 'must be a whole number', number: 'must be a number', string: 'must be text', boolean: 'must be yes or no', array: 'must be a list' } as Record<string, string>)[issue.expected] ?? `must be a ${issue.expected}`;
    case 'too_small':
      if (issue.origin === 'number' || issue.origin === 'int') {
        if (Number(issue.minimum) === 0) return issue.inclusive ? 'must not be negative' : 'must be positive';
        return issue.inclusive ? `must be ${issue.minimum} or more` : `must be more than ${issue.minimum}`;
      }
      return Number(issue.minimum) === 1 ? (issue.origin === 'string' ? 'must not be empty' : 'must name at least one') : sizeWords(issue.origin, 'least', issue.minimum);
    case 'too_big':
      if (issue.origin === 'number' || issue.origin === 'int') return issue.inclusive ? `must be ${issue.maximum} or less` : `must be less than ${issue.maximum}`;
      return sizeWords(issue.origin, 'most', issue.maximum);
    case 'invalid_value':
      return `expected one of ${issue.values.map(String).join(', ')}`;
    case 'invalid_key':
    case 'invalid_element':
      return issue.issues[0]?.message ?? 'is not a valid name';
    case 'not_multiple_of':
      return `must be a multiple of ${issue.divisor}`;
    case 'unrecognized_keys':
      return `does not take ${issue.keys.join(', ')}`;
    default:
      return 'is not valid';
  }
};

const at = (value: unknown, path: readonly PropertyKey[]): unknown =>
  path.reduce<unknown>((v, key) => (typeof v === 'object' && v !== null ? (v as Record<PropertyKey, unknown>)[key] : undefined), value);

const shown = (value: unknown): string | undefined => {
  if (typeof value === 'string') return quote(value);
  if (typeof value === 'number' || typeof value === 'boolean') return quote(String(value));
  if (Array.isArray(value) && value.every((v) => typeof v !== 'object')) return quote(value.join(','));
  return undefined; // an object: the flag's name says enough
};

/**
 * Validates a built opcode with its schema; the first problem becomes one line naming
 * what the operator typed (`flags` maps an opcode field to its flag or argument).
 */
export const validated = <S extends z.ZodType>(command: string, schema: S, value: unknown, flags: Record<string, string> = {}): z.output<S> => {
  const result = schema.safeParse(value, { error: inOurWords });
  if (result.success) return result.data;
  const issue = result.error.issues[0]!;
  const path = issue.path.map(String);
  const prefixes = path.map((_, i) => path.slice(0, path.length - i).join('.'));
  const where = prefixes.map((p) => flags[p]).find((f) => f !== undefined) ?? (path.length > 0 ? path.join('.') : 'arguments');
  const received = issue.code === 'invalid_key' ? path.at(-1) : at(value, issue.path);
  if (received === undefined) throw new UsageError(`${command}: ${where} ${issue.code === 'invalid_type' ? 'is required' : issue.message}`);
  const text = shown(received);
  throw new UsageError(`${command}: ${where}${text === undefined ? '' : ` ${text}`}: ${issue.message}`);
};
