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
