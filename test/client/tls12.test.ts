import assert from 'node:assert/strict';
import { test } from 'node:test';
import { ClientSessionStore } from '../../src/client/index.js';
import { sharedPki, startNodeServer, startSServer } from '../helpers/index.js';
import { startHelloRecorder } from './hello-recorder.js';
import { runConnection, runSequence, runWww } from './run-connection.js';

const hex = (b: Buffer | undefined) => b?.toString('hex') ?? '';

test('TLS 1.2 session id (s_server -no_ticket): one session, reused by every later connection', async (t) => {
  const pki = await sharedPki();
  const server = await startSServer({ cert: pki.server, tls: '1.2', noTicket: true });
  t.after(() => server.stop());
  const recorder = await startHelloRecorder(server.port);
  t.after(() => recorder.close());
  const store = new ClientSessionStore();
  t.after(() => store.close());
  const stored: string[] = [];
  store.on('session', (e) => {
    assert.equal(e.protocol, 'TLSv1.2');
    stored.push(hex(e.session.sessionId));
  });

  const outcomes = await runSequence(4, () => runWww(store, { port: recorder.port, ca: pki.ca.cert }));

  assert.deepEqual(
    outcomes.map((o) => o.reused),
    [false, true, true, true],
  );
  assert.equal(outcomes[0]?.protocol, 'TLSv1.2');
  assert.equal(stored.length, 1, 'a resumed TLS 1.2 connection yields no new session');
  const offeredIds = recorder.hellos.slice(1).map((h) => hex(h.sessionId));
  assert.deepEqual(offeredIds, [stored[0], stored[0], stored[0]]);
  assert.equal(recorder.hellos[1]?.sessionTicket?.length ?? 0, 0, 'no ticket: the session id resumes');
  const s = store.stats();
  assert.equal(s.offered, 3);
  assert.equal(s.resumed, 3);
  assert.equal(s.sessions, 1);
});

test('TLS 1.2 tickets (s_server): the ticket is offered and resumed', async (t) => {
  const pki = await sharedPki();
  const server = await startSServer({ cert: pki.server, tls: '1.2' });
  t.after(() => server.stop());
  const recorder = await startHelloRecorder(server.port);
  t.after(() => recorder.close());
  const store = new ClientSessionStore();
  t.after(() => store.close());
  const tickets = new Set<string>();
  store.on('session', (e) => tickets.add(hex(e.session.ticket)));

  const outcomes = await runSequence(3, () => runWww(store, { port: recorder.port, ca: pki.ca.cert }));

  assert.deepEqual(
    outcomes.map((o) => o.reused),
    [false, true, true],
  );
  for (const hello of recorder.hellos.slice(1)) {
    assert.ok((hello.sessionTicket?.length ?? 0) > 0, 'a ticket is offered');
    assert.ok(tickets.has(hex(hello.sessionTicket)), 'the offered ticket is one the store captured');
  }
  assert.equal(store.stats().resumed, 2);
});

test('TLS 1.2, Node server (stateless tickets): resumption', async (t) => {
  const pki = await sharedPki();
  const server = await startNodeServer({ cert: pki.server, tlsOptions: { maxVersion: 'TLSv1.2' } });
  t.after(() => server.close());
  const store = new ClientSessionStore();
  t.after(() => store.close());

  const outcomes = await runSequence(3, () => runConnection(store, { port: server.port, ca: pki.ca.cert }));

  assert.deepEqual(
    outcomes.map((o) => [o.protocol, o.reused]),
    [
      ['TLSv1.2', false],
      ['TLSv1.2', true],
      ['TLSv1.2', true],
    ],
  );
  assert.equal(store.stats().offered, 2);
});
