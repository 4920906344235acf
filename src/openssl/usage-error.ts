import { TlsSessionsError } from '../util/errors.js';

/** Codes of {@link OpenSSLUsageError}: programming errors that are undefined behaviour in C. */
export type OpenSSLUsageErrorCode =
  /** A freed SSL_SESSION, SSL or SSL_CTX was used, or a borrowed session after its connection let go of it. */
  | 'ERR_OPENSSL_USE_AFTER_FREE'
  /** A free past the last reference. */
  | 'ERR_OPENSSL_DOUBLE_FREE'
  /** SSL_SESSION_free on a pointer from SSL_get0_session / SSL_get_session, which holds no reference. */
  | 'ERR_OPENSSL_FREE_BORROWED'
  /** Not a handle of the expected type (e.g. a plain object where an SSL_SESSION is expected). */
  | 'ERR_OPENSSL_BAD_HANDLE'
  /** A call that cannot happen in the object's state (e.g. SSL_connect while a handshake runs). */
  | 'ERR_OPENSSL_BAD_STATE';

/**
 * Thrown (never queued) for misuse that C leaves undefined: use after free, double free, freeing a
 * borrowed pointer, a wrong handle type. These are bugs in the calling code, not runtime failures,
 * so they do not go through the error queue. The message is one line and names the function.
 */
export class OpenSSLUsageError extends TlsSessionsError<OpenSSLUsageErrorCode> {
  override readonly name = 'OpenSSLUsageError';
}
