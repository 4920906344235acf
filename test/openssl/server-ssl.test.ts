// A server SSL object used again (SSL_clear) or given a session (SSL_set_session), against what
// libssl does: a full handshake makes a new session (ssl_get_new_session), replacing whatever the
// SSL held, so that SSL_get_session(server) is always the session of the last handshake.
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import {
  type SSL,
  SSL_clear,
  type SSL_CTX,
  SSL_CTX_sess_hits,
  SSL_CTX_set_session_id_context,
  SSL_CTX_add_session,
  SSL_SESSION_set1_id,
  SSL_SESSION_set_time,
  SSL_CTX_sess_number,
  SSL_CTX_flush_sessions,
  SSL_SESSION_get_timeout,
  SSL_SESSION_set_timeout,
  SSL_get1_session,
  SSL_OP_NO_TICKET,
  SSL_CTX_set_options,
  SSL_free,
  SSL_get_session,
  SSL_read,
  type SSL_SESSION,
  SSL_SESSION_free,
  SSL_SESSION_get_master_key,
  SSL_SESSION_new,
  SSL_session_reused,
  SSL_set_session,
  SSL_shutdown,
  SSL_write,
  TLS1_2_VERSION,
  TLS1_3_VERSION,
} from '../../src/openssl/index.js';
import { clientCtx, drainErrors, fileFixture, handshakeBoth, newSsl, serverCtx } from './harness.js';

const io = fileFixture();
const { contexts } = io;

/** One handshake of `serverssl` with a fresh client SSL; one byte each way; both shut down cleanly. Returns the client. */
async function handshake(serverssl: SSL, cctx: SSL_CTX): Promise<SSL> {
  const clientssl = newSsl(cctx);
  const ret = await handshakeBoth(io.l, serverssl, clientssl);
  assert.deepEqual(ret, [1, 1], drainErrors().join('; '));
  assert.equal(await SSL_write(serverssl, 'x'), 1);
  assert.equal(await SSL_read(clientssl, Buffer.alloc(1)), 1);
  await Promise.all([SSL_shutdown(clientssl, { timeoutMs: 2000 }), SSL_shutdown(serverssl, { timeoutMs: 2000 })]);
  return clientssl;
}

/** The master key of the session an SSL holds. */
function masterKey(ssl: SSL): Buffer {
  return SSL_SESSION_get_master_key(SSL_get_session(ssl)!);
}

for (const version of [TLS1_2_VERSION, TLS1_3_VERSION]) {
  const name = version === TLS1_3_VERSION ? 'TLSv1.3' : 'TLSv1.2';
  describe(`a server SSL used again, ${name} with tickets`, () => {
    test("SSL_clear after a clean shutdown, then SSL_accept: SSL_get_session(server) is the new handshake's session, with the client's master key (libssl)", async () => {
      const sctx = await serverCtx({ maxProtoVersion: version, minProtoVersion: version });
      const cctx = await clientCtx({ maxProtoVersion: version, minProtoVersion: version });
      contexts.push(sctx, cctx);
      const serverssl = newSsl(sctx);
      const first = await handshake(serverssl, cctx);
      assert.deepEqual(masterKey(serverssl), masterKey(first));
      const firstKey = masterKey(serverssl);
      assert.equal(SSL_clear(serverssl), 1);
      const second = await handshake(serverssl, cctx);
      assert.equal(SSL_session_reused(second), 0);
      assert.notDeepEqual(masterKey(serverssl), firstKey, "not the previous client's secret");
      assert.deepEqual(masterKey(serverssl), masterKey(second));
      for (const s of [serverssl, first, second]) SSL_free(s);
    });

    test("SSL_set_session on a server SSL, then SSL_accept: the handshake's own session replaces it (libssl)", async () => {
      const sctx = await serverCtx({ maxProtoVersion: version, minProtoVersion: version });
      const cctx = await clientCtx({ maxProtoVersion: version, minProtoVersion: version });
      contexts.push(sctx, cctx);
      const serverssl = newSsl(sctx);
      const empty: SSL_SESSION = SSL_SESSION_new();
      assert.equal(SSL_set_session(serverssl, empty), 1);
      const client = await handshake(serverssl, cctx);
      assert.ok(SSL_get_session(serverssl));
      assert.equal(SSL_SESSION_get_master_key(SSL_get_session(serverssl)!).length > 0, true);
      assert.deepEqual(masterKey(serverssl), masterKey(client));
      assert.equal(empty.references, 1, 'the SSL let go of its reference');
      SSL_SESSION_free(empty);
      SSL_free(serverssl);
      SSL_free(client);
    });
  });
}

