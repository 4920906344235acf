/**
 * The value the cache keeps in a {@link SessionStore} for one session: a small header with what
 * the handshake path must check before resuming (protocol, server name, lifetime), then the
 * session's DER exactly as OpenSSL produced it. Reading the header needs no DER decoding.
 *
 * Layout (big-endian):
 * ```
 * 0      1 byte   magic 0x53 ('S')
 * 1      1 byte   format 1
 * 2      1 byte   flags: 0x01 TLS 1.3, 0x02 server name unknown
 * 3      8 bytes  created, ms since the epoch (float64)
 * 11     8 bytes  expires, ms since the epoch (float64)
 * 19     1 byte   server name length n (0 = no SNI)
 * 20     n bytes  server name, lower case, Latin-1
 * 20+n   ...      session DER (i2d_SSL_SESSION)
 * ```
 */
import { ServerSessionCacheError } from './errors.js';
import { bufferView } from '../util/bytes.js';

const MAGIC = 0x53;
const FORMAT = 1;
const FLAG_TLS13 = 0x01;
const FLAG_SNI_UNKNOWN = 0x02;
const HEADER = 20;

/** A decoded store value. `der` is a view into the value. */
export interface SessionRecord {
  tls13: boolean;
  /** SNI of the handshake that made the session (lower case, `''` without SNI), `undefined` when unknown. */
  serverName: string | undefined;
  createdMs: number;
  expiresMs: number;
  der: Uint8Array;
}

/** Encodes a record; server names longer than 255 bytes (invalid DNS names) are stored as unknown. */
export function encodeRecord(r: SessionRecord): Buffer {
  const name = r.serverName;
  const known = name !== undefined && name.length <= 255;
  const n = known ? name.length : 0;
  const out = Buffer.allocUnsafe(HEADER + n + r.der.length);
  out[0] = MAGIC;
  out[1] = FORMAT;
  out[2] = (r.tls13 ? FLAG_TLS13 : 0) | (known ? 0 : FLAG_SNI_UNKNOWN);
  out.writeDoubleBE(r.createdMs, 3);
  out.writeDoubleBE(r.expiresMs, 11);
  out[19] = n;
  if (n > 0) out.write(name!, HEADER, n, 'latin1');
  out.set(r.der, HEADER + n);
  return out;
}

/** Decodes a record; throws `ERR_CACHE_RECORD` when `value` is not one. */
export function decodeRecord(value: Uint8Array): SessionRecord {
  const b = bufferView(value);
  if (b.length < HEADER + 2 || b[0] !== MAGIC || b[1] !== FORMAT) {
    throw new ServerSessionCacheError('ERR_CACHE_RECORD', `stored value of ${b.length} bytes is not a session record`);
  }
  const flags = b[2]!;
  const n = b[19]!;
  if (HEADER + n + 2 > b.length || b[HEADER + n] !== 0x30) {
    throw new ServerSessionCacheError('ERR_CACHE_RECORD', `stored session record of ${b.length} bytes is truncated`);
  }
  return {
    tls13: (flags & FLAG_TLS13) !== 0,
    serverName: (flags & FLAG_SNI_UNKNOWN) !== 0 ? undefined : b.toString('latin1', HEADER, HEADER + n),
    createdMs: b.readDoubleBE(3),
    expiresMs: b.readDoubleBE(11),
    der: b.subarray(HEADER + n),
  };
}

/**
 * The protocol version of a DER session (`ssl_version`, the second INTEGER of the SEQUENCE),
 * read without decoding the rest; `undefined` when the bytes do not start like a session.
 */
export function derProtocolVersion(der: Uint8Array): number | undefined {
  if (der.length < 8 || der[0] !== 0x30) return undefined;
  let i = 1;
  const len0 = der[i]!;
  // Definite length: short form, or long form with 1 to 3 length bytes.
  i += len0 < 0x80 ? 1 : 1 + (len0 & 0x7f);
  if (len0 >= 0x80 && ((len0 & 0x7f) === 0 || (len0 & 0x7f) > 3)) return undefined;
  // version INTEGER 1
  if (der[i] !== 0x02 || der[i + 1] !== 0x01 || der[i + 2] !== 0x01) return undefined;
  i += 3;
  if (der[i] !== 0x02) return undefined;
  const n = der[i + 1]!;
  if (n < 1 || n > 3 || i + 2 + n > der.length) return undefined;
  let v = 0;
  for (let k = 0; k < n; k++) v = v * 256 + der[i + 2 + k]!;
  return v;
}
