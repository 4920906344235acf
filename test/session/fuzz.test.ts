import assert from 'node:assert/strict';
import { test } from 'node:test';
import { TlsSession, TlsSessionError } from '../../src/index.js';
import { prng, randInt } from '../helpers/prng.js';
import { sessionCorpus } from './corpus.js';

// Mutates real sessions and checks the decoder's contract: it returns a session or throws a
// TlsSessionError, nothing else, and never hangs (the test's timeout bounds it).

const ITERATIONS = 120_000;

type Mutator = (b: Buffer, rnd: () => number, other: Buffer) => Buffer;

const int = randInt;

const mutators: Record<string, Mutator> = {
  bitFlip(b, rnd) {
    const out = Buffer.from(b);
    for (let i = 1 + int(rnd, 3); i > 0; i--) {
      const at = int(rnd, out.length);
      out[at]! ^= 1 << int(rnd, 8);
    }
    return out;
  },
  truncate(b, rnd) {
    return b.subarray(0, int(rnd, b.length));
  },
  // Rewrites a byte that is plausibly a DER length (the byte after a tag) with a nearby value.
  lengthEdit(b, rnd) {
    const out = Buffer.from(b);
    const tagged: number[] = [];
    for (let i = 0; i + 1 < out.length; i++) {
      const t = out[i]!;
      if (t === 0x02 || t === 0x04 || t === 0x30 || (t >= 0xa0 && t <= 0xb4)) tagged.push(i + 1);
    }
    const at = tagged[int(rnd, tagged.length)] ?? 1;
    const deltas = [-2, -1, 1, 2, 0x7f, 0x80, 0xff];
    out[at] = (out[at]! + deltas[int(rnd, deltas.length)]!) & 0xff;
    return out;
  },
  insertDelete(b, rnd) {
    const at = int(rnd, b.length);
    return rnd() < 0.5
      ? Buffer.concat([b.subarray(0, at), Buffer.of(int(rnd, 256)), b.subarray(at)])
      : Buffer.concat([b.subarray(0, at), b.subarray(at + 1 + int(rnd, 4))]);
  },
  splice(b, rnd, other) {
    const a = int(rnd, b.length);
    const c = int(rnd, other.length);
    return Buffer.concat([b.subarray(0, a), other.subarray(c)]);
  },
  randomBytes(_b, rnd) {
    const out = Buffer.alloc(int(rnd, 64));
    for (let i = 0; i < out.length; i++) out[i] = int(rnd, 256);
    if (out.length > 0 && rnd() < 0.5) out[0] = 0x30;
    return out;
  },
};

test(`decoder fuzz: ${ITERATIONS} mutated real sessions`, { timeout: 60_000 }, async () => {
  const seeds = (await sessionCorpus()).map((c) => c.der);
  const rnd = prng(0x5e55);
  const names = Object.keys(mutators);
  const counts = { ok: 0, rejected: 0 };
  for (let i = 0; i < ITERATIONS; i++) {
    const seed = seeds[i % seeds.length]!;
    const other = seeds[int(rnd, seeds.length)]!;
    const name = names[int(rnd, names.length)]!;
    const input = mutators[name]!(seed, rnd, other);
    let session: TlsSession | undefined;
    try {
      session = TlsSession.parse(input);
    } catch (err) {
      if (!(err instanceof TlsSessionError)) {
        assert.fail(`${name} #${i}: ${String(err)} for input ${input.toString('hex')}`);
      }
      assert.ok(!err.message.includes('\n'));
      counts.rejected++;
      continue;
    }
    counts.ok++;
    // Whatever decodes must also encode, print and summarize without an untyped error.
    try {
      const der = session.toDER();
      assert.ok(TlsSession.fromDER(der).toDER().equals(der), 'a re-encoded session is stable');
      session.toText({ reveal: true });
      // toJSON parses the peer certificate (slow): every 16th is enough to cover it.
      if (i % 16 === 0) session.toJSON();
    } catch (err) {
      if (!(err instanceof TlsSessionError)) assert.fail(`${name} #${i}: after decode: ${String(err)}`);
    }
  }
  // Both outcomes must occur, or the mutators are not reaching the decoder's paths.
  assert.ok(counts.ok > 1000, `only ${counts.ok} mutated inputs decoded`);
  assert.ok(counts.rejected > 1000, `only ${counts.rejected} mutated inputs rejected`);
});

test('PEM fuzz: mutated PEM text is decoded or rejected with TlsSessionError', { timeout: 30_000 }, async () => {
  const seeds = (await sessionCorpus()).map((c) => TlsSession.fromDER(c.der).toPEM());
  const rnd = prng(0xbeef);
  for (let i = 0; i < 20_000; i++) {
    const pem = seeds[i % seeds.length]!;
    const at = int(rnd, pem.length);
    const mutated = pem.slice(0, at) + String.fromCharCode(int(rnd, 128)) + pem.slice(at + int(rnd, 3));
    try {
      TlsSession.parse(mutated);
    } catch (err) {
      if (!(err instanceof TlsSessionError)) assert.fail(`#${i}: ${String(err)}`);
    }
  }
});
