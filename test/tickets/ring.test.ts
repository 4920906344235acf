/**
 * The ring without sockets: options, roles over time, wiping, what `list()` shows, and fleet
 * behaviour over an in-process store (races, store failures, revocation, timing mismatch).
 */
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { test } from 'node:test';
import { createServer } from 'node:tls';
import { EncryptedStore, MemoryStore } from '../../src/index.js';
import { TicketKeyError, type TicketKeyInfo, TicketKeyRing } from '../../src/tickets/index.js';
import { StoreDouble, sharedPki } from '../helpers/index.js';
import { fakeClock, HOUR } from './kit.js';

const code = (c: string) => (err: unknown) => err instanceof TicketKeyError && err.code === c;

test('options are checked', () => {
  for (const bad of [
    { rotateEvery: 0 },
    { grace: -1 },
    { rotateEvery: 1.5 },
    { syncInterval: 0 },
    { prefix: 3 },
    { now: 5 },
    { storeTimeoutMs: 0 },
  ]) {
    assert.throws(() => new TicketKeyRing(bad as never), code('ERR_TICKET_OPTION'), JSON.stringify(bad));
  }
  assert.throws(() => new TicketKeyRing({ kek: { id: 'k', key: randomBytes(32) } }), code('ERR_TICKET_OPTION'));
  const persistent = new StoreDouble({ traits: null });
  assert.throws(() => new TicketKeyRing({ store: persistent }), /without sealing/);
  const defaults = new TicketKeyRing();
  assert.equal(defaults.rotateEvery, 12 * HOUR);
  assert.equal(defaults.grace, 24 * HOUR);
});

test('roles over time: current, next, previous until grace ends; at most 4 keys with the defaults', async () => {
  const clock = fakeClock();
  const ring = new TicketKeyRing({ now: clock.now });
  await ring.start();
  await new Promise((r) => setImmediate(r)); // the first key's own 'rotate' event
  const rotations: TicketKeyInfo[] = [];
  const retired: TicketKeyInfo[] = [];
  ring.on('rotate', (k) => rotations.push(k));
  ring.on('retire', (k) => retired.push(k));
  const first = ring.list();
  assert.deepEqual(
    first.map((k) => k.role),
    ['current', 'next'],
  );
  const [current, next] = first as [TicketKeyInfo, TicketKeyInfo];
  assert.equal(current.encryptsUntil?.getTime(), next.encryptsFrom?.getTime());
  assert.equal(current.decryptsUntil.getTime() - current.encryptsUntil!.getTime(), 24 * HOUR * 1000);
  for (let i = 0; i < 6; i++) {
    clock.advance(12 * HOUR);
    await ring.sync();
    assert.ok(ring.list().length <= 4, `${ring.list().length} keys`);
  }
  await new Promise((r) => setImmediate(r));
  assert.equal(rotations.length, 6);
  assert.equal(rotations[0]?.name, next.name, 'the next key takes over');
  assert.ok(retired.some((k) => k.name === current.name));
  assert.ok(!ring.list().some((k) => k.name === current.name));
  await ring.close();
  assert.deepEqual(ring.list(), [], 'close wipes every key');
  assert.throws(() => ring.attach({} as never), code('ERR_TICKET_CLOSED'));
  await assert.rejects(ring.sync(), code('ERR_TICKET_CLOSED'));
});

test('list never shows key material unless asked', async () => {
  const ring = new TicketKeyRing();
  await ring.start();
  const plain = JSON.stringify(ring.list());
  const revealed = ring.list({ reveal: true });
  assert.ok(revealed.every((k) => k.material?.length === 96 && k.material.startsWith(k.name)));
  for (const k of revealed) assert.ok(!plain.includes(k.material!.slice(32)), 'secret halves stay out');
  await ring.close();
});

