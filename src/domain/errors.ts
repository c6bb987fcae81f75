/**
 * The domain's failure vocabulary. Every refusal carries a code an operator (or a
 * script reading `--output json`) can branch on, and a one-line message that says
 * what was wrong and what was expected.
 */
export type DomainErrorCode =
  | 'not_found'
  | 'already_exists'
  | 'invalid_argument'
  | 'wrong_state'
  | 'insufficient_resources'
  | 'in_use'
  | 'not_supported';

export class DomainError extends Error {
  override readonly name = 'DomainError';
  constructor(
    readonly code: DomainErrorCode,
    message: string,
  ) {
    super(message);
  }
}

export const notFound = (what: string, name: string): DomainError =>
  new DomainError('not_found', `${what} '${name}' does not exist`);

export const alreadyExists = (what: string, name: string): DomainError =>
  new DomainError('already_exists', `${what} '${name}' already exists`);

export const invalidArgument = (message: string): DomainError =>
  new DomainError('invalid_argument', message);

export const wrongState = (message: string): DomainError => new DomainError('wrong_state', message);
