/**
 * The cache works unchanged on an https.Server and an http2 secure server: real requests from
 * Node clients, each on a new connection offering the session of the previous one.
 */
import assert from 'node:assert/strict';
import { once } from 'node:events';
import http2 from 'node:http2';
import https from 'node:https';
import type { AddressInfo } from 'node:net';
import { test } from 'node:test';
import tls from 'node:tls';
import { ServerSessionCache } from '../../src/server/index.js';
import { sharedPki } from '../helpers/index.js';

const VERSIONS = ['TLSv1.2', 'TLSv1.3'] as const;

async function listen(server: tls.Server): Promise<number> {
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  return (server.address() as AddressInfo).port;
}

function get(port: number, agent: https.Agent, path: string): Promise<{ body: string; reused: boolean }> {
  return new Promise((resolve, reject) => {
    const req = https.get({ host: '127.0.0.1', servername: 'localhost', port, path, agent }, (res) => {
      const reused = (res.socket as tls.TLSSocket).isSessionReused();
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (c: string) => {
        body += c;
      });
      res.on('end', () => resolve({ body, reused }));
      res.on('error', reject);
    });
    req.setTimeout(5000, () => req.destroy(new Error('request timed out')));
    req.on('error', reject);
  });
}

for (const version of VERSIONS) {
  test(`https.Server (${version}): requests on new connections resume through the cache`, async (t) => {
    const pki = await sharedPki();
    const server = https.createServer(
      { key: pki.server.key, cert: pki.server.cert, maxVersion: version },
      (req, res) => {
        res.end(`hello ${req.url}`);
      },
    );
    const cache = new ServerSessionCache().attach(server);
    const port = await listen(server);
    const agent = new https.Agent({ keepAlive: false, ca: pki.ca.cert, maxVersion: version });
    t.after(async () => {
      agent.destroy();
      server.closeAllConnections();
      await new Promise((r) => server.close(r));
      await cache.close();
    });

    const results = [];
    for (let i = 0; i < 4; i++) results.push(await get(port, agent, `/${i}`));
    assert.deepEqual(
      results.map((r) => r.body),
      ['hello /0', 'hello /1', 'hello /2', 'hello /3'],
    );
    assert.deepEqual(
      results.map((r) => r.reused),
      [false, true, true, true],
    );
    const st = cache.stats();
    // TLS 1.2: Node's client asks for tickets, and the default gives TLS 1.2 clients tickets.
    assert.equal(st.hits, version === 'TLSv1.3' ? 3 : 0);
    assert.equal(st.resumed, 3);
    assert.equal(st.acceptGood, 4);
  });

  test(`http2 secure server (${version}): requests on new sessions resume through the cache`, async (t) => {
    const pki = await sharedPki();
    const server = http2.createSecureServer({ key: pki.server.key, cert: pki.server.cert, maxVersion: version });
    server.on('stream', (stream, headers) => {
      stream.respond({ ':status': 200 });
      stream.end(`h2 ${headers[':path']}`);
    });
    const cache = new ServerSessionCache().attach(server);
    const port = await listen(server);
    t.after(async () => {
      await new Promise((r) => server.close(r));
      await cache.close();
    });

    let session: Buffer | undefined;
    const outcomes: Array<{ body: string; reused: boolean; alpn: string | false | null }> = [];
    for (let i = 0; i < 3; i++) {
      let socket: tls.TLSSocket | undefined;
      const client = http2.connect(`https://localhost:${port}`, {
        createConnection: () => {
          socket = tls.connect({
            host: '127.0.0.1',
            port,
            servername: 'localhost',
            ca: pki.ca.cert,
            ALPNProtocols: ['h2'],
            maxVersion: version,
            ...(session === undefined ? {} : { session }),
          });
          socket.on('session', (s: Buffer) => {
            session = s;
          });
          return socket;
        },
      });
      client.on('error', () => {});
      const req = client.request({ ':path': `/${i}` });
      req.setEncoding('utf8');
      let body = '';
      req.on('data', (c: string) => {
        body += c;
      });
      await once(req, 'end');
      outcomes.push({ body, reused: socket!.isSessionReused(), alpn: socket!.alpnProtocol });
      client.close();
      await once(client, 'close');
    }
    assert.deepEqual(
      outcomes.map((o) => o.body),
      ['h2 /0', 'h2 /1', 'h2 /2'],
    );
    assert.deepEqual(
      outcomes.map((o) => o.alpn),
      ['h2', 'h2', 'h2'],
    );
    assert.deepEqual(
      outcomes.map((o) => o.reused),
      [false, true, true],
    );
    assert.equal(cache.stats().hits, version === 'TLSv1.3' ? 2 : 0);
    assert.equal(cache.stats().resumed, 2);
  });
}
