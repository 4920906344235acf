// Errors after the handshake, on either end, against what libssl 3.0 does (measured with C
// programs linked with the system libssl over memory BIOs, one case per test, see each title):
// a bad record: SSL_read -1, SSL_ERROR_SSL, nothing in SSL_get_shutdown, the session removed from
// the cache, the next read SSL_ERROR_SYSCALL with nothing queued; a fatal alert received:
// SSL_read 0, SSL_ERROR_SSL, SSL_RECEIVED_SHUTDOWN, the session removed. After either, libssl is
// back in init: SSL_shutdown fails with "shutdown while in init".
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import {
  type SSL,
  SSL_connect,
  type SSL_CTX,
  SSL_CTX_clear_options,
  SSL_CTX_get_options,
  SSL_CTX_sess_number,
  SSL_CTX_set_options,
  SSL_CTX_set_session_cache_mode,
  SSL_ERROR_SSL,
  SSL_ERROR_SYSCALL,
  SSL_ERROR_ZERO_RETURN,
  SSL_free,
  SSL_get0_session,
  SSL_get_error,
  SSL_get_socket,
  SSL_get_shutdown,
  SSL_is_init_finished,
  SSL_OP_IGNORE_UNEXPECTED_EOF,
  SSL_OP_NO_TICKET,
  SSL_RECEIVED_SHUTDOWN,
  SSL_read,
  SSL_SESS_CACHE_CLIENT,
  SSL_SESSION_is_resumable,
  SSL_shutdown,
  SSL_write,
  TLS1_2_VERSION,
  TLS1_3_VERSION,
} from '../../src/openssl/index.js';
import { sharedPki, startSServer } from '../helpers/index.js';
import { clientCtx, drainErrors, fileFixture, handshakeBoth, newSsl, serverCtx } from './harness.js';
import { GARBAGE_RECORD, type TamperProxy, tamperProxy } from './tamper-proxy.js';

let proxy: TamperProxy;
const io = fileFixture({
  afterListen: async (l) => {
    proxy = await tamperProxy(l.port);
  },
  beforeClose: () => proxy.close(),
});
const { contexts } = io;

/** A server on SSL_accept with a session cache (session ids, no tickets), a client through the proxy; one byte each way. */
async function connectedPair(
  version: number,
): Promise<{ sctx: SSL_CTX; cctx: SSL_CTX; serverssl: SSL; clientssl: SSL }> {
  const sctx = await serverCtx({ minProtoVersion: version, maxProtoVersion: version });
  SSL_CTX_set_options(sctx, SSL_OP_NO_TICKET);
  const cctx = await clientCtx({ minProtoVersion: version, maxProtoVersion: version });
  SSL_CTX_set_session_cache_mode(cctx, SSL_SESS_CACHE_CLIENT);
  contexts.push(sctx, cctx);
  const serverssl = newSsl(sctx);
  const clientssl = newSsl(cctx);
  const ret = await handshakeBoth(io.l, serverssl, clientssl, { port: proxy.port });
  assert.deepEqual(ret, [1, 1], drainErrors().join('; '));
  assert.equal(await SSL_write(serverssl, 'x'), 1);
  assert.equal(await SSL_read(clientssl, Buffer.alloc(1)), 1);
  assert.equal(await SSL_write(clientssl, 'y'), 1);
  assert.equal(await SSL_read(serverssl, Buffer.alloc(1)), 1);
  return { sctx, cctx, serverssl, clientssl };
}

const READ_TIMEOUT_MS = 8000;

