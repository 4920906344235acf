// SSL_get_session(3) and SSL_set_session(3) semantics over real connections: borrowed and owned
// pointers, reference counts, TLS 1.3 tickets, "bad" sessions, statistics, errors, and interop
// with openssl s_client / s_server.
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import {
  ERR_error_string,
  ERR_get_error,
  OpenSSLUsageError,
  SSL_accept,
  SSL_clear,
  SSL_connect,
  type SSL_CTX,
  SSL_CTX_add_session,
  SSL_CTX_free,
  SSL_CTX_sess_accept,
  SSL_CTX_sess_accept_good,
  SSL_CTX_sess_cb_hits,
  SSL_CTX_sess_connect,
  SSL_CTX_sess_connect_good,
  SSL_CTX_sess_hits,
  SSL_CTX_sess_misses,
  SSL_CTX_sess_number,
  SSL_get_socket,
  SSL_CTX_sess_set_get_cb,
  SSL_CTX_sess_set_new_cb,
  SSL_CTX_sess_set_remove_cb,
  SSL_CTX_sess_timeouts,
  SSL_CTX_set_options,
  SSL_CTX_set_session_cache_mode,
  SSL_CTX_set_session_id_context,
  SSL_CTX_set_verify,
  SSL_ERROR_SSL,
  SSL_ERROR_SYSCALL,
  SSL_free,
  SSL_get0_session,
  SSL_get1_session,
  SSL_get_error,
  SSL_get_session,
  SSL_OP_NO_TICKET,
  SSL_SESS_CACHE_CLIENT,
  SSL_SESS_CACHE_SERVER,
  type SSL_SESSION,
  SSL_read,
  SSL_SESSION_dup,
  SSL_SESSION_free,
  SSL_SESSION_new,
  SSL_SESSION_get_id,
  SSL_SESSION_get_time,
  SSL_SESSION_up_ref,
  SSL_write,
  SSL_SESSION_is_resumable,
  SSL_SESSION_set1_id_context,
  SSL_SESSION_set_time,
  SSL_SESSION_set_timeout,
  SSL_session_reused,
  SSL_set_fd,
  SSL_set_session,
  SSL_shutdown,
  SSL_VERIFY_FAIL_IF_NO_PEER_CERT,
  SSL_VERIFY_PEER,
  sameSession,
  TLS1_2_VERSION,
  TLS1_3_VERSION,
} from '../../src/openssl/index.js';
import { nodeDerivesServerSessionIdContext } from '../../src/node/server-session-context.js';
import { makePki, type SServer, sClient, sharedPki, startSServer, tmpDir } from '../helpers/index.js';
import {
  clientCtx,
  connectToSServer,
  createSslConnection,
  drainErrors,
  fileFixture,
  listener,
  newSsl,
  serverCtx,
  shutdownSslConnection,
} from './harness.js';

function usage(code: string): (e: unknown) => boolean {
  return (e) => {
    assert.ok(e instanceof OpenSSLUsageError, String(e));
    assert.equal(e.code, code);
    return true;
  };
}

const io = fileFixture();
const { contexts } = io;

async function pairOfCtx(
  version: number,
  serverOptions: { noTicket?: boolean } = {},
): Promise<{ sctx: SSL_CTX; cctx: SSL_CTX }> {
  const sctx = await serverCtx();
  const cctx = await clientCtx({ minProtoVersion: version, maxProtoVersion: version });
  if (serverOptions.noTicket) SSL_CTX_set_options(sctx, SSL_OP_NO_TICKET);
  SSL_CTX_set_session_cache_mode(cctx, SSL_SESS_CACHE_CLIENT);
  contexts.push(sctx, cctx);
  return { sctx, cctx };
}

/** One connection: SSL objects, handshakes, one byte to receive the tickets. */
async function connection(sctx: SSL_CTX, cctx: SSL_CTX, session?: SSL_SESSION) {
  const serverssl = newSsl(sctx);
  const clientssl = newSsl(cctx);
  if (session !== undefined) assert.equal(SSL_set_session(clientssl, session), 1);
  assert.ok(await createSslConnection(io.l, serverssl, clientssl), drainErrors().join('; '));
  return { serverssl, clientssl };
}

