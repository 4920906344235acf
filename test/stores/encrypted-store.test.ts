import assert from 'node:assert/strict';
import { createSecretKey, randomBytes } from 'node:crypto';
import { test } from 'node:test';
import { inspect } from 'node:util';
import { EncryptedStore, type SealingKey } from '../../src/stores/encrypted-store.js';
import { MemoryStore } from '../../src/stores/memory-store.js';
import type { SessionStore } from '../../src/stores/session-store.js';
import { STORE_TRAITS, storeTraits, warnIfUnsealed } from '../../src/stores/store-traits.js';
import { storeConformance } from './conformance.js';

const k1: SealingKey = { id: 'k1', key: randomBytes(32) };
const k2: SealingKey = { id: 'k2', key: randomBytes(32) };
const enc = (s: string): Uint8Array => Buffer.from(s);
const TTL = 60_000;
const SECRET = 'MASTER-SECRET-4f1c0ffee';

storeConformance('EncryptedStore over MemoryStore', async () => {
  const inner = new MemoryStore();
  const store = new EncryptedStore(inner, { key: k1 });
  const other = new EncryptedStore(inner, { key: k2, decryptOnly: [k1] });
  return { store, other, cleanup: () => store.close() };
});

test('EncryptedStore: the inner store holds only sealed bytes, which open under the same key', async () => {
  const inner = new MemoryStore();
  const store = new EncryptedStore(inner, { key: k1 });
  await store.set(enc('id'), enc(SECRET), TTL);
  await store.push(enc('tickets'), enc(SECRET), TTL, 4);
  const sealed = Buffer.from((await inner.get(enc('id')))!);
  assert.ok(!sealed.includes(SECRET), 'plaintext reached the inner store');
  assert.equal(sealed.length, 1 + 1 + 2 + 12 + SECRET.length + 16, 'format, id length, id, iv, body, tag');
  assert.equal(sealed.subarray(2, 4).toString(), 'k1', 'the key id is stored in clear');
  await store.set(enc('id2'), enc(SECRET), TTL);
  assert.notDeepEqual(Buffer.from((await inner.get(enc('id2')))!), sealed, 'a fresh IV per value');
  assert.equal(Buffer.from((await store.get(enc('id')))!).toString(), SECRET);
  assert.equal(Buffer.from((await store.pop(enc('tickets')))!).toString(), SECRET);
  assert.deepEqual(store.stats, { sealed: 3, opened: 2, rejected: 0 });
  assert.deepEqual(storeTraits(store), { persistent: false, sealed: true });
});

test('EncryptedStore: an entry copied under another key, or between a value and a stack, does not open', async () => {
  const inner = new MemoryStore();
  const store = new EncryptedStore(inner, { key: k1 });
  await store.set(enc('a'), enc(SECRET), TTL);
  const sealed = (await inner.get(enc('a')))!;
  await inner.set(enc('b'), sealed, TTL);
  await assert.rejects(store.get(enc('b')), { code: 'ERR_STORE_UNSEAL', message: /failed authentication/ });
  assert.equal(Buffer.from((await store.get(enc('a')))!).toString(), SECRET, 'the original still opens');
  await inner.push(enc('a'), sealed, TTL, 2);
  await assert.rejects(store.pop(enc('a')), { code: 'ERR_STORE_UNSEAL' });
  await store.push(enc('p'), enc(SECRET), TTL, 2);
  await inner.set(enc('p'), (await inner.pop(enc('p')))!, TTL);
  await assert.rejects(store.get(enc('p')), { code: 'ERR_STORE_UNSEAL' });
});

test('EncryptedStore: altered bytes, a relabelled key id, or a non-sealed value do not open', async () => {
  const inner = new MemoryStore();
  const store = new EncryptedStore(inner, { key: k1, decryptOnly: [k2] });
  await store.set(enc('a'), enc(SECRET), TTL);
  const sealed = Buffer.from((await inner.get(enc('a')))!);
  for (const at of [0, 5, 20, sealed.length - 1]) {
    const bad = Buffer.from(sealed);
    bad[at]! ^= 1;
    await inner.set(enc('x'), bad, TTL);
    await assert.rejects(store.get(enc('x')), { code: 'ERR_STORE_UNSEAL' }, `bit flipped at ${at}`);
  }
  const relabelled = Buffer.from(sealed);
  relabelled.write('k2', 2, 'latin1');
  await inner.set(enc('a'), relabelled, TTL);
  await assert.rejects(store.get(enc('a')), { code: 'ERR_STORE_UNSEAL' });
  for (const junk of [Buffer.alloc(0), Buffer.from('plain session bytes'), Buffer.from([1, 0])]) {
    await inner.set(enc('j'), junk, TTL);
    await assert.rejects(store.take(enc('j')), { code: 'ERR_STORE_UNSEAL', message: /not a sealed value/ });
  }
  assert.equal(store.stats.rejected, 4 + 1 + 3);
});

