import { TlsSessionsError } from '../util/errors.js';

/** Codes carried by {@link TlsSessionError}; stable, safe to switch on. */
export type TlsSessionErrorCode =
  | 'ERR_SESSION_TRUNCATED'
  | 'ERR_SESSION_MALFORMED'
  | 'ERR_SESSION_TRAILING_DATA'
  | 'ERR_SESSION_VERSION'
  | 'ERR_SESSION_PROTOCOL'
  | 'ERR_SESSION_FIELD'
  | 'ERR_SESSION_INTEGER_RANGE'
  | 'ERR_SESSION_PEM'
  | 'ERR_SESSION_FORMAT'
  | 'ERR_SESSION_IDENTITY'
  | 'ERR_SESSION_PEER_CERT';

/**
 * The one error type the session codec throws. The message is one line, names the problem and
 * where it is, and never contains key material.
 */
export class TlsSessionError extends TlsSessionsError<TlsSessionErrorCode> {
  override readonly name = 'TlsSessionError';
}
