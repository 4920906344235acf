/**
 * Every store call on the handshake path has a time budget: a slow, failing or corrupt store
 * costs a full handshake, never a failed or stalled one, and never an exception.
 */
import assert from 'node:assert/strict';
import { constants } from 'node:crypto';
import { test } from 'node:test';
import type { ServerSessionCacheError } from '../../src/server/index.js';
import { nodeConnect, StoreDouble, waitFor } from '../helpers/index.js';
import { startCachedServer } from './kit.js';

/** A custom store (no traits declared) over a MemoryStore, as a Redis or a file store would be. */
const controlledStore = () => new StoreDouble({ traits: null });

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
    const store = controlledStore();
    const srv = await startCachedServer({ cache: { store, storeTimeoutMs: 30 } });
    t.after(() => srv.close());
    const first = await connect(srv.port, version);
    assert.equal((await connect(srv.port, version, first.session)).reused, true);
    const before = srv.cache.stats();

    store.hang();
    const slow = await connect(srv.port, version, first.session);
    assert.equal(slow.reused, false);
    assert.equal(slow.received, 'ok\n', 'the connection carried data after the full handshake');
    // The lookup, then each new session's write (in the background): one budget exceeded per call.
    const newSessions = version === 'TLSv1.3' ? 2 : 1;
    await waitFor(() => srv.cache.stats().storeTimeouts >= 1 + newSessions, {
      what: 'the store timeouts',
      timeoutMs: 1000,
    });
    const st = srv.cache.stats();
    assert.equal(st.storeTimeouts, 1 + newSessions);
    assert.equal(st.number, before.number, 'sessions whose write timed out are not counted');
    assert.equal(st.misses - before.misses, 1);
    assert.equal(st.storeErrors, 0);
    assert.equal(st.acceptGood, before.acceptGood + 1);
  });
}

test('a failing store: full handshakes, storeErrors counted, an error event per failure when listened to', async (t) => {
  const store = controlledStore();
  const srv = await startCachedServer({ cache: { store } });
  t.after(() => srv.close());
  const errors: ServerSessionCacheError[] = [];
  srv.cache.on('storeError', (e) => errors.push(e));
  const first = await connect(srv.port, 'TLSv1.2');
  store.fail('store is down');
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
  const store = controlledStore();
  store.fail('store is down');
  const srv = await startCachedServer({ cache: { store } });
  t.after(() => srv.close());
  for (let i = 0; i < 3; i++) assert.equal((await connect(srv.port, 'TLSv1.3')).received, 'ok\n');
  assert.equal(srv.cache.stats().storeErrors, 6);
  assert.equal(srv.cache.stats().number, 0);
});

test('a stored value that is not a session record is a miss with ERR_CACHE_RECORD', async (t) => {
  const store = controlledStore();
  const srv = await startCachedServer({ cache: { store } });
  t.after(() => srv.close());
  const codes: string[] = [];
  srv.cache.on('storeError', (e) => codes.push(e.code));
  const misses: string[] = [];
  srv.cache.on('missed', ({ reason }) => misses.push(reason));
  const first = await connect(srv.port, 'TLSv1.2');
  store.answer({ get: Uint8Array.of(0x53, 1, 0, 9, 9, 9), take: Uint8Array.of(1, 2, 3) });
  assert.equal((await connect(srv.port, 'TLSv1.2', first.session)).reused, false);
  assert.deepEqual(codes, ['ERR_CACHE_RECORD']);
  assert.deepEqual(misses, ['record']);
});
