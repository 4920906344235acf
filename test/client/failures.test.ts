import assert from 'node:assert/strict';
import { connect, type TLSSocket } from 'node:tls';
import { test } from 'node:test';
import { ClientSessionStore } from '../../src/client/index.js';
import { defaultHandler, nodeConnect, sharedPki, startNodeServer, startSServer, waitFor } from '../helpers/index.js';
import { startHelloRecorder } from './hello-recorder.js';
import { runConnection, runWww } from './run-connection.js';

/**
 * A Node server whose connections either end after one line (mode 'end') or stay open after
 * writing one (mode 'hold'), so that a test can break them once the tickets have arrived.
 */
async function switchableServer(maxVersion: 'TLSv1.2' | 'TLSv1.3') {
  const pki = await sharedPki();
  const state = { mode: 'end' as 'end' | 'hold' };
  const server = await startNodeServer({
    cert: pki.server,
    tlsOptions: { maxVersion },
    handler: (socket: TLSSocket) => {
      if (state.mode === 'end') defaultHandler(socket);
      else setImmediate(() => socket.write('held\n'));
    },
  });
  return { server, state };
}

/** Opens a connection through the store and waits until it has data and `sessions` stored sessions. */
async function openHeld(store: ClientSessionStore, port: number, sessions: number) {
  const pki = await sharedPki();
  let stored = 0;
  const onSession = () => stored++;
  store.on('session', onSession);
  const socket = await store.connect({ host: '127.0.0.1', port, servername: 'localhost', ca: pki.ca.cert });
  let data = '';
  let error: Error | undefined;
  socket.on('data', (d: Buffer) => {
    data += d.toString();
  });
  socket.on('error', (e) => {
    error = e;
  });
  const closed = new Promise<void>((resolve) => socket.once('close', () => resolve()));
  await waitFor(() => data.includes('held') && stored >= sessions, { what: 'the held line and the stored sessions' });
  store.off('session', onSession);
  await store.flush();
  return { socket, closed, error: () => error };
}

test('TLS 1.3: tickets of a connection reset after a clean handshake are removed', async (t) => {
  const { server, state } = await switchableServer('TLSv1.3');
  t.after(() => server.close());
  const recorder = await startHelloRecorder(server.port);
  t.after(() => recorder.close());
  const store = new ClientSessionStore();
  t.after(() => store.close());
  const dropped: number[] = [];
  store.on('dropped', (e) => dropped.push(e.sessions));

  state.mode = 'hold';
  const held = await openHeld(store, recorder.port, 2);
  assert.equal(store.stats().sessions, 2, 'tickets are kept while the connection is alive');
  recorder.resetClients();
  await held.closed;
  await store.flush();
  assert.equal(held.error()?.message.includes('ECONNRESET'), true, `expected a reset, got ${held.error()?.message}`);

  const s = store.stats();
  assert.equal(s.uncleanRemovals, 2);
  assert.equal(s.droppedOnError, 2, 'the deprecated name gives the same count');
  assert.equal(s.sessions, 0);
  assert.deepEqual(dropped, [2]);

  state.mode = 'end';
  const next = await runConnection(store, { port: recorder.port, ca: (await sharedPki()).ca.cert });
  assert.equal(next.reused, false);
  assert.equal(store.stats().offered, 0, 'nothing was left to offer');
  assert.deepEqual(recorder.hellos[1]?.pskIdentities, []);
});

