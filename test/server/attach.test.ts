/**
 * attach() / detach(): what the cache changes on a server and gives back, its modes
 * (off, stateless tickets), and the errors of misuse.
 */
import assert from 'node:assert/strict';
import { constants } from 'node:crypto';
import { once } from 'node:events';
import net from 'node:net';
import { join } from 'node:path';
import { test } from 'node:test';
import tls from 'node:tls';
import {
  SessionCacheMode,
  ServerSessionCache,
  ServerSessionCacheError,
  type ServerSessionCacheOptions,
} from '../../src/server/index.js';
import { decodeRecord } from '../../src/server/session-record.js';
import { TlsSession } from '../../src/session/index.js';
import { MemoryStore } from '../../src/stores/memory-store.js';
import { nodeConnect, StoreDouble, sClient, sharedPki, startNodeServer, tmpDir } from '../helpers/index.js';
import { readFile } from 'node:fs/promises';

/** Server-side view of the next session the server makes, through a temporary 'newSession' listener. */
function nextServerSession(server: tls.Server): Promise<TlsSession> {
  return new Promise((resolve) => {
    server.once('newSession', (_id: Buffer, der: Buffer, done: () => void) => {
      done();
      resolve(TlsSession.fromDER(der));
    });
  });
}

const NODE_MAJOR = Number(process.versions.node.split('.')[0]);

/** A TLS 1.2 client that asks for no ticket, so that the server makes a session-id session. */
const noTicket12 = { maxVersion: 'TLSv1.2', secureOptions: constants.SSL_OP_NO_TICKET } as const;

test('attach sets the session id context and timeout; detach gives the server back as it was', async (t) => {
  const pki = await sharedPki();
  const node = await startNodeServer({ cert: pki.server, tlsOptions: { maxVersion: 'TLSv1.3' } });
  t.after(() => node.close());
  const server = node.server;
  const listenersBefore = server.rawListeners('connection');
  const keysBefore = server.getTicketKeys();

  // Node's own settings, seen on a session it makes (the listener exists only for this handshake).
  const nodeSession = nextServerSession(server);
  const plain1 = await nodeConnect({ port: node.port, ...noTicket12 });
  const before = await nodeSession;
  // Node 22+ sets each connection's session id context itself (32 bytes of its own), over the
  // context's: what is checked there is that detach gives the same one back.
  if (NODE_MAJOR < 22) {
    assert.equal(
      before.sessionIdContext.toString('latin1'),
      (server as unknown as { sessionIdContext: string }).sessionIdContext,
    );
  }
  assert.equal(plain1.reused, false);

  const store = new StoreDouble();
  const cache = new ServerSessionCache({ store });
  assert.equal(cache.attach(server), cache);
  assert.equal(cache.server, server);
  const during = server.rawListeners('connection');
  assert.equal(during.length, listenersBefore.length);
  assert.notEqual(during.indexOf(listenersBefore[0]!), 0, "Node's listener is replaced in place");
  assert.equal(server.listenerCount('newSession'), 1);

  const withCache = await nodeConnect({ port: node.port, ...noTicket12 });
  assert.equal(withCache.reused, false);
  const record = decodeRecord(store.callsOf('set')[0]![1] as Uint8Array);
  const cached = TlsSession.fromDER(record.der);
  if (NODE_MAJOR < 22) assert.equal(cached.sessionIdContext.toString('latin1'), cache.sessionIdContext);
  assert.match(cache.sessionIdContext ?? '', /^[0-9a-f]{32}$/);
  assert.equal(cached.timeout, 300);
  assert.equal(cache.timeout, 300);
  // Default mode: TLS 1.3 tickets are session ids; a TLS 1.2 client that asks for a ticket gets a
  // stateless one (no session id), which resumes by itself.
  const t13 = await nodeConnect({ port: node.port, maxVersion: 'TLSv1.3' });
  assert.equal(TlsSession.fromDER(t13.sessions.at(-1)!).ticket?.length, 32);
  const t12 = await nodeConnect({ port: node.port, maxVersion: 'TLSv1.2' });
  assert.ok((TlsSession.fromDER(t12.sessions.at(-1)!).ticket?.length ?? 0) > 32);
  assert.equal(
    (await nodeConnect({ port: node.port, maxVersion: 'TLSv1.2', session: t12.sessions.at(-1)! })).reused,
    true,
  );

  cache.detach();
  assert.equal(cache.server, undefined);
  assert.deepEqual(server.rawListeners('connection'), listenersBefore);
  assert.equal(server.listenerCount('newSession'), 0);
  assert.equal(server.listenerCount('resumeSession'), 0);
  assert.deepEqual(server.getTicketKeys(), keysBefore);

  const afterSession = nextServerSession(server);
  await nodeConnect({ port: node.port, ...noTicket12 });
  const after = await afterSession;
  assert.deepEqual(after.sessionIdContext, before.sessionIdContext);
  assert.equal(after.timeout, before.timeout);
  // Stateless tickets are back, and Node resumes with them on its own.
  const stateless = await nodeConnect({ port: node.port, maxVersion: 'TLSv1.3' });
  const ticket = TlsSession.fromDER(stateless.sessions.at(-1)!).ticket;
  assert.ok(ticket !== undefined && ticket.length > 32);
  const resumed = await nodeConnect({ port: node.port, maxVersion: 'TLSv1.3', session: stateless.sessions.at(-1)! });
  assert.equal(resumed.reused, true);

  // A detached cache can be attached again.
  cache.attach(server);
  assert.equal(server.listenerCount('resumeSession'), 1);
  await cache.close();
  assert.equal(server.listenerCount('resumeSession'), 0);
});