describe('SSL_get0_session / SSL_get_session: borrowed pointers', () => {
  test('invalid after SSL_free: using one throws a use-after-free error; SSL_get1_session stays valid until freed', async () => {
    const { sctx, cctx } = await pairOfCtx(TLS1_2_VERSION);
    const { serverssl, clientssl } = await connection(sctx, cctx);
    const borrowed = SSL_get0_session(clientssl)!;
    const owned = SSL_get1_session(clientssl)!;
    assert.equal(borrowed.borrowed, true);
    assert.ok(sameSession(borrowed, owned));
    assert.equal(SSL_get_session(clientssl), borrowed, 'same borrowed pointer while the session lasts');
    assert.equal(SSL_get1_session(clientssl), owned, 'owning pointers of one session are one object');
    SSL_SESSION_free(owned);
    assert.throws(() => SSL_SESSION_free(borrowed), usage('ERR_OPENSSL_FREE_BORROWED'));
    const time = SSL_SESSION_get_time(borrowed);
    await shutdownSslConnection(serverssl, clientssl);
    assert.throws(() => SSL_SESSION_get_time(borrowed), usage('ERR_OPENSSL_USE_AFTER_FREE'));
    assert.throws(
      () => SSL_SESSION_is_resumable(borrowed),
      /borrowed session pointer \(SSL_get0_session\) used after SSL_free/,
    );
    assert.equal(SSL_SESSION_get_time(owned), time);
    assert.equal(SSL_SESSION_is_resumable(owned), 1);
    SSL_SESSION_free(owned);
    assert.equal(owned.references, 1, "the cache's");
    assert.equal(owned.owner, cctx);
  });

  test('invalid once the session is replaced (SSL_set_session); up_ref turns a borrowed pointer into an owned one', async () => {
    const { sctx, cctx } = await pairOfCtx(TLS1_2_VERSION);
    const { serverssl, clientssl } = await connection(sctx, cctx);
    const kept = SSL_get0_session(clientssl)!;
    SSL_SESSION_up_ref(kept);
    assert.equal(kept.borrowed, false);
    const borrowed = SSL_get0_session(clientssl)!;
    await SSL_shutdown(clientssl);
    assert.equal(SSL_set_session(clientssl, null), 1);
    assert.equal(SSL_get_session(clientssl), null);
    assert.throws(() => SSL_SESSION_get_time(borrowed), /SSL_set_session replaced the session/);
    assert.equal(SSL_SESSION_is_resumable(kept), 1, 'cleanly shut down: still good');
    SSL_SESSION_free(kept);
    SSL_free(serverssl);
    SSL_free(clientssl);
  });
});

