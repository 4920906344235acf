/**
 * A RedisStore (and `tls-sessions keys`) given a wrong database or a wrong password, against a
 * real redis-server: a typed one-line error naming the problem, never a crash, never silent use
 * of database 0, and no process left running past its answer.
 */
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { RedisStore, SessionStoreError } from '../../src/stores/redis-store.js';
import { binSkipReason, runBin } from '../cli/run-bin.js';
import { skipUnlessPeer, tmpDir, type TmpDir } from '../helpers/index.js';
import { type RedisServer, redisSkipReason, startRedisServer } from '../helpers-redis/redis-server.js';

const skip = skipUnlessPeer(redisSkipReason());
const binSkip = skip ?? skipUnlessPeer(binSkipReason());
const enc = (s: string) => Buffer.from(s);
const optionError = (pattern: RegExp) => (err: unknown) =>
  err instanceof SessionStoreError &&
  err.code === 'ERR_STORE_OPTION' &&
  pattern.test(err.message) &&
  !err.message.includes('\n');

let dir: TmpDir;
let kekFile: string;
before(async () => {
  dir = await tmpDir('redis-config-');
  kekFile = join(dir.path, 'kek');
  await writeFile(kekFile, randomBytes(32).toString('hex'), { mode: 0o600 });
});
after(() => dir.cleanup());

