/**
 * The few fields of a serialized session the client store needs to decide whether and how long
 * to keep it, read by walking the DER without decoding the rest.
 *
 * `TlsSession.fromDER` decodes and checks every field; that is the right tool for a session from
 * outside, but sessions here come straight from OpenSSL through Node's `'session'` event, and
 * the store reads them for every ticket of every connection. This walk allocates almost nothing.
 */
import { decodeInteger, readTlv, TAG_INTEGER, TAG_OCTET_STRING, TAG_SEQUENCE, type Tlv } from '../session/der.js';

/** What the store needs of a session. Times in seconds, as OpenSSL keeps them. */
export interface SessionSummary {
  protocolVersion: number;
  /** OpenSSL's SSL_SESSION_is_resumable: a session id or a ticket to offer. */
  resumable: boolean;
  /** Start time; 0 when absent. */
  time: number;
  /** Timeout; 0 when absent. */
  timeout: number;
  ticketLifetimeHint: number;
  /** The peer certificate's DER (a view into the input), if the session has one. */
  peerCertificate: Buffer | undefined;
}

const MAX_I64 = Number.MAX_SAFE_INTEGER;

/** The summary of an `i2d_SSL_SESSION` encoding, or `undefined` when it is not one. */
export function summarizeSession(der: Buffer): SessionSummary | undefined {
  try {
    const seq = readTlv(der, 0, der.length, 'session');
    if (seq.tag !== TAG_SEQUENCE) return undefined;
    let pos = seq.start;
    const next = (): Tlv => {
      const tlv = readTlv(der, pos, seq.end, 'session');
      pos = tlv.end;
      return tlv;
    };
    next(); // version
    const protocolVersion = decodeInteger(der, next(), 'ssl_version', true, 0x7fffffff);
    next(); // cipher
    const sessionId = next();
    if (sessionId.tag !== TAG_OCTET_STRING) return undefined;
    next(); // master key
    const summary: SessionSummary = {
      protocolVersion,
      resumable: sessionId.end > sessionId.start,
      time: 0,
      timeout: 0,
      ticketLifetimeHint: 0,
      peerCertificate: undefined,
    };
    while (pos < seq.end) {
      const field = next();
      // [1] time, [2] timeout, [3] peer, [9] ticket lifetime hint, [10] ticket: EXPLICIT tags.
      if (field.tag < 0xa1 || field.tag > 0xaa) continue;
      const inner = readTlv(der, field.start, field.end, 'session field');
      if (field.tag === 0xa1 && inner.tag === TAG_INTEGER)
        summary.time = decodeInteger(der, inner, 'time', true, MAX_I64);
      else if (field.tag === 0xa2 && inner.tag === TAG_INTEGER)
        summary.timeout = decodeInteger(der, inner, 'timeout', true, MAX_I64);
      else if (field.tag === 0xa3 && inner.tag === TAG_SEQUENCE)
        summary.peerCertificate = der.subarray(inner.header, inner.end);
      else if (field.tag === 0xa9 && inner.tag === TAG_INTEGER) {
        summary.ticketLifetimeHint = decodeInteger(der, inner, 'ticket_lifetime_hint', false, MAX_I64);
      } else if (field.tag === 0xaa && inner.tag === TAG_OCTET_STRING && inner.end > inner.start)
        summary.resumable = true;
    }
    return summary;
  } catch {
    return undefined;
  }
}
