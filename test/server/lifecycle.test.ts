/**
 * OpenSSL's cache semantics, with Node clients: removal on unclean close, expiry (timeouts),
 * flush on demand and every 255 good handshakes, the size limit, UPDATE_TIME.
 */
import assert from 'node:assert/strict';
import { constants } from 'node:crypto';
import { once } from 'node:events';
import net from 'node:net';
import { test } from 'node:test';
import tls, { type TLSSocket } from 'node:tls';
import { SessionCacheMode } from '../../src/server/index.js';
import { MemoryStore } from '../../src/stores/memory-store.js';
import { setTimeout as delay } from 'node:timers/promises';
import { defaultHandler, nodeConnect, StoreDouble, waitFor } from '../helpers/index.js';
import { startCachedServer } from './kit.js';

type Version = 'TLSv1.2' | 'TLSv1.3';

/** TLS 1.2 clients here ask for no ticket: the session-id path is the cache's (tickets resume by themselves). */
function versionOptions(version: Version) {
  return version === 'TLSv1.2'
    ? { maxVersion: version, secureOptions: constants.SSL_OP_NO_TICKET }
    : { maxVersion: version };
}

async function connect(
  port: number,
  version: Version,
  session?: Buffer,
): Promise<{ reused: boolean; session: Buffer }> {
  const c = await nodeConnect({ port, ...versionOptions(version), ...(session === undefined ? {} : { session }) });
  // A TLS 1.2 resumption brings no new session: the offered one stays in use.
  const last = c.sessions.at(-1) ?? session;
  assert.ok(last, 'the client got a session');
  return { reused: c.reused, session: last };
}

/**
 * Connects over a TCP socket of its own (so that it can be reset) and waits until the client
 * holds its sessions, leaving the connection open.
 */
async function connectAndHold(port: number, version: Version) {
  const tcp = net.connect({ port, host: '127.0.0.1', allowHalfOpen: true });
  await once(tcp, 'connect');
  const c = await nodeConnect({ port, socket: tcp, ...versionOptions(version), waitForClose: false });
  const want = version === 'TLSv1.3' ? 2 : 1;
  await waitFor(() => c.sessions.length >= want, { what: `${version}: the client's sessions`, timeoutMs: 1000 });
  assert.equal(c.sessions.length, want);
  return { ...c, tcp };
}