test('the timeout defaults to the server sessionTimeout when one was given', async (t) => {
  const server = tls.createServer({ sessionTimeout: 77 });
  const cache = new ServerSessionCache().attach(server);
  t.after(() => cache.close());
  assert.equal(cache.timeout, 77);
  const explicit = new ServerSessionCache({ timeout: 12 }).attach(tls.createServer({ sessionTimeout: 77 }));
  t.after(() => explicit.close());
  assert.equal(explicit.timeout, 12);
});

test('cacheMode OFF: no session is cached, handshakes are counted', async (t) => {
  const pki = await sharedPki();
  const node = await startNodeServer({ cert: pki.server });
  t.after(() => node.close());
  const cache = new ServerSessionCache({ cacheMode: SessionCacheMode.OFF }).attach(node.server);
  t.after(() => cache.close());
  assert.equal(node.server.listenerCount('resumeSession'), 0);
  const run = await sClient({
    port: node.port,
    tls: '1.2',
    noTicket: true,
    extraArgs: ['-reconnect'],
    timeoutMs: 10_000,
  });
  assert.equal(run.stdout.match(/^Reused, /gm)?.length ?? 0, 0);
  const st = cache.stats();
  assert.equal(st.accept, 6);
  assert.equal(st.acceptGood, 6);
  assert.equal(st.stored, 0);
  assert.equal(st.hits, 0);
});

test("tickets 'stateless': Node's tickets resume TLS 1.3, the cache serves TLS 1.2 session ids", async (t) => {
  const dir = await tmpDir('ssc-');
  t.after(() => dir.cleanup());
  const pki = await sharedPki();
  const node = await startNodeServer({ cert: pki.server });
  t.after(() => node.close());
  const cache = new ServerSessionCache({ tickets: 'stateless' } satisfies ServerSessionCacheOptions).attach(
    node.server,
  );
  t.after(() => cache.close());
  const file = join(dir.path, 's.pem');
  assert.equal((await sClient({ port: node.port, sessOut: file })).reused, false);
  const ticket = TlsSession.fromPEM(await readFile(file, 'utf8')).ticket;
  assert.ok(ticket !== undefined && ticket.length > 32, 'a stateless ticket');
  assert.equal((await sClient({ port: node.port, sessIn: file })).reused, true);
  assert.equal(cache.stats().stored, 0, 'TLS 1.3 sessions of stateless tickets are not stored');
  assert.equal(cache.stats().hits, 0);

  const run = await sClient({
    port: node.port,
    tls: '1.2',
    noTicket: true,
    extraArgs: ['-reconnect'],
    timeoutMs: 10_000,
  });
  assert.equal(run.stdout.match(/^Reused, TLSv1\.2/gm)?.length ?? 0, 5);
  assert.equal(cache.stats().hits, 5);
});

