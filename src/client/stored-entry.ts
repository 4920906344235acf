/**
 * What the client store writes as a value: a small header in front of the session DER, so that
 * handing a session out needs no ASN.1 decoding and no certificate parsing.
 *
 * Layout (big-endian): "TSC" + format version (1) | protocol version u16 | reserved u16 |
 * expiresAtMs f64 (ms since epoch) | peer certificate notAfter f64 (ms, 0 = none) | session DER.
 */
import { bufferView } from '../util/bytes.js';

const MAGIC = [0x54, 0x53, 0x43, 0x01] as const; // "TSC" v1
const HEADER_LENGTH = 24;
/** RFC 8446 §4.6.1: servers must not use a ticket lifetime over 7 days; nothing lives longer. */
export const MAX_SESSION_LIFETIME_S = 604_800;

/** A decoded store value. */
export interface StoredEntry {
  /** The session's `ssl_version`, e.g. 0x0304. */
  readonly protocolVersion: number;
  /** When the session stops being offered, ms since epoch. */
  readonly expiresAtMs: number;
  /** The peer certificate's notAfter, ms since epoch; 0 when the session has none. */
  readonly certNotAfter: number;
  /** The session as OpenSSL serialized it (`i2d_SSL_SESSION`), what `tls.connect` takes. */
  readonly der: Buffer;
}

/** OpenSSL's timeout for a session that has none (d2i_SSL_SESSION). */
const DEFAULT_TIMEOUT_S = 3;

/** The times of a session, in seconds, as encoded (0 = absent). */
export interface SessionTimes {
  time: number;
  timeout: number;
  ticketLifetimeHint: number;
}

/**
 * When a session stops being usable: start time + min(timeout, ticket lifetime hint when
 * non-zero), capped at 7 days, in ms since epoch. An absent start time means `nowMs` and an
 * absent timeout 3 s, as OpenSSL reads them.
 */
export function sessionExpiresAtMs(session: SessionTimes, nowMs: number): number {
  const start = session.time !== 0 ? session.time : Math.floor(nowMs / 1000);
  let lifetime = session.timeout !== 0 ? session.timeout : DEFAULT_TIMEOUT_S;
  if (session.ticketLifetimeHint > 0) lifetime = Math.min(lifetime, session.ticketLifetimeHint);
  lifetime = Math.min(lifetime, MAX_SESSION_LIFETIME_S);
  return (start + lifetime) * 1000;
}

export function encodeEntry(entry: StoredEntry): Buffer {
  const out = Buffer.allocUnsafe(HEADER_LENGTH + entry.der.length);
  out.set(MAGIC, 0);
  out.writeUInt16BE(entry.protocolVersion, 4);
  out.writeUInt16BE(0, 6);
  out.writeDoubleBE(entry.expiresAtMs, 8);
  out.writeDoubleBE(entry.certNotAfter, 16);
  entry.der.copy(out, HEADER_LENGTH);
  return out;
}

/** The entry in `bytes`, or `undefined` when they are not one (a foreign or damaged value). */
export function decodeEntry(bytes: Uint8Array): StoredEntry | undefined {
  if (bytes.length <= HEADER_LENGTH) return undefined;
  for (let i = 0; i < MAGIC.length; i++) if (bytes[i] !== MAGIC[i]) return undefined;
  const b = bufferView(bytes);
  const expiresAtMs = b.readDoubleBE(8);
  const certNotAfter = b.readDoubleBE(16);
  if (!Number.isFinite(expiresAtMs) || !Number.isFinite(certNotAfter)) return undefined;
  // Sessions are DER SEQUENCEs; anything else is not worth handing to OpenSSL.
  if (b[HEADER_LENGTH] !== 0x30) return undefined;
  return { protocolVersion: b.readUInt16BE(4), expiresAtMs, certNotAfter, der: b.subarray(HEADER_LENGTH) };
}