for (const version of ['TLSv1.2', 'TLSv1.3'] as const) {
  for (const strictShutdown of [true, false]) {
    const what = strictShutdown
      ? 'strictShutdown (OpenSSL): it loses its sessions'
      : 'by default its sessions stay (as nginx, s_server)';
    test(`${version}: a connection reset after its handshake, before the server ended it: ${what}`, async (t) => {
      let hold = true;
      const srv = await startCachedServer({
        cache: { strictShutdown },
        handler: (s: TLSSocket) => {
          s.on('error', () => {});
          if (!hold) defaultHandler(s);
        },
      });
      t.after(() => srv.close());
      const reasons: string[] = [];
      srv.cache.on('removed', ({ reason }) => reasons.push(reason));
      const serverClosed = new Promise((resolve) =>
        srv.server.once('secureConnection', (s: TLSSocket) => s.on('close', resolve)),
      );

      const c = await connectAndHold(srv.port, version);
      const session = c.sessions.at(-1)!;
      const stored = srv.cache.stats().stored;
      const gone = once(c.socket, 'close');
      c.tcp.resetAndDestroy();
      await gone;
      await serverClosed;
      if (strictShutdown) {
        await waitFor(() => srv.cache.stats().uncleanRemovals >= stored, {
          what: 'the unclean removals',
          timeoutMs: 1000,
        });
      } else {
        // Nothing is to happen: give it the time it would take.
        await delay(100);
      }

      const st = srv.cache.stats();
      assert.equal(st.uncleanRemovals, strictShutdown ? stored : 0);
      assert.equal(st.number, strictShutdown ? 0 : stored);
      assert.deepEqual(reasons, strictShutdown ? Array(stored).fill('unclean') : []);
      hold = false;
      assert.equal((await connect(srv.port, version, session)).reused, !strictShutdown);
    });
  }

  test(`${version}: a fatal alert after the handshake (bad record MAC) removes the connection's sessions`, async (t) => {
    let hold = true;
    const errors: string[] = [];
    const srv = await startCachedServer({
      handler: (s: TLSSocket) => {
        s.on('error', (e: Error & { code?: string }) => errors.push(e.code ?? e.message));
        if (!hold) defaultHandler(s);
      },
    });
    t.after(() => srv.close());
    const reasons: string[] = [];
    srv.cache.on('removed', ({ reason }) => reasons.push(reason));
    const c = await connectAndHold(srv.port, version);
    const session = c.sessions.at(-1)!;
    const stored = srv.cache.stats().stored;
    c.socket.on('error', () => {});
    // An application-data record that cannot be decrypted: the server sends bad_record_mac.
    c.tcp.write(Buffer.concat([Buffer.from([0x17, 0x03, 0x03, 0x00, 0x40]), Buffer.alloc(0x40, 0xa5)]));
    await waitFor(() => srv.cache.stats().uncleanRemovals >= stored, { what: 'the unclean removals', timeoutMs: 1000 });
    c.tcp.destroy();
    assert.match(errors[0] ?? '', /^ERR_SSL_/);
    const st = srv.cache.stats();
    assert.equal(st.uncleanRemovals, stored);
    assert.equal(st.number, 0);
    assert.deepEqual(reasons, Array(stored).fill('unclean'));
    hold = false;
    assert.equal((await connect(srv.port, version, session)).reused, false);
  });

  test(`${version}: clean ends keep sessions (server destroy without error, peer reset after close_notify)`, async (t) => {
    let mode: 'destroy' | 'end' = 'destroy';
    const serverClosed: Promise<unknown>[] = [];
    const srv = await startCachedServer({
      handler: (s: TLSSocket) => {
        s.on('error', () => {});
        serverClosed.push(new Promise((resolve) => s.on('close', resolve)));
        // An idle keep-alive socket is destroyed by the server: no error, no close_notify.
        if (mode === 'destroy') setTimeout(() => s.destroy(), 20);
        else defaultHandler(s);
      },
    });
    t.after(() => srv.close());
    const first = await connect(srv.port, version);
    mode = 'end';
    // The server ends (close_notify); the client then resets instead of closing.
    const tcp = net.connect({ port: srv.port, host: '127.0.0.1', allowHalfOpen: true });
    await once(tcp, 'connect');
    // allowHalfOpen (a TLSSocket takes it from its TCP socket): the client does not answer the
    // server's close_notify, so the server's socket is still open when the reset arrives.
    const c = await nodeConnect({
      port: srv.port,
      socket: tcp,
      ...versionOptions(version),
      session: first.session,
      waitForClose: false,
    });
    assert.equal(c.reused, true);
    await once(c.socket, 'end');
    const ticket = c.sessions.at(-1) ?? first.session;
    tcp.resetAndDestroy();
    await serverClosed.at(-1);
    await new Promise((r) => setImmediate(r));
    assert.equal(srv.cache.stats().uncleanRemovals, 0);
    assert.equal((await connect(srv.port, version, ticket)).reused, true);
  });
}

test('an expired session is not resumed and counts as a timeout', async (t) => {
  let clock = Date.now();
  const srv = await startCachedServer({ cache: { timeout: 60, now: () => clock } });
  t.after(() => srv.close());
  const misses: string[] = [];
  srv.cache.on('missed', ({ reason }) => misses.push(reason));
  const first = await connect(srv.port, 'TLSv1.2');
  clock += 61_000;
  assert.equal((await connect(srv.port, 'TLSv1.2', first.session)).reused, false);
  const st = srv.cache.stats();
  assert.equal(st.timeouts, 1);
  assert.equal(st.misses, 0);
  assert.equal(st.hits, 0);
  assert.deepEqual(misses, ['expired']);
  assert.equal(srv.cache.timeout, 60);
});

test('flush(now) removes expired sessions; remove(id) one session', async (t) => {
  let clock = Date.now();
  const srv = await startCachedServer({ cache: { timeout: 60, now: () => clock } });
  t.after(() => srv.close());
  const a = await connect(srv.port, 'TLSv1.2');
  clock += 30_000;
  const b = await connect(srv.port, 'TLSv1.2');
  assert.equal(srv.cache.stats().number, 2);
  assert.equal(await srv.cache.flush(clock + 40_000), 1); // a expired, b has 20 s left
  assert.equal(srv.cache.stats().number, 1);
  assert.equal((await connect(srv.port, 'TLSv1.2', a.session)).reused, false);
  assert.equal((await connect(srv.port, 'TLSv1.2', b.session)).reused, true);
  const sessionId = sessionIdOf(b.session);
  assert.equal(await srv.cache.remove(sessionId), true);
  assert.equal(await srv.cache.remove(sessionId), false);
  assert.equal((await connect(srv.port, 'TLSv1.2', b.session)).reused, false);
});

