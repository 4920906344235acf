/**
 * Every store call on the handshake path has a time budget: a slow, failing or corrupt store
 * costs a full handshake, never a failed or stalled one, and never an exception.
 */
import assert from 'node:assert/strict';
import { constants } from 'node:crypto';
import { test } from 'node:test';
import { setTimeout as delay } from 'node:timers/promises';
import type { ServerSessionCacheError } from '../../src/server/index.js';
import { MemoryStore } from '../../src/stores/memory-store.js';
import type { SessionStore } from '../../src/stores/session-store.js';
import { nodeConnect } from '../helpers/index.js';
import { startCachedServer } from './kit.js';

type Mode = 'ok' | 'fail' | 'hang' | 'corrupt';

/** A MemoryStore that can be switched to failing, never answering, or returning garbage. */
class ControlledStore implements SessionStore {
  readonly inner = new MemoryStore();
  mode: Mode = 'ok';
  #gate<T>(run: () => Promise<T>, garbage?: T): Promise<T> {
    if (this.mode === 'fail') return Promise.reject(new Error('store is down'));
    if (this.mode === 'hang') return new Promise<T>(() => {});
    if (this.mode === 'corrupt' && garbage !== undefined) return Promise.resolve(garbage);
    return run();
  }
  get(key: Uint8Array) {
    return this.#gate(() => this.inner.get(key), new Uint8Array([0x53, 1, 0, 9, 9, 9]) as Uint8Array | undefined);
  }
  set(key: Uint8Array, value: Uint8Array, ttlMs: number) {
    return this.#gate(() => this.inner.set(key, value, ttlMs));
  }
  take(key: Uint8Array) {
    return this.#gate(() => this.inner.take(key), new Uint8Array([1, 2, 3]) as Uint8Array | undefined);
  }
  delete(key: Uint8Array) {
    return this.#gate(() => this.inner.delete(key));
  }
  push(key: Uint8Array, value: Uint8Array, ttlMs: number, max: number) {
    return this.#gate(() => this.inner.push(key, value, ttlMs, max));
  }
  pop(key: Uint8Array) {
    return this.#gate(() => this.inner.pop(key));
  }
  clear() {
    return this.inner.clear();
  }
  close() {
    return this.inner.close();
  }
}

async function connect(port: number, version: 'TLSv1.2' | 'TLSv1.3', session?: Buffer) {
  // TLS 1.2 without tickets: the session-id path goes through the store.
  const noTicket = version === 'TLSv1.2' ? { secureOptions: constants.SSL_OP_NO_TICKET } : {};
  const c = await nodeConnect({
    port,
    maxVersion: version,
    ...noTicket,
    timeoutMs: 3000,
    ...(session === undefined ? {} : { session }),
  });
  return { reused: c.reused, session: c.sessions.at(-1) ?? session, received: c.received() };
}

for (const version of ['TLSv1.2', 'TLSv1.3'] as const) {
  test(`${version}: a store that never answers costs a full handshake, not a stalled one`, async (t) => {
    const store = new ControlledStore();
    const srv = await startCachedServer({ cache: { store, storeTimeoutMs: 30 } });
    t.after(() => srv.close());
    const first = await connect(srv.port, version);
    assert.equal((await connect(srv.port, version, first.session)).reused, true);
    const before = srv.cache.stats();

    store.mode = 'hang';
    const slow = await connect(srv.port, version, first.session);
    assert.equal(slow.reused, false);
    assert.equal(slow.received, 'ok\n', 'the connection carried data after the full handshake');
    // The lookup, then each new session's write (in the background): one budget exceeded per call.
    const newSessions = version === 'TLSv1.3' ? 2 : 1;
    for (let i = 0; i < 100 && srv.cache.stats().storeTimeouts < 1 + newSessions; i++) await delay(10);
    const st = srv.cache.stats();
    assert.equal(st.storeTimeouts, 1 + newSessions);
    assert.equal(st.number, before.number, 'sessions whose write timed out are not counted');
    assert.equal(st.misses - before.misses, 1);
    assert.equal(st.storeErrors, 0);
    assert.equal(st.acceptGood, before.acceptGood + 1);
  });
}

test('a failing store: full handshakes, storeErrors counted, an error event per failure when listened to', async (t) => {
  const store = new ControlledStore();
  const srv = await startCachedServer({ cache: { store } });
  t.after(() => srv.close());
  const errors: ServerSessionCacheError[] = [];
  srv.cache.on('storeError', (e) => errors.push(e));
  const first = await connect(srv.port, 'TLSv1.2');
  store.mode = 'fail';
  const again = await connect(srv.port, 'TLSv1.2', first.session);
  assert.equal(again.reused, false);
  assert.equal(again.received, 'ok\n');
  assert.equal(srv.cache.stats().storeErrors, 2); // lookup and store of the new session
  assert.deepEqual(
    errors.map((e) => e.code),
    ['ERR_CACHE_STORE', 'ERR_CACHE_STORE'],
  );
  assert.match(errors[0]!.message, /^session lookup: store is down$/);
  assert.equal(srv.cache.stats().stored, 1);
});

test('without an error listener a failing store never throws', async (t) => {
  const store = new ControlledStore();
  store.mode = 'fail';
  const srv = await startCachedServer({ cache: { store } });
  t.after(() => srv.close());
  for (let i = 0; i < 3; i++) assert.equal((await connect(srv.port, 'TLSv1.3')).received, 'ok\n');
  assert.equal(srv.cache.stats().storeErrors, 6);
  assert.equal(srv.cache.stats().number, 0);
});

test('a stored value that is not a session record is a miss with ERR_CACHE_RECORD', async (t) => {
  const store = new ControlledStore();
  const srv = await startCachedServer({ cache: { store } });
  t.after(() => srv.close());
  const codes: string[] = [];
  srv.cache.on('storeError', (e) => codes.push(e.code));
  const misses: string[] = [];
  srv.cache.on('missed', ({ reason }) => misses.push(reason));
  const first = await connect(srv.port, 'TLSv1.2');
  store.mode = 'corrupt';
  assert.equal((await connect(srv.port, 'TLSv1.2', first.session)).reused, false);
  assert.deepEqual(codes, ['ERR_CACHE_RECORD']);
  assert.deepEqual(misses, ['record']);
});
