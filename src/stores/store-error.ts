/** Codes of {@link SessionStoreError}. */
export type SessionStoreErrorCode =
  /** The store was closed; it cannot be used again. */
  | 'ERR_STORE_CLOSED'
  /** The backend (database file, Redis) could not be reached or refused the command. */
  | 'ERR_STORE_UNAVAILABLE'
  /** A sealed value failed authentication, or was sealed under a key this store does not hold. */
  | 'ERR_STORE_UNSEAL'
  /** An optional peer dependency (better-sqlite3, ioredis) is not installed. */
  | 'ERR_STORE_DEPENDENCY'
  /** An option or argument is out of range. */
  | 'ERR_STORE_OPTION';

/**
 * The error every store in this package rejects with (besides `BudgetExceededError`). The
 * message is one line and never carries keys, values or key material: backend errors are
 * reduced to their message, and the original error is not attached, because clients such as
 * ioredis attach the command's arguments (the session bytes) to theirs.
 */
export class SessionStoreError extends Error {
  override readonly name = 'SessionStoreError';
  readonly code: SessionStoreErrorCode;
  constructor(code: SessionStoreErrorCode, message: string) {
    super(message);
    this.code = code;
  }
}

/** The first line of an unknown error's message, without anything attached to the error. */
export function messageOf(err: unknown): string {
  const text = err instanceof Error ? err.message : String(err);
  const line = text.split('\n', 1)[0] ?? '';
  return line.length > 200 ? `${line.slice(0, 200)}…` : line;
}
