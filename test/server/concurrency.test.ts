/**
 * Many handshakes at once: each lookup must use its own connection's ClientHello (server name,
 * PSK identity), and a single-use session must resume exactly once.
 */
import assert from 'node:assert/strict';
import { constants } from 'node:crypto';
import { test } from 'node:test';
import { nodeConnect, sharedPki } from '../helpers/index.js';
import { startCachedServer } from './kit.js';

test('concurrent offers of one TLS 1.2 session under two server names: only its own name resumes', async (t) => {
  const srv = await startCachedServer({ vhosts: 'addContext' });
  t.after(() => srv.close());
  const ca = (await sharedPki()).ca.cert;
  const made = await nodeConnect({
    port: srv.port,
    servername: 'a.test',
    maxVersion: 'TLSv1.2',
    secureOptions: constants.SSL_OP_NO_TICKET,
    ca,
    rejectUnauthorized: false,
  });
  const session = made.sessions.at(-1)!;
  const names = Array.from({ length: 24 }, (_, i) => (i % 2 === 0 ? 'a.test' : 'b.test'));
  const results = await Promise.all(
    names.map((servername) =>
      nodeConnect({
        port: srv.port,
        servername,
        maxVersion: 'TLSv1.2',
        secureOptions: constants.SSL_OP_NO_TICKET,
        session,
        ca,
        rejectUnauthorized: false,
      }),
    ),
  );
  assert.deepEqual(
    results.map((r) => r.reused),
    names.map((n) => n === 'a.test'),
  );
  assert.equal(srv.cache.stats().serverNameMismatches, 12);
  assert.equal(srv.cache.stats().hits, 12);
});

test('concurrent offers of one single-use TLS 1.3 ticket: exactly one resumes', async (t) => {
  const srv = await startCachedServer();
  t.after(() => srv.close());
  const made = await nodeConnect({ port: srv.port });
  const ticket = made.sessions.at(-1)!;
  const results = await Promise.all(Array.from({ length: 16 }, () => nodeConnect({ port: srv.port, session: ticket })));
  assert.equal(results.filter((r) => r.reused).length, 1);
  assert.equal(srv.cache.stats().hits, 1);
  assert.equal(srv.cache.stats().misses, 15);
});

test('concurrent resumptions of different TLS 1.3 tickets all resume', async (t) => {
  const srv = await startCachedServer();
  t.after(() => srv.close());
  const tickets = [];
  for (let i = 0; i < 8; i++) tickets.push(...(await nodeConnect({ port: srv.port })).sessions);
  assert.equal(tickets.length, 16);
  const results = await Promise.all(tickets.map((session) => nodeConnect({ port: srv.port, session })));
  assert.ok(results.every((r) => r.reused));
  assert.equal(srv.cache.stats().hits, 16);
});
