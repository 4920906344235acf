/**
 * Sessions given to ClientSessionStore.connect as `options.session`: a file from
 * `openssl s_client -sess_out`, a session from another process. On every Node line the same
 * rule: on a verified connection a session is offered only when it vouches for the server;
 * any other is counted and reported, never dropped without a word.
 */
import assert from 'node:assert/strict';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { test } from 'node:test';
import { ClientSessionStore, type IgnoredEvent } from '../../src/client/index.js';
import { TlsSession, wrapNodeSession } from '../../src/session/index.js';
import { sClient, sharedPki, startSServer, tmpDir, WWW_REQUEST } from '../helpers/index.js';
import { runConnection } from './run-connection.js';

for (const tls of ['1.2', '1.3'] as const) {
  test(`TLS ${tls}: an s_client -sess_out session resumes when its certificate names the server; otherwise it is reported as ignored`, async (t) => {
    const pki = await sharedPki();
    const server = await startSServer({ cert: pki.server, tls });
    t.after(() => server.stop());
    const dir = await tmpDir('given-session-');
    t.after(() => dir.cleanup());
    const file = join(dir.path, 'sess.pem');
    const made = await sClient({ port: server.port, servername: 'localhost', sessOut: file, tls });
    assert.equal(made.reused, false);
    const der = TlsSession.parse(await readFile(file)).toDER();

    const store = new ClientSessionStore();
    t.after(() => store.close());
    const ignored: IgnoredEvent[] = [];
    store.on('ignored', (e) => ignored.push(e));
    const base = { port: server.port, ca: pki.ca.cert, maxVersion: `TLSv${tls}` as const };

    // The certificate in the session names localhost, is unexpired and was verified: offered.
    const vouched = await runConnection(store, { ...base, session: der }, { request: WWW_REQUEST });
    assert.equal(vouched.reused, true, 'the imported session resumes');

    // Another server name: a full handshake (the application accepts any name) and no offer.
    const otherName = { ...base, servername: 'other.test', checkServerIdentity: () => undefined };
    const other = await runConnection(store, { ...otherName, session: der }, { request: WWW_REQUEST });
    assert.equal(other.reused, false, 'not offered to a name its certificate does not carry');

    // Bound by Node to another identity, or not a session at all: not offered either.
    const bound = await runConnection(
      store,
      { ...base, session: wrapNodeSession(der, 'other.test') },
      { request: WWW_REQUEST },
    );
    assert.equal(bound.reused, false);
    const broken = await runConnection(
      store,
      { ...base, session: Buffer.from('\0nodejs:tls:session:1\0\xff', 'latin1') },
      { request: WWW_REQUEST },
    );
    assert.equal(broken.reused, false);

    assert.deepEqual(
      ignored.map((e) => e.reason),
      ['unverifiable', 'other-identity', 'malformed'],
    );
    assert.equal(store.stats().ignored, 3);

    // Without verification, Node itself takes any session: it is offered as given.
    const unverified = await runConnection(
      store,
      { ...otherName, rejectUnauthorized: false, session: der },
      { request: WWW_REQUEST },
    );
    assert.equal(unverified.reused, true);
    assert.equal(store.stats().ignored, 3);
  });
}

test('a session whose original handshake did not verify the certificate is not vouched for', async (t) => {
  const pki = await sharedPki();
  const server = await startSServer({ cert: pki.server, tls: '1.2' });
  t.after(() => server.stop());
  const dir = await tmpDir('given-session-');
  t.after(() => dir.cleanup());
  const file = join(dir.path, 'sess.pem');
  await sClient({ port: server.port, servername: 'localhost', sessOut: file, tls: '1.2' });
  const session = TlsSession.parse(await readFile(file));
  session.verifyResult = 20; // X509_V_ERR_UNABLE_TO_GET_ISSUER_CERT_LOCALLY
  const store = new ClientSessionStore();
  t.after(() => store.close());
  const out = await runConnection(
    store,
    { port: server.port, ca: pki.ca.cert, session: session.toDER() },
    { request: WWW_REQUEST },
  );
  assert.equal(out.reused, false);
  assert.equal(store.stats().ignored, 1);
});
