import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { freePort } from '../helpers/ports.js';
import { skipUnlessPeer } from '../helpers/peers.js';
import { waitFor } from '../helpers/wait.js';
import { type RedisServer, redisSkipReason, startRedisServer } from '../helpers-redis/redis-server.js';
import { RedisStore, type RedisStoreOptions } from '../../src/stores/redis-store.js';
import type { SessionStoreError } from '../../src/stores/store-error.js';
import { storeTraits } from '../../src/stores/store-traits.js';
import { withBudget } from '../../src/util/budget.js';
import { storeConformance, twoHandles } from './conformance.js';

const skip = skipUnlessPeer(redisSkipReason());
const enc = (s: string): Uint8Array => Buffer.from(s);
let server: RedisServer | undefined;
let prefixes = 0;

before(async () => {
  if (skip === undefined) server = await startRedisServer();
});
after(async () => {
  await server?.dispose();
});

function open(options: RedisStoreOptions = {}): RedisStore {
  return new RedisStore({ url: server!.url, ...options });
}

storeConformance(
  'RedisStore',
  async () => {
    const prefix = `conf${prefixes++}:`;
    const store = open({ prefix });
    const other = open({ prefix });
    await Promise.all([store.ready(), other.ready()]);
    return twoHandles(store, other);
  },
  { skip },
);

test('RedisStore: keys carry the prefix and a millisecond TTL; another prefix is another store', {
  skip,
}, async (t) => {
  const a = open({ prefix: 'app-a:' });
  const b = open({ prefix: 'app-b:' });
  t.after(() => Promise.all([a.close(), b.close()]));
  await Promise.all([a.ready(), b.ready()]);
  await a.set(enc('k'), enc('from a'), 30_000);
  await b.set(enc('k'), enc('from b'), 30_000);
  await a.push(enc('s'), enc('ticket'), 20_000, 3);
  const pttl = Number(await server!.command('PTTL', 'app-a:s:k'));
  assert.ok(pttl > 25_000 && pttl <= 30_000, `PTTL ${pttl}`);
  const stackTtl = Number(await server!.command('PTTL', 'app-a:l:s'));
  assert.ok(stackTtl > 15_000 && stackTtl <= 20_000, `stack PTTL ${stackTtl}`);
  assert.equal(Buffer.from((await a.get(enc('k')))!).toString(), 'from a');
  await a.clear();
  assert.equal(await a.get(enc('k')), undefined);
  assert.equal(await a.pop(enc('s')), undefined);
  assert.equal(Buffer.from((await b.get(enc('k')))!).toString(), 'from b', 'clear keeps other prefixes');
  assert.deepEqual(storeTraits(a), { persistent: true, sealed: false });
});

test('RedisStore: a glob character in the prefix does not widen clear', { skip }, async (t) => {
  const star = open({ prefix: 'x*:' });
  const plain = open({ prefix: 'xy:' });
  t.after(() => Promise.all([star.close(), plain.close()]));
  await Promise.all([star.ready(), plain.ready()]);
  await plain.set(enc('k'), enc('v'), 30_000);
  await star.set(enc('k'), enc('v'), 30_000);
  await star.clear();
  assert.equal(await star.get(enc('k')), undefined);
  assert.ok(await plain.get(enc('k')));
});

test('RedisStore: errors carry neither values nor the command, even when Redis echoes them', { skip }, async (t) => {
  const store = open({ prefix: 'err:' });
  t.after(() => store.close());
  await store.ready();
  await server!.command('SET', 'err:l:stack', 'a string, not a list');
  const secret = Buffer.from('MASTER-SECRET-0123456789abcdef');
  const err = (await store.push(enc('stack'), secret, 30_000, 3).then(
    () => assert.fail('push onto a string must fail'),
    (e: unknown) => e,
  )) as SessionStoreError & Record<string, unknown>;
  assert.equal(err.code, 'ERR_STORE_UNAVAILABLE');
  assert.match(err.message, /WRONGTYPE/);
  assert.equal(err.cause, undefined);
  assert.equal(err['command'], undefined);
  const everything = `${err.message}\n${err.stack}\n${JSON.stringify(err)}`;
  assert.ok(!everything.includes('MASTER-SECRET'), 'the value leaked into the error');
  assert.ok(!everything.includes(secret.toString('hex')));
});