describe('TLS 1.3 client sessions', () => {
  test('before a ticket: not resumable; then one new-session callback per ticket, and SSL_get_session is the last ticket', async () => {
    const { sctx, cctx } = await pairOfCtx(TLS1_3_VERSION);
    const fromCallback: SSL_SESSION[] = [];
    SSL_CTX_sess_set_new_cb(cctx, (_ssl, sess) => {
      fromCallback.push(sess);
      return 1;
    });
    const serverssl = newSsl(sctx);
    const clientssl = newSsl(cctx);
    const accepting = io.l.accept(5000).then((sock) => {
      SSL_set_fd(serverssl, sock);
      return SSL_accept(serverssl);
    });
    assert.equal(await SSL_connect(clientssl, { port: io.l.port, servername: 'localhost' }), 1);
    // Right after the handshake, before any ticket was read.
    const early = SSL_get0_session(clientssl)!;
    assert.equal(SSL_SESSION_is_resumable(early), 0);
    assert.equal(fromCallback.length, 0);
    assert.equal(await accepting, 1);
    assert.equal(await SSL_write(serverssl, 'x'), 1);
    assert.equal(await SSL_read(clientssl, Buffer.alloc(1)), 1);

    assert.equal(fromCallback.length, 2, 'a Node server sends 2 tickets after a full handshake');
    assert.throws(() => SSL_SESSION_get_time(early), /a new session replaced it/);
    const last = SSL_get_session(clientssl)!;
    assert.equal(SSL_SESSION_is_resumable(last), 1);
    assert.ok(sameSession(last, fromCallback[1]!));
    assert.ok(!sameSession(last, fromCallback[0]!));
    assert.equal(SSL_CTX_sess_number(cctx), 2, 'both tickets in the internal cache');
    for (const s of fromCallback) SSL_SESSION_free(s);
    await shutdownSslConnection(serverssl, clientssl);
  });

  test('each session resumes once: after use it is removed from the cache and no longer offered', async () => {
    const { sctx, cctx } = await pairOfCtx(TLS1_3_VERSION);
    let removed = 0;
    SSL_CTX_sess_set_remove_cb(cctx, () => removed++);
    const first = await connection(sctx, cctx);
    const sess = SSL_get1_session(first.clientssl)!;
    assert.equal(SSL_CTX_sess_number(cctx), 2);

    const second = await connection(sctx, cctx, sess);
    assert.equal(SSL_session_reused(second.clientssl), 1);
    assert.equal(removed, 1);
    assert.equal(SSL_SESSION_is_resumable(sess), 0);
    assert.equal(SSL_CTX_sess_number(cctx), 1);
    assert.equal(SSL_CTX_sess_hits(cctx), 1);

    const third = await connection(sctx, cctx, sess);
    assert.equal(SSL_session_reused(third.clientssl), 0, 'a used ticket is not offered again');
    assert.equal(SSL_CTX_sess_misses(cctx), 0, 'not offered, so not a miss');
    SSL_SESSION_free(sess);
    for (const c of [first, second, third]) await shutdownSslConnection(c.serverssl, c.clientssl);
  });

  test('a Node server sends no ticket after resuming a stateless ticket, and one after a stateful one (measured)', async () => {
    for (const noTicket of [false, true]) {
      const { sctx, cctx } = await pairOfCtx(TLS1_3_VERSION, { noTicket });
      let tickets = 0;
      SSL_CTX_sess_set_new_cb(cctx, () => {
        tickets++;
        return 0;
      });
      const first = await connection(sctx, cctx);
      assert.equal(tickets, 2);
      const sess = SSL_get1_session(first.clientssl)!;
      tickets = 0;
      const second = await connection(sctx, cctx, sess);
      assert.equal(SSL_session_reused(second.clientssl), 1);
      assert.equal(tickets, noTicket ? 1 : 0, noTicket ? 'stateful' : 'stateless');
      SSL_SESSION_free(sess);
      for (const c of [first, second]) await shutdownSslConnection(c.serverssl, c.clientssl);
    }
  });
});

describe('SSL_set_session: reference counts', () => {
  test('+1 when set; -1 again when SSL_connect does not reuse it; the connection then has its own session', async () => {
    const { sctx, cctx } = await pairOfCtx(TLS1_2_VERSION);
    const first = await connection(sctx, cctx);
    const sess = SSL_get1_session(first.clientssl)!;
    await shutdownSslConnection(first.serverssl, first.clientssl);
    assert.equal(sess.references, 2, 'ours and the cache');

    // Another server context: other ticket keys, so the session cannot be resumed.
    const other = await serverCtx();
    contexts.push(other);
    const clientssl = newSsl(cctx);
    assert.equal(SSL_set_session(clientssl, sess), 1);
    assert.equal(sess.references, 3);
    const serverssl = newSsl(other);
    assert.ok(await createSslConnection(io.l, serverssl, clientssl));
    assert.equal(SSL_session_reused(clientssl), 0);
    assert.equal(sess.references, 2, 'released by SSL_connect');
    assert.ok(!sameSession(SSL_get_session(clientssl), sess));
    assert.equal(SSL_CTX_sess_misses(cctx), 1);
    await shutdownSslConnection(serverssl, clientssl);
    SSL_SESSION_free(sess);
  });

  test('a reused session keeps its reference until SSL_free; setting another one frees the previous', async () => {
    const { sctx, cctx } = await pairOfCtx(TLS1_2_VERSION);
    const first = await connection(sctx, cctx);
    const sess = SSL_get1_session(first.clientssl)!;
    await shutdownSslConnection(first.serverssl, first.clientssl);
    const second = await connection(sctx, cctx, sess);
    assert.equal(SSL_session_reused(second.clientssl), 1);
    assert.equal(sess.references, 3, 'ours, the cache, the connection');
    await SSL_shutdown(second.clientssl);
    const other = (await connection(sctx, cctx)).clientssl;
    const otherSess = SSL_get1_session(other)!;
    assert.equal(SSL_set_session(second.clientssl, otherSess), 1);
    assert.equal(sess.references, 2, 'the previous session was freed');
    SSL_free(second.clientssl);
    SSL_free(second.serverssl);
    assert.equal(otherSess.references, 3);
    SSL_SESSION_free(otherSess);
    SSL_SESSION_free(sess);
  });
});