for (const version of [TLS1_2_VERSION, TLS1_3_VERSION]) {
  const name = version === TLS1_3_VERSION ? 'TLSv1.3' : 'TLSv1.2';
  describe(`after the handshake, ${name}`, () => {
    test('a bad record from the client: SSL_read(server) fails at once with SSL_ERROR_SSL and the session leaves the cache; the next read is SSL_ERROR_SYSCALL (libssl)', async () => {
      const { sctx, serverssl, clientssl } = await connectedPair(version);
      assert.ok(SSL_CTX_sess_number(sctx) >= 1);
      drainErrors();
      proxy.toServer(GARBAGE_RECORD);
      const buf = Buffer.alloc(16);
      assert.equal(await SSL_read(serverssl, buf, { timeoutMs: READ_TIMEOUT_MS }), -1);
      assert.equal(SSL_get_error(serverssl, -1), SSL_ERROR_SSL);
      // libssl 3.0: under TLS 1.2 the AES-GCM provider's error comes first.
      const expected = ['error:0A000119:SSL routines::decryption failed or bad record mac'];
      if (version === TLS1_2_VERSION) expected.unshift('error:1C800066:Provider routines::cipher operation failed');
      assert.deepEqual(drainErrors(), expected);
      assert.equal(SSL_get_shutdown(serverssl), 0);
      assert.equal(SSL_SESSION_is_resumable(SSL_get0_session(serverssl)!), 0);
      assert.equal(SSL_CTX_sess_number(sctx), version === TLS1_3_VERSION ? 1 : 0, "the connection's session is gone");
      assert.equal(await SSL_read(serverssl, buf, { timeoutMs: READ_TIMEOUT_MS }), -1);
      assert.equal(SSL_get_error(serverssl, -1), SSL_ERROR_SYSCALL);
      assert.equal(await SSL_write(serverssl, 'z'), -1);
      assert.equal(SSL_get_error(serverssl, -1), SSL_ERROR_SYSCALL);
      assert.deepEqual(drainErrors(), []);
      assert.equal(SSL_is_init_finished(serverssl), 0, 'libssl is back in init after a fatal error');
      assert.equal(await SSL_shutdown(serverssl), -1);
      assert.deepEqual(drainErrors(), ['error:0A000197:SSL routines::shutdown while in init']);
      SSL_free(serverssl);
      SSL_free(clientssl);
    });

    test('a client that closes TCP without close_notify: libssl fails it (SSL_ERROR_SSL, unexpected eof) unless SSL_OP_IGNORE_UNEXPECTED_EOF, which every Node context has and cannot clear: SSL_read 0, SSL_ERROR_ZERO_RETURN, session kept', async () => {
      const { sctx, serverssl, clientssl } = await connectedPair(version);
      assert.equal(
        SSL_CTX_clear_options(sctx, SSL_OP_IGNORE_UNEXPECTED_EOF) & SSL_OP_IGNORE_UNEXPECTED_EOF,
        SSL_OP_IGNORE_UNEXPECTED_EOF,
      );
      assert.equal(SSL_CTX_get_options(sctx) & SSL_OP_IGNORE_UNEXPECTED_EOF, SSL_OP_IGNORE_UNEXPECTED_EOF);
      drainErrors();
      const cached = SSL_CTX_sess_number(sctx);
      proxy.finToServer();
      // libssl 3.0 with SSL_OP_IGNORE_UNEXPECTED_EOF (measured): 0, SSL_ERROR_ZERO_RETURN, SSL_RECEIVED_SHUTDOWN, still resumable.
      assert.equal(await SSL_read(serverssl, Buffer.alloc(16), { timeoutMs: READ_TIMEOUT_MS }), 0);
      assert.equal(SSL_get_error(serverssl, 0), SSL_ERROR_ZERO_RETURN);
      assert.equal(SSL_get_shutdown(serverssl), SSL_RECEIVED_SHUTDOWN);
      assert.deepEqual(drainErrors(), []);
      assert.equal(SSL_SESSION_is_resumable(SSL_get0_session(serverssl)!), 1);
      assert.equal(SSL_CTX_sess_number(sctx), cached);
      SSL_free(clientssl);
      SSL_free(serverssl);
    });

    test("the client's fatal alert: SSL_read(server) returns 0 with SSL_ERROR_SSL and SSL_RECEIVED_SHUTDOWN, the session leaves the cache (libssl)", async () => {
      const { sctx, serverssl, clientssl } = await connectedPair(version);
      drainErrors();
      // The client reads a record it cannot decrypt and sends bad_record_mac to the server.
      proxy.toClient(GARBAGE_RECORD);
      const buf = Buffer.alloc(16);
      assert.equal(await SSL_read(clientssl, buf, { timeoutMs: READ_TIMEOUT_MS }), -1);
      assert.equal(SSL_get_error(clientssl, -1), SSL_ERROR_SSL);
      drainErrors();
      assert.equal(await SSL_read(serverssl, buf, { timeoutMs: READ_TIMEOUT_MS }), 0);
      assert.equal(SSL_get_error(serverssl, 0), SSL_ERROR_SSL);
      const errors = drainErrors();
      assert.ok(
        errors.some((e) => /SSL routines::sslv3 alert bad record mac/.test(e)),
        errors.join('; '),
      );
      assert.equal(SSL_get_shutdown(serverssl) & SSL_RECEIVED_SHUTDOWN, SSL_RECEIVED_SHUTDOWN);
      assert.equal(SSL_SESSION_is_resumable(SSL_get0_session(serverssl)!), 0);
      assert.equal(SSL_CTX_sess_number(sctx), version === TLS1_3_VERSION ? 1 : 0);
      // libssl 3.0 after a received alert: reads 0, writes -1, both SSL_ERROR_ZERO_RETURN; SSL_shutdown -1.
      assert.equal(await SSL_read(serverssl, buf, { timeoutMs: READ_TIMEOUT_MS }), 0);
      assert.equal(SSL_get_error(serverssl, 0), SSL_ERROR_ZERO_RETURN);
      assert.equal(await SSL_write(serverssl, 'z'), -1);
      assert.equal(SSL_get_error(serverssl, -1), SSL_ERROR_ZERO_RETURN);
      assert.deepEqual(drainErrors(), []);
      assert.equal(await SSL_shutdown(serverssl), -1);
      assert.deepEqual(drainErrors(), ['error:0A000197:SSL routines::shutdown while in init']);
      SSL_free(serverssl);
      SSL_free(clientssl);
    });
  });
}

