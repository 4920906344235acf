// The internal session cache of an SSL_CTX (SSL_CTX_add_session(3), SSL_CTX_flush_sessions(3),
// SSL_CTX_sess_set_new_cb(3), SSL_CTX_set_session_cache_mode(3)), without connections.
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import {
  ERR_error_string,
  ERR_get_error,
  OpenSSLUsageError,
  type SSL_CTX,
  SSL_CTX_add_session,
  SSL_CTX_flush_sessions,
  SSL_CTX_free,
  SSL_CTX_get_session_cache_mode,
  SSL_CTX_new,
  SSL_CTX_remove_session,
  SSL_CTX_sess_cache_full,
  SSL_CTX_sess_get_cache_size,
  SSL_CTX_sess_number,
  SSL_CTX_sess_set_cache_size,
  SSL_CTX_sess_set_remove_cb,
  SSL_CTX_set_cipher_list,
  SSL_CTX_set_num_tickets,
  SSL_CTX_get_num_tickets,
  SSL_CTX_set_session_cache_mode,
  SSL_CTX_set_session_id_context,
  SSL_CTX_set_timeout,
  SSL_CTX_get_timeout,
  SSL_CTX_up_ref,
  SSL_free,
  SSL_get_SSL_CTX,
  SSL_new,
  SSL_SESS_CACHE_CLIENT,
  SSL_SESS_CACHE_SERVER,
  SSL_SESS_CACHE_UPDATE_TIME,
  type SSL_SESSION,
  SSL_SESSION_free,
  SSL_SESSION_get_time,
  SSL_SESSION_get_timeout,
  SSL_SESSION_is_resumable,
  SSL_SESSION_new,
  SSL_SESSION_set1_id,
  SSL_SESSION_set_time,
  SSL_SESSION_up_ref,
  SSL_SESSION_set_timeout,
  SSL_set_session,
  TLS_client_method,
} from '../../src/openssl/index.js';
import { drainErrors } from './harness.js';

function ctx(): SSL_CTX {
  const c = SSL_CTX_new(TLS_client_method());
  assert.ok(c);
  return c;
}

/** A session with a session id, a start time and a timeout (expiry = time + timeout). */
function session(idByte: number, time = 1000, timeout = 100): SSL_SESSION {
  const s = SSL_SESSION_new();
  assert.equal(SSL_SESSION_set1_id(s, Buffer.alloc(32, idByte)), 1);
  SSL_SESSION_set_time(s, time);
  SSL_SESSION_set_timeout(s, timeout);
  return s;
}

function usage(code: string): (e: unknown) => boolean {
  return (e) => {
    assert.ok(e instanceof OpenSSLUsageError, String(e));
    assert.equal(e.code, code);
    return true;
  };
}

