import { TlsSessionError } from './errors.js';

// A minimal, strict DER reader and writer: just what i2d_SSL_SESSION output needs (single-byte
// tags, definite minimal lengths, INTEGER and OCTET STRING). Hand-written because the codec sits
// on the handshake path of the server cache and must stay dependency-free; asn1js is about 100
// times slower on the same input (bench/session-decode.ts).

export const TAG_INTEGER = 0x02;
export const TAG_OCTET_STRING = 0x04;
export const TAG_SEQUENCE = 0x30;

/** A TLV located inside a buffer: content is `buf[start, end)`. */
export interface Tlv {
  tag: number;
  /** Offset of the tag byte. */
  header: number;
  start: number;
  end: number;
}

/** Reads the TLV at `pos`, which must end at or before `limit`. */
export function readTlv(buf: Uint8Array, pos: number, limit: number, what: string): Tlv {
  if (pos + 2 > limit) throw truncated(what, pos);
  const tag = buf[pos]!;
  if ((tag & 0x1f) === 0x1f) {
    throw new TlsSessionError('ERR_SESSION_MALFORMED', `${what}: multi-byte tag at offset ${pos}`);
  }
  let len = buf[pos + 1]!;
  let start = pos + 2;
  if (len & 0x80) {
    const n = len & 0x7f;
    if (n === 0) {
      throw new TlsSessionError('ERR_SESSION_MALFORMED', `${what}: indefinite length at offset ${pos}`);
    }
    if (n > 4) {
      throw new TlsSessionError('ERR_SESSION_MALFORMED', `${what}: length of ${n} bytes at offset ${pos}`);
    }
    if (start + n > limit) throw truncated(what, pos);
    len = 0;
    for (let i = 0; i < n; i++) len = len * 256 + buf[start + i]!;
    // DER: the shortest length form, no leading zero byte.
    if (len < 0x80 || buf[start] === 0) {
      throw new TlsSessionError('ERR_SESSION_MALFORMED', `${what}: non-minimal length at offset ${pos}`);
    }
    start += n;
  }
  const end = start + len;
  if (end > limit) throw truncated(what, pos);
  return { tag, header: pos, start, end };
}

function truncated(what: string, pos: number): TlsSessionError {
  return new TlsSessionError('ERR_SESSION_TRUNCATED', `${what}: data ends inside the element at offset ${pos}`);
}

/**
 * Decodes a DER INTEGER's content as a JavaScript number. `signed` false rejects negative
 * values (OpenSSL's UINT32/UINT64 templates do the same); values beyond `max` are rejected.
 */
export function decodeInteger(buf: Uint8Array, tlv: Tlv, what: string, signed: boolean, max: number): number {
  const { start, end } = tlv;
  if (tlv.tag !== TAG_INTEGER) {
    throw new TlsSessionError('ERR_SESSION_MALFORMED', `${what}: expected INTEGER, found tag 0x${hex2(tlv.tag)}`);
  }
  const n = end - start;
  if (n === 0) throw new TlsSessionError('ERR_SESSION_MALFORMED', `${what}: empty INTEGER`);
  if (n > 1) {
    const a = buf[start]!;
    const b = buf[start + 1]!;
    if ((a === 0x00 && !(b & 0x80)) || (a === 0xff && b & 0x80)) {
      throw new TlsSessionError('ERR_SESSION_MALFORMED', `${what}: INTEGER has padding`);
    }
  }
  const negative = (buf[start]! & 0x80) !== 0;
  if (negative && !signed) {
    throw new TlsSessionError('ERR_SESSION_INTEGER_RANGE', `${what}: negative value not allowed`);
  }
  if (n > 8) throw new TlsSessionError('ERR_SESSION_INTEGER_RANGE', `${what}: INTEGER longer than 8 bytes`);
  let v = 0;
  for (let i = start; i < end; i++) v = v * 256 + buf[i]!;
  if (negative) v -= 2 ** (8 * n);
  if (!Number.isSafeInteger(v) || v > max || v < -max - 1) {
    throw new TlsSessionError('ERR_SESSION_INTEGER_RANGE', `${what}: value out of range`);
  }
  return v;
}

/** Growable output buffer that writes TLVs back to front-free: children first, then wrap. */
export class DerWriter {
  private chunks: Uint8Array[] = [];
  private size = 0;

  get length(): number {
    return this.size;
  }

  raw(bytes: Uint8Array): void {
    this.chunks.push(bytes);
    this.size += bytes.length;
  }

  /** Writes tag, length and content. */
  tlv(tag: number, content: Uint8Array): void {
    this.raw(header(tag, content.length));
    this.raw(content);
  }

  integer(value: number): void {
    this.tlv(TAG_INTEGER, integerContent(value));
  }

  octets(value: Uint8Array): void {
    this.tlv(TAG_OCTET_STRING, value);
  }

  /** Wraps everything written by `body` in an element with `tag` (SEQUENCE, EXPLICIT [n]). */
  wrap(tag: number, body: (w: DerWriter) => void): void {
    const inner = new DerWriter();
    body(inner);
    this.raw(header(tag, inner.size));
    for (const c of inner.chunks) this.raw(c);
  }

  toBuffer(): Buffer {
    return Buffer.concat(this.chunks, this.size);
  }
}

function header(tag: number, len: number): Uint8Array {
  if (len < 0x80) return Uint8Array.of(tag, len);
  const bytes: number[] = [];
  for (let l = len; l > 0; l = Math.floor(l / 256)) bytes.unshift(l & 0xff);
  return Uint8Array.of(tag, 0x80 | bytes.length, ...bytes);
}

/** Minimal two's complement big-endian content of an INTEGER. */
export function integerContent(value: number): Uint8Array {
  if (!Number.isSafeInteger(value)) {
    throw new TlsSessionError('ERR_SESSION_INTEGER_RANGE', `cannot encode ${value} as INTEGER`);
  }
  const out: number[] = [];
  let v = BigInt(value);
  for (;;) {
    const byte = Number(v & 0xffn);
    out.unshift(byte);
    v >>= 8n;
    if ((v === 0n && !(byte & 0x80)) || (v === -1n && byte & 0x80)) break;
  }
  return Uint8Array.from(out);
}

function hex2(n: number): string {
  return n.toString(16).padStart(2, '0');
}
