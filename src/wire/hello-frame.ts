/**
 * The common shape of a first flight, recognised without parsing: one handshake record that
 * holds a whole ClientHello message. A server that only needs to know that the hello has
 * arrived (and parses it later, if ever) checks this on the first chunk and falls back to
 * {@link ClientHelloReader} for everything else: hellos split over chunks or records, and any
 * input the reader must judge (not TLS, malformed, too large).
 */
import {
  CONTENT_TYPE_HANDSHAKE,
  DEFAULT_MAX_HELLO_BYTES,
  HANDSHAKE_CLIENT_HELLO,
  HANDSHAKE_HEADER_LENGTH,
  MAX_RECORD_PAYLOAD,
  RECORD_HEADER_LENGTH,
} from './constants.js';

const BODY_START = RECORD_HEADER_LENGTH + HANDSHAKE_HEADER_LENGTH;

/**
 * Length of the ClientHello body when `bytes` start with a single handshake record carrying a
 * whole ClientHello message within `maxBytes` (record header and message counted, as
 * {@link ClientHelloReader} counts them); -1 otherwise. The body is
 * `bytes.subarray(9, 9 + length)`. Nothing of the body is checked: a result of -1 says only
 * that this shortcut does not apply.
 */
export function singleRecordHelloLength(bytes: Uint8Array, maxBytes: number = DEFAULT_MAX_HELLO_BYTES): number {
  const n = bytes.length;
  if (n < BODY_START || bytes[0] !== CONTENT_TYPE_HANDSHAKE || bytes[1] !== 3 || bytes[5] !== HANDSHAKE_CLIENT_HELLO) {
    return -1;
  }
  const recordLength = (bytes[3]! << 8) | bytes[4]!;
  const bodyLength = (bytes[6]! << 16) | (bytes[7]! << 8) | bytes[8]!;
  if (
    recordLength > MAX_RECORD_PAYLOAD ||
    HANDSHAKE_HEADER_LENGTH + bodyLength > recordLength ||
    BODY_START + bodyLength > n ||
    BODY_START + bodyLength > maxBytes
  ) {
    return -1;
  }
  return bodyLength;
}
