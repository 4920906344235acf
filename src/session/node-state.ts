/**
 * Node's client session state: since Node 22.23 / 24.x (and every 26.x), a client's session
 * (`'session'` event, `getSession()`) is not OpenSSL's DER but DER behind a small header that
 * binds it to the server identity it was authenticated for (Node's lib/_tls_wrap.js,
 * `wrapSessionState` / `unwrapSessionState`):
 *
 * ```
 * "\0nodejs:tls:session:1\0"   22 bytes
 * identity length              uint16, big endian
 * identity                     UTF-8: servername || host || 'localhost'
 * DER                          i2d_SSL_SESSION
 * ```
 *
 * `tls.connect({ session })` unwraps it and ignores, without a word, a session bound to another
 * identity. Server-side sessions (`'newSession'`) are never wrapped. Reading the bytes is this
 * module's job; which Node line wraps is `src/node/`'s.
 */
import { TlsSessionError } from './errors.js';
import { bufferView } from '../util/bytes.js';

/** The header's first bytes, exactly as Node writes them. */
export const NODE_SESSION_PREFIX: Buffer = Buffer.from('\0nodejs:tls:session:1\0', 'latin1');

/** The longest identity a header can carry (its length is a uint16). */
const MAX_IDENTITY_BYTES = 0xffff;

/** A session buffer split into the identity it is bound to (if wrapped) and its DER. */
export interface NodeSessionState {
  /** The server identity a wrapped session is bound to; `undefined` for plain DER. */
  identity: string | undefined;
  /** The DER (a view into the input, not a copy). */
  der: Buffer;
}

/** True when `bytes` start with Node's session-state header. */
export function isNodeSessionState(bytes: Uint8Array): boolean {
  if (bytes.byteLength < NODE_SESSION_PREFIX.length) return false;
  for (let i = 0; i < NODE_SESSION_PREFIX.length; i++) if (bytes[i] !== NODE_SESSION_PREFIX[i]) return false;
  return true;
}

/**
 * Splits a session buffer into its identity and DER. Plain DER (anything without the header) is
 * returned as is with no identity; a header that is cut short is an error, not plain DER.
 */
export function unwrapNodeSession(bytes: Uint8Array): NodeSessionState {
  const buf = bufferView(bytes);
  if (!isNodeSessionState(buf)) return { identity: undefined, der: buf };
  const start = NODE_SESSION_PREFIX.length;
  if (buf.length < start + 2) {
    throw new TlsSessionError('ERR_SESSION_TRUNCATED', 'Node session state: the identity length is cut short');
  }
  const length = buf.readUInt16BE(start);
  const end = start + 2 + length;
  if (buf.length < end) {
    throw new TlsSessionError('ERR_SESSION_TRUNCATED', `Node session state: identity of ${length} bytes is cut short`);
  }
  return { identity: buf.toString('utf8', start + 2, end), der: buf.subarray(end) };
}

/** Wraps DER for `identity` the way Node does, so that Node offers it to that identity only. */
export function wrapNodeSession(der: Uint8Array, identity: string): Buffer {
  const name = Buffer.from(identity, 'utf8');
  if (name.length === 0 || name.length > MAX_IDENTITY_BYTES) {
    throw new TlsSessionError(
      'ERR_SESSION_IDENTITY',
      `Node session state: identity must be 1 to ${MAX_IDENTITY_BYTES} bytes of UTF-8`,
    );
  }
  const out = Buffer.allocUnsafe(NODE_SESSION_PREFIX.length + 2 + name.length + der.byteLength);
  NODE_SESSION_PREFIX.copy(out, 0);
  out.writeUInt16BE(name.length, NODE_SESSION_PREFIX.length);
  name.copy(out, NODE_SESSION_PREFIX.length + 2);
  out.set(der, NODE_SESSION_PREFIX.length + 2 + name.length);
  return out;
}
