import { TlsSessionsError } from '../util/errors.js';

/** Codes carried by {@link ClientHelloError}; stable, safe to switch on. */
export type ClientHelloErrorCode =
  /** The first bytes are not a TLS handshake record (plain text, HTTP, another protocol). */
  | 'ERR_NOT_TLS'
  /** An SSL 2.0-compatible ClientHello (RFC 5246 Appendix E.2); only ancient clients send it. */
  | 'ERR_SSLV2_HELLO'
  /** The input or the stream ended before the ClientHello was complete. */
  | 'ERR_HELLO_TRUNCATED'
  /** A record or a length field is inconsistent with the TLS grammar (RFC 8446 §4.1.2, §5.1). */
  | 'ERR_HELLO_MALFORMED'
  /** The ClientHello, with its record headers, exceeds the configured byte limit. */
  | 'ERR_HELLO_TOO_LARGE'
  /** The peer did not send a complete ClientHello in time. */
  | 'ERR_HELLO_TIMEOUT'
  /** The socket closed (or was already closed or ended) before the ClientHello was complete. */
  | 'ERR_SOCKET_CLOSED'
  /** The socket emitted an error while the ClientHello was being read; see `cause`. */
  | 'ERR_SOCKET_ERROR'
  /** The socket cannot be read byte-exactly (a string encoding is set on it). */
  | 'ERR_SOCKET_STATE';

/**
 * The one error type of the wire layer. The message is one line and names the problem and where
 * it is (offsets, lengths, extension types), never the content of the bytes.
 */
export class ClientHelloError extends TlsSessionsError<ClientHelloErrorCode> {
  override readonly name = 'ClientHelloError';
  /**
   * Where the problem was found, when known: an offset into the handshake message body for
   * parse errors, or into the byte stream for record errors.
   */
  readonly offset: number | undefined;

  constructor(code: ClientHelloErrorCode, message: string, options?: { offset?: number; cause?: unknown }) {
    super(code, message, options?.cause === undefined ? undefined : { cause: options.cause });
    this.offset = options?.offset;
  }
}
