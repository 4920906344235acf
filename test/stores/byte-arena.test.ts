/**
 * The byte arena under MemoryStore: every answer checked against a plain Map kept beside it
 * (a Map's insertion order is the write order when a rewrite deletes first).
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { ByteArena } from '../../src/stores/byte-arena.js';
import { prng } from '../helpers/prng.js';

interface Model {
  value: Buffer;
  expiresAtMs: number;
}

function bytes(rnd: () => number, n: number): Buffer {
  const b = Buffer.alloc(n);
  for (let i = 0; i < n; i++) b[i] = Math.floor(rnd() * 256);
  return b;
}

const hex = (b: Uint8Array) => Buffer.from(b).toString('hex');

/** Every entry of the model is in the arena with its value and expiry, and the arena holds nothing else. */
function assertSame(arena: ByteArena, model: Map<string, Model>): void {
  assert.equal(arena.size, model.size);
  for (const [k, m] of model) {
    const slot = arena.slotOf(Buffer.from(k, 'hex'));
    assert.ok(slot >= 0, `key ${k.slice(0, 16)} is found`);
    assert.deepEqual(arena.copyAt(slot), m.value);
    assert.equal(arena.expiryAt(slot), m.expiresAtMs);
  }
}

test('fill: entries of every key length and value size, up to values larger than a chunk, read back whole', () => {
  const rnd = prng(1);
  const arena = new ByteArena();
  const model = new Map<string, Model>();
  const valueSizes = [0, 1, 127, 128, 197, 4096, 16_383, 16_384, 70_000, 200_000];
  const keySizes = [0, 1, 2, 32, 52, 63, 64, 65, 200, 1000];
  for (let i = 0; i < 3000; i++) {
    const key = bytes(rnd, keySizes[i % keySizes.length]!);
    const value = bytes(rnd, valueSizes[Math.floor(rnd() * valueSizes.length)]!);
    arena.set(key, value, i);
    model.delete(hex(key));
    model.set(hex(key), { value, expiresAtMs: i });
  }
  assertSame(arena, model);
  assert.equal(arena.slotOf(Buffer.from('absent')), -1);
  // Values are copies: changing one changes nothing stored.
  const k = Buffer.from('copied');
  const v = Buffer.from('value');
  arena.set(k, v, 1);
  v.fill(0);
  const out = arena.copyAt(arena.slotOf(k));
  out.fill(1);
  assert.deepEqual(arena.copyAt(arena.slotOf(k)), Buffer.from('value'));
});

test('random sets, overwrites, deletes and evictions agree with a Map, holes are reclaimed, order is kept', () => {
  for (const seed of [2, 3, 4]) {
    const rnd = prng(seed);
    const arena = new ByteArena();
    const model = new Map<string, Model>();
    // A small key space: most writes overwrite, most deletes hit.
    const keys = Array.from({ length: 3000 }, (_, i) => bytes(rnd, i % 7 === 0 ? 5 + (i % 40) : 36));
    for (let step = 0; step < 60_000; step++) {
      const r = rnd();
      const key = keys[Math.floor(rnd() * keys.length)]!;
      if (r < 0.5) {
        const size = rnd() < 0.01 ? 70_000 : Math.floor(rnd() * 400);
        const value = bytes(rnd, size);
        arena.set(key, value, step);
        model.delete(hex(key));
        model.set(hex(key), { value, expiresAtMs: step });
      } else if (r < 0.85) {
        assert.equal(arena.delete(key), model.delete(hex(key)));
      } else {
        const oldest = arena.takeOldest();
        const [first] = model.keys();
        assert.equal(oldest === undefined ? undefined : hex(oldest.key), first, `step ${step}: the oldest write`);
        if (first !== undefined) {
          assert.equal(oldest?.expiresAtMs, model.get(first)!.expiresAtMs);
          model.delete(first);
        }
      }
      if (step % 5000 === 0) assertSame(arena, model);
    }
    assertSame(arena, model);
    // Within about twice the live bytes (plus the newest chunk and one 70 kB value's chunk).
    assert.ok(arena.chunkBytes <= 2 * arena.liveBytes + 3 * 65_536, `${arena.chunkBytes} vs ${arena.liveBytes} live`);
    // Draining in write order gives the model's order.
    const order = [...model.keys()];
    for (const k of order) assert.equal(hex(arena.takeOldest()!.key), k);
    assert.equal(arena.takeOldest(), undefined);
    assert.equal(arena.size, 0);
  }
});