describe('sessions of connections not shut down cleanly', () => {
  test('SSL_free without SSL_shutdown removes the session from the cache and marks it non-resumable; with it, the session stays', async () => {
    const { sctx, cctx } = await pairOfCtx(TLS1_2_VERSION);
    const removed: string[] = [];
    SSL_CTX_sess_set_remove_cb(cctx, () => removed.push('client'));
    SSL_CTX_sess_set_remove_cb(sctx, () => removed.push('server'));

    const clean = await connection(sctx, cctx);
    const cleanSess = SSL_get1_session(clean.clientssl)!;
    await shutdownSslConnection(clean.serverssl, clean.clientssl);
    assert.deepEqual(removed, []);
    assert.equal(SSL_SESSION_is_resumable(cleanSess), 1);
    assert.equal(cleanSess.owner, cctx);

    const dirty = await connection(sctx, cctx);
    const dirtySess = SSL_get1_session(dirty.clientssl)!;
    assert.equal(dirtySess.owner, cctx);
    SSL_free(dirty.clientssl);
    assert.deepEqual(removed, ['client']);
    assert.equal(SSL_SESSION_is_resumable(dirtySess), 0);
    assert.equal(dirtySess.owner, null);
    SSL_free(dirty.serverssl);

    // The clean one resumes.
    const again = await connection(sctx, cctx, cleanSess);
    assert.equal(SSL_session_reused(again.clientssl), 1);
    await shutdownSslConnection(again.serverssl, again.clientssl);
    SSL_SESSION_free(cleanSess);
    SSL_SESSION_free(dirtySess);
  });

  test('SSL_clear keeps a cleanly closed session, and the same SSL object resumes it', async () => {
    const { sctx, cctx } = await pairOfCtx(TLS1_2_VERSION);
    const first = await connection(sctx, cctx);
    const sess = SSL_get1_session(first.clientssl)!;
    await SSL_shutdown(first.clientssl);
    assert.equal(SSL_clear(first.clientssl), 1);
    assert.ok(sameSession(SSL_get_session(first.clientssl), sess));
    SSL_free(first.serverssl);
    const serverssl = newSsl(sctx);
    assert.ok(await createSslConnection(io.l, serverssl, first.clientssl));
    assert.equal(SSL_session_reused(first.clientssl), 1);
    // Cleared without a shutdown: the session is dropped and removed.
    assert.equal(SSL_clear(first.clientssl), 1);
    assert.equal(SSL_get_session(first.clientssl), null);
    assert.equal(SSL_SESSION_is_resumable(sess), 0);
    SSL_free(serverssl);
    SSL_free(first.clientssl);
    SSL_SESSION_free(sess);
  });
});

