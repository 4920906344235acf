/**
 * Rotation over real sockets: a ticket issued under key 1 resumes after key 2 took over while
 * key 1 is in its grace period, is renewed under key 2, and stops resuming once key 1 retired,
 * under TLS 1.2 and TLS 1.3, with Node clients and `openssl s_client -sess_out/-sess_in`.
 */
import assert from 'node:assert/strict';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { test } from 'node:test';
import { TicketKeyRing } from '../../src/tickets/index.js';
import { sClient, sharedPki, startNodeServer, tmpDir } from '../helpers/index.js';
import {
  fakeClock,
  HOUR,
  handshake,
  printedTicketKeyName,
  ticketKeyName,
  ticketLifetime,
  type Version,
} from './kit.js';

async function ringServer(t: test.TestContext, tlsOptions = {}) {
  const clock = fakeClock();
  const ring = new TicketKeyRing({ rotateEvery: HOUR, grace: 2 * HOUR, now: clock.now });
  const pki = await sharedPki();
  const srv = await startNodeServer({ cert: pki.server, tlsOptions });
  t.after(async () => {
    await srv.close();
    await ring.close();
  });
  ring.attach(srv.server);
  return { clock, ring, srv, port: srv.port };
}

for (const version of ['TLSv1.2', 'TLSv1.3'] as const satisfies Version[]) {
  test(`${version}: a key-1 ticket resumes during key 1's grace, is renewed under key 2, and stops after key 1 retires`, async (t) => {
    const { clock, ring, port } = await ringServer(t);
    const key1 = ring.currentName!;
    const first = await handshake(port, version);
    assert.equal(first.reused, false);
    assert.ok(first.session);
    assert.equal(ticketKeyName(first.session), key1, 'the current key encrypts');

    // Same key: resumes, and (like Node) no new ticket.
    assert.equal((await handshake(port, version, { session: first.session })).reused, true);

    clock.advance(HOUR); // key 2 encrypts; key 1 decrypts for 2 more hours
    const key2 = ring.currentName!;
    assert.notEqual(key2, key1);
    const fresh = await handshake(port, version);
    assert.equal(ticketKeyName(fresh.session!), key2);

    const inGrace = await handshake(port, version, { session: first.session, tickets: version === 'TLSv1.3' ? 1 : 0 });
    assert.equal(inGrace.reused, true, 'a key-1 ticket resumes while key 1 is in grace');
    if (version === 'TLSv1.3') {
      assert.ok(inGrace.session, 'a ticket of an older key is renewed');
      assert.equal(ticketKeyName(inGrace.session), key2, 'renewed under the current key');
    }

    const retiresAt = ring
      .list()
      .find((k) => k.name === key1)!
      .decryptsUntil.getTime();
    clock.set(retiresAt - 1); // one millisecond before key 1 retires
    assert.equal((await handshake(port, version, { session: first.session })).reused, true);
    clock.set(retiresAt);
    assert.equal((await handshake(port, version, { session: first.session })).reused, false, 'key 1 retired');
    assert.ok(!ring.list().some((k) => k.name === key1), 'a retired key is dropped');
    // The key-2 ticket from earlier still resumes (key 2 is now previous, in grace).
    assert.equal((await handshake(port, version, { session: fresh.session })).reused, true);

    const st = ring.stats();
    assert.ok(st.renewed >= 2, `renewed ${st.renewed}`);
    assert.ok(st.rejected >= 1, `rejected ${st.rejected}`);
  });
}

for (const tls of ['1.2', '1.3'] as const) {
  test(`s_client TLS ${tls}: -sess_out under key 1, -sess_in after rotation resumes and gets a key-2 ticket; after retirement it does not resume`, async (t) => {
    const dir = await tmpDir('tickets-');
    t.after(() => dir.cleanup());
    const { clock, ring, port } = await ringServer(t);
    const file1 = join(dir.path, 'k1.pem');
    const file2 = join(dir.path, 'k2.pem');
    const key1 = ring.currentName!;
    const made = await sClient({ port, tls, sessOut: file1 });
    assert.equal(made.reused, false);
    assert.equal(ticketKeyName(await readFile(file1, 'utf8')), key1);

    clock.advance(HOUR);
    const key2 = ring.currentName!;
    const resumed = await sClient({ port, tls, sessIn: file1, sessOut: file2 });
    assert.equal(resumed.reused, true, resumed.stdout);
    assert.equal(printedTicketKeyName(resumed.stdout), key2, 'the resumed connection got a ticket under key 2');
    if (tls === '1.3') assert.equal(ticketKeyName(await readFile(file2, 'utf8')), key2);

    clock.advance(2 * HOUR);
    const late = await sClient({ port, tls, sessIn: file1 });
    assert.equal(late.reused, false, 'key 1 retired');
    assert.equal(late.protocol, tls === '1.2' ? 'TLSv1.2' : 'TLSv1.3', 'a full handshake, not a failure');
    if (tls === '1.3') {
      // The renewed ticket (key 2, in grace until 2 h after the next rotation) still resumes.
      assert.equal((await sClient({ port, tls, sessIn: file2 })).reused, true);
    }
  });
}

