import assert from 'node:assert/strict';
import { test } from 'node:test';
import { ClientSessionStore } from '../../src/client/index.js';
import { makePki, sharedPki, startNodeServer } from '../helpers/index.js';
import { runConnection } from './run-connection.js';

test('a CA change means no resumption; the original trust settings still resume', async (t) => {
  const pki = await sharedPki();
  const other = await makePki();
  t.after(() => other.cleanup());
  const server = await startNodeServer({ cert: pki.server });
  t.after(() => server.close());
  const store = new ClientSessionStore();
  t.after(() => store.close());

  const first = await runConnection(store, { port: server.port, ca: pki.ca.cert });
  assert.equal(first.reused, false);
  const widened = await runConnection(store, { port: server.port, ca: [pki.ca.cert, other.ca.cert] });
  assert.equal(widened.reused, false, 'a session made under one CA set is not offered under another');
  assert.equal(store.stats().offered, 0);
  const again = await runConnection(store, { port: server.port, ca: pki.ca.cert });
  assert.equal(again.reused, true);
  assert.equal(store.stats().keys, 2);
});

test('verification off, a client certificate, another ALPN list or another version range: separate domains', async (t) => {
  const pki = await sharedPki();
  const server = await startNodeServer({ cert: pki.server, tlsOptions: { ALPNProtocols: ['a', 'b'] } });
  t.after(() => server.close());
  const store = new ClientSessionStore();
  t.after(() => store.close());
  const base = { port: server.port, ca: pki.ca.cert };

  await runConnection(store, base);
  const variants = [
    { ...base, rejectUnauthorized: false },
    { ...base, cert: pki.client.cert, key: pki.client.key },
    { ...base, ALPNProtocols: ['a'] },
    { ...base, ALPNProtocols: ['b'] },
    { ...base, maxVersion: 'TLSv1.2' as const },
    { ...base, checkServerIdentity: () => undefined },
  ];
  for (const options of variants) {
    const outcome = await runConnection(store, options);
    assert.equal(outcome.reused, false);
  }
  assert.equal(store.stats().offered, 0, "no variant was offered another domain's session");
  assert.equal(store.stats().keys, 1 + variants.length);
  // Each variant resumes its own.
  for (const options of variants) assert.equal((await runConnection(store, options)).reused, true);
});

test('the same host on another port is another domain', async (t) => {
  const pki = await sharedPki();
  const a = await startNodeServer({ cert: pki.server });
  t.after(() => a.close());
  const b = await startNodeServer({ cert: pki.server });
  t.after(() => b.close());
  const store = new ClientSessionStore();
  t.after(() => store.close());
  await runConnection(store, { port: a.port, ca: pki.ca.cert });
  const other = await runConnection(store, { port: b.port, ca: pki.ca.cert });
  assert.equal(other.reused, false);
  assert.equal(store.stats().offered, 0);
});

test('a session whose peer certificate does not match the servername is not kept', async (t) => {
  const pki = await sharedPki();
  const server = await startNodeServer({ cert: pki.server });
  t.after(() => server.close());
  const store = new ClientSessionStore();
  t.after(() => store.close());
  // Verification off lets the connection through; resuming it later would skip even that.
  const opts = { port: server.port, ca: pki.ca.cert, servername: 'other.test', rejectUnauthorized: false };
  const first = await runConnection(store, opts);
  assert.equal(first.sessions, 2);
  const second = await runConnection(store, opts);
  assert.equal(second.reused, false);
  const s = store.stats();
  assert.equal(s.stored, 0);
  assert.equal(s.rejected, 4);
  assert.equal(s.offered, 0);
});

test('a custom identity check that lets a name mismatch through does not make the session kept', async (t) => {
  const pki = await sharedPki();
  const server = await startNodeServer({ cert: pki.server });
  t.after(() => server.close());
  const store = new ClientSessionStore();
  t.after(() => store.close());
  const opts = { port: server.port, ca: pki.ca.cert, servername: 'other.test', checkServerIdentity: () => undefined };
  const first = await runConnection(store, opts);
  assert.equal(first.socket.authorized, true, 'the chain verified and the custom check passed');
  assert.equal(store.stats().stored, 0);
  assert.equal(store.stats().rejected, 2);
});

test("the store leaves the socket's peer certificate to the application", async (t) => {
  const pki = await sharedPki();
  const server = await startNodeServer({ cert: pki.server });
  t.after(() => server.close());
  const store = new ClientSessionStore();
  t.after(() => store.close());
  const opts = { port: server.port, ca: pki.ca.cert };
  let seen = '';
  store.on('session', (e) => {
    seen = String(e.socket.getPeerCertificate().subject?.CN);
  });
  await runConnection(store, opts);
  await runConnection(store, { ...opts, rejectUnauthorized: false, servername: 'localhost' });
  assert.equal(seen, 'localhost');
});

test('a session whose peer certificate has expired is not kept', async (t) => {
  const pki = await sharedPki();
  const expired = await pki.issue({ cn: 'localhost', notAfterPast: true });
  const server = await startNodeServer({ cert: expired, tlsOptions: { maxVersion: 'TLSv1.2' } });
  t.after(() => server.close());
  const store = new ClientSessionStore();
  t.after(() => store.close());
  const opts = { port: server.port, ca: pki.ca.cert, rejectUnauthorized: false };
  const first = await runConnection(store, opts);
  assert.equal(first.sessions, 1);
  assert.equal(first.socket.authorizationError, 'CERT_HAS_EXPIRED');
  const second = await runConnection(store, opts);
  assert.equal(second.reused, false);
  assert.equal(store.stats().stored, 0);
  assert.equal(store.stats().rejected, 2);
});
