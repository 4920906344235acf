/**
 * Mutation fuzzing of the ClientHello parser and the record reader, seeded from real hellos.
 *
 * Every mutated input must either parse or throw a ClientHelloError, and the run must end. A
 * successful parse is checked against the input: re-encoding what was parsed gives back the
 * exact bytes, and the record path (with random TCP splits) agrees with the body path.
 */
import assert from 'node:assert/strict';
import { before, describe, it } from 'node:test';
import {
  ClientHelloError,
  type ClientHelloErrorCode,
  type ClientHelloInfo,
  ClientHelloReader,
  type HelloLookup,
  helloLookupOfBody,
  parseClientHello,
  parseClientHelloRecords,
  readHelloLookup,
} from '../../src/wire/index.js';
import {
  bodyOf,
  captureNodeHello,
  captureOpensslHello,
  nodeConnect,
  prng,
  randInt,
  startTlsServer,
} from './fixtures.js';
import { alpnData, be, ext, helloBody, helloMessage, pskData, sniData, vec } from './hello-builder.js';

const CASES = 100_000;
const SEED = 0xc0ffee;

/**
 * Offsets and sizes of the length fields of a body (the fuzzer's own walk; on an already
 * mutated body it stops where the structure stops making sense).
 */
function lengthFields(body: Buffer): { off: number; size: number }[] {
  const out: { off: number; size: number }[] = [];
  const add = (off: number, size: number) => {
    if (off + size <= body.length) out.push({ off, size });
    return off + size <= body.length;
  };
  if (!add(34, 1)) return out;
  let off = 35 + body[34]!;
  if (!add(off, 2)) return out;
  off += 2 + body.readUInt16BE(off);
  if (!add(off, 1)) return out;
  off += 1 + body[off]!;
  if (!add(off, 2)) return out;
  off += 2;
  while (add(off + 2, 2)) {
    const len = body.readUInt16BE(off + 2);
    // Most extension bodies start with a 1- or 2-byte inner length.
    if (len >= 2) add(off + 4, 2) && add(off + 4, 1);
    off += 4 + len;
  }
  return out;
}

type Rand = () => number;

function pick<T>(rand: Rand, items: readonly T[]): T {
  return items[randInt(rand, items.length)]!;
}

/** One mutation of `body` (a fresh buffer). */
function mutate(rand: Rand, body: Buffer, corpus: readonly Buffer[]): Buffer {
  const out = Buffer.from(body);
  switch (randInt(rand, 6)) {
    case 0: {
      // Bit flips.
      const flips = 1 + randInt(rand, 4);
      for (let i = 0; i < flips; i++) {
        const at = randInt(rand, out.length);
        out[at] = out[at]! ^ (1 << randInt(rand, 8));
      }
      return out;
    }
    case 1:
      // Truncation.
      return out.subarray(0, randInt(rand, out.length));
    case 2: {
      // Length-field edits.
      const fields = lengthFields(body);
      if (fields.length === 0) return out.subarray(0, randInt(rand, out.length));
      const field = pick(rand, fields);
      const max = field.size === 1 ? 0xff : 0xffff;
      const old = field.size === 1 ? out[field.off]! : out.readUInt16BE(field.off);
      const value = pick(rand, [0, 1, max, old + 1, old - 1, old + 2, old - 4, old + 256, old >> 1, 32, 33, 7])!;
      const v = ((value % (max + 1)) + max + 1) % (max + 1);
      if (field.size === 1) out[field.off] = v;
      else out.writeUInt16BE(v, field.off);
      return out;
    }
    case 3: {
      // Splice: the head of this hello with the tail of another.
      const other = pick(rand, corpus);
      return Buffer.concat([
        out.subarray(0, randInt(rand, out.length + 1)),
        other.subarray(randInt(rand, other.length + 1)),
      ]);
    }
    case 4: {
      // Duplicate or delete a random range.
      const a = randInt(rand, out.length);
      const b = Math.min(out.length, a + 1 + randInt(rand, 40));
      return rand() < 0.5
        ? Buffer.concat([out.subarray(0, b), out.subarray(a, b), out.subarray(b)])
        : Buffer.concat([out.subarray(0, a), out.subarray(b)]);
    }
    default: {
      // Overwrite a few bytes with boundary values.
      const n = 1 + randInt(rand, 3);
      for (let i = 0; i < n; i++)
        out[randInt(rand, out.length)] = pick(rand, [0, 1, 0x20, 0x21, 0x29, 0x2b, 0x7f, 0x80, 0xff]);
      return out;
    }
  }
}

