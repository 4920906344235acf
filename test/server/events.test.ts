/**
 * The cache's events: one object each ('session', 'resumed', 'missed', 'removed',
 * 'storeError'), with the socket where the cache has it; the positional names used before
 * ('new', 'hit', 'miss', 'remove', 'error') still fire with the same values and warn once.
 */
import assert from 'node:assert/strict';
import { constants } from 'node:crypto';
import { test } from 'node:test';
import type { TLSSocket } from 'node:tls';
import {
  type MissReason,
  type RemoveReason,
  ServerSessionCache,
  type ServerSessionCacheError,
  type SessionEventInfo,
} from '../../src/server/index.js';
import { MemoryStore } from '../../src/stores/memory-store.js';
import { defaultHandler, nodeConnect } from '../helpers/index.js';
import { startCachedServer } from './kit.js';
import { warningsDuring } from '../helpers/warnings.js';

/** Deprecation warnings emitted while `fn` runs. */
async function deprecationsDuring(fn: () => void): Promise<(Error & { code?: string })[]> {
  return (await warningsDuring(fn)).filter((w) => w.name === 'DeprecationWarning');
}

// First in this file: the warnings are given once per process.
test('each deprecated event name warns once per process, naming its replacement; the new names do not warn', async () => {
  const a = new ServerSessionCache();
  const b = new ServerSessionCache();
  const none = await deprecationsDuring(() => {
    for (const name of ['session', 'resumed', 'missed', 'removed', 'storeError'] as const) a.on(name, () => {});
  });
  assert.deepEqual(none, []);

  const first = await deprecationsDuring(() => {
    a.on('new', () => {});
    a.once('hit', () => {});
    a.prependListener('miss', () => {});
    a.addListener('remove', () => {});
    a.on('error', () => {});
  });
  assert.deepEqual(
    first.map((w) => [w.code, w.message.match(/'(\w+)' event is deprecated; listen to '(\w+)'/)?.slice(1)]),
    [
      ['TLS_SESSIONS_DEP_SERVER_EVENTS', ['new', 'session']],
      ['TLS_SESSIONS_DEP_SERVER_EVENTS', ['hit', 'resumed']],
      ['TLS_SESSIONS_DEP_SERVER_EVENTS', ['miss', 'missed']],
      ['TLS_SESSIONS_DEP_SERVER_EVENTS', ['remove', 'removed']],
      ['TLS_SESSIONS_DEP_SERVER_EVENTS', ['error', 'storeError']],
    ],
  );

  // More listeners, on this cache or another, stay silent.
  const again = await deprecationsDuring(() => {
    a.on('new', () => {});
    b.on('hit', () => {});
    b.on('error', () => {});
  });
  assert.deepEqual(again, []);
  await a.close();
  await b.close();
});

