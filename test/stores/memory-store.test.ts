import assert from 'node:assert/strict';
import { test } from 'node:test';
import { MemoryStore } from '../../src/stores/memory-store.js';
import { immediateStore } from '../../src/stores/immediate-store.js';
import { storeTraits } from '../../src/stores/store-traits.js';
import { storeConformance } from './conformance.js';

storeConformance('MemoryStore', async () => {
  const store = new MemoryStore();
  return { store, other: store, cleanup: () => store.close() };
});

const key = (n: number): Uint8Array => Uint8Array.of(n >> 8, n & 255);

test('MemoryStore keeps at most maxEntries keys, dropping the least recently written', async () => {
  const store = new MemoryStore({ maxEntries: 3 });
  for (const n of [1, 2, 3]) await store.set(key(n), key(n), 60_000);
  await store.set(key(1), key(1), 60_000); // rewritten: now the most recent
  await store.push(key(4), key(4), 60_000, 2);
  assert.equal(store.size, 3);
  assert.equal(await store.get(key(2)), undefined, 'the least recently written went first');
  assert.ok(await store.get(key(1)));
  assert.ok(await store.get(key(3)));
  assert.ok(await store.pop(key(4)));
});

test('MemoryStore: a pop is not a write, so a stack keeps its place in the eviction order', async () => {
  const store = new MemoryStore({ maxEntries: 2 });
  await store.push(key(1), key(10), 60_000, 4);
  await store.push(key(1), key(11), 60_000, 4);
  await store.set(key(2), key(2), 60_000);
  assert.deepEqual(await store.pop(key(1)), Buffer.from(key(11)));
  await store.set(key(3), key(3), 60_000);
  assert.equal(await store.pop(key(1)), undefined, 'the stack was the least recently written');
  assert.ok(await store.get(key(2)));
  await store.push(key(4), key(40), 60_000, 4);
  assert.equal(await store.get(key(2)), undefined);
  assert.deepEqual(await store.pop(key(4)), Buffer.from(key(40)));
  assert.equal(await store.pop(key(4)), undefined);
  assert.equal(store.size, 1, 'an emptied stack is gone');
});

test('MemoryStore holds values of any size under keys of any length, through rewrites and takes', async () => {
  const store = new MemoryStore({ maxEntries: 500 });
  const sizes = [0, 1, 200, 5000, 70_000];
  const keyOf = (i: number) => Buffer.alloc(1 + (i % 130), i);
  for (let round = 0; round < 3; round++) {
    for (let i = 0; i < 400; i++) await store.set(keyOf(i), Buffer.alloc(sizes[(i + round) % 5]!, round), 60_000);
    for (let i = 0; i < 400; i += 3)
      assert.deepEqual(await store.take(keyOf(i)), Buffer.alloc(sizes[(i + round) % 5]!, round));
  }
  for (let i = 0; i < 400; i++) {
    const want = i % 3 === 0 ? undefined : Buffer.alloc(sizes[(i + 2) % 5]!, 2);
    assert.deepEqual(await store.get(keyOf(i)), want);
  }
});

test('MemoryStore drops expired entries before live ones when full', async () => {
  let now = 1_000_000;
  const store = new MemoryStore({ maxEntries: 3, now: () => now });
  await store.set(key(1), key(1), 60_000);
  await store.set(key(2), key(2), 10); // expires first
  await store.set(key(3), key(3), 60_000);
  now += 5_000;
  await store.set(key(4), key(4), 60_000);
  assert.equal(store.size, 3);
  assert.ok(await store.get(key(1)), 'the oldest live entry stays: the expired one made room');
  assert.ok(await store.get(key(3)));
  assert.ok(await store.get(key(4)));
});

test('MemoryStore expiry follows its clock exactly', async () => {
  let now = 0;
  const store = new MemoryStore({ now: () => now });
  await store.set(key(1), key(1), 100);
  await store.push(key(2), key(2), 100, 4);
  now = 99;
  assert.ok(await store.get(key(1)));
  now = 100;
  assert.equal(await store.get(key(1)), undefined);
  assert.equal(await store.pop(key(2)), undefined);
});

test('MemoryStore stays within bounds under a long stream of writes', async () => {
  const store = new MemoryStore({ maxEntries: 1000 });
  for (let i = 0; i < 20_000; i++) await store.set(key(i & 0xffff), key(i), 60_000);
  assert.equal(store.size, 1000);
});

test('MemoryStore rejects a bad maxEntries with ERR_STORE_OPTION and declares itself in-process', () => {
  assert.throws(() => new MemoryStore({ maxEntries: 0 }), { code: 'ERR_STORE_OPTION' });
  assert.throws(() => new MemoryStore({ maxEntries: 1.5 }), { code: 'ERR_STORE_OPTION' });
  assert.deepEqual(storeTraits(new MemoryStore()), { persistent: false, sealed: false });
});

test('MemoryStore answers at once through its immediate face, as its promises answer', async () => {
  let now = 1_000;
  const store = new MemoryStore({ now: () => now });
  const fast = immediateStore(store);
  assert.ok(fast !== undefined);
  const k = Buffer.from('k');
  fast.setNow(k, Buffer.from('v1'), 100);
  assert.deepEqual(await store.get(k), Buffer.from('v1'));
  assert.deepEqual(fast.getNow(k), Buffer.from('v1'));
  now += 100;
  assert.equal(fast.getNow(k), undefined, 'expired at its ttl');
  await store.set(k, Buffer.from('v2'), 100);
  assert.deepEqual(fast.takeNow(k), Buffer.from('v2'));
  assert.equal(fast.takeNow(k), undefined, 'taken once');
  await store.close();
  assert.throws(() => fast.setNow(k, Buffer.from('v3'), 100), { code: 'ERR_STORE_CLOSED' });
});

test('a MemoryStore subclass that changes get, take or set offers no immediate face', () => {
  class Logged extends MemoryStore {
    override async get(key: Uint8Array) {
      return super.get(key);
    }
  }
  assert.equal(immediateStore(new Logged()), undefined);
  assert.ok(immediateStore(new MemoryStore()) !== undefined);
});