test("TLS 1.3: only the failed connection's tickets go; tickets of good connections stay", async (t) => {
  const { server, state } = await switchableServer('TLSv1.3');
  t.after(() => server.close());
  const recorder = await startHelloRecorder(server.port);
  t.after(() => recorder.close());
  const store = new ClientSessionStore();
  t.after(() => store.close());
  const pki = await sharedPki();
  const opts = { host: '127.0.0.1', port: recorder.port, servername: 'localhost', ca: pki.ca.cert };
  const good: string[] = [];
  const bad: string[] = [];
  let into = good;
  store.on('session', (e) => into.push(e.session.ticket?.toString('hex') ?? ''));

  await runConnection(store, opts);
  assert.equal(good.length, 2);

  // A full handshake in the same domain (a socket made elsewhere, attached), held open, then reset.
  into = bad;
  state.mode = 'hold';
  const socket = store.attach(connect(opts), opts);
  let error: Error | undefined;
  socket.on('error', (e) => {
    error = e;
  });
  let data = '';
  socket.on('data', (d: Buffer) => {
    data += d.toString();
  });
  const closed = new Promise<void>((resolve) => socket.once('close', () => resolve()));
  await waitFor(() => data.includes('held') && bad.length === 2, { what: 'the held line and both bad sessions' });
  await store.flush();
  assert.equal(store.stats().sessions, 4);
  recorder.resetClients();
  await closed;
  await store.flush();
  assert.match(String(error?.message), /ECONNRESET/);
  assert.equal(store.stats().uncleanRemovals, 2);
  assert.equal(store.stats().sessions, 2);

  // The good tickets are still there, newest first and in order; the bad ones are never offered.
  state.mode = 'end';
  const next1 = await runConnection(store, opts);
  const next2 = await runConnection(store, opts);
  const next3 = await runConnection(store, opts);
  assert.deepEqual([next1.reused, next2.reused, next3.reused], [true, true, false]);
  const offered = recorder.hellos.slice(2).map((h) => h.pskIdentities.map((b) => b.toString('hex')));
  assert.deepEqual(offered, [[good[1]], [good[0]], []]);
});

test('TLS 1.2: a session whose connection is reset is removed, whether it was offered or new', async (t) => {
  const { server, state } = await switchableServer('TLSv1.2');
  t.after(() => server.close());
  const recorder = await startHelloRecorder(server.port);
  t.after(() => recorder.close());
  const store = new ClientSessionStore();
  t.after(() => store.close());
  const pki = await sharedPki();

  // A new session, stored at the handshake, removed when the connection is reset.
  state.mode = 'hold';
  let held = await openHeld(store, recorder.port, 1);
  assert.equal(store.stats().sessions, 1);
  recorder.resetClients();
  await held.closed;
  await store.flush();
  assert.equal(store.stats().uncleanRemovals, 1);
  assert.equal(store.stats().sessions, 0);

  // The offered session of a resumed connection that is reset is removed too.
  state.mode = 'end';
  await runConnection(store, { port: recorder.port, ca: pki.ca.cert });
  state.mode = 'hold';
  held = await openHeld(store, recorder.port, 0);
  assert.equal(held.socket.isSessionReused(), true);
  recorder.resetClients();
  await held.closed;
  await store.flush();
  assert.equal(store.stats().uncleanRemovals, 2);
  assert.equal(store.stats().sessions, 0);

  state.mode = 'end';
  const offeredBefore = store.stats().offered;
  const next = await runConnection(store, { port: recorder.port, ca: pki.ca.cert });
  assert.equal(next.reused, false);
  assert.equal(store.stats().offered, offeredBefore);
});

test('TLS 1.2: a session offered to a handshake that fails with a fatal alert is removed', async (t) => {
  const pki = await sharedPki();
  const plain = await startSServer({ cert: pki.server, tls: '1.2', noTicket: true });
  t.after(() => plain.stop());
  // Same address, another server: it does not know the session and requires a client certificate.
  const strict = await startSServer({ cert: pki.server, tls: '1.2', noTicket: true, verifyClient: true });
  t.after(() => strict.stop());
  const recorder = await startHelloRecorder(plain.port);
  t.after(() => recorder.close());
  const store = new ClientSessionStore();
  t.after(() => store.close());
  const opts = { port: recorder.port, ca: pki.ca.cert };

  await runWww(store, opts);
  assert.equal(store.stats().sessions, 1);

  recorder.target = strict.port;
  await assert.rejects(runWww(store, opts), (e: Error & { code?: string }) => {
    // s_server sends handshake_failure (40) when no client certificate comes.
    assert.match(String(e.code), /^ERR_SSL_.*ALERT/);
    return true;
  });
  const s = store.stats();
  assert.equal(s.offered, 1);
  assert.equal(s.uncleanRemovals, 1);
  assert.equal(s.sessions, 0);
  assert.equal(s.stored, 1, 'no session of the failed connection was stored');

  recorder.target = plain.port;
  const next = await runWww(store, opts);
  assert.equal(next.reused, false);
  assert.equal(store.stats().offered, 1, 'nothing left to offer');
});