describe('SSL_read after an error happened while nobody was reading', () => {
  for (const version of [TLS1_2_VERSION, TLS1_3_VERSION]) {
    const name = version === TLS1_3_VERSION ? 'TLSv1.3' : 'TLSv1.2';
    test(`${name}, against openssl s_server: a bad record arrives, the server closes; the next SSL_read reports the error at once (SSL_ERROR_SSL, no SSL_RECEIVED_SHUTDOWN), the session leaves the client cache (libssl)`, async (t) => {
      const pki = await sharedPki();
      const server = await startSServer({ cert: pki.server, tls: version === TLS1_3_VERSION ? '1.3' : '1.2' });
      t.after(() => server.stop());
      const relay = await tamperProxy(server.port);
      t.after(() => relay.close());
      const cctx = await clientCtx({ minProtoVersion: version, maxProtoVersion: version });
      SSL_CTX_set_session_cache_mode(cctx, SSL_SESS_CACHE_CLIENT);
      contexts.push(cctx);
      const clientssl = newSsl(cctx);
      assert.equal(
        await SSL_connect(clientssl, { port: relay.port, servername: 'localhost', timeoutMs: 5000 }),
        1,
        drainErrors().join('; '),
      );
      const socket = SSL_get_socket(clientssl)!;
      const closed = new Promise((resolve) => socket.once('close', resolve));
      drainErrors();
      relay.toClient(GARBAGE_RECORD);
      // The error happens now; the client's alert makes s_server close the connection.
      await closed;
      const sess = SSL_get0_session(clientssl)!;
      assert.equal(await SSL_read(clientssl, Buffer.alloc(16), { timeoutMs: READ_TIMEOUT_MS }), -1);
      assert.equal(SSL_get_error(clientssl, -1), SSL_ERROR_SSL);
      const expected = ['error:0A000119:SSL routines::decryption failed or bad record mac'];
      if (version === TLS1_2_VERSION) expected.unshift('error:1C800066:Provider routines::cipher operation failed');
      assert.deepEqual(drainErrors(), expected, 'the error itself, nothing about a timeout');
      assert.equal(SSL_get_shutdown(clientssl), 0);
      assert.equal(SSL_SESSION_is_resumable(sess), 0);
      assert.equal(SSL_CTX_sess_number(cctx), 0);
      assert.equal(await SSL_read(clientssl, Buffer.alloc(16), { timeoutMs: READ_TIMEOUT_MS }), -1);
      assert.equal(SSL_get_error(clientssl, -1), SSL_ERROR_SYSCALL);
      SSL_free(clientssl);
    });
  }
});

describe('SSL_read that gets nothing', () => {
  test('nothing arrives within its timeout: -1, SSL_ERROR_SYSCALL and ETIMEDOUT queued, no made-up SSL reason; the connection goes on', async () => {
    const { serverssl, clientssl } = await connectedPair(TLS1_2_VERSION);
    drainErrors();
    assert.equal(await SSL_read(serverssl, Buffer.alloc(4), { timeoutMs: 200 }), -1);
    assert.equal(SSL_get_error(serverssl, -1), SSL_ERROR_SYSCALL);
    assert.deepEqual(drainErrors(), ['error:8000006E:system library::Connection timed out']);
    assert.equal(await SSL_write(clientssl, 'z'), 1);
    assert.equal(await SSL_read(serverssl, Buffer.alloc(4)), 1);
    SSL_free(serverssl);
    SSL_free(clientssl);
  });
});
