/**
 * SqliteStore on each SQLite binding this Node line has: better-sqlite3 (a devDependency, on
 * every line) and node:sqlite (Node 22.13+; on 22 it prints Node's ExperimentalWarning once
 * here, which is what `auto` avoids). Every test below runs once per binding.
 */
import assert from 'node:assert/strict';
import { statSync } from 'node:fs';
import { cp, writeFile } from 'node:fs/promises';
import { isBuiltin } from 'node:module';
import { join } from 'node:path';
import { describe, test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { sharedPki, spawnNodeFixture, startNodeServer, tmpDir, within } from '../helpers/index.js';
import { autoSqliteDriver, nodeSqliteIsSilent, openSqlite, type SqliteDriver } from '../../src/stores/sqlite-driver.js';
import { SqliteStore } from '../../src/stores/sqlite-store.js';
import { storeTraits } from '../../src/stores/store-traits.js';
import { storeConformance, twoHandles } from './conformance.js';

const [major = 0, minor = 0] = process.versions.node.split('.').map(Number);
const DRIVERS: SqliteDriver[] = [
  'better-sqlite3',
  ...(isBuiltin('node:sqlite') && (major > 22 || (major === 22 && minor >= 13)) ? (['node:sqlite'] as const) : []),
];
const CHILD = new URL('./fixtures/sqlite-child.ts', import.meta.url);
const CLIENT = new URL('./fixtures/client-child.ts', import.meta.url);
const enc = (s: string): Uint8Array => Buffer.from(s);

test('SqliteStore picks node:sqlite where it loads silently, better-sqlite3 elsewhere, and says which', async (t) => {
  for (const [version, silent] of [
    ['20.20.2', false],
    ['22.23.5', false],
    ['24.14.1', false],
    ['24.15.0', true],
    ['25.6.1', false],
    ['25.7.0', true],
    ['26.0.0', true],
  ] as const) {
    assert.equal(nodeSqliteIsSilent(version), silent, version);
  }
  const dir = await tmpDir('sqlite-auto-');
  t.after(() => dir.cleanup());
  const store = new SqliteStore({ path: join(dir.path, 's.db') });
  t.after(() => store.close());
  assert.equal(store.driver, nodeSqliteIsSilent() ? 'node:sqlite' : 'better-sqlite3');
  assert.equal(store.driver, autoSqliteDriver());
  assert.throws(() => new SqliteStore({ path: ':memory:', driver: 'sqlite3' as SqliteDriver }), {
    code: 'ERR_STORE_OPTION',
  });
});

test('SqliteStore with the default driver: no ExperimentalWarning on any line, no native addon where node:sqlite is used', async (t) => {
  const dir = await tmpDir('sqlite-probe-');
  t.after(() => dir.cleanup());
  const child = spawnNodeFixture(CHILD, ['probe', join(dir.path, 's.db')]);
  t.after(() => child.kill());
  assert.equal(await within(child.exited, 15_000, 'probe'), 0, child.stderr());
  const probe = JSON.parse(child.lines[0] ?? '{}') as { driver: string; value: string; addons: string[] };
  t.diagnostic(`Node ${process.versions.node}: ${probe.driver}, addons ${JSON.stringify(probe.addons)}`);
  assert.equal(probe.value, 'probe');
  assert.equal(probe.driver, autoSqliteDriver());
  assert.doesNotMatch(child.stderr(), /Warning/);
  if (probe.driver === 'node:sqlite') assert.deepEqual(probe.addons, []);
  else
    assert.ok(
      probe.addons.some((f) => f.includes('better')),
      `better-sqlite3's addon is mapped: ${probe.addons}`,
    );
});

test('SqliteStore where no better-sqlite3 can be found: works on node:sqlite where it is silent, else says what to install', async (t) => {
  // The package's sources alone in a temp dir, outside any node_modules: nothing to resolve
  // better-sqlite3 from, as in an application that never installed it.
  const dir = await tmpDir('sqlite-nopeer-');
  t.after(() => dir.cleanup());
  await cp(fileURLToPath(new URL('../../src/', import.meta.url)), join(dir.path, 'src'), { recursive: true });
  await writeFile(join(dir.path, 'package.json'), '{"type":"module"}\n');
  await writeFile(
    join(dir.path, 'probe.ts'),
    `import { SqliteStore } from './src/stores/sqlite-store.js';
try {
  const s = new SqliteStore({ path: ':memory:' });
  await s.set(Buffer.from('k'), Buffer.from('v'), 60_000);
  console.log(JSON.stringify({ driver: s.driver, value: Buffer.from((await s.get(Buffer.from('k')))!).toString() }));
  await s.close();
} catch (err) {
  console.log(JSON.stringify({ code: (err as { code?: string }).code, message: (err as Error).message }));
}
`,
  );
  const child = spawnNodeFixture(join(dir.path, 'probe.ts'), []);
  t.after(() => child.kill());
  assert.equal(await within(child.exited, 15_000, 'probe'), 0, child.stderr());
  const got = JSON.parse(child.lines[0] ?? '{}') as Record<string, string>;
  t.diagnostic(JSON.stringify(got));
  assert.doesNotMatch(child.stderr(), /Warning/);
  if (nodeSqliteIsSilent()) assert.deepEqual(got, { driver: 'node:sqlite', value: 'v' });
  else {
    assert.equal(got['code'], 'ERR_STORE_DEPENDENCY');
    assert.match(got['message']!, /npm install better-sqlite3/);
  }
});

if (DRIVERS.length === 2) {
  test('a file written through one SQLite binding is read and written through the other', async (t) => {
    const dir = await tmpDir('sqlite-both-');
    t.after(() => dir.cleanup());
    const path = join(dir.path, 's.db');
    const [a, b] = DRIVERS.map((driver) => new SqliteStore({ path, driver }));
    t.after(() => Promise.all([a!.close(), b!.close()]));
    await a!.set(enc('k'), enc('from a'), 60_000);
    await a!.push(enc('s'), enc('stacked by a'), 60_000, 4);
    assert.equal(Buffer.from((await b!.take(enc('k')))!).toString(), 'from a');
    assert.equal(await a!.get(enc('k')), undefined);
    await b!.push(enc('s'), enc('stacked by b'), 60_000, 4);
    assert.equal(Buffer.from((await a!.pop(enc('s')))!).toString(), 'stacked by b');
    assert.equal(Buffer.from((await b!.pop(enc('s')))!).toString(), 'stacked by a');
  });
}

for (const driver of DRIVERS) describe(`SqliteStore on ${driver}`, () => driverTests(driver));

function driverTests(driver: SqliteDriver): void {
  const startChild = (args: string[]) => spawnNodeFixture(CHILD, args, { SQLITE_DRIVER: driver });
  const Database = class {
    readonly #db;
    constructor(path: string, options: { readonly?: boolean } = {}) {
      this.#db = openSqlite(driver, path, 5000, options.readonly ?? false);
    }
    /** The first column of the first row. */
    one(sql: string, ...params: Array<Uint8Array | number>): unknown {
      const row = this.#db.prepare(sql).get(...params);
      return row === undefined ? undefined : Object.values(row)[0];
    }
    exec(sql: string): void {
      this.#db.exec(sql);
    }
    close(): void {
      this.#db.close();
    }
  };

  storeConformance(`SqliteStore (${driver})`, async () => {
    const dir = await tmpDir('sqlite-store-');
    const path = join(dir.path, 'sessions.db');
    const store = new SqliteStore({ path, driver });
    const other = new SqliteStore({ path, driver });
    return twoHandles(store, other, () => dir.cleanup());
  });

  test('SqliteStore: a new file is private (0600), in WAL mode, and entries outlive the store', async (t) => {
    const dir = await tmpDir('sqlite-store-');
    t.after(() => dir.cleanup());
    const path = join(dir.path, 's.db');
    const store = new SqliteStore({ driver, path });
    await store.set(enc('k'), enc('v'), 60_000);
    await store.push(enc('s'), enc('t'), 60_000, 4);
    await store.close();
    assert.equal(statSync(path).mode & 0o777, 0o600);
    const raw = new Database(path, { readonly: true });
    assert.equal(raw.one('PRAGMA journal_mode'), 'wal');
    raw.close();
    const again = new SqliteStore({ driver, path });
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
    const store = new SqliteStore({ driver, path, now: () => now, purgeIntervalMs: 0 });
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
    assert.equal(raw.one('SELECT count(*) FROM tls_sessions'), 1);
    assert.equal(raw.one('SELECT count(*) FROM tls_sessions_stacks'), 1);
  });

  test('SqliteStore: a write blocked by another process’s lock rejects within the busy timeout', async (t) => {
    const dir = await tmpDir('sqlite-store-');
    t.after(() => dir.cleanup());
    const path = join(dir.path, 's.db');
    const store = new SqliteStore({ driver, path, busyTimeoutMs: 50 });
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
    assert.throws(() => new SqliteStore({ path: '/nonexistent-dir/x/s.db', driver }), {
      code: 'ERR_STORE_UNAVAILABLE',
    });
    assert.throws(() => new SqliteStore({ path: ':memory:', table: 'x; DROP TABLE y', driver }), {
      code: 'ERR_STORE_OPTION',
    });
    assert.throws(() => new SqliteStore({ path: '', driver }), { code: 'ERR_STORE_OPTION' });
  });

  test('SqliteStore across processes: two processes popping one stack never get the same entry', async (t) => {
    const dir = await tmpDir('sqlite-mp-');
    t.after(() => dir.cleanup());
    const path = join(dir.path, 's.db');
    const store = new SqliteStore({ driver, path });
    t.after(() => store.close());
    const n = 2000;
    // SQLite does not promise a waiting writer its turn: one process may empty the stack before
    // the other gets the lock. Such a round proves nothing about atomicity, so it is run again
    // (at most three rounds); duplicates or losses fail at once in any round.
    let racedRounds = 0;
    for (let round = 0; round < 3 && racedRounds === 0; round++) {
      const stack = enc(`tickets-${round}`);
      for (let i = 0; i < n; i++) await store.push(stack, Buffer.from(`ticket-${i}`), 600_000, n);
      const args = ['pop', path, `tickets-${round}`];
      const kids = [startChild(args), startChild(args)];
      t.after(() => Promise.all(kids.map((c) => c.kill())));
      await Promise.all(kids.map((c) => c.line((l) => l === 'ready', { what: 'child ready', timeoutMs: 15_000 })));
      for (const c of kids) c.process.stdin!.end('go\n');
      const codes = await within(Promise.all(kids.map((c) => c.exited)), 20_000, 'children done');
      assert.deepEqual(codes, [0, 0]);
      const got = kids.flatMap((c) => c.lines.filter((l) => l !== 'ready' && l !== 'done'));
      assert.equal(got.length, n, 'every entry popped once');
      assert.equal(new Set(got).size, n, 'no entry popped twice');
      if (kids.every((c) => c.lines.length > 2)) racedRounds++;
    }
    assert.equal(racedRounds, 1, 'in three rounds, one process always emptied the stack alone: no race was tested');
  });

  test('SqliteStore across processes: each single-use value is taken by exactly one process', async (t) => {
    const dir = await tmpDir('sqlite-mp-');
    t.after(() => dir.cleanup());
    const path = join(dir.path, 's.db');
    const store = new SqliteStore({ driver, path });
    t.after(() => store.close());
    const n = 400;
    for (let i = 0; i < n; i++) await store.set(enc(`k${i}`), Buffer.from(`value-${i}`), 600_000);
    const kids = [startChild(['take', path, 'k', String(n)]), startChild(['take', path, 'k', String(n)])];
    t.after(() => Promise.all(kids.map((c) => c.kill())));
    await Promise.all(kids.map((c) => c.line((l) => l === 'ready', { what: 'child ready', timeoutMs: 15_000 })));
    for (const c of kids) c.process.stdin!.end('go\n');
    assert.deepEqual(await within(Promise.all(kids.map((c) => c.exited)), 20_000, 'children done'), [0, 0]);
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
      t.after(() => child.kill());
      await child.line((l) => l === 'ready', { what: 'writer ready', timeoutMs: 15_000 });
      child.process.stdin!.end('go\n');
      const target = 300 + round * 150;
      // The line at index `target` is there: more than `target` lines.
      await child
        .line(() => true, { what: 'writes', timeoutMs: 15_000, from: target })
        .catch((err: Error) => {
          throw new Error(
            `round ${round}: ${err.message}; ${child.lines.length} lines, exit ${child.process.exitCode}: ${child.stderr()}`,
          );
        });
      await child.kill();
      const committed = child.lines.filter((l) => /^\d+$/.test(l)).map(Number);
      assert.ok(committed.length >= target);

      const raw = new Database(path);
      assert.equal(raw.one('PRAGMA integrity_check'), 'ok');
      const missing = committed.filter(
        (i) => raw.one('SELECT count(*) FROM tls_sessions WHERE key = ?', Buffer.from(`w${i}`)) !== 1,
      );
      raw.close();
      assert.deepEqual(missing, [], `round ${round}: committed entries lost`);
    }
  });

  test('two client processes sharing one SqliteStore file never offer the same TLS 1.3 ticket', {
    timeout: 60_000,
  }, async (t) => {
    const dir = await tmpDir('sqlite-clients-');
    t.after(() => dir.cleanup());
    const path = join(dir.path, 'client-sessions.db');
    const pki = await sharedPki();
    // Node's own stateless tickets: a server that would happily resume one ticket twice, so only
    // the clients' store keeps each ticket single-use.
    const server = await startNodeServer({ cert: pki.server, tlsOptions: { minVersion: 'TLSv1.3' } });
    t.after(() => server.close());
    const n = 60;
    const kids = [0, 1].map(() =>
      spawnNodeFixture(CLIENT, [path, String(server.port), pki.ca.certPath, String(n)], { SQLITE_DRIVER: driver }),
    );
    t.after(() => Promise.all(kids.map((k) => k.stop())));
    await Promise.all(kids.map((c) => c.line((l) => l === 'ready', { what: 'client ready', timeoutMs: 20_000 })));
    for (const c of kids) c.process.stdin!.end('go\n');
    const codes = await within(Promise.all(kids.map((c) => c.exited)), 40_000, 'clients done');
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
    assert.ok(
      resumed.every((r) => r > 10),
      'both processes resumed',
    );
    assert.ok(
      kids.every((c) => !c.lines.some((l) => l.startsWith('store-error'))),
      'no store errors',
    );
  });
}
