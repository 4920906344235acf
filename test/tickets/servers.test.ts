/**
 * The ring on every kind of Node TLS server: https, http2 secure servers, a ServerSessionCache
 * in stateless mode, several servers sharing one ring; and attach errors.
 */
import assert from 'node:assert/strict';
import { createServer as createHttpsServer } from 'node:https';
import { createSecureServer } from 'node:http2';
import type { AddressInfo } from 'node:net';
import { test } from 'node:test';
import type { Server } from 'node:tls';
import { ServerSessionCache } from '../../src/server/index.js';
import { TicketKeyError, TicketKeyRing } from '../../src/tickets/index.js';
import { sClient, sharedPki, startNodeServer } from '../helpers/index.js';
import { fakeClock, HOUR, handshake, ticketKeyName, ticketLifetime, type Version } from './kit.js';

async function listen(t: test.TestContext, server: Server): Promise<number> {
  server.on('tlsClientError', () => {});
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  t.after(
    () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        (server as Server & { closeAllConnections?: () => void }).closeAllConnections?.();
      }),
  );
  return (server.address() as AddressInfo).port;
}

/** Rotation with grace, on `port`, for both versions. */
async function checkRotation(ring: TicketKeyRing, clock: ReturnType<typeof fakeClock>, port: number, alpn?: string[]) {
  for (const version of ['TLSv1.2', 'TLSv1.3'] as Version[]) {
    const opts = alpn === undefined ? {} : { alpn };
    const first = await handshake(port, version, opts);
    assert.equal(ticketKeyName(first.session!), ring.currentName, version);
    clock.advance(HOUR);
    const again = await handshake(port, version, { ...opts, session: first.session });
    assert.equal(again.reused, true, `${version}: resumes after rotation`);
    clock.advance(3 * HOUR);
    assert.equal(
      (await handshake(port, version, { ...opts, session: first.session })).reused,
      false,
      `${version}: retired`,
    );
  }
}

test('https.Server', async (t) => {
  const pki = await sharedPki();
  const server = createHttpsServer({ key: pki.server.key, cert: pki.server.cert }, (_req, res) => res.end('ok'));
  const port = await listen(t, server);
  const clock = fakeClock();
  const ring = new TicketKeyRing({ rotateEvery: HOUR, grace: 2 * HOUR, now: clock.now }).attach(server);
  t.after(() => ring.close());
  await checkRotation(ring, clock, port);
});

test('http2 secure server', async (t) => {
  const pki = await sharedPki();
  const server = createSecureServer({ key: pki.server.key, cert: pki.server.cert });
  server.on('stream', (stream) => stream.respond({ ':status': 200 }));
  const port = await listen(t, server as unknown as Server);
  const clock = fakeClock();
  const ring = new TicketKeyRing({ rotateEvery: HOUR, grace: 2 * HOUR, now: clock.now }).attach(
    server as unknown as Server,
  );
  t.after(() => ring.close());
  await checkRotation(ring, clock, port, ['h2']);
});

test('with a ServerSessionCache (stateless tickets): the cache keeps session ids, the ring the tickets, lifetime from the cache', async (t) => {
  const pki = await sharedPki();
  const srv = await startNodeServer({ cert: pki.server });
  const cache = new ServerSessionCache({ tickets: 'stateless', timeout: 900 }).attach(srv.server);
  const clock = fakeClock();
  const ring = new TicketKeyRing({ rotateEvery: HOUR, grace: 2 * HOUR, now: clock.now }).attach(cache);
  t.after(async () => {
    await srv.close();
    await ring.close();
    await cache.close();
  });
  const h = await handshake(srv.port, 'TLSv1.3');
  assert.equal(ticketLifetime(h.session!), 900, 'the cache timeout is the lifetime');
  await checkRotation(ring, clock, srv.port);
  // A TLS 1.2 client that asks for no ticket still resumes by session id, through the cache.
  const run = await sClient({
    port: srv.port,
    tls: '1.2',
    noTicket: true,
    extraArgs: ['-reconnect'],
    timeoutMs: 10_000,
  });
  assert.equal(run.stdout.match(/^Reused, TLSv1\.2/gm)?.length, 5);
  assert.equal(cache.stats().hits, 5);
});

