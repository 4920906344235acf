import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { after, before, test } from 'node:test';
import { type RedisClusterHandle, redisClusterSkipReason, startRedisCluster } from '../helpers-redis/redis-server.js';
import { RedisStore } from '../../src/stores/redis-store.js';
import { storeConformance } from './conformance.js';

const skip = redisClusterSkipReason();
let cluster: RedisClusterHandle | undefined;
let prefixes = 0;

before(async () => {
  if (skip === undefined) cluster = await startRedisCluster(3);
});
after(async () => {
  await cluster?.dispose();
});

storeConformance(
  'RedisStore on a 3-node Redis Cluster',
  async () => {
    const prefix = `cc${prefixes++}:`;
    const store = new RedisStore({ cluster: cluster!.nodes, prefix });
    const other = new RedisStore({ cluster: [cluster!.nodes[2]!], prefix });
    await Promise.all([store.ready(), other.ready()]);
    return {
      store,
      other,
      async cleanup() {
        await store.close();
        await other.close();
      },
    };
  },
  { skip },
);

test('RedisStore on a cluster spreads entries over every node; clients started from different nodes see them all', { skip }, async (t) => {
  const a = new RedisStore({ cluster: [cluster!.nodes[0]!], prefix: 'spread:' });
  const b = new RedisStore({ cluster: [cluster!.nodes[1]!], prefix: 'spread:' });
  t.after(() => Promise.all([a.close(), b.close()]));
  await Promise.all([a.ready(), b.ready()]);
  const entries = Array.from({ length: 120 }, () => [randomBytes(32), randomBytes(100)] as const);
  for (const [key, value] of entries) await a.set(key, value, 60_000);
  const sizes = await Promise.all(cluster!.servers.map(async (s) => Number(await s.command('DBSIZE'))));
  assert.ok(
    sizes.every((n) => n > 0),
    `every node holds entries (${sizes.join(', ')})`,
  );
  for (const [key, value] of entries) assert.deepEqual(Buffer.from((await b.take(key))!), value);
  for (const [key] of entries) assert.equal(await a.get(key), undefined, 'taken through the other client');
});
