/**
 * Redis stopped in the middle of a run of handshakes against a server whose session cache
 * lives in Redis: every handshake still succeeds (full instead of resumed, the store errors
 * counted), and once Redis is back resumption returns by itself within 2 s.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { ServerSessionCache } from '../../src/server/index.js';
import { RedisStore } from '../../src/stores/redis-store.js';
import { nodeConnect, sharedPki, skipUnlessPeer, startNodeServer } from '../helpers/index.js';
import { redisSkipReason, startRedisServer } from '../helpers-redis/redis-server.js';

const skip = skipUnlessPeer(redisSkipReason());
type Version = 'TLSv1.2' | 'TLSv1.3';
const VERSIONS: Version[] = ['TLSv1.2', 'TLSv1.3'];

test('Redis stopped mid-run of 600+ handshakes: none fails; after restart resumption is back within 2 s', {
  skip,
  timeout: 90_000,
}, async (t) => {
  const redis = await startRedisServer({ disposeAfter: t });
  const store = new RedisStore({ url: redis.url, prefix: 'faults:', onError: () => {} });
  t.after(() => store.close());
  await store.ready();
  const pki = await sharedPki();
  const node = await startNodeServer({ cert: pki.server });
  // 'stateful': every TLS 1.2 resumption goes through the store (no tickets).
  const cache = new ServerSessionCache({ store, tickets: 'stateful' }).attach(node.server);
  t.after(async () => {
    await node.close();
    await cache.close();
  });

  const latest: Partial<Record<Version, Buffer>> = {};
  let started = 0;
  let done = 0;
  let failures = 0;
  const firstError: string[] = [];
  let resumedBeforeStop = 0;
  let resumedWhileDown = 0;
  let phase: 'up' | 'stopping' | 'down' | 'starting' | 'back' = 'up';
  let backAt = 0;
  const backAfter: Partial<Record<Version, number>> = {};
  let stop: Promise<void> | undefined;
  let start: Promise<void> | undefined;

  const one = async (version: Version): Promise<void> => {
    const session = latest[version];
    const during = phase;
    try {
      const c = await nodeConnect({
        port: node.port,
        minVersion: version,
        maxVersion: version,
        timeoutMs: 5000,
        ...(session === undefined ? {} : { session }),
      });
      if (c.received() !== 'ok\n') throw new Error('no data after the handshake');
      const next = c.sessions.at(-1);
      if (next !== undefined) latest[version] = next;
      if (c.reused && during === 'up') resumedBeforeStop++;
      if (c.reused && during === 'down' && phase === 'down') resumedWhileDown++;
      if (c.reused && during === 'back' && backAfter[version] === undefined) backAfter[version] = Date.now() - backAt;
    } catch (err) {
      failures++;
      if (firstError.length < 3) firstError.push(String(err));
    }
    done++;
  };

  const worker = async (w: number): Promise<void> => {
    for (;;) {
      const n = started++;
      if (n === 200) {
        phase = 'stopping';
        stop = redis.stop().then(() => {
          phase = 'down';
        });
      }
      if (n === 450) {
        await stop;
        phase = 'starting';
        start = redis.start().then(() => {
          backAt = Date.now();
          phase = 'back';
        });
      }
      const finished = n >= 600 && phase === 'back' && VERSIONS.every((v) => backAfter[v] !== undefined);
      if (finished || n >= 4000) return;
      await one(VERSIONS[(n + w) % 2]!);
    }
  };
  await Promise.all([0, 1, 2, 3].map(worker));
  await start;

  const st = cache.stats();
  t.diagnostic(
    `${done} handshakes, ${failures} failed; resumed before the stop ${resumedBeforeStop}; ` +
      `resumption back after ${JSON.stringify(backAfter)} ms; storeErrors ${st.storeErrors}, storeTimeouts ${st.storeTimeouts}`,
  );
  assert.equal(failures, 0, `failed handshakes: ${firstError.join('; ')}`);
  assert.ok(done >= 500, `${done} handshakes`);
  assert.ok(resumedBeforeStop > 50, `resumed before the stop: ${resumedBeforeStop}`);
  assert.equal(resumedWhileDown, 0, 'nothing can resume while the store is down');
  assert.ok(st.storeErrors + st.storeTimeouts > 0, 'the store failures were counted');
  for (const v of VERSIONS) {
    assert.ok(backAfter[v] !== undefined && backAfter[v] <= 2000, `${v}: resumption back after ${backAfter[v]} ms`);
  }
});
