import assert from 'node:assert/strict';
import { test } from 'node:test';
import { ClientSessionStore, type EvictionEvent } from '../../src/client/index.js';
import { sharedPki, startNodeServer } from '../helpers/index.js';
import { startHelloRecorder } from './hello-recorder.js';
import { runConnection } from './run-connection.js';

async function tls13Server() {
  const pki = await sharedPki();
  return startNodeServer({ cert: pki.server, tlsOptions: { minVersion: 'TLSv1.3', ALPNProtocols: ['a', 'b', 'c'] } });
}

test('maxTicketsPerKey: the newest tickets stay, the oldest fall off', async (t) => {
  const server = await tls13Server();
  t.after(() => server.close());
  const recorder = await startHelloRecorder(server.port);
  t.after(() => recorder.close());
  const store = new ClientSessionStore({ maxTicketsPerKey: 1 });
  t.after(() => store.close());
  const tickets: string[] = [];
  const evictions: EvictionEvent[] = [];
  store.on('session', (e) => tickets.push(e.session.ticket?.toString('hex') ?? ''));
  store.on('evicted', (e) => evictions.push(e));
  const opts = { port: recorder.port, ca: (await sharedPki()).ca.cert };

  await runConnection(store, opts);
  assert.equal(tickets.length, 2);
  assert.equal(store.stats().sessions, 1);
  assert.deepEqual(
    evictions.map((e) => [e.reason, e.sessions]),
    [['tickets-per-key', 1]],
  );
  assert.equal((await runConnection(store, opts)).reused, true);
  assert.equal((await runConnection(store, opts)).reused, false);
  assert.deepEqual(
    recorder.hellos.map((h) => h.pskIdentities.map((b) => b.toString('hex'))),
    [[], [tickets[1]], []],
  );
});

test('maxKeys: the least recently used domain goes first', async (t) => {
  const server = await tls13Server();
  t.after(() => server.close());
  const store = new ClientSessionStore({ maxKeys: 2 });
  t.after(() => store.close());
  const evictions: EvictionEvent[] = [];
  store.on('evicted', (e) => evictions.push(e));
  const ca = (await sharedPki()).ca.cert;
  const domain = (alpn: string) => ({ port: server.port, ca, ALPNProtocols: [alpn] });

  await runConnection(store, domain('a'));
  await runConnection(store, domain('b'));
  // Using 'a' (it resumes, taking one ticket) makes 'b' the least recently used.
  assert.equal((await runConnection(store, domain('a'))).reused, true);
  await runConnection(store, domain('c'));

  const s = store.stats();
  assert.equal(s.keys, 2);
  assert.deepEqual(
    evictions.map((e) => [e.reason, e.sessions]),
    [['max-keys', 2]],
  );
  // OpenSSL's name for sessions pushed out by a bound; the deprecated name gives the same count.
  assert.equal(s.cacheFull, 2);
  assert.equal(s.evicted, 2);
  assert.equal((await runConnection(store, domain('b'))).reused, false, 'b was evicted');
  assert.equal((await runConnection(store, domain('c'))).reused, true, 'c was kept');
});

test('maxSessions: a bound over all domains', async (t) => {
  const server = await tls13Server();
  t.after(() => server.close());
  const store = new ClientSessionStore({ maxTicketsPerKey: 2, maxSessions: 3 });
  t.after(() => store.close());
  const evictions: EvictionEvent[] = [];
  store.on('evicted', (e) => evictions.push(e));
  const ca = (await sharedPki()).ca.cert;
  const domain = (alpn: string) => ({ port: server.port, ca, ALPNProtocols: [alpn] });

  await runConnection(store, domain('a'));
  await runConnection(store, domain('b'));
  assert.ok(store.stats().sessions <= 3);
  assert.equal(evictions[0]?.reason, 'max-sessions');
  assert.equal((await runConnection(store, domain('b'))).reused, true);
  assert.equal((await runConnection(store, domain('a'))).reused, false, 'a, the older domain, went');
});

test('options are checked: one typed line naming the option, nothing read as a default', () => {
  const bad: [unknown, RegExp][] = [
    [{ maxTicketsPerKey: 0 }, /maxTicketsPerKey must be an integer from 1/],
    [{ maxKeys: 1.5 }, /maxKeys/],
    [{ maxSessions: 2, maxTicketsPerKey: 4 }, /maxSessions must be at least maxTicketsPerKey/],
    [{ storeTimeoutMs: 0 }, /storeTimeoutMs must be a positive number of milliseconds/],
    [{ storeTimeoutMs: '100' }, /storeTimeoutMs .*got the string '100'/],
    [{ storeTimeoutMs: 2 ** 31 }, /storeTimeoutMs .*up to 2147483647/],
    [{ store: {} }, /store must be a SessionStore/],
    [{ now: 'yesterday' }, /now must be a function/],
    [null, /options must be an object \(got null\)/],
    ['fast', /options must be an object/],
  ];
  for (const [options, message] of bad) {
    assert.throws(
      () => new ClientSessionStore(options as ConstructorParameters<typeof ClientSessionStore>[0]),
      (e: unknown) =>
        e instanceof Error &&
        (e as { code?: string }).code === 'ERR_CLIENT_STORE_OPTIONS' &&
        message.test(e.message) &&
        !e.message.includes('\n'),
      String(JSON.stringify(options)),
    );
  }
});
