/**
 * Option objects at every public entry point that takes one: a wrong type, a time of 2^31 ms or
 * more, a string where a number goes, a string where a boolean goes, null where an object
 * goes. Each is refused at construction with the class's own typed error, in one line that
 * names the class and the option.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { EncryptedStore, MemoryStore, ServerSessionCache } from '../../src/index.js';
import { RedisStore } from '../../src/stores/redis-store.js';
import { TicketKeyRing } from '../../src/tickets/index.js';
import { withBudget } from '../../src/util/budget.js';
import { describeValue, MAX_TIMER_MS } from '../../src/util/options.js';
import { skipUnlessPeer } from '../helpers/peers.js';

const TOO_LONG = 2 ** 31;
const key = { id: 'k1', key: Buffer.alloc(32, 7) };

function refused(make: () => unknown, code: string, message: RegExp): void {
  assert.throws(make, (err: unknown) => {
    const e = err as { code?: string; message?: string };
    assert.equal(e.code, code, e.message);
    assert.match(e.message ?? '', message);
    assert.ok(!e.message!.includes('\n'), 'one line');
    return true;
  });
}

// SqliteStore runs on node:sqlite or better-sqlite3 (a devDependency, built for each line by
// scripts/native-modules.sh): when neither opens here, say so.
async function sqliteOpens(): Promise<string | undefined> {
  const { SqliteStore } = await import('../../src/stores/sqlite-store.js');
  try {
    await new SqliteStore({ path: ':memory:' }).close();
    return undefined;
  } catch (err) {
    return `SqliteStore does not open on this Node line: ${(err as Error).message.split('\n')[0]}`;
  }
}

test('time options of 2^31 ms or more are refused everywhere (Node would fire such a timer after 1 ms)', () => {
  const ms = (cls: string, name: string) =>
    new RegExp(
      `^${cls}: ${name.replace('.', '\\.')} must be a positive number of milliseconds up to 2147483647 \\(got 2147483648\\)$`,
    );
  refused(
    () => new ServerSessionCache({ storeTimeoutMs: TOO_LONG }),
    'ERR_CACHE_OPTION',
    ms('ServerSessionCache', 'storeTimeoutMs'),
  );
  refused(
    () => new ServerSessionCache({ helloTimeoutMs: TOO_LONG }),
    'ERR_CACHE_OPTION',
    ms('ServerSessionCache', 'helloTimeoutMs'),
  );
  refused(
    () => new TicketKeyRing({ storeTimeoutMs: TOO_LONG }),
    'ERR_TICKET_OPTION',
    ms('TicketKeyRing', 'storeTimeoutMs'),
  );
  for (const name of ['connectTimeoutMs', 'commandTimeoutMs', 'reconnectMaxDelayMs']) {
    refused(
      () => new RedisStore({ url: 'redis://127.0.0.1:1', [name]: TOO_LONG }),
      'ERR_STORE_OPTION',
      ms('RedisStore', name),
    );
  }
  // The largest a timer honours is fine.
  assert.doesNotThrow(() => new ServerSessionCache({ storeTimeoutMs: MAX_TIMER_MS, helloTimeoutMs: MAX_TIMER_MS }));
  assert.doesNotThrow(() => new TicketKeyRing({ storeTimeoutMs: MAX_TIMER_MS }));
});

test('RedisStore.ready() refuses a timeout it could not keep', async () => {
  const store = new RedisStore({ url: 'redis://127.0.0.1:1', onError: () => {} });
  await assert.rejects(store.ready(TOO_LONG), {
    code: 'ERR_STORE_OPTION',
    message: /^RedisStore: ready: timeoutMs must be a positive number/,
  });
  await assert.rejects(store.ready(Number.NaN), { code: 'ERR_STORE_OPTION' });
  await store.close();
});

test('SqliteStore: its two time options are bounded the same way', {
  skip: skipUnlessPeer(await sqliteOpens()),
}, async () => {
  const { SqliteStore } = await import('../../src/stores/sqlite-store.js');
  for (const name of ['busyTimeoutMs', 'purgeIntervalMs']) {
    refused(
      () => new SqliteStore({ path: ':memory:', [name]: TOO_LONG }),
      'ERR_STORE_OPTION',
      new RegExp(`^SqliteStore: ${name} must be a number of milliseconds from 0 to 2147483647 \\(got 2147483648\\)$`),
    );
    refused(
      () => new SqliteStore({ path: ':memory:', [name]: '100' as never }),
      'ERR_STORE_OPTION',
      /got the string '100'/,
    );
  }
  refused(() => new SqliteStore(null as never), 'ERR_STORE_OPTION', /^SqliteStore: options with a path are required$/);
  refused(
    () => new SqliteStore({ path: ':memory:', synchronous: 'off' as never }),
    'ERR_STORE_OPTION',
    /synchronous must be 'normal' or 'full'/,
  );
});

test('a number given as a string is refused, not read as "no budget"', () => {
  refused(
    () => new ServerSessionCache({ storeTimeoutMs: '100' as never }),
    'ERR_CACHE_OPTION',
    /^ServerSessionCache: storeTimeoutMs must be .* \(got the string '100'\)$/,
  );
  refused(
    () => new TicketKeyRing({ storeTimeoutMs: '100' as never }),
    'ERR_TICKET_OPTION',
    /storeTimeoutMs must be .* \(got the string '100'\)$/,
  );
  refused(
    () => new TicketKeyRing({ rotateEvery: '3600' as never }),
    'ERR_TICKET_OPTION',
    /^TicketKeyRing: rotateEvery must be an integer number of seconds from 1 to 31622400 \(got the string '3600'\)$/,
  );
  refused(
    () => new RedisStore({ commandTimeoutMs: '100' as never }),
    'ERR_STORE_OPTION',
    /^RedisStore: commandTimeoutMs must be .* \(got the string '100'\)$/,
  );
  refused(
    () => new MemoryStore({ maxEntries: '10' as never }),
    'ERR_STORE_OPTION',
    /^MemoryStore: maxEntries must be an integer from 1 to \d+ \(got the string '10'\)$/,
  );
  for (const nan of [Number.NaN, Number.POSITIVE_INFINITY, -1, 0]) {
    refused(
      () => new ServerSessionCache({ storeTimeoutMs: nan }),
      'ERR_CACHE_OPTION',
      /storeTimeoutMs must be a positive number/,
    );
  }
});

test("a boolean option given 'yes' is refused, not read as false", () => {
  refused(
    () => new ServerSessionCache({ reuseTls13: 'yes' as never }),
    'ERR_CACHE_OPTION',
    /^ServerSessionCache: reuseTls13 must be true or false \(got the string 'yes'\)$/,
  );
  refused(
    () => new ServerSessionCache({ reuseTls13: 1 as never }),
    'ERR_CACHE_OPTION',
    /reuseTls13 must be true or false \(got 1\)$/,
  );
  assert.doesNotThrow(() => new ServerSessionCache({ reuseTls13: true }));
});

test('null or a wrong type where an object or function goes: a typed error, never a raw TypeError', () => {
  refused(
    () => new EncryptedStore(null as never, { key }),
    'ERR_STORE_OPTION',
    /^EncryptedStore: the inner store must implement SessionStore$/,
  );
  refused(
    () => new EncryptedStore({ get: () => {} } as never, { key }),
    'ERR_STORE_OPTION',
    /the inner store must implement SessionStore/,
  );
  refused(
    () => new EncryptedStore(new MemoryStore(), null as never),
    'ERR_STORE_OPTION',
    /^EncryptedStore: options with a key are required$/,
  );
  refused(
    () => new EncryptedStore(new MemoryStore(), { key: null as never }),
    'ERR_STORE_OPTION',
    /^EncryptedStore: a key id must be/,
  );
  refused(
    () => new EncryptedStore(new MemoryStore(), { key, decryptOnly: key as never }),
    'ERR_STORE_OPTION',
    /decryptOnly must be an array/,
  );
  refused(
    () => new MemoryStore(null as never),
    'ERR_STORE_OPTION',
    /^MemoryStore: options must be an object \(got null\)$/,
  );
  refused(
    () => new MemoryStore({ now: 5 as never }),
    'ERR_STORE_OPTION',
    /^MemoryStore: now must be a function \(got 5\)$/,
  );
  refused(() => new RedisStore(null as never), 'ERR_STORE_OPTION', /^RedisStore: options must be an object/);
  refused(
    () => new RedisStore({ client: null as never }),
    'ERR_STORE_OPTION',
    /client must be an ioredis Redis or Cluster/,
  );
  refused(
    () => new RedisStore({ url: 'redis://127.0.0.1:1', onError: 'log' as never }),
    'ERR_STORE_OPTION',
    /onError must be a function/,
  );
  refused(
    () => new RedisStore({ url: 'redis://127.0.0.1:1', redisOptions: 'x' as never }),
    'ERR_STORE_OPTION',
    /redisOptions must be an object/,
  );
  refused(
    () => new TicketKeyRing(null as never),
    'ERR_TICKET_OPTION',
    /^TicketKeyRing: options must be an object \(got null\)$/,
  );
  refused(() => new TicketKeyRing({ prefix: 3 as never }), 'ERR_TICKET_OPTION', /prefix must be a string/);
  refused(
    () => new ServerSessionCache(null as never),
    'ERR_CACHE_OPTION',
    /^ServerSessionCache: options must be an object/,
  );
});

test('withBudget: a budget past what a timer can wait is capped, not turned into 1 ms', async () => {
  const warnings: string[] = [];
  const onWarning = (w: Error) => warnings.push(w.name);
  process.on('warning', onWarning);
  try {
    const late = new Promise((resolve) => setTimeout(resolve, 30, 'answer'));
    assert.equal(await withBudget(late, TOO_LONG, 'test'), 'answer');
    assert.equal(await withBudget(Promise.resolve('x'), Number.POSITIVE_INFINITY, 'test'), 'x');
    await new Promise((resolve) => setImmediate(resolve));
    assert.deepEqual(warnings, [], 'no TimeoutOverflowWarning');
  } finally {
    process.off('warning', onWarning);
  }
});

test('describeValue: short and safe', () => {
  assert.equal(describeValue('x'.repeat(100)), `the string '${'x'.repeat(20)}…'`);
  assert.equal(describeValue(undefined), 'undefined');
  assert.equal(describeValue({}), 'an object');
  assert.equal(describeValue([1]), 'an array');
  assert.equal(
    describeValue(() => 1),
    'a function',
  );
});

test("TicketKeyRing: rotate({ revoke: 'yes' }) is refused, not done as a plain rotation that leaves the key decrypting", async () => {
  const ring = new TicketKeyRing();
  await ring.start();
  const before = ring.list().map((k) => k.name);
  await assert.rejects(ring.rotate({ revoke: 'yes' as never }), {
    code: 'ERR_TICKET_OPTION',
    message: "TicketKeyRing: rotate: revoke must be true or false (got the string 'yes')",
  });
  assert.deepEqual(
    ring.list().map((k) => k.name),
    before,
    'nothing changed',
  );
  refused(
    () => ring.list({ reveal: 1 as never }),
    'ERR_TICKET_OPTION',
    /^TicketKeyRing: list: reveal must be true or false \(got 1\)$/,
  );
  await ring.rotate({ revoke: true });
  assert.ok(
    ring.list().every((k) => !before.includes(k.name)),
    'a real revocation drops every key',
  );
  await ring.close();
});