describe('statistics', () => {
  test('client and server counters; an expired session counts a timeout and leaves the server cache', async () => {
    const { sctx, cctx } = await pairOfCtx(TLS1_2_VERSION, { noTicket: true });
    const first = await connection(sctx, cctx);
    const sess = SSL_get1_session(first.clientssl)!;
    const serverSess = SSL_get1_session(first.serverssl)!;
    await shutdownSslConnection(first.serverssl, first.clientssl);
    assert.equal(serverSess.owner, sctx);

    const second = await connection(sctx, cctx, sess);
    assert.equal(SSL_session_reused(second.serverssl), 1);
    await shutdownSslConnection(second.serverssl, second.clientssl);

    // Expire the server's copy.
    SSL_SESSION_set_time(serverSess, Math.floor(Date.now() / 1000) - 100);
    SSL_SESSION_set_timeout(serverSess, 10);
    const third = await connection(sctx, cctx, sess);
    assert.equal(SSL_session_reused(third.serverssl), 0);
    assert.equal(serverSess.owner, null, 'removed when found expired');
    await shutdownSslConnection(third.serverssl, third.clientssl);

    assert.deepEqual(
      [SSL_CTX_sess_connect(cctx), SSL_CTX_sess_connect_good(cctx), SSL_CTX_sess_hits(cctx), SSL_CTX_sess_misses(cctx)],
      [3, 3, 1, 1],
    );
    assert.deepEqual(
      [
        SSL_CTX_sess_accept(sctx),
        SSL_CTX_sess_accept_good(sctx),
        SSL_CTX_sess_hits(sctx),
        SSL_CTX_sess_misses(sctx),
        SSL_CTX_sess_timeouts(sctx),
      ],
      [3, 3, 1, 0, 1],
    );
    SSL_SESSION_free(sess);
    SSL_SESSION_free(serverSess);
  });

  test('server get-session callback: cb_hits, and an internal miss first', async () => {
    const { sctx, cctx } = await pairOfCtx(TLS1_2_VERSION, { noTicket: true });
    SSL_CTX_set_session_cache_mode(sctx, SSL_SESS_CACHE_SERVER | 0x200 /* NO_INTERNAL_STORE */);
    let external: SSL_SESSION | null = null;
    SSL_CTX_sess_set_new_cb(sctx, (_ssl, s) => {
      external = s;
      return 1;
    });
    const ids: string[] = [];
    SSL_CTX_sess_set_get_cb(sctx, (_ssl, id, copy) => {
      ids.push(id.toString('hex'));
      copy.copy = 1;
      return external;
    });
    const first = await connection(sctx, cctx);
    const sess = SSL_get1_session(first.clientssl)!;
    await shutdownSslConnection(first.serverssl, first.clientssl);
    assert.equal(SSL_CTX_sess_number(sctx), 0);
    const second = await connection(sctx, cctx, sess);
    assert.equal(SSL_session_reused(second.clientssl), 1);
    assert.equal(ids.length, 1);
    assert.equal(ids[0], SSL_SESSION_get_id(sess).toString('hex'));
    assert.deepEqual([SSL_CTX_sess_misses(sctx), SSL_CTX_sess_cb_hits(sctx), SSL_CTX_sess_hits(sctx)], [1, 1, 1]);
    await shutdownSslConnection(second.serverssl, second.clientssl);
    SSL_SESSION_free(sess);
    SSL_SESSION_free(external);
  });
});

