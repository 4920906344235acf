/**
 * Hand-made ClientHello bodies for edge cases no real client sends (malformed lengths,
 * duplicate extensions...). Every length is computed unless a test overrides it.
 */

/** Big-endian integer of `n` bytes. */
export function be(value: number, n: number): Buffer {
  const b = Buffer.alloc(n);
  for (let i = n - 1, v = value; i >= 0; i--, v = Math.floor(v / 256)) b[i] = v & 0xff;
  return b;
}

/** `bytes` preceded by its length on `n` bytes. */
export function vec(bytes: Buffer, n: number): Buffer {
  return Buffer.concat([be(bytes.length, n), bytes]);
}

/** One extension: type, 2-byte length, data. */
export function ext(type: number, data: Buffer): Buffer {
  return Buffer.concat([be(type, 2), vec(data, 2)]);
}

/** Parts of a ClientHello body; omitted parts get sane defaults. */
export interface HelloParts {
  version?: number;
  random?: Buffer;
  sessionId?: Buffer;
  suites?: number[];
  compression?: number[];
  /** Already encoded extensions (see {@link ext}); `null` omits the extensions block. */
  extensions?: Buffer[] | null;
}

/** Encodes a ClientHello body. */
export function helloBody(p: HelloParts = {}): Buffer {
  const suites = Buffer.concat((p.suites ?? [0x1301, 0xc02f]).map((s) => be(s, 2)));
  const parts = [
    be(p.version ?? 0x0303, 2),
    p.random ?? Buffer.alloc(32, 7),
    vec(p.sessionId ?? Buffer.alloc(0), 1),
    vec(suites, 2),
    vec(Buffer.from(p.compression ?? [0]), 1),
  ];
  if (p.extensions !== null) parts.push(vec(Buffer.concat(p.extensions ?? []), 2));
  return Buffer.concat(parts);
}

/** Handshake message (type 1) around a body. */
export function helloMessage(body: Buffer): Buffer {
  return Buffer.concat([Buffer.from([1]), vec(body, 3)]);
}

/** One handshake record around a handshake message. */
export function helloRecord(body: Buffer, recordVersion = 0x0301): Buffer {
  return Buffer.concat([Buffer.from([22]), be(recordVersion, 2), vec(helloMessage(body), 2)]);
}

/** A pre_shared_key extension body with the given identities and binder lengths. */
export function pskData(identities: { id: Buffer; age: number }[], binderLengths: number[]): Buffer {
  const ids = Buffer.concat(identities.map((i) => Buffer.concat([vec(i.id, 2), be(i.age, 4)])));
  const binders = Buffer.concat(binderLengths.map((n) => vec(Buffer.alloc(n, 0xbb), 1)));
  return Buffer.concat([vec(ids, 2), vec(binders, 2)]);
}

/** A server_name extension body with one host_name. */
export function sniData(name: Buffer | string): Buffer {
  const n = typeof name === 'string' ? Buffer.from(name, 'latin1') : name;
  return vec(Buffer.concat([Buffer.from([0]), vec(n, 2)]), 2);
}

/** An ALPN extension body. */
export function alpnData(protocols: (string | Buffer)[]): Buffer {
  return vec(Buffer.concat(protocols.map((p) => vec(typeof p === 'string' ? Buffer.from(p) : p, 1))), 2);
}

/**
 * An SSL 2.0-compatible CLIENT-HELLO (RFC 5246 Appendix E.2) offering TLS 1.0: 2-byte record
 * header with the high bit set, message type 1, version, then cipher specs and a challenge.
 */
export function sslv2Hello(): Buffer {
  const specs = Buffer.from('0700c0030080010080060040040080020080000004', 'hex');
  const challenge = Buffer.alloc(16, 0x5a);
  const body = Buffer.concat([
    Buffer.from([1, 3, 1]),
    be(specs.length, 2),
    be(0, 2),
    be(challenge.length, 2),
    specs,
    challenge,
  ]);
  return Buffer.concat([be(0x8000 | body.length, 2), body]);
}
