/**
 * Clients nobody here wrote, against the cache's default and against a plain Node server (the
 * anchor): Go resumes TLS 1.2 only by ticket, curl 7.88 only by session id; the default serves
 * both, and TLS 1.3 statefully. A TicketKeyRing, when attached, encrypts the TLS 1.2 tickets.
 */
import assert from 'node:assert/strict';
import { once } from 'node:events';
import https from 'node:https';
import type { AddressInfo } from 'node:net';
import { type TestContext, test } from 'node:test';
import { ServerSessionCache, type ServerSessionCacheOptions } from '../../src/server/index.js';
import { TicketKeyRing } from '../../src/tickets/index.js';
import { sharedPki } from '../helpers/index.js';
import { requirePeer, runCurl, runGoClient } from './peers.js';

const N = 20;

/** An https server answering every request with 'ok', with a cache (default options unless given) or none. */
async function startHttps(t: TestContext, withCache: boolean, options: ServerSessionCacheOptions = {}) {
  const pki = await sharedPki();
  const server = https.createServer({ key: pki.server.key, cert: pki.server.cert }, (_req, res) => res.end('ok\n'));
  const cache = withCache ? new ServerSessionCache(options).attach(server) : undefined;
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  t.after(async () => {
    server.closeAllConnections();
    await new Promise((r) => server.close(r));
    await cache?.close();
  });
  let resumed = 0;
  server.on('secureConnection', (s) => {
    if (s.isSessionReused()) resumed++;
  });
  return { server, cache, port: (server.address() as AddressInfo).port, ca: pki.ca.certPath, resumed: () => resumed };
}

test('Go TLS 1.2 clients (tickets only) resume with the default cache as often as on a plain Node server', async (t) => {
  if (!(await requirePeer(t, 'go'))) return;
  const plain = await startHttps(t, false);
  const anchor = await runGoClient({ port: plain.port, ca: plain.ca, n: N, maxVersion: '1.2' });
  const srv = await startHttps(t, true);
  const go = await runGoClient({ port: srv.port, ca: srv.ca, n: N, maxVersion: '1.2' });
  assert.ok(go.every((c) => c.version === 'TLSv1.2'));
  const resumed = go.filter((c) => c.resumed).length;
  assert.equal(resumed, N - 1, 'every connection after the first resumes');
  assert.ok(resumed >= anchor.filter((c) => c.resumed).length);
  const st = srv.cache!.stats();
  // By ticket: OpenSSL decrypts it itself, the cache is not asked.
  assert.equal(st.resumed, N - 1);
  assert.equal(srv.resumed(), N - 1);
  assert.equal(st.hits, 0);
  assert.equal(st.stored, 0, 'a ticket handshake makes no session-id session');
});

test("Go TLS 1.2 clients resume none with tickets 'stateful' (session ids only: what Go never uses)", async (t) => {
  if (!(await requirePeer(t, 'go'))) return;
  const srv = await startHttps(t, true, { tickets: 'stateful' });
  const go = await runGoClient({ port: srv.port, ca: srv.ca, n: 5, maxVersion: '1.2' });
  assert.equal(go.filter((c) => c.resumed).length, 0);
  assert.equal(srv.cache!.stats().stored, 5, 'each connection made a session id Go does not offer');
});

test('Go TLS 1.3 clients resume statefully, each ticket once', async (t) => {
  if (!(await requirePeer(t, 'go'))) return;
  const srv = await startHttps(t, true);
  const go = await runGoClient({ port: srv.port, ca: srv.ca, n: N, maxVersion: '1.3' });
  assert.ok(go.every((c) => c.version === 'TLSv1.3'));
  assert.equal(go.filter((c) => c.resumed).length, N - 1);
  const st = srv.cache!.stats();
  assert.equal(st.hits, N - 1);
  assert.equal(st.resumed, N - 1);
  assert.equal(st.misses, 0);
});

test('curl TLS 1.2 clients (session ids only) resume with the default cache; a plain Node server resumes none', async (t) => {
  if (!(await requirePeer(t, 'curl'))) return;
  const plain = await startHttps(t, false);
  await runCurl({ url: `https://localhost:${plain.port}/`, ca: plain.ca, n: N, tls12: true });
  assert.equal(plain.resumed(), 0, 'the anchor: Node keeps no session-id sessions');
  const srv = await startHttps(t, true);
  const log = await runCurl({ url: `https://localhost:${srv.port}/`, ca: srv.ca, n: N, tls12: true });
  const st = srv.cache!.stats();
  assert.equal(st.acceptGood, N);
  assert.equal(st.hits, N - 1);
  assert.equal(st.resumed, N - 1);
  assert.equal(log.match(/SSL re-using session ID/g)?.length ?? 0, N - 1);
});

test("with a TicketKeyRing attached, TLS 1.2 tickets are the ring's and TLS 1.3 stays stateful", async (t) => {
  if (!(await requirePeer(t, 'go'))) return;
  const srv = await startHttps(t, true);
  const ring = new TicketKeyRing().attach(srv.cache!);
  t.after(() => ring.close());
  const go12 = await runGoClient({ port: srv.port, ca: srv.ca, n: 5, maxVersion: '1.2' });
  assert.equal(go12.filter((c) => c.resumed).length, 4);
  const rs = ring.stats();
  assert.equal(rs.decrypted + rs.renewed, 4);
  assert.ok(rs.encrypted >= 1);
  const go13 = await runGoClient({ port: srv.port, ca: srv.ca, n: 5, maxVersion: '1.3' });
  assert.equal(go13.filter((c) => c.resumed).length, 4);
  assert.equal(srv.cache!.stats().hits, 4);
  assert.equal(ring.stats().decrypted + ring.stats().renewed, 4, 'TLS 1.3 tickets do not go through the ring');
});