test('EncryptedStore: keys rotate; values sealed under a retired key open while it is kept for decryption', async () => {
  const inner = new MemoryStore();
  const before = new EncryptedStore(inner, { key: k1 });
  await before.set(enc('old'), enc('sealed by k1'), TTL);
  const rotated = new EncryptedStore(inner, { key: k2, decryptOnly: [k1] });
  assert.equal(rotated.keyId, 'k2');
  assert.equal(Buffer.from((await rotated.get(enc('old')))!).toString(), 'sealed by k1');
  await rotated.set(enc('new'), enc('sealed by k2'), TTL);
  assert.equal(
    Buffer.from((await inner.get(enc('new')))!)
      .subarray(2, 4)
      .toString(),
    'k2',
  );
  const retired = new EncryptedStore(inner, { key: k2 });
  await assert.rejects(retired.get(enc('old')), {
    code: 'ERR_STORE_UNSEAL',
    message: "EncryptedStore: the value is sealed under key 'k1', which this store does not hold",
  });
  assert.equal(Buffer.from((await retired.get(enc('new')))!).toString(), 'sealed by k2');
  const viaKeyObject = new EncryptedStore(inner, { key: { id: 'k2', key: createSecretKey(k2.key as Buffer) } });
  assert.equal(Buffer.from((await viaKeyObject.get(enc('new')))!).toString(), 'sealed by k2');
});

test('EncryptedStore: pop passes over entries that do not open and returns the next one', async () => {
  const inner = new MemoryStore();
  const mine = new EncryptedStore(inner, { key: k1 });
  const stranger = new EncryptedStore(inner, { key: k2 });
  await mine.push(enc('s'), enc('good'), TTL, 8);
  await stranger.push(enc('s'), enc('foreign 1'), TTL, 8);
  await stranger.push(enc('s'), enc('foreign 2'), TTL, 8);
  assert.equal(Buffer.from((await mine.pop(enc('s')))!).toString(), 'good');
  assert.equal(mine.stats.rejected, 2);
  await stranger.push(enc('s'), enc('foreign 3'), TTL, 8);
  await assert.rejects(mine.pop(enc('s')), { code: 'ERR_STORE_UNSEAL' }, 'nothing opened: the error is reported');
  assert.equal(await mine.pop(enc('s')), undefined);
});

test('EncryptedStore: key material never shows in errors, inspect or JSON', async () => {
  const inner = new MemoryStore();
  const store = new EncryptedStore(inner, { key: k1, decryptOnly: [k2] });
  const hexes = [k1, k2].map((k) => Buffer.from(k.key as Buffer).toString('hex'));
  const b64s = [k1, k2].map((k) => Buffer.from(k.key as Buffer).toString('base64'));
  await store.set(enc('a'), enc(SECRET), TTL);
  await inner.set(enc('b'), Buffer.from((await inner.get(enc('a')))!), TTL);
  const err = await store.get(enc('b')).catch((e: unknown) => e as Error);
  const shown = [
    inspect(store, { depth: 10, showHidden: true }),
    JSON.stringify(store),
    String(err),
    (err as Error).stack,
  ].join('\n');
  for (const s of [...hexes, ...b64s, SECRET]) assert.ok(!shown.includes(s), 'secret material shown');
});

test('EncryptedStore: bad keys are refused with ERR_STORE_OPTION', () => {
  const inner = new MemoryStore();
  const bad: SealingKey[] = [
    { id: 'short', key: randomBytes(31) },
    { id: 'long', key: randomBytes(33) },
    { id: '', key: randomBytes(32) },
    { id: 'has space', key: randomBytes(32) },
    { id: 'x'.repeat(65), key: randomBytes(32) },
    { id: 'aes128', key: createSecretKey(randomBytes(16)) },
  ];
  for (const key of bad) assert.throws(() => new EncryptedStore(inner, { key }), { code: 'ERR_STORE_OPTION' }, key.id);
  assert.throws(() => new EncryptedStore(inner, { key: k1, decryptOnly: [{ id: 'k1', key: randomBytes(32) }] }), {
    code: 'ERR_STORE_OPTION',
    message: /given twice/,
  });
});

test('warnIfUnsealed warns once for a persistent, unsealed store, and never for sealed or in-memory ones', () => {
  const warnings: Array<{ message: string; code: string }> = [];
  const warn = (message: string, code: string): void => {
    warnings.push({ message, code });
  };
  const persistent = new MemoryStore();
  Object.defineProperty(persistent, STORE_TRAITS, { value: { persistent: true, sealed: false } });
  const custom: SessionStore = new MemoryStore();
  Object.defineProperty(custom, STORE_TRAITS, { value: undefined });
  assert.equal(warnIfUnsealed(persistent, 'server sessions', warn), true);
  assert.equal(warnIfUnsealed(persistent, 'server sessions', warn), false, 'once per store');
  assert.equal(
    warnIfUnsealed(custom, 'server sessions', warn),
    true,
    'a store that says nothing is taken as persistent',
  );
  assert.equal(warnIfUnsealed(new MemoryStore(), 'server sessions', warn), false);
  assert.equal(warnIfUnsealed(new EncryptedStore(persistent, { key: k1 }), 'server sessions', warn), false);
  assert.equal(warnings.length, 2);
  assert.equal(warnings[0]!.code, 'TLS_SESSIONS_UNSEALED_STORE');
  assert.match(
    warnings[0]!.message,
    /^server sessions are kept outside this process without encryption.*EncryptedStore/,
  );
});

test('warnIfUnsealed emits a process warning by default', async (t) => {
  const seen: string[] = [];
  const onWarning = (w: Error & { code?: string }): void => {
    if (w.code === 'TLS_SESSIONS_UNSEALED_STORE') seen.push(w.message);
  };
  process.on('warning', onWarning);
  t.after(() => process.off('warning', onWarning));
  const store = new MemoryStore();
  Object.defineProperty(store, STORE_TRAITS, { value: { persistent: true, sealed: false } });
  assert.equal(warnIfUnsealed(store, 'test sessions'), true);
  await new Promise((resolve) => setImmediate(resolve));
  assert.equal(seen.length, 1);
  assert.match(seen[0]!, /^test sessions are kept/);
});
