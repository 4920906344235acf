import assert from 'node:assert/strict';
import { test } from 'node:test';
import { connect } from 'node:tls';
import { ClientSessionStore } from '../../src/client/index.js';
import { MemoryStore } from '../../src/stores/memory-store.js';
import { nodeConnect, StoreDouble, sharedPki, startNodeServer, waitFor } from '../helpers/index.js';
import { runConnection } from './run-connection.js';

/**
 * A custom store over a MemoryStore whose calls can be made to fail or to hang, to exercise the
 * client store's handling of a broken backend (a Redis that is down, a slow network).
 */
const unreliableStore = () => new StoreDouble({ traits: null });

test('attach: sessions of a socket made elsewhere are captured and later resumed', async (t) => {
  const pki = await sharedPki();
  for (const maxVersion of ['TLSv1.2', 'TLSv1.3'] as const) {
    const server = await startNodeServer({ cert: pki.server, tlsOptions: { maxVersion } });
    t.after(() => server.close());
    const store = new ClientSessionStore();
    t.after(() => store.close());
    const opts = { host: '127.0.0.1', port: server.port, servername: 'localhost', ca: pki.ca.cert };

    const socket = store.attach(connect(opts), opts);
    socket.resume();
    await new Promise<void>((resolve, reject) => {
      socket.once('close', () => resolve());
      socket.once('error', reject);
    });
    await store.flush();
    assert.equal(store.stats().stored, maxVersion === 'TLSv1.3' ? 2 : 1, maxVersion);
    assert.equal((await runConnection(store, opts)).reused, true, maxVersion);
  }
});

test('attach after a TLS 1.2 handshake takes the session from getSession()', async (t) => {
  const pki = await sharedPki();
  const server = await startNodeServer({ cert: pki.server, tlsOptions: { maxVersion: 'TLSv1.2' } });
  t.after(() => server.close());
  const store = new ClientSessionStore();
  t.after(() => store.close());
  const opts = { host: '127.0.0.1', port: server.port, servername: 'localhost', ca: pki.ca.cert };
  const plain = await nodeConnect({ ...opts, waitForClose: false });
  store.attach(plain.socket, opts);
  await plain.done;
  await store.flush();
  assert.equal(store.stats().stored, 1);
  assert.equal((await runConnection(store, opts)).reused, true);
});

test('an application closing a healthy connection with a reason keeps its sessions', async (t) => {
  const pki = await sharedPki();
  const server = await startNodeServer({ cert: pki.server, handler: (s) => setImmediate(() => s.write('hi\n')) });
  t.after(() => server.close());
  const store = new ClientSessionStore();
  t.after(() => store.close());
  const opts = { host: '127.0.0.1', port: server.port, servername: 'localhost', ca: pki.ca.cert };
  const socket = await store.connect(opts);
  let sessions = 0;
  socket.on('session', () => sessions++);
  socket.on('error', () => {});
  await new Promise<void>((resolve) => socket.once('data', () => resolve()));
  await waitFor(() => sessions >= 2, { what: 'the two TLS 1.3 tickets', timeoutMs: 1000 });
  const closed = new Promise<void>((resolve) => socket.once('close', () => resolve()));
  socket.destroy(new Error('idle timeout'));
  await closed;
  await store.flush();
  assert.equal(store.stats().uncleanRemovals, 0);
  assert.equal(store.stats().sessions, 2);
});

test('clear() empties the store and resets the counters; close() makes connect reject', async (t) => {
  const pki = await sharedPki();
  const server = await startNodeServer({ cert: pki.server });
  t.after(() => server.close());
  const store = new ClientSessionStore();
  const opts = { port: server.port, ca: pki.ca.cert };
  await runConnection(store, opts);
  assert.equal(store.stats().sessions, 2);
  await store.clear();
  assert.deepEqual(
    Object.values(store.stats()),
    Object.values(store.stats()).map(() => 0),
  );
  assert.equal((await runConnection(store, opts)).reused, false);
  await store.close();
  await store.close();
  await assert.rejects(store.connect({ port: server.port }), { code: 'ERR_CLIENT_STORE_CLOSED' });
});

test('two client stores over one SessionStore share sessions; closing one leaves the shared store open', async (t) => {
  const pki = await sharedPki();
  const server = await startNodeServer({ cert: pki.server });
  t.after(() => server.close());
  const shared = new MemoryStore();
  t.after(() => shared.close());
  const a = new ClientSessionStore({ store: shared });
  const b = new ClientSessionStore({ store: shared });
  t.after(() => b.close());
  const opts = { port: server.port, ca: pki.ca.cert };
  await runConnection(a, opts);
  await a.close();
  assert.equal((await runConnection(b, opts)).reused, true);
  assert.equal((await runConnection(b, opts)).reused, true);
  assert.equal((await runConnection(b, opts)).reused, false, 'both tickets used once, across the two');
  // clear() on a shared store deletes only the domains it knows of.
  await shared.set(Buffer.from('other'), Buffer.from('value'), 60_000);
  await b.clear();
  const other = await shared.get(Buffer.from('other'));
  assert.equal(other && Buffer.from(other).toString(), 'value');
});

test('a failing store means full handshakes and counted errors, never a failed connection', async (t) => {
  const pki = await sharedPki();
  const server = await startNodeServer({ cert: pki.server });
  t.after(() => server.close());
  const backend = unreliableStore();
  const store = new ClientSessionStore({ store: backend });
  t.after(() => store.close());
  const errors: string[] = [];
  store.on('storeError', (e) => errors.push(e.message));
  const opts = { port: server.port, ca: pki.ca.cert };

  backend.fail('store unavailable');
  const first = await runConnection(store, opts);
  assert.equal(first.reused, false);
  assert.ok(store.stats().storeErrors >= 3, 'the lookup and both ticket writes failed');
  assert.ok(errors.every((m) => m === 'session store: store unavailable'));
  backend.heal();
  await runConnection(store, opts);
  assert.equal((await runConnection(store, opts)).reused, true);
});

test('a store that does not answer within storeTimeoutMs does not hold the connection', async (t) => {
  const pki = await sharedPki();
  const server = await startNodeServer({ cert: pki.server });
  t.after(() => server.close());
  const backend = unreliableStore();
  const store = new ClientSessionStore({ store: backend, storeTimeoutMs: 50 });
  t.after(() => store.close());
  const errors: Array<{ code?: string }> = [];
  store.on('storeError', (e) => errors.push(e as { code?: string }));
  backend.hang();
  const socket = await store.connect({
    host: '127.0.0.1',
    port: server.port,
    servername: 'localhost',
    ca: pki.ca.cert,
  });
  socket.resume();
  await new Promise<void>((resolve) => socket.once('secureConnect', () => resolve()));
  socket.destroy();
  assert.equal(errors[0]?.code, 'ERR_STORE_TIMEOUT');
  assert.equal(store.stats().offered, 0);
  // Writes to a store that never answers do not hold flush() (or close()) either.
  await store.flush();
});
