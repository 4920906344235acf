/**
 * The cache reads each ClientHello before OpenSSL does. These tests check the integration: a
 * hello that arrives in small TCP segments still resumes; input that is not a ClientHello is
 * answered exactly as a server without the cache answers it; a silent peer is handed on after
 * the hello timeout.
 */
import assert from 'node:assert/strict';
import { once } from 'node:events';
import net from 'node:net';
import { test } from 'node:test';
import { setTimeout as delay } from 'node:timers/promises';
import { nodeConnect, sharedPki, startNodeServer, waitFor } from '../helpers/index.js';
import { startCachedServer } from './kit.js';

/**
 * What a server sends back to `input` (written in one piece, no FIN), and whether it closed,
 * within `ms`.
 */
async function answerTo(port: number, input: Buffer, ms: number): Promise<{ bytes: Buffer; closed: boolean }> {
  const socket = net.connect({ port, host: '127.0.0.1' });
  socket.on('error', () => {});
  await once(socket, 'connect');
  const chunks: Buffer[] = [];
  socket.on('data', (c: Buffer) => chunks.push(c));
  socket.write(input);
  const closed = await Promise.race([once(socket, 'close').then(() => true), delay(ms).then(() => false)]);
  socket.destroy();
  return { bytes: Buffer.concat(chunks), closed };
}

const NOT_HELLOS: Array<[string, Buffer]> = [
  ['plain HTTP', Buffer.from('GET / HTTP/1.1\r\nHost: localhost\r\n\r\n')],
  // SSL 2.0-compatible CLIENT-HELLO (RFC 5246 E.2): 46 bytes, 7 cipher specs, 16-byte challenge.
  [
    'an SSLv2-style hello',
    Buffer.from(`802e01030100150000001000003900003800003500003300003200002f00000a${'11'.repeat(16)}`, 'hex'),
  ],
  ['a handshake record of 16 KiB + 1', Buffer.from('1603014001010040', 'hex')],
  ['an alert record', Buffer.from('15030100020250', 'hex')],
  ['a ClientHello with a broken length', Buffer.from('160301000501ffffff00', 'hex')],
];

test('input that is not a ClientHello gets the answer it gets without the cache', async (t) => {
  const pki = await sharedPki();
  const plain = await startNodeServer({ cert: pki.server });
  t.after(() => plain.close());
  const srv = await startCachedServer({ cache: { helloTimeoutMs: 100 } });
  t.after(() => srv.close());
  let plainErrors = 0;
  let cachedErrors = 0;
  plain.server.on('tlsClientError', () => plainErrors++);
  srv.server.on('tlsClientError', () => cachedErrors++);
  for (const [what, input] of NOT_HELLOS) {
    // Node answers and closes at once, except on a record announcing more than 16 KiB, where
    // Node 20 (OpenSSL 3.0) waits for the rest (Node 22+ refuses it at once): a short look
    // shows that the cached server does the same.
    const oversize = input[0] === 0x16 && input.readUInt16BE(3) > 0x4000;
    const ms = oversize ? 400 : 3000;
    const expected = await answerTo(plain.port, input, ms);
    const actual = await answerTo(srv.port, input, ms);
    assert.deepEqual(actual, expected, what);
    if (!oversize) assert.equal(expected.closed, true, what);
  }
  assert.equal(cachedErrors, plainErrors);
  assert.equal(srv.cache.stats().helloUnavailable, NOT_HELLOS.length);
  assert.equal(srv.cache.stats().accept, NOT_HELLOS.length);
});

/** A TCP relay that forwards the client's first `slow` bytes `piece` bytes at a time, then everything. */
async function dribblingProxy(
  target: number,
  piece: number,
  slow: number,
): Promise<{ port: number; close(): Promise<void> }> {
  const sockets = new Set<net.Socket>();
  const proxy = net.createServer((client) => {
    const upstream = net.connect({ port: target, host: '127.0.0.1' });
    upstream.setNoDelay(true);
    for (const s of [client, upstream]) {
      sockets.add(s);
      s.on('error', () => {});
      s.on('close', () => {
        client.destroy();
        upstream.destroy();
      });
    }
    upstream.on('data', (c: Buffer) => client.write(c));
    let sent = 0;
    let queue = Promise.resolve();
    client.on('data', (chunk: Buffer) => {
      queue = queue.then(async () => {
        for (let i = 0; i < chunk.length; ) {
          const n = sent < slow ? piece : chunk.length - i;
          upstream.write(chunk.subarray(i, i + n));
          i += n;
          sent += n;
          if (sent < slow) await delay(2);
        }
      });
    });
  });
  proxy.listen(0, '127.0.0.1');
  await once(proxy, 'listening');
  return {
    port: (proxy.address() as net.AddressInfo).port,
    close: async () => {
      for (const s of sockets) s.destroy();
      await new Promise((r) => proxy.close(r));
    },
  };
}

test('a ClientHello split over many TCP segments still resumes TLS 1.3', async (t) => {
  const srv = await startCachedServer();
  t.after(() => srv.close());
  const proxy = await dribblingProxy(srv.port, 37, 600);
  t.after(() => proxy.close());
  const first = await nodeConnect({ port: proxy.port });
  const again = await nodeConnect({ port: proxy.port, session: first.sessions.at(-1)! });
  assert.equal(again.reused, true);
  assert.equal(again.protocol, 'TLSv1.3');
  assert.equal(srv.cache.stats().helloUnavailable, 0);
  assert.equal(srv.cache.stats().hits, 1);
});

test('a peer silent past the hello timeout is handed to TLS, which still completes its handshake', async (t) => {
  const srv = await startCachedServer({ cache: { helloTimeoutMs: 50 } });
  t.after(() => srv.close());
  const tcp = net.connect({ port: srv.port, host: '127.0.0.1' });
  await once(tcp, 'connect');
  await delay(150);
  const late = await nodeConnect({ port: srv.port, socket: tcp });
  assert.equal(late.received(), 'ok\n');
  assert.equal(srv.cache.stats().helloUnavailable, 1);
  assert.equal(srv.cache.stats().acceptGood, 1);
});

test('a peer that closes before its hello is complete is dropped quietly', async (t) => {
  const srv = await startCachedServer();
  t.after(() => srv.close());
  const tcp = net.connect({ port: srv.port, host: '127.0.0.1' });
  await once(tcp, 'connect');
  tcp.end(Buffer.from('16030100', 'hex'));
  await once(tcp, 'close');
  await waitFor(() => srv.cache.stats().helloUnavailable > 0, { what: 'the dropped hello', timeoutMs: 500 });
  assert.equal(srv.cache.stats().helloUnavailable, 1);
  // The server still serves.
  assert.equal((await nodeConnect({ port: srv.port })).received(), 'ok\n');
});
