// Two Node servers with their own ticket keys behind one address (a TCP proxy that alternates
// every three connections): some resumptions land on the other server and fail, which is what
// 'partial-resumption' is about.
import assert from 'node:assert/strict';
import { type Socket, createConnection, createServer } from 'node:net';
import { describe, test } from 'node:test';
import { probe } from '../../src/probe/index.js';
import { sharedPki, startNodeServer } from '../helpers/index.js';

/** A loopback TCP proxy sending connection n to `ports[floor(n / 3) % ports.length]`. */
async function alternatingProxy(ports: number[]): Promise<{ port: number; close(): Promise<void> }> {
  const sockets = new Set<Socket>();
  let n = 0;
  const server = createServer((client) => {
    const port = ports[Math.floor(n / 3) % ports.length]!;
    n += 1;
    const upstream = createConnection({ host: '127.0.0.1', port });
    for (const s of [client, upstream]) {
      sockets.add(s);
      s.once('close', () => sockets.delete(s));
      s.on('error', () => {
        client.destroy();
        upstream.destroy();
      });
    }
    client.pipe(upstream).pipe(client);
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

describe('probe against two servers behind one address', () => {
  test('tickets from one server do not resume on the other: partial resumption', { timeout: 30_000 }, async (t) => {
    const pki = await sharedPki();
    const a = await startNodeServer({ cert: pki.server });
    const b = await startNodeServer({ cert: pki.server });
    const proxy = await alternatingProxy([a.port, b.port]);
    t.after(async () => {
      await proxy.close();
      await Promise.all([a.close(), b.close()]);
    });
    const report = await probe({ host: '127.0.0.1', port: proxy.port, servername: 'localhost', ca: pki.ca.cert });
    const t13 = report.tls13?.tickets;
    const t12 = report.tls12?.ticket;
    assert.ok(t13 && t12);
    assert.equal(t13.attempts, 5);
    assert.ok(t13.resumed > 0 && t13.resumed < 5, `TLS 1.3: ${t13.resumed}/5`);
    assert.ok(t12.resumed > 0 && t12.resumed < 5, `TLS 1.2 tickets: ${t12.resumed}/5`);
    const partial = report.findings.filter((f) => f.id === 'partial-resumption');
    assert.deepEqual(
      partial.map((f) => f.message.split(' resumed only')[0]),
      ['TLS 1.3 tickets', 'TLS 1.2 tickets'],
    );
    assert.match(partial[0]?.message ?? '', new RegExp(`resumed only ${t13.resumed} of 5 times: .*ticket keys`));
    assert.equal(
      report.findings.some((f) => f.id === 'no-resumption'),
      false,
    );
  });
});