for (const version of ['TLSv1.2', 'TLSv1.3'] as const) {
  test(`${version}: 'session' and 'resumed' carry the id, protocol, server name and the connection's socket; the old names the same values`, async (t) => {
    const sockets: TLSSocket[] = [];
    const srv = await startCachedServer({
      handler: (socket) => {
        sockets.push(socket);
        defaultHandler(socket);
      },
    });
    t.after(() => srv.close());
    const stored: { id: Buffer; protocol: string; serverName: string | undefined; socket: TLSSocket | undefined }[] =
      [];
    const resumed: { id: Buffer; protocol: string; serverName: string | undefined; socket: TLSSocket }[] = [];
    const removed: { id: Buffer; reason: RemoveReason }[] = [];
    const missed: { id: Buffer; reason: MissReason }[] = [];
    srv.cache.on('session', (e) => stored.push({ ...e }));
    srv.cache.on('resumed', (e) => resumed.push({ ...e }));
    srv.cache.on('removed', (e) => removed.push({ ...e }));
    srv.cache.on('missed', (e) => missed.push({ ...e }));
    const oldNew: [Buffer, SessionEventInfo][] = [];
    const oldHit: [Buffer, SessionEventInfo][] = [];
    const oldRemove: [Buffer, RemoveReason][] = [];
    const oldMiss: [Buffer, MissReason][] = [];
    srv.cache.on('new', (id, info) => oldNew.push([id, info]));
    srv.cache.on('hit', (id, info) => oldHit.push([id, info]));
    srv.cache.on('remove', (id, reason) => oldRemove.push([id, reason]));
    srv.cache.on('miss', (id, reason) => oldMiss.push([id, reason]));

    // TLS 1.2 without tickets: the session-id path is the cache's.
    const options =
      version === 'TLSv1.2'
        ? { maxVersion: version, secureOptions: constants.SSL_OP_NO_TICKET }
        : { maxVersion: version };
    const first = await nodeConnect({ port: srv.port, ...options });
    const session = first.sessions.at(-1)!;
    const second = await nodeConnect({ port: srv.port, ...options, session });
    assert.equal(second.reused, true);

    assert.ok(stored.length >= 1);
    assert.equal(stored[0]!.protocol, version);
    assert.equal(stored[0]!.serverName, 'localhost');
    assert.equal(stored[0]!.socket, sockets[0], "'session' names the connection that made the session");
    assert.equal(resumed.length, 1);
    assert.equal(resumed[0]!.socket, sockets[1], "'resumed' names the connection that resumed");
    assert.equal(resumed[0]!.protocol, version);
    assert.equal(resumed[0]!.serverName, 'localhost');
    assert.ok(
      stored.some((s) => s.id.equals(resumed[0]!.id)),
      'the resumed session is one that was stored',
    );

    if (version === 'TLSv1.3') {
      // Single use: taken when resumed, then absent for the next client that offers it.
      assert.deepEqual(
        removed.map((r) => [r.id.toString('hex'), r.reason]),
        [[resumed[0]!.id.toString('hex'), 'used']],
      );
      assert.equal((await nodeConnect({ port: srv.port, ...options, session })).reused, false);
      assert.deepEqual(
        missed.map((m) => [m.id.toString('hex'), m.reason]),
        [[resumed[0]!.id.toString('hex'), 'absent']],
      );
    }

    // The deprecated names: the same values, positional.
    assert.deepEqual(
      oldNew.map(([id, info]) => [id, info]),
      stored.map((e) => [e.id, { protocol: e.protocol, serverName: e.serverName }]),
    );
    assert.deepEqual(
      oldHit.map(([id, info]) => [id, info]),
      resumed.map((e) => [e.id, { protocol: e.protocol, serverName: e.serverName }]),
    );
    assert.deepEqual(
      oldRemove,
      removed.map((e) => [e.id, e.reason]),
    );
    assert.deepEqual(
      oldMiss,
      missed.map((e) => [e.id, e.reason]),
    );
  });
}

/** A MemoryStore whose lookups fail once `failing` is set. */
class FailingStore extends MemoryStore {
  failing = false;
  override get(key: Uint8Array) {
    return this.failing ? Promise.reject(new Error('store is down')) : super.get(key);
  }
}

test("a failing store: 'storeError' and the deprecated 'error' get the same error; unobserved, nothing throws", async (t) => {
  const store = new FailingStore();
  const srv = await startCachedServer({ cache: { store } });
  t.after(() => srv.close());
  const options = { maxVersion: 'TLSv1.2' as const, secureOptions: constants.SSL_OP_NO_TICKET };
  const first = await nodeConnect({ port: srv.port, ...options });
  const session = first.sessions.at(-1)!;
  store.failing = true;

  // Unobserved: a full handshake, counted, no exception.
  assert.equal((await nodeConnect({ port: srv.port, ...options, session })).reused, false);
  assert.equal(srv.cache.stats().storeErrors, 1);

  const errors: ServerSessionCacheError[] = [];
  const oldErrors: ServerSessionCacheError[] = [];
  const missed: MissReason[] = [];
  srv.cache.on('storeError', (e) => errors.push(e));
  srv.cache.on('error', (e) => oldErrors.push(e));
  srv.cache.on('missed', ({ reason }) => missed.push(reason));
  assert.equal((await nodeConnect({ port: srv.port, ...options, session })).reused, false);
  assert.equal(srv.cache.stats().storeErrors, 2);
  assert.deepEqual(
    errors.map((e) => [e.code, e.message]),
    [['ERR_CACHE_STORE', 'session lookup: store is down']],
  );
  assert.equal(oldErrors[0], errors[0], 'the same error object');
  assert.equal(oldErrors.length, 1);
  assert.deepEqual(missed, ['store-error']);
});
