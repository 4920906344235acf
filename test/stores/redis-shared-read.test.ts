/**
 * A RedisStore's own connection reads into one shared buffer (src/stores/redis-shared-read.ts):
 * on the Node line that runs the suite, replies must be small copies the caller owns (never
 * views into the shared buffer, which the next read overwrites), the shared buffer must hold
 * nothing once a read is handed on, values larger than one read must arrive whole, and the same
 * must hold over TLS (`rediss://`).
 */
import assert from 'node:assert/strict';
import { once } from 'node:events';
import { type AddressInfo, createServer, type Socket } from 'node:net';
import { after, before, test } from 'node:test';
import { sharedPki } from '../helpers/certs.js';
import { skipUnlessPeer } from '../helpers/peers.js';
import { freePort } from '../helpers/ports.js';
import { type RedisServer, redisSkipReason, startRedisServer } from '../helpers-redis/redis-server.js';
import { RedisStore } from '../../src/stores/redis-store.js';
import { loadPeer } from '../../src/stores/load-peer.js';
import { withBudget } from '../../src/util/budget.js';
import { sharedReadBuffer, sharedReadConnector } from '../../src/stores/redis-shared-read.js';

const skip = skipUnlessPeer(redisSkipReason());
let server: RedisServer | undefined;
let tlsUrl = '';
let ca = '';

before(async () => {
  if (skip !== undefined) return;
  const pki = await sharedPki();
  ca = pki.ca.cert;
  const tlsPort = await freePort();
  server = await startRedisServer({
    args: [
      '--tls-port',
      String(tlsPort),
      '--tls-cert-file',
      pki.server.certPath,
      '--tls-key-file',
      pki.server.keyPath,
      '--tls-auth-clients',
      'no',
    ],
  });
  tlsUrl = `rediss://127.0.0.1:${tlsPort}`;
});
after(async () => {
  await server?.dispose();
});

/** A value of `n` bytes, different for each `seed`, with no zero byte (a wiped copy would show). */
function pattern(seed: number, n: number): Buffer {
  const v = Buffer.alloc(n);
  for (let i = 0; i < n; i++) v[i] = 1 + ((seed * 31 + i * 7) % 255);
  return v;
}

function isClear(b: Buffer): boolean {
  return b.every((x) => x === 0);
}

for (const transport of ['redis', 'rediss'] as const) {
  test(`RedisStore over ${transport}://: replies are copies the caller owns; the shared buffer keeps nothing`, {
    skip,
  }, async (t) => {
    const store =
      transport === 'redis'
        ? new RedisStore({ url: server!.url, prefix: `owned-${transport}:` })
        : new RedisStore({ url: tlsUrl, prefix: `owned-${transport}:`, redisOptions: { tls: { ca } } });
    t.after(() => store.close());
    await store.ready(3000);
    const n = 40;
    for (let i = 0; i < n; i++) await store.set(Buffer.from(`k${i}`), pattern(i, 180), 30_000);
    // Held while later replies arrive: a view into the shared buffer would be overwritten by the
    // next read and then wiped.
    const held: Uint8Array[] = [];
    for (let i = 0; i < n; i++) {
      const v = await store.get(Buffer.from(`k${i}`));
      assert.ok(v !== undefined);
      assert.ok(isClear(sharedReadBuffer), 'a read left bytes in the shared buffer');
      held.push(v);
    }
    for (let i = 0; i < n; i++) {
      assert.deepEqual(Buffer.from(held[i]!), pattern(i, 180), `reply ${i} changed after later reads`);
      assert.notEqual(held[i]!.buffer, sharedReadBuffer.buffer, `reply ${i} is a view into the shared buffer`);
      // A copy from Node's Buffer pool: a stream read would bring an ArrayBuffer of its own,
      // of the read's length, for the collector to account for.
      assert.ok(held[i]!.buffer.byteLength >= Buffer.poolSize, `reply ${i} is not from the Buffer pool`);
    }
    const taken = await store.take(Buffer.from('k0'));
    assert.deepEqual(Buffer.from(taken!), pattern(0, 180));
    assert.equal(await store.take(Buffer.from('k0')), undefined);
  });

  test(`RedisStore over ${transport}://: a value larger than the shared buffer arrives whole`, {
    skip,
  }, async (t) => {
    const store =
      transport === 'redis'
        ? new RedisStore({ url: server!.url, prefix: `big-${transport}:` })
        : new RedisStore({ url: tlsUrl, prefix: `big-${transport}:`, redisOptions: { tls: { ca } } });
    t.after(() => store.close());
    await store.ready(3000);
    const big = pattern(7, 3 * sharedReadBuffer.length + 123);
    await store.set(Buffer.from('big'), big, 30_000);
    const [a, b] = await Promise.all([store.get(Buffer.from('big')), store.get(Buffer.from('big'))]);
    assert.deepEqual(Buffer.from(a!), big);
    assert.deepEqual(Buffer.from(b!), big);
    assert.ok(isClear(sharedReadBuffer));
  });
}

test('RedisStore: a Connector given in redisOptions is used, not the shared read', { skip }, async (t) => {
  const io = await import('ioredis');
  // A connector that never connects, and says so.
  class Refusing extends io.AbstractConnector {
    constructor(_options: unknown) {
      super(50);
    }

    connect(): Promise<never> {
      return Promise.reject(new Error('the given connector was used'));
    }
  }
  const errors: string[] = [];
  const store = new RedisStore({
    url: server!.url,
    redisOptions: { Connector: Refusing },
    onError: (e) => errors.push(e.message),
  });
  t.after(() => store.close());
  await assert.rejects(store.ready(300), { code: 'ERR_STORE_UNAVAILABLE' });
  assert.ok(errors.includes('RedisStore: the given connector was used'), errors.join('; '));
});

test('the shared-read connector: bytes that arrive before anyone reads wait in the stream, in order', async (t) => {
  const io = loadPeer<typeof import('ioredis')>('ioredis', 'test');
  const peer = createServer((s) => {
    s.write('+FIRST\r\n');
    setTimeout(() => s.end('+SECOND\r\n'), 20);
  });
  peer.listen(0, '127.0.0.1');
  await once(peer, 'listening');
  t.after(() => peer.close());
  const Connector = sharedReadConnector(io);
  const connector = new Connector({ host: '127.0.0.1', port: (peer.address() as AddressInfo).port });
  const stream = (await connector.connect(() => {})) as Socket;
  t.after(() => stream.destroy());
  // Nobody reads yet: the first bytes must be kept, not emitted to no one.
  await new Promise((resolve) => setTimeout(resolve, 60));
  const chunks: Buffer[] = [];
  stream.on('data', (c: Buffer) => chunks.push(c));
  await withBudget(once(stream, 'end'), 2000, 'the end of the stream');
  assert.equal(Buffer.concat(chunks).toString(), '+FIRST\r\n+SECOND\r\n');
  assert.ok(isClear(sharedReadBuffer));
});
