import { isAbsolute, normalize, relative, resolve, sep } from 'node:path/posix';
import * as E from 'fp-ts/lib/Either.js';
import type { Either } from 'fp-ts/lib/Either.js';
import { DomainError, invalidArgument } from './errors.js';

/**
 * Paths of file-backed disks. Every component comes from a name an operator typed, so
 * each is checked on its own and the result must stay inside the storage directory:
 * no separator, no `..`, no NUL, nothing that resolves elsewhere.
 */
const unsafeComponent = (component: string): string | undefined => {
  if (component === '') return 'is empty';
  if (component.includes('/')) return "contains '/'";
  if (component.includes('\0')) return 'contains a NUL byte';
  if (component === '.' || component === '..') return `is '${component}'`;
  return undefined;
};

export const isInside = (dir: string, path: string): boolean => {
  const rel = relative(resolve(dir), resolve(path));
  return rel !== '' && !rel.startsWith('..') && !isAbsolute(rel);
};

/** `DIR/INSTANCE/diskN`, or why that name cannot make a safe path. */
export const fileDiskPath = (dir: string, instanceName: string, diskIndex: number): Either<DomainError, string> => {
  if (!isAbsolute(dir)) return E.left(invalidArgument(`storage directory '${dir}' must be an absolute path`));
  const problem = unsafeComponent(instanceName);
  if (problem) return E.left(invalidArgument(`instance name '${instanceName.replace(/\0/g, '\\0')}' ${problem}; it cannot name a disk file`));
  if (!Number.isInteger(diskIndex) || diskIndex < 0) return E.left(invalidArgument(`disk index ${diskIndex} must be a whole number, 0 or more`));
  const path = normalize(`${dir}${sep}${instanceName}${sep}disk${diskIndex}`);
  return isInside(dir, path) ? E.right(path) : E.left(invalidArgument(`disk path '${path}' would leave '${dir}'`));
};
