import { failures, type Failure, type RefusalCode } from './failures.js';

/**
 * A refusal: the opcode asks for something the configuration does not allow. Its code
 * is one of the closed list in failures.ts an operator (or a script reading
 * `--output json`) can branch on; its message is one line that says what was wrong and
 * what was expected.
 */
export type DomainErrorCode = RefusalCode;

export class DomainError extends Error {
  override readonly name = 'DomainError';
  constructor(
    readonly code: DomainErrorCode,
    message: string,
  ) {
    super(message);
  }

  /** The failure a job records for this refusal. */
  toFailure(): Failure<DomainErrorCode> {
    return { kind: 'application', code: this.code, message: this.message };
  }
}

const refusal = (f: Failure<DomainErrorCode>): DomainError => new DomainError(f.code, f.message);

export const notFound = (what: string, name: string): DomainError => refusal(failures.notFound(what, name));
export const alreadyExists = (what: string, name: string): DomainError => refusal(failures.alreadyExists(what, name));
export const invalidArgument = (message: string): DomainError => refusal(failures.invalidArgument(message));
export const wrongState = (message: string): DomainError => refusal(failures.wrongState(message));
export const insufficientResources = (message: string): DomainError => refusal(failures.insufficientResources(message));
export const inUse = (message: string): DomainError => refusal(failures.inUse(message));
export const notSupported = (message: string): DomainError => refusal(failures.notSupported(message));
