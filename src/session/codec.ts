import { DerWriter, TAG_INTEGER, TAG_OCTET_STRING, TAG_SEQUENCE, type Tlv, decodeInteger, readTlv } from './der.js';
import { TlsSessionError } from './errors.js';
import type { TlsSessionFields } from './fields.js';

// The DER layout of i2d_SSL_SESSION (OpenSSL ssl/ssl_asn1.c, SSL_SESSION_ASN1). Tags [1]..[20]
// are EXPLICIT; [0] key_arg is IMPLICIT. Limits are OpenSSL's own, so a session this codec
// accepts is one `openssl sess_id` accepts too (except for cipher suites OpenSSL does not know).

const SESSION_ASN1_VERSION = 1;
const MAX_SESSION_ID = 32;
const MAX_MASTER_KEY = 64; // TLS13_MAX_RESUMPTION_PSK_LENGTH
const MAX_SID_CTX = 32;
const U32 = 0xffffffff;
const I32 = 0x7fffffff;
const I64 = Number.MAX_SAFE_INTEGER;

const ctx = (n: number) => 0xa0 | n; // EXPLICIT [n], constructed
const KEY_ARG_TAG = 0x80; // [0] IMPLICIT OCTET STRING, primitive

/** Decodes one `SSL_SESSION` from DER; the whole input must be that one structure. */
export function decodeSession(input: Uint8Array): TlsSessionFields {
  // Fields are views into the input, not copies (decoding sits on the handshake path). A small
  // slice of a shared pool is copied first, so that a long-lived session never pins the pool.
  const whole = input.byteOffset === 0 && input.byteLength === input.buffer.byteLength;
  const buf = whole ? Buffer.from(input.buffer, 0, input.byteLength) : Buffer.from(input);
  if (buf.length === 0) throw new TlsSessionError('ERR_SESSION_TRUNCATED', 'session: empty input');
  const seq = readTlv(buf, 0, buf.length, 'session');
  if (seq.tag !== TAG_SEQUENCE) {
    throw new TlsSessionError(
      'ERR_SESSION_MALFORMED',
      `session: expected SEQUENCE, found tag 0x${seq.tag.toString(16)}`,
    );
  }
  if (seq.end !== buf.length) {
    throw new TlsSessionError('ERR_SESSION_TRAILING_DATA', `session: ${buf.length - seq.end} bytes after the session`);
  }
  const r = new FieldReader(buf, seq);

  const version = decodeInteger(buf, r.required(TAG_INTEGER, 'version'), 'version', false, U32);
  if (version !== SESSION_ASN1_VERSION) {
    throw new TlsSessionError('ERR_SESSION_VERSION', `session: encoding version ${version}, expected 1`);
  }
  const protocolVersion = decodeInteger(buf, r.required(TAG_INTEGER, 'ssl_version'), 'ssl_version', true, I32);
  const major = protocolVersion >> 8;
  if (major !== 0x03 && major !== 0xfe && protocolVersion !== 0x0100) {
    throw new TlsSessionError(
      'ERR_SESSION_PROTOCOL',
      `session: unsupported protocol version 0x${protocolVersion.toString(16)}`,
    );
  }
  const cipher = r.octets(r.required(TAG_OCTET_STRING, 'cipher'));
  if (cipher.length !== 2) {
    throw new TlsSessionError('ERR_SESSION_FIELD', `cipher: ${cipher.length} bytes, expected 2`);
  }
  const sessionId = limited(r.octets(r.required(TAG_OCTET_STRING, 'session_id')), MAX_SESSION_ID, 'session_id');
  const masterKey = limited(r.octets(r.required(TAG_OCTET_STRING, 'master_key')), MAX_MASTER_KEY, 'master_key');
  const keyArgTlv = r.optionalImplicit(KEY_ARG_TAG);

  const f: TlsSessionFields = {
    protocolVersion,
    cipherId: (cipher[0]! << 8) | cipher[1]!,
    sessionId,
    masterKey,
    keyArg: keyArgTlv ? r.octets(keyArgTlv) : undefined,
    time: r.int(1, 'time', true, I64) ?? 0,
    timeout: r.int(2, 'timeout', true, I64) ?? 0,
    peerCertificateDER: r.explicitRaw(3, TAG_SEQUENCE, 'peer'),
    sessionIdContext: limited(
      r.octetsField(4, 'session_id_context') ?? Buffer.alloc(0),
      MAX_SID_CTX,
      'session_id_context',
    ),
    verifyResult: r.int(5, 'verify_result', true, I32) ?? 0,
    hostname: r.stringField(6, 'hostname'),
    pskIdentityHint: r.stringField(7, 'psk_identity_hint'),
    pskIdentity: r.stringField(8, 'psk_identity'),
    ticketLifetimeHint: r.int(9, 'ticket_lifetime_hint', false, I64) ?? 0,
    ticket: r.octetsField(10, 'ticket'),
    compressionId: 0,
    srpUsername: undefined,
    flags: 0,
    ticketAgeAdd: 0,
    maxEarlyData: 0,
    alpnSelected: undefined,
    maxFragmentLengthMode: 0,
    ticketAppData: undefined,
    kexGroup: undefined,
    peerRpk: undefined,
  };
  const comp = r.octetsField(11, 'comp_id');
  if (comp !== undefined) {
    if (comp.length !== 1) throw new TlsSessionError('ERR_SESSION_FIELD', `comp_id: ${comp.length} bytes, expected 1`);
    f.compressionId = comp[0]!;
  }
  f.srpUsername = r.stringField(12, 'srp_username');
  f.flags = r.int(13, 'flags', false, I64) ?? 0;
  f.ticketAgeAdd = r.int(14, 'ticket_age_add', false, U32) ?? 0;
  f.maxEarlyData = r.int(15, 'max_early_data', false, U32) ?? 0;
  f.alpnSelected = r.octetsField(16, 'alpn_selected');
  f.maxFragmentLengthMode = r.int(17, 'max_fragment_len_mode', false, U32) ?? 0;
  f.ticketAppData = r.octetsField(18, 'ticket_appdata');
  f.kexGroup = r.int(19, 'kex_group', false, U32);
  f.peerRpk = r.octetsField(20, 'peer_rpk');
  r.finish();
  return f;
}

