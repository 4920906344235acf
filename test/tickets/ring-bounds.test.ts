/**
 * How much work a sync can be made to do: a grace period spanning too many rotation intervals
 * is refused (in the options and in a record another member wrote), and the live slots are
 * read in one batch, never one store round trip after another.
 */
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { test } from 'node:test';
import { MemoryStore } from '../../src/index.js';
import { RedisStore } from '../../src/stores/redis-store.js';
import { TicketKeyError, TicketKeyRing } from '../../src/tickets/index.js';
import { encodeMeta } from '../../src/tickets/ticket-key.js';
import { skipUnlessPeer } from '../helpers/peers.js';
import { StoreDouble } from '../helpers/store-double.js';
import { redisSkipReason, startRedisServer } from '../helpers-redis/redis-server.js';
import { fakeClock, HOUR } from './kit.js';

const optionError = (pattern: RegExp) => (err: unknown) =>
  err instanceof TicketKeyError &&
  err.code === 'ERR_TICKET_OPTION' &&
  pattern.test(err.message) &&
  !err.message.includes('\n');

test('a grace period of more than 4096 rotation intervals is refused in one line', () => {
  assert.throws(
    () => new TicketKeyRing({ rotateEvery: 1, grace: 86_400 }),
    optionError(
      /^TicketKeyRing: grace must be at most 4096 times rotateEvery \(86400 s of grace over 1 s turns keeps 86400 keys live\)$/,
    ),
  );
  assert.throws(
    () => new TicketKeyRing({ rotateEvery: 1, grace: 366 * 24 * HOUR }),
    optionError(/at most 4096 times rotateEvery/),
  );
  assert.throws(
    () => new TicketKeyRing({ grace: 367 * 24 * HOUR }),
    optionError(/grace must be an integer number of seconds from 1 to 31622400/),
  );
  // Rotating every minute with a day of grace stays possible.
  assert.doesNotThrow(() => new TicketKeyRing({ rotateEvery: 60, grace: 86_400 }));
});

test('a sync over 1443 live slots is one batched read (getMany), or every get at once; never one after another', async () => {
  for (const batched of [true, false]) {
    // Each read answers 20 ms late, as a remote store's does.
    const store = new StoreDouble({ getMany: batched }).delay(20, ['get', 'getMany']);
    const clock = fakeClock();
    // Every minute, a day of grace: 1440 rotation intervals live at once.
    const ring = new TicketKeyRing({ store, rotateEvery: 60, grace: 86_400, now: clock.now });
    const started = performance.now();
    assert.equal(await ring.start(), true);
    const elapsed = performance.now() - started;
    await ring.close();
    if (batched) {
      const keysPerGetMany = store.callsOf('getMany').map((args) => (args[0] as Uint8Array[]).length);
      assert.equal(keysPerGetMany.length, 1, 'one read of every slot');
      assert.ok(keysPerGetMany[0]! >= 1440 && keysPerGetMany[0]! <= 1444, String(keysPerGetMany));
      // The meta record, and the read-back of the two keys this member made.
      const gets = store.callsOf('get').length;
      assert.ok(gets <= 3, `${gets} single gets`);
    } else {
      assert.ok(store.maxInFlight >= 1440, `${store.maxInFlight} reads in flight at once`);
    }
    // One after another, 1443 reads of 20 ms would take 29 s.
    assert.ok(elapsed < 5000, `start() took ${elapsed} ms`);
  }
});

test('a meta record with a grace period of too many intervals is refused as a record; the ring keeps its own settings', async () => {
  const store = new MemoryStore();
  const clock = fakeClock();
  await store.set(
    Buffer.from('tk:meta'),
    encodeMeta({ rotateEveryMs: 1000, graceMs: 366 * 24 * HOUR * 1000, revokedBeforeMs: 0 }),
    60_000,
  );
  const ring = new TicketKeyRing({ store, now: clock.now });
  const errors: TicketKeyError[] = [];
  ring.on('error', (e) => errors.push(e));
  const started = performance.now();
  assert.equal(await ring.start(), true);
  assert.ok(performance.now() - started < 5000);
  await new Promise((resolve) => setImmediate(resolve));
  assert.equal(ring.rotateEvery, 12 * HOUR);
  assert.equal(ring.grace, 24 * HOUR);
  assert.ok(
    errors.some(
      (e) =>
        e.code === 'ERR_TICKET_RECORD' && /meta record: grace must be at most 4096 times rotateEvery/.test(e.message),
    ),
    errors.map((e) => e.message).join('; '),
  );
  await ring.close();
});

test('RedisStore: a sync of a fleet rotating every minute is one MGET', {
  skip: skipUnlessPeer(redisSkipReason()),
  timeout: 30_000,
}, async (t) => {
  const redis = await startRedisServer({ disposeAfter: t });
  const store = new RedisStore({ url: redis.url });
  t.after(() => store.close());
  await store.ready();
  const ring = new TicketKeyRing({ store, kek: { id: 'k', key: randomBytes(32) }, rotateEvery: 60, grace: 86_400 });
  t.after(() => ring.close());
  await redis.command('CONFIG', 'RESETSTAT');
  assert.equal(await ring.start(), true);
  assert.equal(await ring.sync(), true);
  const stats = await redis.command('INFO', 'commandstats');
  const calls = (cmd: string) => Number(new RegExp(`^cmdstat_${cmd}:calls=(\\d+)`, 'm').exec(stats)?.[1] ?? 0);
  assert.equal(calls('mget'), 2, 'one MGET per sync');
  assert.ok(calls('get') <= 6, `${calls('get')} GETs`);
});