describe('defaults', () => {
  test("OpenSSL's: server cache mode, 20480 sessions, 7200 s, 2 tickets; setters return the old value", () => {
    const c = ctx();
    assert.equal(SSL_CTX_get_session_cache_mode(c), SSL_SESS_CACHE_SERVER);
    assert.equal(SSL_CTX_set_session_cache_mode(c, SSL_SESS_CACHE_CLIENT), SSL_SESS_CACHE_SERVER);
    assert.equal(SSL_CTX_sess_get_cache_size(c), 20480);
    assert.equal(SSL_CTX_sess_set_cache_size(c, 5), 20480);
    assert.equal(SSL_CTX_get_timeout(c), 7200);
    assert.equal(SSL_CTX_set_timeout(c, 60), 7200);
    assert.equal(SSL_CTX_get_timeout(c), 60);
    assert.equal(SSL_CTX_get_num_tickets(c), 2);
    SSL_CTX_free(c);
  });

  test('SSL_CTX_set_num_tickets: 2 is honoured; other numbers return 0 with ERR_R_UNSUPPORTED (Node always sends 2)', () => {
    drainErrors();
    const c = ctx();
    assert.equal(SSL_CTX_set_num_tickets(c, 2), 1);
    assert.equal(SSL_CTX_set_num_tickets(c, 0), 0);
    assert.equal(ERR_error_string(ERR_get_error()), 'error:0A08010C:SSL routines::unsupported');
    assert.equal(SSL_CTX_get_num_tickets(c), 2);
    SSL_CTX_free(c);
  });

  test('settings Node refuses return 0 with the OpenSSL reason', () => {
    drainErrors();
    const c = ctx();
    assert.equal(SSL_CTX_set_session_id_context(c, Buffer.alloc(33)), 0);
    assert.equal(ERR_error_string(ERR_get_error()), 'error:0A000111:SSL routines::ssl session id context too long');
    assert.equal(SSL_CTX_set_session_id_context(c, 'app-1'), 1);
    assert.equal(SSL_CTX_set_cipher_list(c, 'NO-SUCH-CIPHER'), 0);
    assert.equal(ERR_error_string(ERR_get_error()), 'error:0A0000B9:SSL routines::no cipher match');
    assert.equal(SSL_CTX_set_cipher_list(c, 'ECDHE-ECDSA-AES128-GCM-SHA256'), 1);
    SSL_CTX_free(c);
  });
});

describe('add and remove', () => {
  test('the cache holds its own reference; adding twice returns 0; removing marks the session non-resumable', () => {
    const c = ctx();
    const s = session(1);
    assert.equal(SSL_CTX_add_session(c, s), 1);
    assert.equal(s.references, 2);
    assert.equal(SSL_CTX_sess_number(c), 1);
    assert.equal(s.owner, c);
    assert.equal(SSL_CTX_add_session(c, s), 0, 'already in the cache');
    assert.throws(() => SSL_SESSION_set1_id(s, Buffer.alloc(32, 9)), usage('ERR_OPENSSL_BAD_STATE'));
    assert.equal(s.references, 2);
    assert.equal(SSL_CTX_remove_session(c, s), 1);
    assert.equal(SSL_CTX_remove_session(c, s), 0);
    assert.equal(s.references, 1);
    assert.equal(s.owner, null);
    assert.equal(SSL_SESSION_is_resumable(s), 0);
    SSL_SESSION_free(s);
    SSL_CTX_free(c);
  });

  test('the remove callback runs for any session with an id, and gets a pointer valid only during the call', () => {
    const c = ctx();
    const seen: SSL_SESSION[] = [];
    SSL_CTX_sess_set_remove_cb(c, (cbCtx, sess) => {
      assert.equal(cbCtx, c);
      assert.equal(sess.borrowed, true);
      assert.equal(SSL_SESSION_get_timeout(sess), 100);
      seen.push(sess);
    });
    const s = session(2);
    assert.equal(SSL_CTX_remove_session(c, s), 0, 'not cached');
    assert.equal(seen.length, 1, 'called anyway');
    assert.throws(() => SSL_SESSION_get_time(seen[0]!), usage('ERR_OPENSSL_USE_AFTER_FREE'));
    // No session id: nothing to remove, no callback.
    const anonymous = SSL_SESSION_new();
    assert.equal(SSL_CTX_remove_session(c, anonymous), 0);
    assert.equal(seen.length, 1);
    SSL_SESSION_free(anonymous);
    SSL_SESSION_free(s);
    SSL_CTX_free(c);
  });

  test('a remove callback that calls SSL_SESSION_up_ref keeps a valid, owned pointer', () => {
    const c = ctx();
    let kept: SSL_SESSION | undefined;
    SSL_CTX_sess_set_remove_cb(c, (_c, sess) => {
      SSL_SESSION_up_ref(sess);
      kept = sess;
    });
    const s = session(3);
    SSL_CTX_add_session(c, s);
    SSL_SESSION_free(s);
    SSL_CTX_remove_session(c, s);
    assert.ok(kept);
    assert.equal(kept.borrowed, false);
    assert.equal(SSL_SESSION_get_timeout(kept), 100);
    SSL_SESSION_free(kept);
    assert.throws(() => SSL_SESSION_get_timeout(kept!), usage('ERR_OPENSSL_USE_AFTER_FREE'));
    SSL_CTX_free(c);
  });

  test('another session with the same id replaces the cached one', () => {
    const c = ctx();
    const a = session(4);
    const b = session(4);
    SSL_CTX_add_session(c, a);
    assert.equal(SSL_CTX_add_session(c, b), 1);
    assert.equal(SSL_CTX_sess_number(c), 1);
    assert.equal(a.owner, null);
    assert.equal(a.references, 1);
    assert.equal(b.owner, c);
    SSL_SESSION_free(a);
    SSL_SESSION_free(b);
    SSL_CTX_free(c);
  });

  test("freeing the cache's reference is a double free", () => {
    const c = ctx();
    const s = session(5);
    SSL_CTX_add_session(c, s);
    SSL_SESSION_free(s);
    assert.throws(() => SSL_SESSION_free(s), usage('ERR_OPENSSL_DOUBLE_FREE'));
    SSL_CTX_free(c);
  });
});