for (const noAutoClear of [false, true]) {
  test(`expired sessions are flushed every 255 good handshakes${noAutoClear ? ' unless NO_AUTO_CLEAR' : ''}`, async (t) => {
    let clock = Date.now();
    const mode = SessionCacheMode.SERVER | (noAutoClear ? SessionCacheMode.NO_AUTO_CLEAR : 0);
    const srv = await startCachedServer({ cache: { timeout: 60, now: () => clock, cacheMode: mode } });
    t.after(() => srv.close());
    await connect(srv.port, 'TLSv1.2'); // expires at t0 + 60 s
    clock += 61_000;
    const live = await connect(srv.port, 'TLSv1.2');
    // 253 resumptions of the live session: good handshake number 255 triggers the flush.
    for (let i = 0; i < 252; i++) assert.equal((await connect(srv.port, 'TLSv1.2', live.session)).reused, true);
    assert.equal(srv.cache.stats().acceptGood, 254);
    assert.equal(srv.cache.stats().number, 2);
    await connect(srv.port, 'TLSv1.2', live.session);
    await new Promise((r) => setImmediate(r));
    assert.equal(srv.cache.stats().acceptGood, 255);
    assert.equal(srv.cache.stats().number, noAutoClear ? 2 : 1);
  });
}

test('a full cache evicts the session expiring soonest and counts cache_full', async (t) => {
  const srv = await startCachedServer({ cache: { maxSessions: 2 } });
  t.after(() => srv.close());
  const evicted: string[] = [];
  srv.cache.on('removed', ({ id, reason }) => evicted.push(`${reason}:${id.toString('hex')}`));
  const s1 = await connect(srv.port, 'TLSv1.2');
  const s2 = await connect(srv.port, 'TLSv1.2');
  const s3 = await connect(srv.port, 'TLSv1.2');
  const st = srv.cache.stats();
  assert.equal(st.cacheFull, 1);
  assert.equal(st.number, 2);
  assert.deepEqual(evicted, [`evicted:${sessionIdOf(s1.session).toString('hex')}`]);
  assert.equal((await connect(srv.port, 'TLSv1.2', s2.session)).reused, true);
  assert.equal((await connect(srv.port, 'TLSv1.2', s3.session)).reused, true);
  // Last: this full handshake stores a new session, which evicts s2.
  assert.equal((await connect(srv.port, 'TLSv1.2', s1.session)).reused, false);
});

test('clear() removes every session, reporting each id; the cache then resumes none of them', async (t) => {
  const srv = await startCachedServer();
  t.after(() => srv.close());
  const removed: string[] = [];
  srv.cache.on('removed', ({ id, reason }) => removed.push(`${reason}:${id.toString('hex')}`));
  const a = await connect(srv.port, 'TLSv1.2');
  const b = await connect(srv.port, 'TLSv1.2');
  assert.equal(await srv.cache.clear(), 2);
  assert.deepEqual(
    removed,
    [a, b].map((c) => `removed:${sessionIdOf(c.session).toString('hex')}`),
  );
  assert.equal(srv.cache.stats().number, 0);
  assert.equal((await connect(srv.port, 'TLSv1.2', a.session)).reused, false);
});

for (const updateTime of [false, true]) {
  test(`UPDATE_TIME ${updateTime ? 'on: each resumption restarts' : 'off: resumptions do not extend'} the lifetime`, async (t) => {
    let clock = Date.now();
    const mode = SessionCacheMode.SERVER | (updateTime ? SessionCacheMode.UPDATE_TIME : 0);
    const srv = await startCachedServer({ cache: { timeout: 60, now: () => clock, cacheMode: mode } });
    t.after(() => srv.close());
    const first = await connect(srv.port, 'TLSv1.2');
    clock += 40_000;
    assert.equal((await connect(srv.port, 'TLSv1.2', first.session)).reused, true);
    clock += 40_000; // 80 s after creation, 40 s after the resumption
    assert.equal((await connect(srv.port, 'TLSv1.2', first.session)).reused, updateTime);
    assert.equal(srv.cache.stats().timeouts, updateTime ? 0 : 1);
  });
}

