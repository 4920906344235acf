import assert from 'node:assert/strict';
import { statSync } from 'node:fs';
import { createRequire } from 'node:module';
import { join } from 'node:path';
import { test } from 'node:test';
import type BetterSqlite3 from 'better-sqlite3';
import { sharedPki, startNodeServer, tmpDir } from '../helpers/index.js';
import { SqliteStore } from '../../src/stores/sqlite-store.js';
import { storeTraits } from '../../src/stores/store-traits.js';
import { startChild as spawnChild, within as withTimeout } from './child.js';
import { storeConformance } from './conformance.js';

const Database = createRequire(import.meta.url)('better-sqlite3') as typeof BetterSqlite3;
const CHILD = new URL('./fixtures/sqlite-child.ts', import.meta.url);
const startChild = (args: string[]) => spawnChild(CHILD, args);
const CLIENT = new URL('./fixtures/client-child.ts', import.meta.url);
const enc = (s: string): Uint8Array => Buffer.from(s);

storeConformance('SqliteStore', async () => {
  const dir = await tmpDir('sqlite-store-');
  const path = join(dir.path, 'sessions.db');
  const store = new SqliteStore({ path });
  const other = new SqliteStore({ path });
  return {
    store,
    other,
    async cleanup() {
      await store.close();
      await other.close();
      await dir.cleanup();
    },
  };
});

test('SqliteStore: a new file is private (0600), in WAL mode, and entries outlive the store', async (t) => {
  const dir = await tmpDir('sqlite-store-');
  t.after(() => dir.cleanup());
  const path = join(dir.path, 's.db');
  const store = new SqliteStore({ path });
  await store.set(enc('k'), enc('v'), 60_000);
  await store.push(enc('s'), enc('t'), 60_000, 4);
  await store.close();
  assert.equal(statSync(path).mode & 0o777, 0o600);
  const raw = new Database(path, { readonly: true });
  assert.equal(raw.pragma('journal_mode', { simple: true }), 'wal');
  raw.close();
  const again = new SqliteStore({ path });
  t.after(() => again.close());
  assert.equal(Buffer.from((await again.get(enc('k')))!).toString(), 'v');
  assert.equal(Buffer.from((await again.pop(enc('s')))!).toString(), 't');
  assert.deepEqual(storeTraits(again), { persistent: true, sealed: false });
});

test('SqliteStore purges expired rows (and only those)', async (t) => {
  const dir = await tmpDir('sqlite-store-');
  t.after(() => dir.cleanup());
  const path = join(dir.path, 's.db');
  let now = 1_000_000;
  const store = new SqliteStore({ path, now: () => now, purgeIntervalMs: 0 });
  t.after(() => store.close());
  for (let i = 0; i < 1500; i++) await store.set(enc(`short${i}`), enc('x'), 1000);
  await store.set(enc('long'), enc('x'), 60_000);
  await store.push(enc('stack'), enc('short'), 1000, 8);
  await store.push(enc('stack'), enc('long'), 60_000, 8);
  now += 2000;
  assert.equal(store.purgeExpired(), 1001, 'one batch: 1000 values and the expired stack entry');
  assert.equal(store.purgeExpired(), 500);
  assert.equal(store.purgeExpired(), 0);
  const raw = new Database(path, { readonly: true });
  t.after(() => raw.close());
  assert.equal(raw.prepare('SELECT count(*) FROM tls_sessions').pluck().get(), 1);
  assert.equal(raw.prepare('SELECT count(*) FROM tls_sessions_stacks').pluck().get(), 1);
});

test('SqliteStore: a write blocked by another process’s lock rejects within the busy timeout', async (t) => {
  const dir = await tmpDir('sqlite-store-');
  t.after(() => dir.cleanup());
  const path = join(dir.path, 's.db');
  const store = new SqliteStore({ path, busyTimeoutMs: 50 });
  t.after(() => store.close());
  const locker = new Database(path);
  t.after(() => locker.close());
  locker.exec('BEGIN IMMEDIATE');
  await assert.rejects(store.set(enc('k'), enc('v'), 60_000), (err: Error & { code?: string }) => {
    assert.equal(err.code, 'ERR_STORE_UNAVAILABLE');
    assert.match(err.message, /SQLITE_BUSY/);
    return true;
  });
  assert.equal(await store.get(enc('k')), undefined, 'reads go on under WAL');
  locker.exec('COMMIT');
  await store.set(enc('k'), enc('v'), 60_000);
  assert.ok(await store.get(enc('k')));
});

test('SqliteStore: bad options and an unopenable path give typed errors', async () => {
  assert.throws(() => new SqliteStore({ path: '/nonexistent-dir/x/s.db' }), { code: 'ERR_STORE_UNAVAILABLE' });
  assert.throws(() => new SqliteStore({ path: ':memory:', table: 'x; DROP TABLE y' }), { code: 'ERR_STORE_OPTION' });
  assert.throws(() => new SqliteStore({ path: '' }), { code: 'ERR_STORE_OPTION' });
});

