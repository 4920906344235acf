import { TlsSessionsError } from '../util/errors.js';

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
 * message is one line and never carries keys, values or key material; a backend's error is
 * reduced to its message line, name and code (see {@link TlsSessionsError}), because clients
 * such as ioredis attach the command's arguments (the session bytes) to theirs.
 */
export class SessionStoreError extends TlsSessionsError<SessionStoreErrorCode> {
  override readonly name = 'SessionStoreError';
}

// Moved to src/util/errors.ts; re-exported for the modules that import it from here.
export { messageOf } from '../util/errors.js';
