import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { after, before, test } from 'node:test';
import { type RedisClusterHandle, redisClusterSkipReason, startRedisCluster } from '../helpers-redis/redis-server.js';
import { ServerSessionCache } from '../../src/server/index.js';
import { RedisStore } from '../../src/stores/redis-store.js';
import { nodeConnect, sharedPki, skipUnlessPeer, startNodeServer } from '../helpers/index.js';
import { storeConformance, twoHandles } from './conformance.js';

const skip = skipUnlessPeer(redisClusterSkipReason());
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
    return twoHandles(store, other);
  },
  { skip },
);

test('RedisStore on a cluster spreads entries over every node; clients started from different nodes see them all', {
  skip,
}, async (t) => {
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

test('Redis Cluster: two servers, each talking to the cluster through a different node, resume each other’s sessions', {
  skip,
  timeout: 60_000,
}, async (t) => {
  // Start empty, so that what each node holds below is this test's sessions.
  await Promise.all(cluster!.servers.map((s) => s.command('FLUSHALL')));
  const pki = await sharedPki();
  const servers = await Promise.all(
    [0, 1].map(async (i) => {
      const store = new RedisStore({ cluster: [cluster!.nodes[i]!], prefix: 'resume:' });
      await store.ready();
      const node = await startNodeServer({ cert: pki.server });
      // 'stateful': every TLS 1.2 resumption goes through the store (no tickets).
      const cache = new ServerSessionCache({ store, storeTimeoutMs: 200, tickets: 'stateful' }).attach(node.server);
      return { store, node, cache };
    }),
  );
  t.after(async () => {
    for (const s of servers) {
      await s.node.close();
      await s.cache.close();
      await s.store.close();
    }
  });
  const connect = async (i: number, version: 'TLSv1.2' | 'TLSv1.3', session?: Buffer) => {
    const c = await nodeConnect({
      port: servers[i]!.node.port,
      minVersion: version,
      maxVersion: version,
      timeoutMs: 5000,
      ...(session === undefined ? {} : { session }),
    });
    assert.equal(c.received(), 'ok\n');
    return { reused: c.reused, session: c.sessions.at(-1) };
  };
  for (const version of ['TLSv1.2', 'TLSv1.3'] as const) {
    // 15 fresh sessions per version: their ids hash to slots on every node.
    for (let i = 0; i < 15; i++) {
      const made = await connect(i % 2, version);
      const resumed = await connect((i + 1) % 2, version, made.session);
      assert.equal(
        resumed.reused,
        true,
        `${version}: session ${i} made on server ${(i % 2) + 1} did not resume on the other`,
      );
    }
  }
  const sizes = await Promise.all(cluster!.servers.map(async (s) => Number(await s.command('DBSIZE'))));
  assert.ok(
    sizes.every((n) => n > 0),
    `sessions on every node (${sizes.join(', ')})`,
  );
  const hits = servers.map((s) => s.cache.stats().hits);
  assert.ok(
    hits.every((h) => h > 0),
    `both servers resumed (${hits.join(', ')})`,
  );
});