function limited(b: Buffer, max: number, what: string): Buffer {
  if (b.length > max)
    throw new TlsSessionError('ERR_SESSION_FIELD', `${what}: ${b.length} bytes, at most ${max} allowed`);
  return b;
}

/** Walks the fields of the session SEQUENCE in order; optional fields may be skipped. */
class FieldReader {
  private pos: number;
  private next: Tlv | undefined;

  constructor(
    private readonly buf: Buffer,
    private readonly seq: Tlv,
  ) {
    this.pos = seq.start;
    this.next = this.read();
  }

  private read(): Tlv | undefined {
    if (this.pos >= this.seq.end) return undefined;
    const t = readTlv(this.buf, this.pos, this.seq.end, 'session field');
    this.pos = t.end;
    return t;
  }

  private shift(): Tlv {
    const t = this.next!;
    this.next = this.read();
    return t;
  }

  required(tag: number, what: string): Tlv {
    if (!this.next) throw new TlsSessionError('ERR_SESSION_TRUNCATED', `session: missing ${what}`);
    if (this.next.tag !== tag) {
      throw new TlsSessionError('ERR_SESSION_MALFORMED', `${what}: unexpected tag 0x${this.next.tag.toString(16)}`);
    }
    return this.shift();
  }

  optionalImplicit(tag: number): Tlv | undefined {
    return this.next?.tag === tag ? this.shift() : undefined;
  }

  /** The single element inside EXPLICIT `[n]`, when present. */
  private explicit(n: number, innerTag: number, what: string): Tlv | undefined {
    if (this.next?.tag !== ctx(n)) return undefined;
    const outer = this.shift();
    const inner = readTlv(this.buf, outer.start, outer.end, what);
    if (inner.tag !== innerTag) {
      throw new TlsSessionError('ERR_SESSION_MALFORMED', `${what}: unexpected tag 0x${inner.tag.toString(16)}`);
    }
    if (inner.end !== outer.end) {
      throw new TlsSessionError('ERR_SESSION_MALFORMED', `${what}: extra bytes inside the field`);
    }
    return inner;
  }

