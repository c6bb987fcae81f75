/** Bad input from the command line: printed as one line, exit status 2, nothing written. */
export class UsageError extends Error {
  override readonly name = 'UsageError';
}