test('RedisStore with no server: calls reject at once, nothing is queued, it connects when one appears', {
  skip,
}, async (t) => {
  const port = await freePort();
  const errors: SessionStoreError[] = [];
  const store = new RedisStore({ url: `redis://127.0.0.1:${port}`, prefix: 'late:', onError: (e) => errors.push(e) });
  t.after(() => store.close());
  for (let i = 0; i < 200; i++) {
    await assert.rejects(withBudget(store.get(enc(`k${i}`)), 1000, 'get'), { code: 'ERR_STORE_UNAVAILABLE' });
  }
  await assert.rejects(withBudget(store.set(enc('k'), enc('v'), 1000), 1000, 'set'), { code: 'ERR_STORE_UNAVAILABLE' });
  const late = await startRedisServer({ port });
  t.after(() => late.dispose());
  assert.equal(await late.command('DBSIZE'), '0', 'no command was queued and replayed');
  await store.ready(3000);
  await store.set(enc('k'), enc('v'), 10_000);
  assert.equal(Buffer.from((await store.get(enc('k')))!).toString(), 'v');
  assert.ok(errors.length > 0, 'connection errors were reported to onError');
  assert.ok(errors.every((e) => e.code === 'ERR_STORE_UNAVAILABLE'));
});

test('RedisStore: Redis stopped then started on the same port; the store comes back by itself', { skip }, async (t) => {
  const own = await startRedisServer({ disposeAfter: t });
  const store = new RedisStore({ url: own.url, prefix: 'restart:', onError: () => {} });
  t.after(() => store.close());
  await store.ready();
  await store.set(enc('before'), enc('v'), 10_000);
  await own.stop();
  await assert.rejects(withBudget(store.get(enc('before')), 1000, 'get'), { code: 'ERR_STORE_UNAVAILABLE' });
  await assert.rejects(withBudget(store.take(enc('before')), 1000, 'take'), { code: 'ERR_STORE_UNAVAILABLE' });
  await assert.rejects(withBudget(store.pop(enc('before')), 1000, 'pop'), { code: 'ERR_STORE_UNAVAILABLE' });
  await own.start();
  await waitFor(
    () =>
      store.set(enc('after'), enc('v'), 10_000).then(
        () => true,
        () => false,
      ),
    { what: 'the store to reconnect', timeoutMs: 3000, intervalMs: 50 },
  );
  assert.equal(Buffer.from((await store.get(enc('after')))!).toString(), 'v');
});

test('RedisStore: a frozen Redis makes calls reject after commandTimeoutMs, not hang', { skip }, async (t) => {
  const own = await startRedisServer({ disposeAfter: t });
  const store = new RedisStore({ url: own.url, prefix: 'frozen:', commandTimeoutMs: 150, onError: () => {} });
  t.after(() => store.close());
  await store.ready();
  await store.set(enc('k'), enc('v'), 10_000);
  own.pause();
  t.after(() => own.resume());
  const calls = [
    store.get(enc('k')),
    store.take(enc('other')),
    store.push(enc('s'), enc('v'), 1000, 2),
    store.pop(enc('s')),
  ];
  const settled = await withBudget(Promise.allSettled(calls), 2000, 'calls on a frozen server');
  for (const r of settled) {
    assert.equal(r.status, 'rejected');
    assert.equal((r.reason as SessionStoreError).code, 'ERR_STORE_UNAVAILABLE');
  }
  own.resume();
  const value = await waitFor(() => store.get(enc('k')).catch(() => undefined), {
    what: 'an answer once Redis is back',
    timeoutMs: 3000,
    intervalMs: 50,
  });
  assert.equal(Buffer.from(value).toString(), 'v', 'works again once Redis answers');
});

test('RedisStore: close() on a store whose server is gone returns promptly', { skip }, async (t) => {
  const own = await startRedisServer({ disposeAfter: t });
  const store = new RedisStore({ url: own.url, onError: () => {} });
  await store.ready();
  await own.kill();
  await withBudget(store.close(), 2000, 'close');
  await assert.rejects(store.get(enc('k')), { code: 'ERR_STORE_CLOSED' });
});

test('RedisStore: option errors are typed', () => {
  assert.throws(() => new RedisStore({ commandTimeoutMs: 0 }), { code: 'ERR_STORE_OPTION' });
  assert.throws(() => new RedisStore({ cluster: [] }), { code: 'ERR_STORE_OPTION' });
});