test('fleet in one process: a second ring adopts the first one’s keys; a sealed store holds no key material in clear', async () => {
  const clock = fakeClock();
  const inner = new MemoryStore();
  const kek = { id: 'kek-1', key: randomBytes(32) };
  const a = new TicketKeyRing({ store: inner, kek, now: clock.now });
  const b = new TicketKeyRing({ store: new EncryptedStore(inner, { key: kek }), now: clock.now });
  assert.equal(await a.start(), true);
  assert.equal(await b.start(), true);
  assert.equal(b.currentName, a.currentName);
  assert.deepEqual(
    b.list().map((k) => k.name),
    a.list().map((k) => k.name),
  );
  // Every value in the inner store is sealed: none contains a key in clear.
  const material = a.list({ reveal: true }).map((k) => Buffer.from(k.material!, 'hex'));
  const epoch = Math.floor(clock.now() / (12 * HOUR * 1000));
  for (const e of [epoch, epoch + 1]) {
    const raw = await inner.get(Buffer.from(`tk:slot:${e}`));
    assert.ok(raw, `slot ${e} stored`);
    for (const m of material) assert.equal(Buffer.from(raw).indexOf(m.subarray(16)), -1);
  }
  // A ring with another KEK cannot read them and says so.
  const errors: TicketKeyError[] = [];
  const c = new TicketKeyRing({ store: inner, kek: { id: 'kek-2', key: randomBytes(32) }, now: clock.now });
  c.on('error', (e) => errors.push(e));
  assert.equal(await c.start(), false);
  await new Promise((r) => setImmediate(r));
  assert.match(errors[0]?.message ?? '', /kek-1/);
  assert.notEqual(c.currentName, a.currentName);
  await Promise.all([a.close(), b.close(), c.close()]);
});

test('fleet race: two rings that both created the current key agree once started; the loser keeps decrypting its own tickets', async () => {
  const clock = fakeClock();
  const store = new MemoryStore();
  const a = new TicketKeyRing({ store, now: clock.now });
  const b = new TicketKeyRing({ store, now: clock.now });
  const made: string[] = [];
  for (const r of [a, b]) r.on('rotate', (k) => made.push(k.name));
  await Promise.all([a.start(), b.start()]);
  await new Promise((r) => setImmediate(r));
  // Both made a current key (the store was empty when they looked): the read-back settles it.
  assert.equal(a.currentName, b.currentName, 'same current key once started');
  assert.deepEqual(
    a
      .list()
      .filter((k) => k.role !== 'previous')
      .map((k) => k.name),
    b
      .list()
      .filter((k) => k.role !== 'previous')
      .map((k) => k.name),
  );
  const loser = made.find((n) => n !== a.currentName);
  assert.ok(loser, 'each ring made its own key first');
  const holder = a.list().some((k) => k.name === loser) ? a : b;
  assert.equal(
    holder.list().find((k) => k.name === loser)?.role,
    'previous',
    'the losing key still decrypts its own tickets',
  );
  await Promise.all([a.close(), b.close()]);
});

test('store unreachable: the ring keeps its keys, reports it, and catches up when the store is back', async () => {
  const clock = fakeClock();
  const store = new StoreDouble();
  const a = new TicketKeyRing({ store, now: clock.now });
  const errors: TicketKeyError[] = [];
  a.on('error', (e) => errors.push(e));
  await a.start();
  const held = a.list().map((k) => k.name);
  // Unreachable, as a Redis that is down: reads and writes fail.
  store.fail('connection refused', ['get', 'set']);
  assert.equal(await a.sync(), false);
  await new Promise((r) => setImmediate(r));
  assert.equal(errors[0]?.code, 'ERR_TICKET_STORE');
  assert.doesNotMatch(errors[0]?.message ?? '', /[0-9a-f]{32}/, 'no key material or name in messages');
  assert.deepEqual(
    a.list().map((k) => k.name),
    held,
  );
  // A whole turn without the store: the last key keeps encrypting (stale), nothing retires it.
  clock.advance(36 * HOUR);
  assert.equal(await a.sync(), false);
  assert.ok(a.currentName, 'still has a current key');
  store.heal();
  assert.equal(await a.sync(), true);
  const b = new TicketKeyRing({ store, now: clock.now });
  await b.start();
  assert.equal(b.currentName, a.currentName, 'back in step with the store');
  await Promise.all([a.close(), b.close()]);
});

