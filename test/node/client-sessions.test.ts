/**
 * Guards every statement of src/node/client-sessions.ts against real handshakes on the Node line
 * that runs the suite: if a Node release changes how it hands client sessions around, one of
 * these fails and names the statement.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { connect } from 'node:tls';
import { nodeBindsClientSessions, nodeSessionIdentity, sessionForConnect } from '../../src/node/index.js';
import { isNodeSessionState, unwrapNodeSession, wrapNodeSession } from '../../src/session/index.js';
import { sharedPki, startNodeServer } from '../helpers/index.js';

const CHANGED = 'Node changed how it hands client sessions around (src/node/client-sessions.ts)';

/** One TLS 1.2 connection with Node's own tls.connect: whether it resumed, and the session buffer Node emitted. */
async function handshake(
  port: number,
  options: { session?: Buffer; servername?: string; rejectUnauthorized?: boolean },
) {
  const pki = await sharedPki();
  return new Promise<{ reused: boolean; session: Buffer | undefined }>((resolve, reject) => {
    let session: Buffer | undefined;
    const socket = connect({
      host: '127.0.0.1',
      port,
      servername: 'localhost',
      ca: pki.ca.cert,
      maxVersion: 'TLSv1.2',
      ...options,
    });
    socket.on('session', (s: Buffer) => {
      session = s;
    });
    socket.once('secureConnect', () => {
      const reused = socket.isSessionReused();
      socket.end();
      socket.once('close', () => resolve({ reused, session }));
    });
    socket.on('data', () => {});
    socket.once('error', reject);
  });
}

test('nodeBindsClientSessions() says what the session event really hands out, bound to servername', async (t) => {
  const pki = await sharedPki();
  const server = await startNodeServer({ cert: pki.server });
  t.after(() => server.close());
  const first = await handshake(server.port, {});
  assert.ok(first.session, 'a TLS 1.2 session event');
  assert.equal(isNodeSessionState(first.session), nodeBindsClientSessions(), CHANGED);
  const { identity } = unwrapNodeSession(first.session);
  assert.equal(identity, nodeBindsClientSessions() ? 'localhost' : undefined, `${CHANGED}: identity`);
});

test('sessionForConnect() resumes on this line; the forms this line ignores are not resumed', async (t) => {
  const pki = await sharedPki();
  const server = await startNodeServer({ cert: pki.server });
  t.after(() => server.close());
  const { der } = unwrapNodeSession((await handshake(server.port, {})).session!);

  const options = { host: '127.0.0.1', servername: 'localhost' };
  assert.equal(
    (await handshake(server.port, { session: sessionForConnect(der, options) })).reused,
    true,
    `${CHANGED}: sessionForConnect`,
  );
  // Plain DER on a verified connection: offered on Node 20, ignored by the lines that bind.
  assert.equal(
    (await handshake(server.port, { session: der })).reused,
    !nodeBindsClientSessions(),
    `${CHANGED}: plain DER, verified`,
  );
  // Plain DER without verification is offered on every line.
  assert.equal(
    (await handshake(server.port, { session: der, rejectUnauthorized: false })).reused,
    true,
    `${CHANGED}: plain DER, unverified`,
  );
  if (nodeBindsClientSessions()) {
    // Bound to another identity: ignored. The identity is compared exactly, case included.
    for (const other of ['other.test', 'LOCALHOST']) {
      const res = await handshake(server.port, { session: wrapNodeSession(der, other) });
      assert.equal(res.reused, false, `${CHANGED}: a session bound to ${other}`);
    }
  }
});

test("nodeSessionIdentity() is Node's servername || host || 'localhost'", () => {
  assert.equal(nodeSessionIdentity({ servername: 'a.test', host: '127.0.0.1' }), 'a.test');
  assert.equal(nodeSessionIdentity({ servername: '', host: '127.0.0.1' }), '127.0.0.1');
  assert.equal(nodeSessionIdentity({}), 'localhost');
  assert.equal(nodeSessionIdentity({ servername: 'Mixed.Test' }), 'Mixed.Test', 'case is kept, as Node compares it');
});