describe('session id contexts', () => {
  test('a server resumes only sessions of its own context (a silent miss otherwise)', async () => {
    const { sctx, cctx } = await pairOfCtx(TLS1_2_VERSION, { noTicket: true });
    assert.equal(SSL_CTX_set_session_id_context(sctx, 'app-a'), 1);
    const first = await connection(sctx, cctx);
    const sess = SSL_get1_session(first.clientssl)!;
    await shutdownSslConnection(first.serverssl, first.clientssl);
    assert.equal(SSL_CTX_set_session_id_context(sctx, 'app-b'), 1);
    const second = await connection(sctx, cctx, sess);
    assert.equal(SSL_session_reused(second.clientssl), 0);
    assert.deepEqual(drainErrors(), []);
    await shutdownSslConnection(second.serverssl, second.clientssl);
    SSL_SESSION_free(sess);
  });

  test('a client offered a session of another context that the server resumes: SSL_R_ATTEMPT_TO_REUSE_SESSION_IN_DIFFERENT_CONTEXT', async () => {
    const { sctx, cctx } = await pairOfCtx(TLS1_2_VERSION);
    const first = await connection(sctx, cctx);
    const sess = SSL_get1_session(first.clientssl)!;
    await shutdownSslConnection(first.serverssl, first.clientssl);
    const foreign = SSL_SESSION_dup(sess)!;
    assert.equal(SSL_SESSION_set1_id_context(foreign, Buffer.from('elsewhere')), 1);
    drainErrors();
    const serverssl = newSsl(sctx);
    const clientssl = newSsl(cctx);
    SSL_set_session(clientssl, foreign);
    assert.equal(await createSslConnection(io.l, serverssl, clientssl), false);
    const errors = drainErrors();
    assert.ok(
      errors.includes('error:0A000110:SSL routines::attempt to reuse session in different context'),
      errors.join('; '),
    );
    assert.equal(SSL_get_error(clientssl, -1), SSL_ERROR_SSL);
    SSL_free(serverssl);
    SSL_free(clientssl);
    SSL_SESSION_free(foreign);
    SSL_SESSION_free(sess);
  });

  test('client certificates without a session id context: OpenSSL refuses to resume (SSL_R_SESSION_ID_CONTEXT_UNINITIALIZED); Node 22.23 and 24.22 drop the session instead (a full handshake)', async () => {
    const pki = await sharedPki();
    const sctx = await serverCtx({ ca: pki.ca.cert });
    const cctx = await clientCtx({ cert: pki.client.cert, key: pki.client.key, maxProtoVersion: TLS1_2_VERSION });
    contexts.push(sctx, cctx);
    SSL_CTX_set_verify(sctx, SSL_VERIFY_PEER | SSL_VERIFY_FAIL_IF_NO_PEER_CERT);
    SSL_CTX_set_options(sctx, SSL_OP_NO_TICKET);
    let stored = 0;
    SSL_CTX_sess_set_new_cb(sctx, () => {
      stored++;
      return 0;
    });
    const first = await connection(sctx, cctx);
    assert.equal(stored, 0, 'not cached: it could be resumed out of context');
    const sess = SSL_get1_session(first.clientssl)!;
    const serverSess = SSL_get1_session(first.serverssl)!;
    await shutdownSslConnection(first.serverssl, first.clientssl);
    // Cache it by hand: the lookup finds it and OpenSSL aborts.
    assert.equal(SSL_CTX_add_session(sctx, serverSess), 1);
    drainErrors();
    const serverssl = newSsl(sctx);
    const clientssl = newSsl(cctx);
    SSL_set_session(clientssl, sess);
    if (await nodeDerivesServerSessionIdContext({ cert: pki.server.cert, key: pki.server.key })) {
      assert.equal(await createSslConnection(io.l, serverssl, clientssl), true, drainErrors().join('; '));
      assert.equal(SSL_session_reused(clientssl), 0);
      await shutdownSslConnection(serverssl, clientssl);
    } else {
      assert.equal(await createSslConnection(io.l, serverssl, clientssl), false);
      const errors = drainErrors();
      assert.ok(errors.includes('error:0A000115:SSL routines::session id context uninitialized'), errors.join('; '));
      SSL_free(serverssl);
      SSL_free(clientssl);
    }
    assert.equal(SSL_CTX_sess_hits(sctx), 0);
    assert.equal(serverSess.owner, sctx, "the cached session was never the connection's: it stays");

    // With a session id context, the same setup resumes.
    assert.equal(SSL_CTX_set_session_id_context(sctx, 'with-client-certs'), 1);
    const a = await connection(sctx, cctx);
    assert.equal(stored, 1);
    const s2 = SSL_get1_session(a.clientssl)!;
    await shutdownSslConnection(a.serverssl, a.clientssl);
    const b = await connection(sctx, cctx, s2);
    assert.equal(SSL_session_reused(b.clientssl), 1);
    await shutdownSslConnection(b.serverssl, b.clientssl);
    for (const s of [sess, serverSess, s2]) SSL_SESSION_free(s);
  });
});

describe('failures', () => {
  test('nothing listening: -1, SSL_ERROR_SYSCALL, a system error on the queue', async () => {
    drainErrors();
    const cctx = await clientCtx();
    contexts.push(cctx);
    const closed = await listener();
    const port = closed.port;
    await closed.close();
    const ssl = newSsl(cctx);
    assert.equal(await SSL_connect(ssl, { port }), -1);
    assert.equal(SSL_get_error(ssl, -1), SSL_ERROR_SYSCALL);
    assert.equal(ERR_error_string(ERR_get_error()), 'error:8000006F:system library::Connection refused');
    await assert.rejects(SSL_connect(ssl, { port }), usage('ERR_OPENSSL_BAD_STATE'));
    SSL_free(ssl);
    await assert.rejects(SSL_connect(ssl, { port }), usage('ERR_OPENSSL_USE_AFTER_FREE'));
  });

  test('a server certificate from an unknown CA: -1, SSL_ERROR_SSL, certificate verify failed', async () => {
    drainErrors();
    const other = await makePki();
    after(() => other.cleanup());
    const sctx = await serverCtx();
    const cctx = await clientCtx({ ca: other.ca.cert });
    contexts.push(sctx, cctx);
    const serverssl = newSsl(sctx);
    const clientssl = newSsl(cctx);
    assert.equal(await createSslConnection(io.l, serverssl, clientssl), false);
    assert.equal(SSL_get_error(clientssl, -1), SSL_ERROR_SSL);
    const errors = drainErrors();
    assert.ok(
      errors.some((e) => e.startsWith('error:0A000086:SSL routines::certificate verify failed')),
      errors.join('; '),
    );
    SSL_free(serverssl);
    SSL_free(clientssl);
  });

  test('an exception thrown by the new-session callback rejects SSL_connect', async () => {
    const { sctx, cctx } = await pairOfCtx(TLS1_2_VERSION);
    SSL_CTX_sess_set_new_cb(cctx, () => {
      throw new Error('callback bug');
    });
    const serverssl = newSsl(sctx);
    const clientssl = newSsl(cctx);
    const accepting = io.l.accept(5000).then((sock) => {
      SSL_set_fd(serverssl, sock);
      return SSL_accept(serverssl);
    });
    await assert.rejects(SSL_connect(clientssl, { port: io.l.port, servername: 'localhost' }), /callback bug/);
    await accepting;
    SSL_free(serverssl);
    SSL_free(clientssl);
    drainErrors();
  });
});