test('attach refuses what it cannot serve', async (t) => {
  const cache = new ServerSessionCache();
  t.after(() => cache.close());
  assert.throws(() => cache.attach(net.createServer() as unknown as tls.Server), { code: 'ERR_CACHE_SERVER' });

  const withListener = tls.createServer();
  withListener.on('resumeSession', (_id, cb) => cb(null, null));
  assert.throws(() => cache.attach(withListener), { code: 'ERR_CACHE_LISTENERS' });

  const a = tls.createServer();
  cache.attach(a);
  assert.throws(() => cache.attach(tls.createServer()), { code: 'ERR_CACHE_ATTACHED' });
  const other = new ServerSessionCache();
  assert.throws(() => other.attach(a), { code: 'ERR_CACHE_ATTACHED' });
  await other.close();
});

test('bad options are typed errors', () => {
  const bad: unknown[] = [
    { cacheMode: 0x1 },
    { cacheMode: -1 },
    { tickets: 'both' },
    { timeout: 0 },
    { timeout: 1.5 },
    { maxSessions: -1 },
    { storeTimeoutMs: 0 },
    { helloTimeoutMs: Number.NaN },
    { sessionIdContext: 42 },
    { store: {} },
    { now: 5 },
  ];
  for (const options of bad) {
    assert.throws(
      () => new ServerSessionCache(options as ServerSessionCacheOptions),
      (e: unknown) => {
        const err = e as { code?: string; message?: string };
        return err.code === 'ERR_CACHE_OPTION' && typeof err.message === 'string' && !err.message.includes('\n');
      },
    );
  }
});

test('close() resolves even when nothing was attached; attach works on a server not yet listening', async () => {
  const server = tls.createServer();
  const cache = new ServerSessionCache().attach(server);
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  await new Promise((r) => server.close(r));
  await cache.close();
  await new ServerSessionCache().close();
});

test('attach after close() is ERR_CACHE_CLOSED: a closed cache would keep nothing', async (t) => {
  const pki = await sharedPki();
  const node = await startNodeServer({ cert: pki.server });
  t.after(() => node.close());
  const cache = new ServerSessionCache().attach(node.server);
  await cache.close();
  assert.throws(
    () => cache.attach(node.server),
    (e: unknown) => {
      assert.ok(e instanceof ServerSessionCacheError);
      assert.equal(e.code, 'ERR_CACHE_CLOSED');
      assert.equal(e.message, 'attach: the cache is closed');
      return true;
    },
  );
  // The server is left as it was: Node's own listener, no session events.
  assert.equal(node.server.listenerCount('resumeSession'), 0);
  assert.equal((await nodeConnect({ port: node.port })).reused, false);
  // A cache given its own store is closed too: close() means the end of this cache.
  const own = new ServerSessionCache({ store: new MemoryStore() });
  await own.close();
  assert.throws(() => own.attach(node.server), { code: 'ERR_CACHE_CLOSED' });
});

test("tickets 'stateless' on a server that itself sets SSL_OP_NO_TICKET still resumes TLS 1.3 statefully", async (t) => {
  const pki = await sharedPki();
  const node = await startNodeServer({ cert: pki.server, tlsOptions: { secureOptions: constants.SSL_OP_NO_TICKET } });
  t.after(() => node.close());
  const cache = new ServerSessionCache({ tickets: 'stateless' }).attach(node.server);
  t.after(() => cache.close());
  const first = await nodeConnect({ port: node.port });
  assert.equal(TlsSession.fromDER(first.sessions.at(-1)!).ticket?.length, 32);
  assert.equal((await nodeConnect({ port: node.port, session: first.sessions.at(-1)! })).reused, true);
  assert.equal(cache.stats().hits, 1);
});