  octets(t: Tlv): Buffer {
    return this.buf.subarray(t.start, t.end);
  }

  int(n: number, what: string, signed: boolean, max: number): number | undefined {
    const t = this.explicit(n, TAG_INTEGER, what);
    return t ? decodeInteger(this.buf, t, what, signed, max) : undefined;
  }

  octetsField(n: number, what: string): Buffer | undefined {
    const t = this.explicit(n, TAG_OCTET_STRING, what);
    return t ? this.octets(t) : undefined;
  }

  stringField(n: number, what: string): string | undefined {
    return this.octetsField(n, what)?.toString('latin1');
  }

  /** The whole inner TLV (tag and length included), e.g. the peer certificate's DER. */
  explicitRaw(n: number, innerTag: number, what: string): Buffer | undefined {
    const t = this.explicit(n, innerTag, what);
    return t ? this.buf.subarray(t.header, t.end) : undefined;
  }

  finish(): void {
    if (this.next) {
      throw new TlsSessionError(
        'ERR_SESSION_MALFORMED',
        `session: unexpected field with tag 0x${this.next.tag.toString(16)}`,
      );
    }
  }
}

/** Encodes fields the way i2d_SSL_SESSION does (zero integers omitted, except kex_group). */
export function encodeSession(f: TlsSessionFields): Buffer {
  check(f.cipherId >= 0 && f.cipherId <= 0xffff, 'cipherId must fit in 2 bytes');
  check(f.sessionId.length <= MAX_SESSION_ID, `sessionId is at most ${MAX_SESSION_ID} bytes`);
  check(f.masterKey.length <= MAX_MASTER_KEY, `masterKey is at most ${MAX_MASTER_KEY} bytes`);
  check(f.sessionIdContext.length <= MAX_SID_CTX, `sessionIdContext is at most ${MAX_SID_CTX} bytes`);
  check(f.compressionId >= 0 && f.compressionId <= 0xff, 'compressionId must fit in 1 byte');
  const w = new DerWriter();
  w.wrap(TAG_SEQUENCE, (s) => {
    s.integer(SESSION_ASN1_VERSION);
    s.integer(f.protocolVersion);
    s.octets(Uint8Array.of(f.cipherId >> 8, f.cipherId & 0xff));
    s.octets(f.sessionId);
    s.octets(f.masterKey);
    if (f.keyArg) s.tlv(KEY_ARG_TAG, f.keyArg);
    const int = (n: number, v: number) => {
      if (v !== 0) s.wrap(ctx(n), (x) => x.integer(v));
    };
    const oct = (n: number, v: Uint8Array | undefined) => {
      if (v !== undefined) s.wrap(ctx(n), (x) => x.octets(v));
    };
    const str = (n: number, v: string | undefined) => oct(n, v === undefined ? undefined : Buffer.from(v, 'latin1'));
    int(1, f.time);
    int(2, f.timeout);
    if (f.peerCertificateDER) s.wrap(ctx(3), (x) => x.raw(f.peerCertificateDER!));
    oct(4, f.sessionIdContext);
    int(5, f.verifyResult);
    str(6, f.hostname);
    str(7, f.pskIdentityHint);
    str(8, f.pskIdentity);
    int(9, f.ticketLifetimeHint);
    oct(10, f.ticket);
    if (f.compressionId !== 0) oct(11, Uint8Array.of(f.compressionId));
    str(12, f.srpUsername);
    int(13, f.flags);
    int(14, f.ticketAgeAdd);
    int(15, f.maxEarlyData);
    oct(16, f.alpnSelected);
    int(17, f.maxFragmentLengthMode);
    oct(18, f.ticketAppData);
    if (f.kexGroup !== undefined) s.wrap(ctx(19), (x) => x.integer(f.kexGroup!));
    oct(20, f.peerRpk);
  });
  return w.toBuffer();
}

function check(ok: boolean, message: string): void {
  if (!ok) throw new TlsSessionError('ERR_SESSION_FIELD', `cannot encode session: ${message}`);
}
