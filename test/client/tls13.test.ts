import assert from 'node:assert/strict';
import { test } from 'node:test';
import { ClientSessionStore } from '../../src/client/index.js';
import { sharedPki, startNodeServer, startSServer } from '../helpers/index.js';
import { startHelloRecorder } from './hello-recorder.js';
import { runConnection, runSequence, runWww } from './run-connection.js';

const hex = (b: Buffer | undefined) => b?.toString('hex') ?? '';

test('TLS 1.3, Node server: both tickets of a full handshake go to the next two connections, newest first, once each', async (t) => {
  const pki = await sharedPki();
  const server = await startNodeServer({ cert: pki.server, tlsOptions: { minVersion: 'TLSv1.3' } });
  t.after(() => server.close());
  const recorder = await startHelloRecorder(server.port);
  t.after(() => recorder.close());
  const store = new ClientSessionStore();
  t.after(() => store.close());
  const stored: string[] = [];
  const offered: string[] = [];
  store.on('session', (e) => stored.push(hex(e.session.ticket)));
  store.on('offer', (e) => offered.push(hex(e.session.ticket)));

  const opts = { port: recorder.port, ca: pki.ca.cert };
  const [first, second, third, fourth] = await runSequence(4, () => runConnection(store, opts));

  assert.equal(first?.protocol, 'TLSv1.3');
  assert.equal(first?.reused, false);
  assert.equal(first?.sessions, 2, 'a full handshake yields two tickets');
  assert.equal(stored.length, 4, 'two tickets from the first connection, two from the fourth');
  assert.equal(second?.reused, true);
  assert.equal(third?.reused, true);
  // A Node server sends no ticket after a resumption: both are used up, so a full handshake.
  assert.equal(fourth?.reused, false);

  // What went over the wire: the PSK identity of each ClientHello.
  const wire = recorder.hellos.map((h) => h.pskIdentities.map(hex));
  assert.equal(wire.length, 4);
  assert.deepEqual(wire[0], []);
  assert.deepEqual(wire[1], [stored[1]], 'the newest ticket first');
  assert.deepEqual(wire[2], [stored[0]]);
  assert.deepEqual(wire[3], []);
  assert.deepEqual(offered, [stored[1], stored[0]]);

  const s = store.stats();
  assert.equal(s.offered, 2);
  assert.equal(s.resumed, 2);
  assert.equal(s.declined, 0);
  assert.equal(s.stored, 4, 'two from the first and two from the fourth connection');
  assert.equal(s.sessions, 2);
  assert.equal(s.keys, 1);
});

test('TLS 1.3, openssl s_server: every ticket is offered at most once, and every connection after the first resumes', async (t) => {
  const pki = await sharedPki();
  const server = await startSServer({ cert: pki.server, tls: '1.3' });
  t.after(() => server.stop());
  const recorder = await startHelloRecorder(server.port);
  t.after(() => recorder.close());
  const store = new ClientSessionStore();
  t.after(() => store.close());
  const stored = new Set<string>();
  store.on('session', (e) => stored.add(hex(e.session.ticket)));

  const outcomes = await runSequence(6, () => runWww(store, { port: recorder.port, ca: pki.ca.cert }));

  assert.deepEqual(
    outcomes.map((o) => o.reused),
    [false, true, true, true, true, true],
  );
  assert.ok(outcomes.every((o) => o.received.includes('200 ok')));
  const identities = recorder.hellos.flatMap((h) => h.pskIdentities.map(hex));
  assert.equal(identities.length, 5, 'one PSK identity per resumed connection');
  assert.equal(new Set(identities).size, identities.length, 'no ticket offered twice');
  for (const id of identities) assert.ok(stored.has(id), 'each offered ticket is one the store captured');
  assert.equal(store.stats().resumed, 5);
});

test('TLS 1.3: connections started at the same moment never receive the same ticket', async (t) => {
  const pki = await sharedPki();
  const server = await startNodeServer({ cert: pki.server, tlsOptions: { minVersion: 'TLSv1.3' } });
  t.after(() => server.close());
  const recorder = await startHelloRecorder(server.port);
  t.after(() => recorder.close());
  const store = new ClientSessionStore();
  t.after(() => store.close());
  const opts = { port: recorder.port, ca: pki.ca.cert };
  await runConnection(store, opts);
  assert.equal(store.stats().sessions, 2);

  const outcomes = await Promise.all([1, 2, 3, 4, 5].map(() => runConnection(store, opts)));

  assert.equal(outcomes.filter((o) => o.reused).length, 2, 'two tickets, two resumptions');
  const identities = recorder.hellos.slice(1).flatMap((h) => h.pskIdentities.map(hex));
  assert.equal(identities.length, 2);
  assert.notEqual(identities[0], identities[1]);
  assert.equal(store.stats().offered, 2);
});

test('TLS 1.3 stateful tickets (s_server -no_ticket): the session id is the PSK identity, used once', async (t) => {
  const pki = await sharedPki();
  const server = await startSServer({ cert: pki.server, tls: '1.3', noTicket: true });
  t.after(() => server.stop());
  const recorder = await startHelloRecorder(server.port);
  t.after(() => recorder.close());
  const store = new ClientSessionStore();
  t.after(() => store.close());

  const outcomes = await runSequence(4, () => runWww(store, { port: recorder.port, ca: pki.ca.cert }));

  assert.deepEqual(
    outcomes.map((o) => o.reused),
    [false, true, true, true],
  );
  const identities = recorder.hellos.flatMap((h) => h.pskIdentities.map(hex));
  assert.equal(identities.length, 3);
  assert.ok(
    identities.every((id) => id.length === 64),
    'stateful identities are 32-byte session ids',
  );
  assert.equal(new Set(identities).size, 3);
});