describe('one context per session', () => {
  test("a session in one context's cache cannot be added to or set on another context", () => {
    drainErrors();
    const a = ctx();
    const b = ctx();
    const s = session(6);
    SSL_CTX_add_session(a, s);
    assert.equal(SSL_CTX_add_session(b, s), 0);
    assert.equal(
      ERR_error_string(ERR_get_error()),
      'error:0A000110:SSL routines::attempt to reuse session in different context',
    );
    const ssl = SSL_new(b);
    assert.equal(SSL_set_session(ssl, s), 0);
    assert.equal(
      ERR_error_string(ERR_get_error()),
      'error:0A000110:SSL routines::attempt to reuse session in different context',
    );
    assert.equal(s.references, 2, 'no reference taken');
    // Its own context is fine; a copy (in no cache) goes anywhere.
    const own = SSL_new(a);
    assert.equal(SSL_set_session(own, s), 1);
    assert.equal(s.references, 3);
    assert.equal(SSL_get_SSL_CTX(own), a);
    SSL_free(own);
    assert.equal(s.references, 2);
    SSL_free(ssl);
    SSL_SESSION_free(s);
    SSL_CTX_free(a);
    SSL_CTX_free(b);
  });
});

describe('expiry order', () => {
  test('a full cache evicts the session that expires soonest and counts cache_full', () => {
    const c = ctx();
    const removed: number[] = [];
    SSL_CTX_sess_set_remove_cb(c, (_c, sess) => removed.push(SSL_SESSION_get_timeout(sess)));
    // OpenSSL 3 evicts while `number >= size`, the new session already counted: size 3 keeps 2.
    SSL_CTX_sess_set_cache_size(c, 3);
    const late = session(7, 1000, 300);
    const soon = session(8, 1000, 100);
    const mid = session(9, 1000, 200);
    SSL_CTX_add_session(c, late);
    SSL_CTX_add_session(c, soon);
    SSL_CTX_add_session(c, mid);
    assert.equal(SSL_CTX_sess_number(c), 2);
    assert.equal(SSL_CTX_sess_cache_full(c), 1);
    assert.deepEqual(removed, [100]);
    assert.equal(soon.owner, null);
    assert.equal(SSL_SESSION_is_resumable(soon), 0);
    // A new timeout moves a cached session: now `late` expires first and goes next.
    SSL_SESSION_set_timeout(late, 10);
    const next = session(10, 1000, 400);
    SSL_CTX_add_session(c, next);
    assert.deepEqual(removed, [100, 10]);
    assert.equal(mid.owner, c);
    for (const s of [late, soon, mid, next]) SSL_SESSION_free(s);
    SSL_CTX_free(c);
  });

  test('like OpenSSL 3, a cache of size 2 keeps one session after an add (the new one is counted before eviction)', () => {
    const c = ctx();
    SSL_CTX_sess_set_cache_size(c, 2);
    const a = session(20, 1000, 300);
    const b = session(21, 1000, 100);
    assert.equal(SSL_CTX_add_session(c, a), 1);
    assert.equal(SSL_CTX_add_session(c, b), 1);
    assert.equal(SSL_CTX_sess_number(c), 1);
    assert.equal(a.owner, null, 'evicted although it expires later: the new session is never a candidate');
    assert.equal(b.owner, c);
    SSL_SESSION_free(a);
    SSL_SESSION_free(b);
    SSL_CTX_free(c);
  });

  test('SSL_CTX_flush_sessions(t) removes what expired before t; 0 removes everything', () => {
    const c = ctx();
    const removed: number[] = [];
    SSL_CTX_sess_set_remove_cb(c, (_c, sess) => removed.push(SSL_SESSION_get_timeout(sess)));
    const sessions = [session(11, 1000, 10), session(12, 1000, 20), session(13, 1000, 30)];
    for (const s of sessions) SSL_CTX_add_session(c, s);
    SSL_CTX_flush_sessions(c, 1020);
    assert.deepEqual(removed, [10], 'expired at 1010; 1020 is not after 1020');
    SSL_CTX_flush_sessions(c, 1021);
    assert.deepEqual(removed, [10, 20]);
    SSL_CTX_flush_sessions(c, 0);
    assert.deepEqual(removed, [10, 20, 30]);
    assert.equal(SSL_CTX_sess_number(c), 0);
    for (const s of sessions) {
      assert.equal(s.references, 1);
      SSL_SESSION_free(s);
    }
    SSL_CTX_free(c);
  });

  test('SSL_SESS_CACHE_UPDATE_TIME: adding sets the start time to now', () => {
    const c = ctx();
    SSL_CTX_set_session_cache_mode(c, SSL_SESS_CACHE_CLIENT | SSL_SESS_CACHE_UPDATE_TIME);
    const s = session(14, 1000, 100);
    SSL_CTX_add_session(c, s);
    assert.ok(Math.abs(SSL_SESSION_get_time(s) - Date.now() / 1000) < 5);
    SSL_SESSION_free(s);
    SSL_CTX_free(c);
  });
});