describe('interop with the openssl command line', () => {
  let dir: Awaited<ReturnType<typeof tmpDir>>;
  before(async () => {
    dir = await tmpDir('openssl-interop-');
  });
  after(() => dir.cleanup());

  /** Serves `count` connections on `sctx`, each shut down cleanly after the client's request. */
  async function serve(sctx: SSL_CTX, count: number): Promise<void> {
    for (let i = 0; i < count; i++) {
      const ssl = newSsl(sctx);
      SSL_set_fd(ssl, await io.l.accept(10_000));
      assert.equal(await SSL_accept(ssl), 1, drainErrors().join('; '));
      await SSL_read(ssl, Buffer.alloc(1024));
      await SSL_write(ssl, 'HTTP/1.0 200 OK\r\n\r\nok\n');
      await SSL_shutdown(ssl, { timeoutMs: 2000 });
      SSL_free(ssl);
    }
  }

  for (const tls of ['1.2', '1.3'] as const) {
    test(`s_client -sess_out / -sess_in resumes on the SSL_accept server (TLS ${tls}, SSL_OP_NO_TICKET: session id / stateful ticket)`, async () => {
      const sctx = await serverCtx();
      contexts.push(sctx);
      SSL_CTX_set_options(sctx, SSL_OP_NO_TICKET);
      let added = 0;
      SSL_CTX_sess_set_new_cb(sctx, () => {
        added++;
        return 0;
      });
      const file = join(dir.path, `sess-${tls}.pem`);
      const serving = serve(sctx, 2);
      const a = await sClient({ port: io.l.port, tls, servername: 'localhost', sessOut: file });
      const b = await sClient({ port: io.l.port, tls, servername: 'localhost', sessIn: file });
      await serving;
      assert.equal(a.reused, false);
      assert.equal(b.reused, true, b.stdout);
      assert.equal(added, tls === '1.3' ? 3 : 1, 'TLS 1.3: 2 tickets, then 1 after the stateful resumption');
      assert.equal(SSL_CTX_sess_hits(sctx), 1);
    });
  }

  test('the client side resumes on openssl s_server -no_ticket (TLS 1.2 session id)', async () => {
    const pki = await sharedPki();
    const server: SServer = await startSServer({ cert: pki.server, noTicket: true, tls: '1.2' });
    try {
      const cctx = await clientCtx({ maxProtoVersion: TLS1_2_VERSION });
      contexts.push(cctx);
      const a = newSsl(cctx);
      assert.ok(await connectToSServer(a, server.port));
      const sess = SSL_get1_session(a)!;
      assert.equal(SSL_SESSION_get_id(sess).length, 32);
      const b = newSsl(cctx);
      SSL_set_session(b, sess);
      assert.ok(await connectToSServer(b, server.port));
      assert.equal(SSL_session_reused(b), 1);
      SSL_free(a);
      SSL_free(b);
      SSL_SESSION_free(sess);
    } finally {
      await server.stop();
    }
  });
});