test('compaction: after deleting most entries, chunks shrink and the rest keep their values and order', () => {
  const rnd = prng(5);
  const arena = new ByteArena();
  const model = new Map<string, Model>();
  for (let i = 0; i < 20_000; i++) {
    const key = Buffer.alloc(36);
    key.writeUInt32BE(i, 32);
    const value = bytes(rnd, 150 + (i % 100));
    arena.set(key, value, i);
    model.set(hex(key), { value, expiresAtMs: i });
  }
  const full = arena.chunkBytes;
  for (const k of [...model.keys()]) {
    if (rnd() < 0.9) {
      assert.equal(arena.delete(Buffer.from(k, 'hex')), true);
      model.delete(k);
    }
  }
  assertSame(arena, model);
  assert.ok(arena.chunkBytes < full / 3, `holes reclaimed: ${arena.chunkBytes} of ${full} bytes left`);
  assert.deepEqual(
    arena.takeAll().map((e) => hex(e.key)),
    [...model.keys()],
  );
  assert.equal(arena.chunkBytes, 0);
});

test('expiry: taken in write order at or before the time given, whole milliseconds rounded down, far ones clamped', () => {
  const arena = new ByteArena();
  const k = (n: number) => Buffer.of(n);
  arena.set(k(1), Buffer.of(1), 100);
  arena.set(k(2), Buffer.of(2), 300);
  arena.set(k(3), Buffer.of(3), 200.9);
  arena.set(k(4), Buffer.of(4), -5);
  arena.set(k(5), Buffer.of(5), Number.MAX_VALUE);
  arena.set(k(6), Buffer.of(6), Number.NaN);
  arena.set(k(7), Buffer.of(7), Number.NEGATIVE_INFINITY);
  assert.equal(arena.size, 7, 'an entry of the earliest expiry is an entry like any other');
  assert.equal(arena.expiryAt(arena.slotOf(k(3))), 200, 'rounded down: never returned late');
  assert.equal(arena.expiryAt(arena.slotOf(k(5))), 2 ** 47 - 1);
  assert.equal(arena.expiryAt(arena.slotOf(k(6))), 2 ** 47 - 1);
  assert.deepEqual(
    arena.takeExpired(200).map((e) => [e.key[0], e.expiresAtMs]),
    [
      [1, 100],
      [3, 200],
      [4, -5],
      [7, -(2 ** 47) + 1],
    ],
  );
  assert.equal(arena.size, 3);
  arena.setExpiryAt(arena.slotOf(k(2)), 50);
  assert.deepEqual(
    arena.takeExpired(50).map((e) => e.key[0]),
    [2],
  );
});