test('a declined TLS 1.2 session is removed even when the server gives no new one', async (t) => {
  const pki = await sharedPki();
  const plain = await startSServer({ cert: pki.server, tls: '1.2', noTicket: true });
  t.after(() => plain.stop());
  // No cache and no tickets: the server resumes nothing and its sessions have no id (not resumable).
  const forgetful = await startSServer({ cert: pki.server, tls: '1.2', noTicket: true, args: ['-no_cache'] });
  t.after(() => forgetful.stop());
  const recorder = await startHelloRecorder(plain.port);
  t.after(() => recorder.close());
  const store = new ClientSessionStore();
  t.after(() => store.close());
  const declined: string[] = [];
  store.on('declined', (e) => declined.push(e.protocol));
  const opts = { port: recorder.port, ca: pki.ca.cert };

  await runWww(store, opts);
  recorder.target = forgetful.port;
  const second = await runWww(store, opts);
  assert.equal(second.reused, false);
  assert.deepEqual(declined, ['TLSv1.2']);
  const s = store.stats();
  assert.equal(s.declined, 1);
  assert.equal(s.sessions, 0);
  // OpenSSL does not even report a session without id or ticket: nothing new was stored.
  assert.equal(s.stored, 1);

  const third = await runWww(store, opts);
  assert.equal(third.reused, false);
  assert.equal(store.stats().offered, 1);
});

test('a session the server declines (ticket key changed) is replaced by the new one', async (t) => {
  const pki = await sharedPki();
  for (const maxVersion of ['TLSv1.2', 'TLSv1.3'] as const) {
    const server = await startNodeServer({ cert: pki.server, tlsOptions: { maxVersion } });
    t.after(() => server.close());
    const store = new ClientSessionStore();
    t.after(() => store.close());
    const opts = { port: server.port, ca: pki.ca.cert };

    await runConnection(store, opts);
    server.server.setTicketKeys(Buffer.alloc(48, 7));
    const declined = await runConnection(store, opts);
    assert.equal(declined.reused, false, maxVersion);
    const after = await runConnection(store, opts);
    assert.equal(after.reused, true, `${maxVersion}: the session of the declined connection resumes`);
    const s = store.stats();
    assert.equal(s.declined, 1, maxVersion);
    assert.equal(s.resumed, 1, maxVersion);
  }
});

test('an expired session is not offered, and is purged', async (t) => {
  const pki = await sharedPki();
  for (const maxVersion of ['TLSv1.2', 'TLSv1.3'] as const) {
    const server = await startNodeServer({ cert: pki.server, tlsOptions: { maxVersion } });
    t.after(() => server.close());
    let skewMs = 0;
    const store = new ClientSessionStore({ now: () => Date.now() + skewMs });
    t.after(() => store.close());
    const ders: Buffer[] = [];
    store.on('session', (e) => ders.push(e.session.toDER()));
    const opts = { port: server.port, ca: pki.ca.cert };

    await runConnection(store, opts);
    const kept = store.stats().sessions;
    assert.ok(kept >= 1);
    // Sessions from a Node server carry timeout 7200 s and a ticket lifetime hint of 7200 s
    // (measured): three hours later they are expired.
    skewMs = 3 * 3600 * 1000;
    const later = await runConnection(store, opts);
    assert.equal(later.reused, false, maxVersion);
    const s = store.stats();
    assert.equal(s.offered, 0, `${maxVersion}: nothing offered`);
    assert.equal(s.timeouts, kept, `${maxVersion}: every stored session was found expired`);
    assert.equal(s.expired, kept, `${maxVersion}: the deprecated name gives the same count`);

    // The server itself would still have resumed it: not offering it was the store's decision.
    const byHand = await nodeConnect({ port: server.port, session: ders[0] });
    assert.equal(byHand.reused, true, maxVersion);
  }
});