test('RedisStore: a database in the URL that is not a number is refused at construction, without echoing the URL', () => {
  for (const path of ['abc', '3x', '-1', '1.5', '99999999999', '0/1']) {
    assert.throws(
      () => new RedisStore({ url: `redis://:hunter2@127.0.0.1:1/${path}` }),
      (err: unknown) =>
        optionError(/^RedisStore: the database in url must be a number from 0 to 2147483647 \(got '\/.*'\)$/)(err) &&
        !String((err as Error).message).includes('hunter2'),
      path,
    );
  }
  assert.throws(
    () => new RedisStore({ url: 'http://127.0.0.1:6379' }),
    optionError(/url must start with redis:\/\/ or rediss:\/\//),
  );
  assert.throws(() => new RedisStore({ url: 'not a url' }), optionError(/url is not a URL/));
  assert.throws(
    () => new RedisStore({ redisOptions: { db: Number.NaN } }),
    optionError(/redisOptions\.db must be an integer/),
  );
});

test('RedisStore: a database the server does not have fails ready() and every call; nothing lands in database 0', {
  skip,
  timeout: 30_000,
}, async (t) => {
  const redis = await startRedisServer({ disposeAfter: t });
  const errors: string[] = [];
  const store = new RedisStore({ url: `${redis.url}/99`, onError: (e) => errors.push(e.message) });
  t.after(() => store.close());
  const started = Date.now();
  await assert.rejects(
    store.ready(5000),
    optionError(/^RedisStore: database 99 cannot be selected: ERR DB index is out of range$/),
  );
  assert.ok(Date.now() - started < 3000, 'fails as soon as the server answers, not at the deadline');
  await assert.rejects(store.set(enc('k'), enc('v'), 60_000), optionError(/database 99 cannot be selected/));
  await assert.rejects(store.get(enc('k')), optionError(/database 99 cannot be selected/));
  assert.equal(await redis.command('DBSIZE'), '0', 'database 0 untouched');

  // A database it has is the one used.
  const three = new RedisStore({ url: `${redis.url}/3` });
  t.after(() => three.close());
  await three.ready(5000);
  await three.set(enc('k'), enc('v'), 60_000);
  assert.equal(await redis.command('DBSIZE'), '0');
  assert.match(await redis.command('INFO', 'keyspace'), /^db3:keys=1,/m);
});

async function passwordServer(): Promise<RedisServer> {
  const redis = await startRedisServer();
  // Set after start: the helper's readiness PING needs no password.
  await redis.command('CONFIG', 'SET', 'requirepass', 'sekret');
  return redis;
}

test('RedisStore: a missing or wrong password is reported by ready() at once, with Redis reason', {
  skip,
  timeout: 30_000,
}, async (t) => {
  const redis = await passwordServer();
  t.after(() => redis.dispose());
  const cases: Array<[string, RegExp]> = [
    [redis.url, /^RedisStore: (Ready check failed: )?NOAUTH Authentication required\.$/],
    [`redis://:wrong@127.0.0.1:${redis.port}`, /^RedisStore: WRONGPASS /],
  ];
  for (const [url, reason] of cases) {
    const store = new RedisStore({ url, onError: () => {} });
    const started = Date.now();
    await assert.rejects(
      store.ready(5000),
      (err: unknown) =>
        err instanceof SessionStoreError && err.code === 'ERR_STORE_UNAVAILABLE' && reason.test(err.message),
    );
    assert.ok(Date.now() - started < 3000, `${url}: not at the 5 s deadline`);
    await store.close();
  }
  const good = new RedisStore({ url: `redis://:sekret@127.0.0.1:${redis.port}` });
  t.after(() => good.close());
  await good.ready(5000);
});

test('RedisStore: an unreachable server: the timeout names the last connection error', {
  timeout: 30_000,
}, async () => {
  const store = new RedisStore({ url: 'redis://127.0.0.1:1', onError: () => {} });
  await assert.rejects(
    store.ready(300),
    /^SessionStoreError: RedisStore: not connected within 300 ms \(last error: connect ECONNREFUSED 127\.0\.0\.1:1\)$/,
  );
  await store.close();
});

test('tls-sessions keys: a bad or missing database is a usage error (exit 2), one line, no stack', {
  skip: binSkip,
  timeout: 60_000,
}, async (t) => {
  const redis = await startRedisServer({ disposeAfter: t });
  for (const [db, message] of [
    [
      'abc',
      /^tls-sessions keys: --redis: RedisStore: the database in url must be a number from 0 to 2147483647 \(got '\/abc'\)\n$/,
    ],
    ['99', /^tls-sessions keys: --redis: RedisStore: database 99 cannot be selected: ERR DB index is out of range\n$/],
  ] as const) {
    const r = await runBin(['keys', 'generate', '--redis', `${redis.url}/${db}`, '--kek-file', kekFile]);
    assert.equal(r.code, 2, r.stderr);
    assert.match(r.stderr, message);
    assert.ok(r.elapsedMs < 5000, `${r.elapsedMs} ms`);
  }
  assert.equal(await redis.command('DBSIZE'), '0', 'nothing written to database 0');
});

test('tls-sessions keys: NOAUTH and WRONGPASS are reported (exit 1), and a failing run exits at once', {
  skip: binSkip,
  timeout: 60_000,
}, async (t) => {
  const redis = await passwordServer();
  t.after(() => redis.dispose());
  const cases: Array<[string, RegExp]> = [
    [redis.url, /NOAUTH Authentication required/],
    [`redis://:wrong@127.0.0.1:${redis.port}`, /WRONGPASS/],
  ];
  for (const [url, reason] of cases) {
    const r = await runBin(['keys', 'list', '--redis', url, '--kek-file', kekFile, '--timeout', '2000']);
    assert.equal(r.code, 1, r.stderr);
    assert.match(r.stderr, reason);
    assert.equal(r.stderr.trim().split('\n').length, 1);
    // Before: "not connected within 2000 ms", then 2 s more for a timer ioredis left running.
    assert.ok(r.elapsedMs < 2000, `${r.elapsedMs} ms`);
  }
  const ok = await runBin([
    'keys',
    'list',
    '--redis',
    `redis://:sekret@127.0.0.1:${redis.port}`,
    '--kek-file',
    kekFile,
  ]);
  assert.equal(ok.code, 0, ok.stderr);
  assert.ok(ok.elapsedMs < 2000, `a successful run exits at once too: ${ok.elapsedMs} ms`);

  // Unreachable: the store's own bound, then the process ends (no 2 s linger).
  const gone = await runBin([
    'keys',
    'list',
    '--redis',
    'redis://127.0.0.1:1',
    '--kek-file',
    kekFile,
    '--timeout',
    '500',
  ]);
  assert.equal(gone.code, 1, gone.stderr);
  assert.match(
    gone.stderr,
    /^tls-sessions keys: RedisStore: not connected within 500 ms \(last error: connect ECONNREFUSED 127\.0\.0\.1:1\)\n$/,
  );
  assert.ok(gone.elapsedMs < 500 + 1500, `${gone.elapsedMs} ms`);
});

test('tls-sessions keys: a malformed or missing KEK file is a usage error (exit 2), its content never echoed', {
  skip: binSkip,
}, async () => {
  const shortKek = join(dir.path, 'short');
  await writeFile(shortKek, 'abcdef0123');
  for (const [file, message] of [
    [shortKek, /^tls-sessions keys: --kek-file must hold the key-encryption key: 32 bytes, raw or as 64 hex digits\n$/],
    [join(dir.path, 'none'), /^tls-sessions keys: --kek-file .*none does not exist\n$/],
    [dir.path, /^tls-sessions keys: --kek-file .* is a directory\n$/],
  ] as const) {
    const r = await runBin(['keys', 'list', '--redis', 'redis://127.0.0.1:1', '--kek-file', file]);
    assert.equal(r.code, 2, r.stderr);
    assert.match(r.stderr, message);
    assert.doesNotMatch(r.stderr, /abcdef/);
    assert.ok(r.elapsedMs < 5000, `${r.elapsedMs} ms`);
  }
});