test('a shared prefix is kept once; keys with, without and equal to it, and across changes of it, stay apart', () => {
  const rnd = prng(6);
  const plain = new ByteArena();
  const arena = new ByteArena();
  const model = new Map<string, Model>();
  const prefixA = Buffer.from('srv:aaaaaaaaaaaaaaaa');
  const prefixB = Buffer.from('srv:bbbbbbbbbbbbbbbb');
  const put = (key: Buffer, i: number) => {
    const value = bytes(rnd, 100);
    arena.set(key, value, i);
    plain.set(key, value, i);
    model.delete(hex(key));
    model.set(hex(key), { value, expiresAtMs: i });
  };
  arena.sharePrefix(prefixA);
  put(Buffer.from(prefixA), 0); // the prefix alone
  put(prefixA.subarray(0, 10), 1); // shorter than it
  // The prefix changes every 300 keys (a server whose certificate changes), keys of both mixed.
  for (let i = 0; i < 6000; i++) {
    if (i % 300 === 0) arena.sharePrefix(i % 600 === 0 ? prefixA : prefixB);
    put(Buffer.concat([rnd() < 0.8 === i % 600 < 300 ? prefixA : prefixB, bytes(rnd, 32)]), 2 + i);
  }
  assertSame(arena, model);
  assert.ok(arena.liveBytes < plain.liveBytes - 4000 * 19, `${arena.liveBytes} vs ${plain.liveBytes} bytes`);
  // Most deleted: chunks of either prefix are rewritten and merged.
  for (const k of [...model.keys()]) {
    if (rnd() < 0.7) {
      assert.equal(arena.delete(Buffer.from(k, 'hex')), true);
      model.delete(k);
    }
  }
  assertSame(arena, model);
  assert.deepEqual(
    arena.takeAll().map((e) => hex(e.key)),
    [...model.keys()],
    'whole keys come back, in write order',
  );
});

test('keys that differ only within the shared prefix are never taken for each other', () => {
  const rnd = prng(7);
  const arena = new ByteArena();
  const prefixA = Buffer.from('srv:aaaaaaaaaaaaaaaa');
  const prefixB = Buffer.from('srv:bbbbbbbbbbbbbbbb');
  arena.sharePrefix(prefixA);
  const suffixes = Array.from({ length: 3200 }, () => bytes(rnd, 32));
  for (const s of suffixes) arena.set(Buffer.concat([prefixA, s]), s, 1);
  // 3200 entries in 4096 slots: each lookup below walks about ten slots, so among them some
  // meet the entry with the same rest of the key, which only the prefix tells apart.
  for (const s of suffixes) {
    assert.equal(arena.slotOf(Buffer.concat([prefixB, s])), -1);
    const twin = Buffer.concat([prefixA, s]);
    twin[5] = twin[5]! ^ 1;
    assert.equal(arena.slotOf(twin), -1);
    assert.ok(arena.slotOf(Buffer.concat([prefixA, s])) >= 0);
  }
});

test('expired entries are found in every chunk, after rewrites and after an expiry moved earlier', () => {
  const rnd = prng(8);
  const arena = new ByteArena();
  const model = new Map<string, Model>();
  for (let i = 0; i < 6000; i++) {
    const key = Buffer.alloc(36);
    key.writeUInt32BE(i, 32);
    const value = bytes(rnd, 200);
    // Expiries in no order: chunks merged by a rewrite hold earlier ones than their neighbours.
    const expiresAtMs = 1000 + Math.floor(rnd() * 6000);
    arena.set(key, value, expiresAtMs);
    model.set(hex(key), { value, expiresAtMs });
  }
  for (const k of [...model.keys()]) {
    if (rnd() < 0.7) {
      arena.delete(Buffer.from(k, 'hex'));
      model.delete(k);
    }
  }
  // The newest entry now expires before all others.
  const last = [...model.keys()].at(-1)!;
  arena.setExpiryAt(arena.slotOf(Buffer.from(last, 'hex')), 5);
  model.get(last)!.expiresAtMs = 5;
  const expect = (until: number) =>
    [...model].filter(([, m]) => m.expiresAtMs <= until).map(([k, m]) => [k, m.expiresAtMs]);
  assert.deepEqual(
    arena.takeExpired(10).map((e) => [hex(e.key), e.expiresAtMs]),
    expect(10),
  );
  model.delete(last);
  // Steps near the earliest expiries: a chunk passed over for a wrong earliest expiry shows.
  for (const until of [1005, 1010, 1020, 1040, 1080, 1160, 4000]) {
    const taken = expect(until);
    assert.deepEqual(
      arena.takeExpired(until).map((e) => [hex(e.key), e.expiresAtMs]),
      taken,
      `expired at ${until}`,
    );
    for (const [k] of taken) model.delete(k as string);
  }
  assert.ok(model.size > 300);
  assertSame(arena, model);
});