describe('SSL_CTX life cycle', () => {
  test('the last SSL_CTX_free flushes the cache (remove callback for each) and frees the context', () => {
    const c = ctx();
    let removed = 0;
    SSL_CTX_sess_set_remove_cb(c, () => removed++);
    const a = session(15);
    const b = session(16);
    SSL_CTX_add_session(c, a);
    SSL_CTX_add_session(c, b);
    SSL_CTX_up_ref(c);
    SSL_CTX_free(c);
    assert.equal(removed, 0, 'one reference left');
    SSL_CTX_free(c);
    assert.equal(removed, 2);
    assert.equal(a.references, 1);
    assert.throws(() => SSL_CTX_sess_number(c), usage('ERR_OPENSSL_USE_AFTER_FREE'));
    assert.throws(() => SSL_CTX_free(c), usage('ERR_OPENSSL_DOUBLE_FREE'));
    SSL_SESSION_free(a);
    SSL_SESSION_free(b);
  });

  test('a connection holds a reference on its context', () => {
    const c = ctx();
    const ssl = SSL_new(c);
    SSL_CTX_free(c);
    assert.equal(SSL_CTX_sess_number(c), 0, 'still alive');
    SSL_free(ssl);
    assert.throws(() => SSL_CTX_sess_number(c), usage('ERR_OPENSSL_USE_AFTER_FREE'));
    assert.throws(() => SSL_free(ssl), usage('ERR_OPENSSL_DOUBLE_FREE'));
  });
});