test('store unreachable at start: local keys, one warning', async () => {
  const store = new StoreDouble().fail('connection refused', ['get', 'set']);
  const warnings: string[] = [];
  const onWarning = (w: Error & { code?: string }) => {
    if (w.code === 'TLS_SESSIONS_TICKET_KEYS_LOCAL') warnings.push(w.message);
  };
  process.on('warning', onWarning);
  const a = new TicketKeyRing({ store });
  a.on('error', () => {});
  assert.equal(await a.start(), false);
  assert.equal(await a.sync(), false);
  await new Promise((r) => setTimeout(r, 10));
  process.off('warning', onWarning);
  assert.ok(a.currentName);
  assert.equal(warnings.length, 1);
  await a.close();
});

test('rotate and revoke propagate through the store at the next sync', async () => {
  const clock = fakeClock();
  const store = new MemoryStore();
  const a = new TicketKeyRing({ store, now: clock.now });
  const b = new TicketKeyRing({ store, now: clock.now });
  await a.start();
  await b.start();
  const old = a.currentName;
  const rotated = await a.rotate();
  await b.sync();
  assert.equal(b.currentName, rotated.name);
  assert.equal(b.list().find((k) => k.name === old)?.role, 'previous');

  clock.advance(1);
  const all = b.list().map((k) => k.name);
  await a.rotate({ revoke: true });
  await b.sync();
  assert.equal(b.currentName, a.currentName);
  assert.ok(!b.list().some((k) => all.includes(k.name)), 'every older key dropped');
  assert.equal(b.list().length, 2);
  await Promise.all([a.close(), b.close()]);
});

test('a ring configured differently follows the store and says so', async () => {
  const clock = fakeClock();
  const store = new MemoryStore();
  const a = new TicketKeyRing({ store, rotateEvery: HOUR, grace: 2 * HOUR, now: clock.now });
  await a.start();
  const b = new TicketKeyRing({ store, now: clock.now });
  const errors: TicketKeyError[] = [];
  b.on('error', (e) => errors.push(e));
  await b.start();
  await new Promise((r) => setImmediate(r));
  assert.equal(errors[0]?.code, 'ERR_TICKET_CONFIG');
  assert.equal(b.rotateEvery, HOUR);
  assert.equal(b.grace, 2 * HOUR);
  assert.equal(b.currentName, a.currentName);
  await Promise.all([a.close(), b.close()]);
});

test('retired keys are deleted from the store', async () => {
  const clock = fakeClock();
  const store = new MemoryStore();
  const a = new TicketKeyRing({ store, rotateEvery: HOUR, grace: HOUR, now: clock.now });
  await a.start();
  const epoch = Math.floor(clock.now() / (HOUR * 1000));
  assert.ok(await store.get(Buffer.from(`tk:slot:${epoch}`)));
  clock.advance(2 * HOUR);
  await a.sync();
  assert.equal(await store.get(Buffer.from(`tk:slot:${epoch}`)), undefined);
  await a.close();
});

test('attached before start(): local keys at once, the fleet’s keys right after', async () => {
  const clock = fakeClock();
  const store = new MemoryStore();
  const fleet = new TicketKeyRing({ store, now: clock.now });
  await fleet.start();
  const pki = await sharedPki();
  const server = createServer({ key: pki.server.key, cert: pki.server.cert });
  const late = new TicketKeyRing({ store, now: clock.now });
  const warnings: string[] = [];
  const onWarning = (w: Error & { code?: string }) => {
    if (w.code === 'TLS_SESSIONS_TICKET_KEYS_LOCAL') warnings.push(w.message);
  };
  process.on('warning', onWarning);
  late.attach(server);
  const local = late.currentName;
  assert.ok(local, 'a key to serve with at once');
  await late.sync();
  process.off('warning', onWarning);
  assert.equal(late.currentName, fleet.currentName);
  assert.equal(late.list().find((k) => k.name === local)?.role, 'previous', 'its own key still decrypts');
  assert.equal(warnings.length, 0, 'no warning: the store was reachable');
  await Promise.all([late.close(), fleet.close()]);
});
