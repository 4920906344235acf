// Which server a session set with SSL_set_session is offered to (src/openssl/offer.ts). libssl
// offers any session it is given ("It does not check the session id context", SSL_set_session(3));
// on a connection that verifies the server the facade offers only a session that vouches for it.
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import {
  d2i_SSL_SESSION,
  i2d_SSL_SESSION,
  type SSL,
  type SSL_CTX,
  SSL_CTX_sess_hits,
  SSL_CTX_sess_misses,
  SSL_CTX_set_options,
  SSL_CTX_set_verify,
  SSL_free,
  SSL_get1_session,
  SSL_OP_NO_TICKET,
  SSL_read,
  type SSL_SESSION,
  SSL_SESSION_free,
  SSL_SESSION_get_id,
  SSL_session_reused,
  SSL_set_session,
  SSL_set_tlsext_host_name,
  SSL_shutdown,
  SSL_VERIFY_NONE,
  SSL_write,
  sameSession,
  TLS1_2_VERSION,
} from '../../src/openssl/index.js';
import { sharedPki } from '../helpers/index.js';
import { clientCtx, drainErrors, fileFixture, handshakeBoth, newSsl, serverCtx } from './harness.js';

const io = fileFixture();
const { contexts } = io;

/** A TLS 1.2 server context for `names` (session ids, no tickets: every offer is a cache lookup). */
async function serverFor(names: string[]): Promise<SSL_CTX> {
  const pki = await sharedPki();
  const cert = await pki.issue({ cn: names[0]!, altNames: names });
  const ctx = await serverCtx({ cert: cert.cert, key: cert.key, maxProtoVersion: TLS1_2_VERSION });
  SSL_CTX_set_options(ctx, SSL_OP_NO_TICKET);
  contexts.push(ctx);
  return ctx;
}

/** One connection to `sctx` under SNI `name`, offering `session` when given; both ends shut down cleanly. */
async function visit(
  sctx: SSL_CTX,
  cctx: SSL_CTX,
  name: string,
  session?: SSL_SESSION,
): Promise<{ reused: number; sess: SSL_SESSION }> {
  const serverssl: SSL = newSsl(sctx);
  const clientssl: SSL = newSsl(cctx);
  SSL_set_tlsext_host_name(clientssl, name);
  if (session !== undefined) assert.equal(SSL_set_session(clientssl, session), 1);
  const [c, s] = await handshakeBoth(io.l, serverssl, clientssl, { servername: undefined });
  assert.deepEqual([c, s], [1, 1], drainErrors().join('; '));
  assert.equal(await SSL_write(serverssl, 'x'), 1);
  assert.equal(await SSL_read(clientssl, Buffer.alloc(1)), 1);
  const reused = SSL_session_reused(clientssl);
  const sess = SSL_get1_session(clientssl)!;
  await Promise.all([SSL_shutdown(clientssl, { timeoutMs: 2000 }), SSL_shutdown(serverssl, { timeoutMs: 2000 })]);
  SSL_free(serverssl);
  SSL_free(clientssl);
  return { reused, sess };
}

describe('SSL_set_session with a session of another server', () => {
  test('verifying: a session of a.test is not offered to b.test (libssl would offer it); the connection gets its own session', async () => {
    const a = await serverFor(['a.test']);
    const b = await serverFor(['b.test']);
    const cctx = await clientCtx({ maxProtoVersion: TLS1_2_VERSION });
    contexts.push(cctx);
    const first = await visit(a, cctx, 'a.test');
    const second = await visit(b, cctx, 'b.test', first.sess);
    assert.equal(second.reused, 0);
    assert.equal(SSL_CTX_sess_misses(b), 0, 'b.test was never asked for a session id');
    assert.equal(SSL_CTX_sess_misses(cctx), 0, 'not offered, so not a client miss');
    assert.ok(!sameSession(second.sess, first.sess));
    // The same session still resumes on the server it came from.
    const third = await visit(a, cctx, 'a.test', first.sess);
    assert.equal(third.reused, 1);
    for (const s of [first.sess, second.sess, third.sess]) SSL_SESSION_free(s);
  });

  test('SSL_VERIFY_NONE: offered to any server, as libssl does (b.test looks its id up)', async () => {
    const a = await serverFor(['a.test']);
    const b = await serverFor(['b.test']);
    const cctx = await clientCtx({ maxProtoVersion: TLS1_2_VERSION });
    SSL_CTX_set_verify(cctx, SSL_VERIFY_NONE);
    contexts.push(cctx);
    const first = await visit(a, cctx, 'a.test');
    const second = await visit(b, cctx, 'b.test', first.sess);
    assert.equal(second.reused, 0);
    assert.equal(SSL_CTX_sess_misses(b), 1, 'b.test looked the offered id up');
    assert.equal(SSL_CTX_sess_misses(cctx), 1, 'offered and not resumed: a client miss');
    for (const s of [first.sess, second.sess]) SSL_SESSION_free(s);
  });

  test('verifying: a session whose verified certificate names the server is offered, even from d2i or under another name', async () => {
    const ab = await serverFor(['a.test', 'b.test']);
    const cctx = await clientCtx({ maxProtoVersion: TLS1_2_VERSION });
    contexts.push(cctx);
    const first = await visit(ab, cctx, 'a.test');
    // Read back from DER: the facade no longer knows whom it was made for; the certificate says.
    const copy = d2i_SSL_SESSION(i2d_SSL_SESSION(first.sess)!)!;
    const again = await visit(ab, cctx, 'a.test', copy);
    assert.equal(again.reused, 1);
    const other = await visit(ab, cctx, 'b.test', again.sess);
    assert.equal(other.reused, 1, 'the certificate of the session names b.test too');
    assert.equal(SSL_CTX_sess_hits(ab), 2);
    assert.deepEqual(SSL_SESSION_get_id(other.sess), SSL_SESSION_get_id(first.sess));
    for (const s of [first.sess, copy, again.sess, other.sess]) SSL_SESSION_free(s);
  });
});