test('the next key already decrypts: a server that rotated a little earlier than its peer is understood', async (t) => {
  const { clock, ring, port } = await ringServer(t);
  const peer = new TicketKeyRing({ rotateEvery: HOUR, grace: 2 * HOUR, now: () => clock.now() + HOUR });
  t.after(() => peer.close());
  // Without a store the two rings have their own keys: the peer's ticket is unknown here.
  const pki = await sharedPki();
  const other = await startNodeServer({ cert: pki.server });
  t.after(() => other.close());
  peer.attach(other.server);
  const foreign = await handshake(other.port, 'TLSv1.2');
  assert.equal((await handshake(port, 'TLSv1.2', { session: foreign.session })).reused, false);
  // The ring's own next key decrypts before its turn.
  const next = ring.list({ reveal: true }).find((k) => k.role === 'next');
  assert.ok(next?.material);
  const early = await startNodeServer({
    cert: pki.server,
    tlsOptions: { ticketKeys: Buffer.from(next.material, 'hex') },
  });
  t.after(() => early.close());
  // A plain Node server whose single key is our next key stands for a fleet member ahead of us.
  early.server.setTicketKeys(Buffer.from(next.material, 'hex'));
  const ahead = await handshake(early.port, 'TLSv1.2');
  assert.equal(ticketKeyName(ahead.session!), next.name);
  // Node's default session id context differs per process arguments only, so both servers share it.
  assert.equal((await handshake(port, 'TLSv1.2', { session: ahead.session })).reused, true);
});

test('lifetime: the server announces min(sessionTimeout, grace), never longer than the key decrypts', async (t) => {
  const { ring, port, srv } = await ringServer(t, { sessionTimeout: 5 * HOUR });
  assert.equal(
    srv.server.getTicketKeys().toString('hex', 0, 16),
    ring.currentName,
    'getTicketKeys shows the current key',
  );
  for (const version of ['TLSv1.2', 'TLSv1.3'] as const) {
    const h = await handshake(port, version);
    assert.equal(ticketLifetime(h.session!), 2 * HOUR, version);
    const current = ring.list().find((k) => k.role === 'current')!;
    assert.ok(current.decryptsUntil.getTime() - Date.now() >= 2 * HOUR * 1000 - 120_000);
  }
});

test('a shorter sessionTimeout is kept', async (t) => {
  const { port } = await ringServer(t, { sessionTimeout: 600 });
  const h = await handshake(port, 'TLSv1.3');
  assert.equal(ticketLifetime(h.session!), 600);
});

test('manual rotate: the replaced key decrypts for the grace period; rotate with revoke drops every key', async (t) => {
  const { clock, ring, port } = await ringServer(t);
  const before = await handshake(port, 'TLSv1.2');
  const old = ring.currentName!;
  const info = await ring.rotate();
  assert.equal(info.role, 'current');
  assert.notEqual(info.name, old);
  const demoted = ring.list().find((k) => k.name === old);
  assert.equal(demoted?.role, 'previous');
  assert.equal(demoted?.decryptsUntil.getTime(), clock.now() + 2 * HOUR * 1000);
  assert.equal((await handshake(port, 'TLSv1.2', { session: before.session })).reused, true);
  const after = await handshake(port, 'TLSv1.2');
  assert.equal(ticketKeyName(after.session!), info.name);

  await ring.rotate({ revoke: true });
  assert.equal((await handshake(port, 'TLSv1.2', { session: before.session })).reused, false);
  assert.equal((await handshake(port, 'TLSv1.2', { session: after.session })).reused, false);
  assert.equal(ring.list().length, 2, 'only the new current and next keys are left');
});

test('detach: the current key keeps resuming with Node’s single-key tickets; setTicketKeys works again', async (t) => {
  const { clock, ring, port, srv } = await ringServer(t);
  const k1 = await handshake(port, 'TLSv1.2');
  clock.advance(HOUR);
  const k2 = await handshake(port, 'TLSv1.2');
  ring.detach(srv.server);
  assert.equal((await handshake(port, 'TLSv1.2', { session: k2.session })).reused, true, 'current key kept');
  assert.equal((await handshake(port, 'TLSv1.2', { session: k1.session })).reused, false, 'older keys are gone');
  srv.server.setTicketKeys(Buffer.alloc(48, 7));
  assert.equal((await handshake(port, 'TLSv1.2', { session: k2.session })).reused, false);
  const fresh = await handshake(port, 'TLSv1.2');
  assert.equal(ticketKeyName(fresh.session!), '07'.repeat(16));
  assert.equal((await handshake(port, 'TLSv1.2', { session: fresh.session })).reused, true);
  // Attached again: the ring's keys are back in charge.
  ring.attach(srv.server);
  assert.equal((await handshake(port, 'TLSv1.2', { session: k1.session })).reused, true);
});

test('setSecureContext: the new context gets the ring too', async (t) => {
  const { clock, ring, port, srv } = await ringServer(t);
  const pki = await sharedPki();
  const k1 = await handshake(port, 'TLSv1.3');
  clock.advance(HOUR);
  srv.server.setSecureContext({ key: pki.server.key, cert: pki.server.cert });
  const h = await handshake(port, 'TLSv1.3', { session: k1.session });
  assert.equal(h.reused, true);
  assert.equal(ticketKeyName((await handshake(port, 'TLSv1.3')).session!), ring.currentName);
});
