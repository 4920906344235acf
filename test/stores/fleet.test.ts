/**
 * A fleet: two server processes with the same certificate, one Redis and one sealing key
 * resume each other's sessions (TLS 1.2 session ids, TLS 1.3 stateful sessions), and a
 * single-use TLS 1.3 session presented to both at the same moment resumes on exactly one.
 */
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { test } from 'node:test';
import { nodeConnect, type Peer, sharedPki, skipUnlessPeer, spawnNodeFixture } from '../helpers/index.js';
import { redisSkipReason, startRedisServer } from '../helpers-redis/redis-server.js';

const skip = skipUnlessPeer(redisSkipReason());
const FLEET = new URL('./fixtures/fleet-server.ts', import.meta.url);

type Version = 'TLSv1.2' | 'TLSv1.3';

async function handshake(port: number, version: Version, session?: Buffer) {
  const c = await nodeConnect({
    port,
    minVersion: version,
    maxVersion: version,
    timeoutMs: 5000,
    ...(session === undefined ? {} : { session }),
  });
  assert.equal(c.received(), 'ok\n');
  assert.equal(c.protocol, version);
  return { reused: c.reused, session: c.sessions.at(-1) };
}

async function stats(child: Peer): Promise<Record<string, number>> {
  const before = child.lines.length;
  child.send('stats');
  return JSON.parse(await child.line(() => true, { what: 'stats', timeoutMs: 5000, from: before })) as Record<
    string,
    number
  >;
}

test('fleet: two server processes over one RedisStore resume each other’s sessions', {
  skip,
  timeout: 60_000,
}, async (t) => {
  const redis = await startRedisServer({ disposeAfter: t });
  const pki = await sharedPki();
  const env = { FLEET_SEAL_KEY: randomBytes(32).toString('hex') };
  const args = [pki.server.keyPath, pki.server.certPath, redis.url, 'fleet:'];
  const members = [spawnNodeFixture(FLEET, args, env), spawnNodeFixture(FLEET, args, env)];
  t.after(() => Promise.all(members.map((m) => m.stop())));
  const listening = (l: string) => l.startsWith('{"port"');
  const ports = await Promise.all(
    members.map(async (m, i) => {
      const line = await m.line(listening, { what: `member ${i + 1} listening`, timeoutMs: 20_000 });
      return (JSON.parse(line) as { port: number }).port;
    }),
  );

  for (const version of ['TLSv1.2', 'TLSv1.3'] as const) {
    // A session made on one member resumes on the other, back and forth.
    let { session } = await handshake(ports[0]!, version);
    for (let hop = 1; hop <= 6; hop++) {
      const used = session;
      const r = await handshake(ports[hop % 2]!, version, used);
      assert.equal(r.reused, true, `${version}: hop ${hop} to member ${(hop % 2) + 1} did not resume`);
      session = r.session ?? used;
      if (version === 'TLSv1.3') {
        // Single use: the session just resumed is gone from the fleet.
        const again = await handshake(ports[(hop + 1) % 2]!, version, used);
        assert.equal(again.reused, false, `${version}: a used single-use session resumed again`);
      }
    }
  }

  // The race: one fresh single-use session, presented to both members at once.
  let onFirst = 0;
  for (let round = 0; round < 20; round++) {
    const { session } = await handshake(ports[round % 2]!, 'TLSv1.3');
    const [a, b] = await Promise.all(ports.map((p) => handshake(p, 'TLSv1.3', session)));
    assert.equal(
      Number(a!.reused) + Number(b!.reused),
      1,
      `round ${round}: resumed on ${Number(a!.reused) + Number(b!.reused)} members`,
    );
    if (a!.reused) onFirst++;
  }
  t.diagnostic(`race winners: member 1 ${onFirst}, member 2 ${20 - onFirst}`);

  const [s1, s2] = await Promise.all(members.map(stats));
  assert.ok(s1!['hits']! > 0 && s2!['hits']! > 0, 'both members resumed sessions');
  assert.equal(s1!['storeErrors']! + s2!['storeErrors']! + s1!['storeTimeouts']! + s2!['storeTimeouts']!, 0);

  // What Redis holds is sealed under the fleet's key id, never a bare session.
  const keys = await redis.command('DBSIZE');
  assert.ok(Number(keys) > 0);
  const raw = await redis.commandBuffer('RANDOMKEY');
  assert.ok(raw.toString('latin1').startsWith('fleet:s:'), raw.toString('latin1'));
  const value = await redis.commandBuffer('GET', raw);
  assert.equal(value[0], 1, 'sealed format byte');
  assert.equal(value.toString('latin1', 2, 2 + value[1]!), 'fleet-1', 'sealed under the fleet key id');
});
