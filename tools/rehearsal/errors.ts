/**
 * Raised when the rehearsal cannot run as asked: a cloud assembly that cannot be read, a repo that is
 * not in it, an action type or an intrinsic it does not know. The message names the input and the fix.
 */
export class RehearsalError extends Error {
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'RehearsalError';
  }
}