test('SqliteStore across processes: two processes popping one stack never get the same entry', async (t) => {
  const dir = await tmpDir('sqlite-mp-');
  t.after(() => dir.cleanup());
  const path = join(dir.path, 's.db');
  const store = new SqliteStore({ path });
  t.after(() => store.close());
  const n = 2000;
  for (let i = 0; i < n; i++) await store.push(enc('tickets'), Buffer.from(`ticket-${i}`), 600_000, n);
  const kids = [startChild(['pop', path, 'tickets']), startChild(['pop', path, 'tickets'])];
  t.after(() => {
    for (const c of kids) c.proc.kill('SIGKILL');
  });
  await withTimeout(Promise.all(kids.map((c) => c.waitFor((l) => l === 'ready'))), 15_000, 'children ready');
  for (const c of kids) c.proc.stdin!.end('go\n');
  const codes = await withTimeout(Promise.all(kids.map((c) => c.exited)), 20_000, 'children done');
  assert.deepEqual(codes, [0, 0]);
  const got = kids.flatMap((c) => c.lines.filter((l) => l !== 'ready' && l !== 'done'));
  assert.equal(got.length, n, 'every entry popped once');
  assert.equal(new Set(got).size, n, 'no entry popped twice');
  assert.ok(
    kids.every((c) => c.lines.length > 2),
    `both processes popped (${kids.map((c) => c.lines.length - 2).join(' + ')})`,
  );
});

test('SqliteStore across processes: each single-use value is taken by exactly one process', async (t) => {
  const dir = await tmpDir('sqlite-mp-');
  t.after(() => dir.cleanup());
  const path = join(dir.path, 's.db');
  const store = new SqliteStore({ path });
  t.after(() => store.close());
  const n = 400;
  for (let i = 0; i < n; i++) await store.set(enc(`k${i}`), Buffer.from(`value-${i}`), 600_000);
  const kids = [startChild(['take', path, 'k', String(n)]), startChild(['take', path, 'k', String(n)])];
  t.after(() => {
    for (const c of kids) c.proc.kill('SIGKILL');
  });
  await withTimeout(Promise.all(kids.map((c) => c.waitFor((l) => l === 'ready'))), 15_000, 'children ready');
  for (const c of kids) c.proc.stdin!.end('go\n');
  assert.deepEqual(await withTimeout(Promise.all(kids.map((c) => c.exited)), 20_000, 'children done'), [0, 0]);
  const got = kids.flatMap((c) => c.lines.filter((l) => l !== 'ready' && l !== 'done'));
  assert.equal(got.length, n);
  assert.equal(new Set(got).size, n);
});

test('SqliteStore: a process killed mid-write leaves a sound file with every committed entry', async (t) => {
  const dir = await tmpDir('sqlite-kill-');
  t.after(() => dir.cleanup());
  const path = join(dir.path, 's.db');
  for (let round = 0; round < 3; round++) {
    const child = startChild(['write', path]);
    t.after(() => child.proc.kill('SIGKILL'));
    await withTimeout(child.waitFor((l) => l === 'ready'), 15_000, 'writer ready');
    child.proc.stdin!.end('go\n');
    const target = 300 + round * 150;
    await withTimeout(child.waitFor(() => child.lines.length > target), 15_000, 'writes');
    child.proc.kill('SIGKILL');
    await child.exited;
    const committed = child.lines.filter((l) => /^\d+$/.test(l)).map(Number);
    assert.ok(committed.length >= target);

    const raw = new Database(path);
    assert.equal(raw.pragma('integrity_check', { simple: true }), 'ok');
    const has = raw.prepare('SELECT count(*) FROM tls_sessions WHERE key = ?').pluck();
    const missing = committed.filter((i) => has.get(Buffer.from(`w${i}`)) !== 1);
    raw.close();
    assert.deepEqual(missing, [], `round ${round}: committed entries lost`);
  }
});

test('two client processes sharing one SqliteStore file never offer the same TLS 1.3 ticket', { timeout: 60_000 }, async (t) => {
  const dir = await tmpDir('sqlite-clients-');
  t.after(() => dir.cleanup());
  const path = join(dir.path, 'client-sessions.db');
  const pki = await sharedPki();
  // Node's own stateless tickets: a server that would happily resume one ticket twice, so only
  // the clients' store keeps each ticket single-use.
  const server = await startNodeServer({ cert: pki.server, tlsOptions: { minVersion: 'TLSv1.3' } });
  t.after(() => server.close());
  const n = 60;
  const kids = [0, 1].map(() => spawnChild(CLIENT, [path, String(server.port), pki.ca.certPath, String(n)]));
  t.after(() => Promise.all(kids.map((k) => k.stop())));
  await withTimeout(Promise.all(kids.map((c) => c.waitFor((l) => l === 'ready'))), 20_000, 'clients ready');
  for (const c of kids) c.proc.stdin!.end('go\n');
  const codes = await withTimeout(Promise.all(kids.map((c) => c.exited)), 40_000, 'clients done');
  assert.deepEqual(codes, [0, 0], kids.map((k) => k.stderr()).join('\n'));
  const offers = kids.map((c) => c.lines.filter((l) => l.startsWith('offer ')).map((l) => l.slice(6)));
  const resumed = kids.map((c) => c.lines.filter((l) => l === 'resumed').length);
  const all = offers.flat();
  t.diagnostic(`offers ${offers.map((o) => o.length).join(' + ')}, resumed ${resumed.join(' + ')}`);
  assert.ok(
    offers.every((o) => o.length > 10),
    'both processes offered tickets from the shared file',
  );
  assert.equal(new Set(all).size, all.length, 'a ticket was offered twice');
  assert.ok(resumed.every((r) => r > 10), 'both processes resumed');
  assert.ok(kids.every((c) => !c.lines.some((l) => l.startsWith('store-error'))), 'no store errors');
});