/** Encodes parsed fields back into a body (the fuzzer's own encoder). */
function reencode(h: ClientHelloInfo, bodyLength: number): Buffer {
  const head = Buffer.concat([
    be(h.legacyVersion, 2),
    h.random,
    vec(h.legacySessionId, 1),
    vec(Buffer.concat(h.cipherSuites.map((s) => be(s, 2))), 2),
    vec(Buffer.from(h.compressionMethods), 1),
  ]);
  if (head.length === bodyLength && h.extensions.length === 0) return head;
  return Buffer.concat([head, vec(Buffer.concat(h.extensions.map((e) => ext(e.type, e.data))), 2)]);
}

const CODES = new Set<ClientHelloErrorCode>(['ERR_HELLO_MALFORMED', 'ERR_HELLO_TRUNCATED', 'ERR_HELLO_TOO_LARGE']);

function record(body: Buffer): Buffer {
  const msg = helloMessage(body);
  return Buffer.concat([Buffer.from([22, 3, 1]), be(msg.length, 2), msg]);
}

describe('ClientHello fuzzing', () => {
  const corpus: Buffer[] = [];

  before(async () => {
    const server13 = await startTlsServer({ minVersion: 'TLSv1.3' });
    const server12 = await startTlsServer({ maxVersion: 'TLSv1.2' });
    try {
      const s13 = (await nodeConnect(server13.port)).sessions.at(-1);
      const s12 = (await nodeConnect(server12.port)).sessions.at(-1);
      const records = [
        await captureNodeHello({ session: s13, servername: 'fuzz.test', ALPNProtocols: ['h2', 'http/1.1'] }),
        await captureNodeHello({ session: s12, maxVersion: 'TLSv1.2' }),
        await captureOpensslHello(['-tls1_2', '-servername', 'a.test', '-alpn', 'http/1.1']),
        await captureOpensslHello(['-tls1_3', '-noservername']),
      ];
      for (const r of records) corpus.push(bodyOf(r));
    } finally {
      await Promise.all([server13.close(), server12.close()]);
    }
    // A hand-made hello with every decoded extension and two PSKs.
    corpus.push(
      helloBody({
        sessionId: Buffer.alloc(32, 3),
        extensions: [
          ext(0, sniData('hand.made')),
          ext(10, vec(Buffer.from([0, 29, 0, 23]), 2)),
          ext(13, vec(Buffer.from([4, 3, 8, 4]), 2)),
          ext(16, alpnData(['h2', 'http/1.1'])),
          ext(23, Buffer.alloc(0)),
          ext(35, Buffer.alloc(0)),
          ext(42, Buffer.alloc(0)),
          ext(43, vec(Buffer.from([0x0a, 0x0a, 3, 4, 3, 3]), 1)),
          ext(45, vec(Buffer.from([1]), 1)),
          ext(
            41,
            pskData(
              [
                { id: Buffer.alloc(60, 9), age: 1234 },
                { id: Buffer.alloc(32, 8), age: 5 },
              ],
              [32, 48],
            ),
          ),
        ],
      }),
    );
    for (const body of corpus) parseClientHello(body); // the seeds themselves are valid
  });

  it(`${CASES} mutated hellos parse or throw ClientHelloError`, (t) => {
    const rand = prng(SEED);
    const outcomes = new Map<string, number>();
    const count = (k: string) => outcomes.set(k, (outcomes.get(k) ?? 0) + 1);
    let successes = 0;

    for (let i = 0; i < CASES; i++) {
      const seed = corpus[i % corpus.length]!;
      let body = mutate(rand, seed, corpus);
      if (rand() < 0.2) body = mutate(rand, body, corpus); // stacked mutations
      let hello: ClientHelloInfo | undefined;
      try {
        hello = parseClientHello(body);
      } catch (e) {
        assert.ok(e instanceof ClientHelloError, `case ${i}: threw ${String(e)}`);
        assert.ok(CODES.has(e.code), `case ${i}: code ${e.code}`);
        assert.ok(!e.message.includes('\n'));
        count(e.code);
      }

      // The record path agrees with the body path (with the same limit semantics).
      const rec = record(body);
      let viaRecords: ClientHelloInfo | ClientHelloError;
      try {
        viaRecords = parseClientHelloRecords(rec, { maxBytes: 1 << 20 });
      } catch (e) {
        assert.ok(e instanceof ClientHelloError, `case ${i}: records threw ${String(e)}`);
        viaRecords = e;
      }

      // The lookup reader (what a server cache parses) accepts exactly what the parser accepts,
      // and agrees with it on what it returns, from the body and from the record.
      const lookups: Array<HelloLookup | undefined> = [];
      for (const read of [() => helloLookupOfBody(body, 32), () => readHelloLookup(rec, 32)]) {
        try {
          lookups.push(read());
        } catch (e) {
          assert.ok(e instanceof ClientHelloError, `case ${i}: lookup reader threw ${String(e)}`);
          lookups.push(undefined);
        }
      }
      for (const lookup of lookups) {
        assert.equal(lookup === undefined, hello === undefined, `case ${i}: the lookup reader disagrees on acceptance`);
        if (lookup === undefined || hello === undefined) continue;
        assert.equal(lookup.serverName, hello.serverName, `case ${i}`);
        assert.equal(lookup.highestVersion, hello.highestVersion, `case ${i}`);
        assert.deepEqual(
          lookup.pskIdentity,
          hello.pskIdentities?.find((p) => p.identity.length === 32)?.identity,
          `case ${i}`,
        );
      }

      if (hello === undefined) {
        assert.ok(viaRecords instanceof ClientHelloError, `case ${i}: only the record path accepted it`);
        continue;
      }
      successes += 1;
      count('ok');
      assert.deepEqual(reencode(hello, body.length), body, `case ${i}: re-encoding differs`);
      assert.equal(hello.random.length, 32);
      assert.ok(hello.legacySessionId.length <= 32);
      assert.equal(hello.length, body.length);
      assert.ok(!(viaRecords instanceof ClientHelloError), `case ${i}: record path failed: ${String(viaRecords)}`);
      if (i % 16 === 0) {
        // Random TCP splits and record fragmentation of the same bytes.
        const reader = new ClientHelloReader({ maxBytes: 1 << 20 });
        for (let off = 0; off < rec.length; ) {
          const n = 1 + randInt(rand, 64);
          reader.feed(rec.subarray(off, off + n));
          off += n;
        }
        assert.equal(reader.status, 'complete', `case ${i}`);
        assert.deepEqual(reader.hello, viaRecords, `case ${i}: split reader differs`);
      }
    }

    t.diagnostic(`outcomes: ${JSON.stringify(Object.fromEntries(outcomes))}`);
    // The corpus keeps both outcomes well represented, so neither path goes untested.
    assert.ok(successes > CASES / 20, `only ${successes} mutated hellos parsed`);
    assert.ok((outcomes.get('ERR_HELLO_MALFORMED') ?? 0) > CASES / 4);
    assert.equal(outcomes.get('ERR_HELLO_TRUNCATED') ?? 0, 0, 'a complete body is never "truncated"');
  });

  it('mutated record streams (headers included) give a final status or need-more, never a throw', (t) => {
    const rand = prng(SEED + 1);
    const statuses = new Map<string, number>();
    for (let i = 0; i < 20_000; i++) {
      const seed = corpus[i % corpus.length]!;
      const rec = Buffer.from(record(seed));
      // Damage the record and handshake headers or anything else.
      const flips = 1 + randInt(rand, 3);
      for (let f = 0; f < flips; f++) {
        const at = rand() < 0.5 ? randInt(rand, 9) : randInt(rand, rec.length);
        rec[at] = rec[at]! ^ (1 << randInt(rand, 8));
      }
      const reader = new ClientHelloReader();
      for (let off = 0; off < rec.length; ) {
        const n = 1 + randInt(rand, 200);
        reader.feed(rec.subarray(off, off + n));
        off += n;
      }
      const status = reader.end();
      statuses.set(
        `${status}:${reader.error?.code ?? ''}`,
        (statuses.get(`${status}:${reader.error?.code ?? ''}`) ?? 0) + 1,
      );
      if (status === 'complete') assert.ok(reader.hello !== undefined);
      else assert.ok(reader.error instanceof ClientHelloError);
    }
    t.diagnostic(`statuses: ${JSON.stringify(Object.fromEntries(statuses))}`);
    assert.ok((statuses.get('not-tls:ERR_NOT_TLS') ?? 0) > 0);
    assert.ok((statuses.get('invalid:ERR_HELLO_TRUNCATED') ?? 0) > 0);
    assert.ok((statuses.get('complete:') ?? 0) > 0);
  });
});
