import { TlsSessionsError } from '../util/errors.js';

/** Codes carried by {@link ProbeError}; stable, safe to switch on. */
export type ProbeErrorCode =
  /** HOST[:PORT] or an option is malformed. */
  | 'ERR_PROBE_TARGET'
  /** TCP connection failed: refused, unreachable, unknown host. */
  | 'ERR_PROBE_CONNECT'
  /** No answer within the time limit. */
  | 'ERR_PROBE_TIMEOUT'
  /** The server's certificate was not accepted. */
  | 'ERR_PROBE_CERTIFICATE'
  /** The TLS handshake failed for another reason. */
  | 'ERR_PROBE_HANDSHAKE'
  /** The server completed no handshake with any of the versions probed. */
  | 'ERR_PROBE_NO_PROTOCOL';

/** The one error type the probe throws. The message is one line and never holds key material. */
export class ProbeError extends TlsSessionsError<ProbeErrorCode> {
  override readonly name = 'ProbeError';
}