/** The literal 9223372036854775807 (LONG_MAX) of a C program reads as 2^63 in JavaScript; the facade takes it as LONG_MAX. */
const LONG_MAX_NUMBER = 2 ** 63;

describe('large times (C long), as sslapitest session_cache_overflow sets them', () => {
  test('SSL_SESSION_set_timeout(s, LONG_MAX) returns 1: the cached server session survives a flush far in the future and resumes (libssl 3.0)', async () => {
    const sctx = await serverCtx({ maxProtoVersion: TLS1_2_VERSION });
    SSL_CTX_set_options(sctx, SSL_OP_NO_TICKET);
    const cctx = await clientCtx({ maxProtoVersion: TLS1_2_VERSION });
    contexts.push(sctx, cctx);
    const serverssl = newSsl(sctx);
    const client = await handshake(serverssl, cctx);
    const serverSess = SSL_get1_session(serverssl)!;
    drainErrors();
    assert.equal(SSL_SESSION_set_timeout(serverSess, LONG_MAX_NUMBER), 1);
    assert.equal(SSL_SESSION_set_timeout(serverSess, 2n ** 63n - 1n), 1);
    assert.deepEqual(drainErrors(), []);
    assert.ok(SSL_SESSION_get_timeout(serverSess) >= Number.MAX_SAFE_INTEGER);
    assert.equal(SSL_SESSION_set_timeout(serverSess, -1), 0, 'negative: 0, as libssl');
    assert.deepEqual(drainErrors(), []);
    const tenYears = Math.floor(Date.now() / 1000) + 10 * 365 * 86400;
    SSL_CTX_flush_sessions(sctx, tenYears);
    assert.equal(SSL_CTX_sess_number(sctx), 1, 'never expires');
    const sess = SSL_get1_session(client)!;
    const again = newSsl(sctx);
    const clientssl = newSsl(cctx);
    assert.equal(SSL_set_session(clientssl, sess), 1);
    const ret = await handshakeBoth(io.l, again, clientssl);
    assert.deepEqual(ret, [1, 1]);
    assert.equal(SSL_session_reused(clientssl), 1);
    for (const s of [serverSess, sess]) SSL_SESSION_free(s);
    for (const s of [serverssl, client, again, clientssl]) SSL_free(s);
  });

  test('SSL_SESSION_set_time(s, LONG_MAX) returns it; such a session is never flushed (libssl 3.0: the expiry overflows and never comes)', async () => {
    const ctx = await serverCtx();
    contexts.push(ctx);
    const s = SSL_SESSION_new();
    assert.equal(SSL_SESSION_set1_id(s, Buffer.from('b')), 1);
    assert.equal(SSL_SESSION_set_time(s, LONG_MAX_NUMBER), LONG_MAX_NUMBER);
    assert.equal(SSL_SESSION_set_time(s, 2n ** 63n - 1n), LONG_MAX_NUMBER);
    assert.deepEqual(drainErrors(), []);
    assert.equal(SSL_CTX_add_session(ctx, s), 1);
    SSL_CTX_flush_sessions(ctx, Number.MAX_SAFE_INTEGER);
    assert.equal(SSL_CTX_sess_number(ctx), 1);
    assert.equal(SSL_SESSION_set_time(s, -5), -5, 'any long, as libssl');
    SSL_SESSION_free(s);
  });
});

describe('a server with a session id context', () => {
  for (const version of [TLS1_2_VERSION, TLS1_3_VERSION]) {
    const name = version === TLS1_3_VERSION ? 'TLSv1.3 stateful tickets' : 'TLSv1.2 session ids';
    test(`${name}: its cached sessions resume (the lookup compares with the context Node really gives the connection)`, async () => {
      const sctx = await serverCtx({ minProtoVersion: version, maxProtoVersion: version });
      SSL_CTX_set_options(sctx, SSL_OP_NO_TICKET);
      assert.equal(SSL_CTX_set_session_id_context(sctx, 'app-1'), 1);
      const cctx = await clientCtx({ minProtoVersion: version, maxProtoVersion: version });
      contexts.push(sctx, cctx);
      const serverssl = newSsl(sctx);
      const first = await handshake(serverssl, cctx);
      const sess = SSL_get1_session(first)!;
      const again = newSsl(sctx);
      const clientssl = newSsl(cctx);
      assert.equal(SSL_set_session(clientssl, sess), 1);
      const ret = await handshakeBoth(io.l, again, clientssl);
      assert.deepEqual(ret, [1, 1], drainErrors().join('; '));
      assert.equal(SSL_session_reused(clientssl), 1);
      assert.equal(SSL_CTX_sess_hits(sctx), 1);
      SSL_SESSION_free(sess);
      for (const s of [serverssl, first, again, clientssl]) SSL_free(s);
    });
  }
});
