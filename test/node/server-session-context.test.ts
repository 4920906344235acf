/**
 * Guards src/node/server-session-context.ts against real handshakes on the Node line that runs the
 * suite: the session id context a server connection gets is the one serverSessionIdContext()
 * computes from what nodeDerivesServerSessionIdContext() measured.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { connect, type TLSSocket } from 'node:tls';
import { nodeDerivesServerSessionIdContext, serverSessionIdContext } from '../../src/node/index.js';
import { TlsSession } from '../../src/session/index.js';
import { sharedPki, startNodeServer } from '../helpers/index.js';

const CHANGED = 'Node changed the session id context of server connections (src/node/server-session-context.ts)';

/** The session id context of the server end of one TLS 1.2 connection under SNI `servername`. */
async function serverSidCtx(port: number, servername: string | undefined, seen: Promise<TLSSocket>): Promise<Buffer> {
  const client = connect({ host: '127.0.0.1', port, servername, rejectUnauthorized: false, maxVersion: 'TLSv1.2' });
  client.on('error', () => {});
  try {
    const socket = await seen;
    return TlsSession.fromDER(socket.getSession()!).sessionIdContext;
  } finally {
    client.destroy();
  }
}

test('server connections get the session id context serverSessionIdContext() computes, with and without SNI', async (t) => {
  const pki = await sharedPki();
  const derived = await nodeDerivesServerSessionIdContext({ cert: pki.server.cert, key: pki.server.key });
  let next: (socket: TLSSocket) => void = () => {};
  const server = await startNodeServer({
    cert: pki.server,
    tlsOptions: { sessionIdContext: 'ctx-x', maxVersion: 'TLSv1.2' },
    handler: (socket) => next(socket),
  });
  t.after(() => server.close());
  for (const servername of ['b.test', undefined]) {
    const seen = new Promise<TLSSocket>((resolve) => {
      next = resolve;
    });
    const got = await serverSidCtx(server.port, servername, seen);
    assert.deepEqual(got, serverSessionIdContext(Buffer.from('ctx-x'), servername, derived), CHANGED);
    assert.equal(got.equals(Buffer.from('ctx-x')), !derived, CHANGED);
  }
});

test('an empty session id context stays empty on every line', () => {
  assert.equal(serverSessionIdContext(Buffer.alloc(0), 'b.test', true).length, 0);
});
