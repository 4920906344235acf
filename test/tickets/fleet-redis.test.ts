/**
 * A fleet over a real redis-server: two server processes whose rings sync through one sealed
 * RedisStore encrypt with the same key, resume each other's tickets, rotate together (the next
 * key was known to both a whole turn ahead), and let a retired key go on both. A member that
 * loses Redis keeps its keys and keeps serving.
 */
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { test } from 'node:test';
import { sharedPki, skipUnlessPeer } from '../helpers/index.js';
import { redisSkipReason, startRedisServer } from '../helpers-redis/redis-server.js';
import { type Member, startMember } from './child.js';
import { HOUR, handshake, ticketKeyName } from './kit.js';

const skip = skipUnlessPeer(redisSkipReason());
const FIXTURE = new URL('./fixtures/ring-server.ts', import.meta.url);

interface Ready {
  port: number;
  current: string;
  ok: boolean;
}

test('two server processes sharing a ring through redis-server resume each other’s tickets across a rotation', {
  skip,
  timeout: 60_000,
}, async (t) => {
  const redis = await startRedisServer({ disposeAfter: t });
  const pki = await sharedPki();
  const env = {
    RING_KEK: randomBytes(32).toString('hex'),
    // Five minutes into a slot, so that one `advance 3600` is one rotation.
    RING_START_MS: String(Math.floor(Date.now() / 3_600_000) * 3_600_000 + 300_000),
  };
  const args = [pki.server.keyPath, pki.server.certPath, redis.url];
  const members: Member[] = [];
  t.after(() => Promise.all(members.map((m) => m.stop())));
  const a = await startMember(FIXTURE, args, env);
  members.push(a.member);
  const b = await startMember(FIXTURE, args, env);
  members.push(b.member);
  const ra = a.ready as unknown as Ready;
  const rb = b.ready as unknown as Ready;
  assert.equal(ra.ok && rb.ok, true, 'both reached the store');
  assert.equal(rb.current, ra.current, 'the second member adopted the first one’s current key');

  // The store holds sealed values only: no key material in clear.
  const keys = await a.member.ask<{ keys: Array<{ name: string; role: string }> }>('list');
  assert.deepEqual(
    keys.keys.map((k) => k.role),
    ['current', 'next'],
  );
  const raw = await redis.command('GET', `tls-sessions:s:tk:slot:${Math.floor(Number(env.RING_START_MS) / 3_600_000)}`);
  assert.ok(raw.length > 0, 'the slot record is in Redis');
  assert.ok(
    !Buffer.from(raw, 'latin1').includes(Buffer.from(ra.current, 'hex')),
    'the key name is not in the store in clear',
  );

  const tickets: Record<string, Buffer> = {};
  for (const version of ['TLSv1.2', 'TLSv1.3'] as const) {
    const fromA = await handshake(ra.port, version);
    assert.equal(ticketKeyName(fromA.session!), ra.current);
    assert.equal(
      (await handshake(rb.port, version, { session: fromA.session })).reused,
      true,
      `${version}: A's ticket resumes on B`,
    );
    tickets[version] = fromA.session!;
  }

  // One rotation on both members: the next key, known to both, takes over.
  const next = keys.keys.find((k) => k.role === 'next')!.name;
  const [afterA, afterB] = await Promise.all([
    a.member.ask<Ready>(`advance ${HOUR}`),
    b.member.ask<Ready>(`advance ${HOUR}`),
  ]);
  assert.equal(afterA.current, next);
  assert.equal(afterB.current, next);
  for (const version of ['TLSv1.2', 'TLSv1.3'] as const) {
    assert.equal(
      (await handshake(rb.port, version, { session: tickets[version] })).reused,
      true,
      `${version}: key-1 ticket on B after rotation`,
    );
    const fromB = await handshake(rb.port, version);
    assert.equal(ticketKeyName(fromB.session!), next);
    assert.equal(
      (await handshake(ra.port, version, { session: fromB.session })).reused,
      true,
      `${version}: B's new ticket resumes on A`,
    );
  }

  // Key 1 retires 2 h after its turn ended: on both members. (Members sync every minute; these
  // steps are one turn each, so that each next key is made a turn before it encrypts.)
  for (let i = 0; i < 2; i++) {
    const [x, y] = await Promise.all([a.member.ask<Ready>(`advance ${HOUR}`), b.member.ask<Ready>(`advance ${HOUR}`)]);
    assert.equal(x.current, y.current, 'both members encrypt with the same key');
  }
  for (const version of ['TLSv1.2', 'TLSv1.3'] as const) {
    assert.equal(
      (await handshake(ra.port, version, { session: tickets[version] })).reused,
      false,
      `${version}: retired on A`,
    );
    assert.equal(
      (await handshake(rb.port, version, { session: tickets[version] })).reused,
      false,
      `${version}: retired on B`,
    );
  }
  assert.equal(
    await redis.command('EXISTS', `tls-sessions:s:tk:slot:${Math.floor(Number(env.RING_START_MS) / 3_600_000)}`),
    '0',
    'the retired key is gone from Redis',
  );

  // Redis down: both keep their keys and keep resuming; a sync says so.
  const held = await handshake(ra.port, 'TLSv1.3');
  await redis.stop();
  const down = await a.member.ask<Ready>('sync');
  assert.equal(down.ok, false);
  assert.equal((await handshake(rb.port, 'TLSv1.3', { session: held.session })).reused, true);
  assert.equal((await handshake(ra.port, 'TLSv1.3', { session: held.session })).reused, true);
});