/** The session id of a TLS 1.2 client session (DER field 4, after version, ssl_version, cipher). */
function sessionIdOf(der: Buffer): Buffer {
  let i = der[1]! < 0x80 ? 2 : 2 + (der[1]! & 0x7f);
  for (let field = 0; field < 3; field++) i += 2 + der[i + 1]!;
  assert.equal(der[i], 0x04);
  return der.subarray(i + 2, i + 2 + der[i + 1]!);
}

for (const version of ['TLSv1.2', 'TLSv1.3'] as const) {
  test(`${version}: a failed resumption handshake (ALPN refused with a fatal alert) removes the offered session`, async (t) => {
    const srv = await startCachedServer({ tlsOptions: { ALPNProtocols: ['h2'] } });
    t.after(() => srv.close());
    const reasons: string[] = [];
    srv.cache.on('removed', ({ reason }) => reasons.push(reason));
    const first = await nodeConnect({ port: srv.port, ...versionOptions(version), ALPNProtocols: ['h2'] });
    const session = first.sessions.at(-1)!;
    const refusal = nodeConnect({ port: srv.port, ...versionOptions(version), ALPNProtocols: ['x-other'], session });
    await assert.rejects(refusal);
    await waitFor(() => srv.cache.stats().uncleanRemovals >= 1, { what: 'the unclean removal', timeoutMs: 1000 });
    const st = srv.cache.stats();
    assert.equal(st.uncleanRemovals, 1);
    assert.equal(st.hits, 0, 'no hit: the handshake did not resume');
    assert.deepEqual(reasons, ['unclean']);
    const again = await nodeConnect({ port: srv.port, ...versionOptions(version), ALPNProtocols: ['h2'], session });
    assert.equal(again.reused, false);
  });
}

test('a store that drops a session on its own: the lookup says so (remove "dropped"), number follows', async (t) => {
  // maxSessions 0 ("no limit") over a store of 2 entries: the store, not the cache, evicts.
  const srv = await startCachedServer({ cache: { maxSessions: 0, store: new MemoryStore({ maxEntries: 2 }) } });
  t.after(() => srv.close());
  const removed: string[] = [];
  srv.cache.on('removed', ({ reason }) => removed.push(reason));
  const first = await connect(srv.port, 'TLSv1.2');
  await connect(srv.port, 'TLSv1.2');
  await connect(srv.port, 'TLSv1.2');
  assert.equal(srv.cache.stats().number, 3, 'the cache cannot see the store evict');
  assert.equal((await connect(srv.port, 'TLSv1.2', first.session)).reused, false);
  const st = srv.cache.stats();
  assert.deepEqual(removed, ['dropped']);
  assert.equal(st.removed, 1);
  assert.equal(st.number, 3, 'the dropped session left the count; the full handshake that followed added one');
  assert.equal(st.misses, 1);
  assert.equal(st.cacheFull, 0);
});

test('TLS 1.3: a client gone while the store looks its ticket up: the taken ticket counts as removed, the server carries on', async (t) => {
  const store = new StoreDouble();
  const srv = await startCachedServer({ cache: { store, storeTimeoutMs: 1000 } });
  t.after(() => srv.close());
  const reasons: string[] = [];
  srv.cache.on('removed', ({ reason }) => reasons.push(reason));
  const first = await connect(srv.port, 'TLSv1.3');
  store.delay(150, ['take']);
  const tcp = net.connect({ port: srv.port, host: '127.0.0.1' });
  await once(tcp, 'connect');
  const tlsSocket = tls.connect({
    socket: tcp,
    servername: 'localhost',
    rejectUnauthorized: false,
    session: first.session,
  });
  tlsSocket.on('error', () => {});
  await delay(40);
  tcp.resetAndDestroy();
  await waitFor(() => srv.cache.stats().uncleanRemovals >= 1, { what: 'the unclean removal', timeoutMs: 1000 });
  // The slow take answers after that: nothing more may be counted.
  await delay(200);
  const st = srv.cache.stats();
  assert.equal(st.uncleanRemovals, 1);
  assert.equal(st.hits, 0);
  assert.deepEqual(reasons, ['unclean']);
  store.heal();
  // The server still serves.
  assert.equal((await connect(srv.port, 'TLSv1.3')).reused, false);
});