describe('SSL_free when the program freed its session once too often', () => {
  test("SSL_free throws ERR_OPENSSL_DOUBLE_FREE naming SSL_free, after closing the socket and dropping its context reference, as libssl's SSL_free does before freeing the session", async () => {
    const sctx = await serverCtx();
    const cctx = await clientCtx();
    contexts.push(sctx);
    const { serverssl, clientssl } = await connection(sctx, cctx);
    const socket = SSL_get_socket(clientssl)!;
    const g = SSL_get1_session(clientssl)!;
    SSL_SESSION_free(g);
    SSL_SESSION_free(g); // the connection's own reference (undefined behaviour in C)
    assert.throws(
      () => SSL_free(clientssl),
      (e) => usage('ERR_OPENSSL_DOUBLE_FREE')(e) && /^SSL_free: /.test((e as Error).message),
    );
    assert.equal(socket.destroyed, true, 'the socket is closed');
    assert.throws(() => SSL_free(clientssl), usage('ERR_OPENSSL_DOUBLE_FREE'), 'the SSL is freed');
    SSL_CTX_free(cctx);
    assert.throws(
      () => SSL_CTX_sess_number(cctx),
      usage('ERR_OPENSSL_USE_AFTER_FREE'),
      'the connection no longer holds the context',
    );
    SSL_free(serverssl);
  });
});

describe('SSL_set_session while SSL_connect is pending', () => {
  test('throws ERR_OPENSSL_BAD_STATE, as SSL_set_fd does; the handshake resumes the session set before it and SSL_get_session is that session', async () => {
    const { sctx, cctx } = await pairOfCtx(TLS1_2_VERSION, { noTicket: true });
    const first = await connection(sctx, cctx);
    const sess = SSL_get1_session(first.clientssl)!;
    await shutdownSslConnection(first.serverssl, first.clientssl);
    const serverssl = newSsl(sctx);
    const clientssl = newSsl(cctx);
    assert.equal(SSL_set_session(clientssl, sess), 1);
    const accepting = io.l.accept(5000).then((sock) => {
      SSL_set_fd(serverssl, sock);
      return SSL_accept(serverssl);
    });
    const connecting = SSL_connect(clientssl, { port: io.l.port, servername: 'localhost' });
    const late = SSL_SESSION_new();
    assert.throws(() => SSL_set_session(clientssl, late), usage('ERR_OPENSSL_BAD_STATE'));
    assert.deepEqual(await Promise.all([connecting, accepting]), [1, 1]);
    assert.equal(SSL_session_reused(clientssl), 1);
    assert.ok(sameSession(SSL_get_session(clientssl), sess));
    assert.equal(late.references, 1, 'the refused session was not taken');
    for (const s of [late, sess]) SSL_SESSION_free(s);
    await shutdownSslConnection(serverssl, clientssl);
  });
});

describe('SSL_SESSION_up_ref on a borrowed pointer', () => {
  test("the promoted pointer is the session's owning object: SSL_get1_session returns the same object (C compares pointers with ==)", async () => {
    const { sctx, cctx } = await pairOfCtx(TLS1_2_VERSION);
    const { serverssl, clientssl } = await connection(sctx, cctx);
    const promoted = SSL_get0_session(clientssl)!;
    assert.equal(SSL_SESSION_up_ref(promoted), 1);
    assert.equal(promoted.borrowed, false);
    const owned = SSL_get1_session(clientssl)!;
    assert.equal(owned, promoted);
    assert.equal(promoted.references, 4, 'the connection, the client cache, up_ref, get1');
    await shutdownSslConnection(serverssl, clientssl);
    SSL_SESSION_free(owned);
    SSL_SESSION_free(promoted);
  });

  test('when an owning object was handed out before (the new-session callback), the promoted pointer is another object of the same session: compare with sameSession', async () => {
    const { sctx, cctx } = await pairOfCtx(TLS1_2_VERSION);
    let fromCallback: SSL_SESSION | undefined;
    SSL_CTX_sess_set_new_cb(cctx, (_ssl, sess) => {
      fromCallback = sess;
      return 1;
    });
    const { serverssl, clientssl } = await connection(sctx, cctx);
    const promoted = SSL_get0_session(clientssl)!;
    assert.equal(SSL_SESSION_up_ref(promoted), 1);
    assert.equal(SSL_get1_session(clientssl), fromCallback);
    assert.notEqual(promoted, fromCallback);
    assert.ok(sameSession(promoted, fromCallback!));
    await shutdownSslConnection(serverssl, clientssl);
    for (const s of [promoted, fromCallback!, fromCallback!]) SSL_SESSION_free(s);
  });
});
