// A server that keeps sending TLS 1.3 tickets must not hold the probe open: openssl s_server
// told to send a million tickets, behind a loopback proxy that passes the server's records on
// one at a time at a steady pace (records untouched, so the TLS connection stays valid). Each
// ticket then arrives well within the probe's short wait for "one more ticket".
import assert from 'node:assert/strict';
import { type Socket, createConnection, createServer } from 'node:net';
import { describe, test } from 'node:test';
import { setTimeout as delay } from 'node:timers/promises';
import { MAX_TICKETS_PER_CONNECTION, handshake } from '../../src/probe/connection.js';
import { probe } from '../../src/probe/index.js';
import { sharedPki, startSServer } from '../helpers/index.js';

/** A loopback proxy to `port` that forwards the server's TLS records one per `gapMs`. */
async function pacingProxy(port: number, gapMs: number): Promise<{ port: number; close(): Promise<void> }> {
  const sockets = new Set<Socket>();
  const server = createServer((client) => {
    const upstream = createConnection({ host: '127.0.0.1', port });
    for (const s of [client, upstream]) {
      sockets.add(s);
      s.once('close', () => sockets.delete(s));
      s.on('error', () => {
        client.destroy();
        upstream.destroy();
      });
    }
    client.once('close', () => upstream.destroy());
    // Each record goes out when written, not held back by Nagle's algorithm.
    client.setNoDelay(true);
    client.pipe(upstream);
    let pending = Buffer.alloc(0);
    let pumping = false;
    const pump = async () => {
      if (pumping) return;
      pumping = true;
      // Bounded by the connection: it stops when the client has gone.
      while (pending.length >= 5 && !client.destroyed) {
        const size = 5 + pending.readUInt16BE(3);
        if (pending.length < size) break;
        client.write(pending.subarray(0, size));
        pending = pending.subarray(size);
        // Take no more from the server than is waiting to go out: s_server blocks meanwhile.
        if (pending.length < 1 << 14) upstream.resume();
        await delay(gapMs);
      }
      pumping = false;
    };
    upstream.on('data', (chunk: Buffer) => {
      pending = Buffer.concat([pending, chunk]);
      if (pending.length >= 1 << 14) upstream.pause();
      void pump();
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const address = server.address();
  assert.ok(address && typeof address === 'object');
  return {
    port: address.port,
    close: () =>
      new Promise<void>((resolve) => {
        for (const s of sockets) s.destroy();
        server.close(() => resolve());
      }),
  };
}

const pki = await sharedPki();

const settings = (port: number, timeoutMs: number) => ({
  host: '127.0.0.1',
  port,
  servername: 'localhost',
  ca: pki.ca.cert,
  insecure: false,
  cert: undefined,
  key: undefined,
  alpn: undefined,
  timeoutMs,
});

describe('a server that keeps sending tickets', () => {
  test(`a burst of a million tickets: the connection closes after ${MAX_TICKETS_PER_CONNECTION}`, {
    timeout: 30_000,
  }, async (t) => {
    const server = await startSServer({ cert: pki.server, tls: '1.3', numTickets: 1_000_000 });
    t.after(() => server.stop());
    const started = Date.now();
    const h = await handshake(settings(server.port, 2000), { version: 'TLSv1.3' });
    const took = Date.now() - started;
    assert.equal(h.sessions.length, MAX_TICKETS_PER_CONNECTION);
    assert.ok(took < 3 * 2000, `closed after ${took} ms`);
  });

  test('a steady ticket every 60 ms: the ticket window ends the wait', { timeout: 30_000 }, async (t) => {
    const server = await startSServer({ cert: pki.server, tls: '1.3', numTickets: 1_000_000 });
    const proxy = await pacingProxy(server.port, 60);
    t.after(async () => {
      await proxy.close();
      await server.stop();
    });
    const timeoutMs = 1000;
    const started = Date.now();
    const h = await handshake(settings(proxy.port, timeoutMs), { version: 'TLSv1.3' });
    const took = Date.now() - started;
    // Each ticket comes well within the wait for one more (a handshake time, here about six
    // records, 360 ms): only the window, at most timeoutMs after the handshake, ends it.
    // Unbounded, the connection would last as long as the million tickets (over 16 hours).
    assert.ok(h.ms > 120, `handshake ${h.ms} ms`);
    assert.ok(h.sessions.length > 2 && h.sessions.length < MAX_TICKETS_PER_CONNECTION, `${h.sessions.length} tickets`);
    assert.ok(took < 3 * timeoutMs, `closed after ${took} ms`);
  });

  test('the whole probe stays bounded, and the tickets it took still resume', { timeout: 60_000 }, async (t) => {
    const server = await startSServer({ cert: pki.server, tls: '1.3', numTickets: 1_000_000 });
    const proxy = await pacingProxy(server.port, 60);
    t.after(async () => {
      await proxy.close();
      await server.stop();
    });
    const timeoutMs = 1000;
    const started = Date.now();
    const report = await probe({
      host: '127.0.0.1',
      port: proxy.port,
      servername: 'localhost',
      ca: pki.ca.cert,
      versions: ['TLSv1.3'],
      attempts: 1,
      timeoutMs,
    });
    const took = Date.now() - started;
    // Four connections (version check, full, resumed, reuse), each at most 3 x timeoutMs.
    assert.equal(report.connections, 4);
    assert.ok(took < report.connections * 3 * timeoutMs, `${report.connections} connections in ${took} ms`);
    assert.equal(report.tls13?.tickets.resumed, 1);
  });
});