for (const order of ['cache, then ring', 'ring, then cache'] as const) {
  test(`with a ServerSessionCache (${order}): the ring's ticket lifetime survives setSecureContext and addContext`, async (t) => {
    const pki = await sharedPki();
    const srv = await startNodeServer({ cert: pki.server });
    const clock = fakeClock();
    // The cache's timeout (7200 s) is longer than the ring's grace (1 h): the ring caps the lifetime.
    const ring = new TicketKeyRing({ rotateEvery: HOUR, grace: HOUR, now: clock.now });
    let cache: ServerSessionCache;
    if (order === 'cache, then ring') {
      cache = new ServerSessionCache({ tickets: 'stateless', timeout: 7200 }).attach(srv.server);
      ring.attach(cache);
    } else {
      ring.attach(srv.server);
      cache = new ServerSessionCache({ tickets: 'stateless', timeout: 7200 }).attach(srv.server);
    }
    t.after(async () => {
      await srv.close();
      await ring.close();
      await cache.close();
    });
    const lifetimes = async (when: string) => {
      for (const version of ['TLSv1.2', 'TLSv1.3'] as Version[]) {
        const h = await handshake(srv.port, version);
        assert.equal(ticketLifetime(h.session!), HOUR, `${when}, ${version}`);
        assert.equal(ticketKeyName(h.session!), ring.currentName, `${when}, ${version}`);
      }
    };
    await lifetimes('attached');
    const sid = cache.sessionIdContext;
    srv.server.setSecureContext({ key: pki.rsaServer.key, cert: pki.rsaServer.cert });
    assert.notEqual(cache.sessionIdContext, sid, 'the cache configured the new context');
    await lifetimes('after setSecureContext');
    srv.server.addContext('a.test', { key: pki.server.key, cert: pki.server.cert });
    await lifetimes('after addContext');
    // The reference client reads the same hint from the ticket.
    const run = await sClient({ port: srv.port, tls: '1.2' });
    assert.match(run.stdout, /TLS session ticket lifetime hint: 3600 \(seconds\)/);
    // The ring leaves: the cache's timeout is the lifetime again (Node's fixed-key tickets).
    ring.detach(srv.server);
    assert.equal(ticketLifetime((await handshake(srv.port, 'TLSv1.3')).session!), 7200, 'ring detached');
  });
}

test('one ring, two servers in a process: tickets of one resume on the other across a rotation', async (t) => {
  const pki = await sharedPki();
  const a = await startNodeServer({ cert: pki.server });
  const b = await startNodeServer({ cert: pki.server });
  const clock = fakeClock();
  const ring = new TicketKeyRing({ rotateEvery: HOUR, grace: 2 * HOUR, now: clock.now })
    .attach(a.server)
    .attach(b.server);
  t.after(async () => {
    await Promise.all([a.close(), b.close()]);
    await ring.close();
  });
  const fromA = await handshake(a.port, 'TLSv1.3');
  clock.advance(HOUR);
  assert.equal((await handshake(b.port, 'TLSv1.3', { session: fromA.session })).reused, true);
});

test('attach errors are typed', async (t) => {
  const pki = await sharedPki();
  const srv = await startNodeServer({ cert: pki.server });
  const ring = new TicketKeyRing();
  const other = new TicketKeyRing();
  t.after(async () => {
    await srv.close();
    await ring.close();
    await other.close();
  });
  const code = (c: string) => (err: unknown) => err instanceof TicketKeyError && err.code === c;
  assert.throws(() => ring.attach({} as Server), code('ERR_TICKET_SERVER'));
  assert.throws(() => ring.attach(new ServerSessionCache()), code('ERR_TICKET_SERVER'));
  assert.throws(() => ring.attach(srv.server, { sessionTimeout: 0 }), code('ERR_TICKET_OPTION'));
  ring.attach(srv.server);
  assert.throws(() => ring.attach(srv.server), code('ERR_TICKET_ATTACHED'));
  assert.throws(() => other.attach(srv.server), code('ERR_TICKET_ATTACHED'));
  await ring.close();
  assert.throws(() => ring.attach(srv.server), code('ERR_TICKET_CLOSED'));
  // Closed rings detach: the server is free again.
  other.attach(srv.server);
  const h = await handshake(srv.port, 'TLSv1.2');
  assert.equal(ticketKeyName(h.session!), other.currentName);
});
