// SSL_SESSION_new(3) and friends: reference counts, copies, fields, encodings; no connection.
import assert from 'node:assert/strict';
import { readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import {
  d2i_SSL_SESSION,
  ERR_error_string,
  ERR_get_error,
  i2d_SSL_SESSION,
  OpenSSLUsageError,
  PEM_read_SSL_SESSION,
  PEM_write_SSL_SESSION,
  type SSL_SESSION,
  SSL_SESSION_dup,
  SSL_SESSION_free,
  SSL_SESSION_get0_hostname,
  SSL_SESSION_get0_id_context,
  SSL_SESSION_get_id,
  SSL_SESSION_get_master_key,
  SSL_SESSION_get_protocol_version,
  SSL_SESSION_get_time,
  SSL_SESSION_get_timeout,
  SSL_SESSION_has_ticket,
  SSL_SESSION_is_resumable,
  SSL_SESSION_new,
  SSL_SESSION_print,
  SSL_SESSION_set1_id,
  SSL_SESSION_set1_id_context,
  SSL_SESSION_set1_master_key,
  SSL_SESSION_set_time,
  SSL_SESSION_set_timeout,
  SSL_SESSION_up_ref,
  TLS1_2_VERSION,
  TLS1_3_VERSION,
} from '../../src/openssl/index.js';
import { coreOf } from '../../src/openssl/ssl-session.js';
import { runOpenssl, type SServer, sClient, sharedPki, startSServer, tmpDir } from '../helpers/index.js';
import { drainErrors } from './harness.js';

function usage(code: string): (e: unknown) => boolean {
  return (e) => {
    assert.ok(e instanceof OpenSSLUsageError, String(e));
    assert.equal(e.code, code);
    return true;
  };
}

/** Real sessions written by `openssl s_client -sess_out` (PEM), TLS 1.3 and TLS 1.2. */
const pem: Record<'1.3' | '1.2', string> = { '1.3': '', '1.2': '' };
let dir: Awaited<ReturnType<typeof tmpDir>>;
let server: SServer;

before(async () => {
  dir = await tmpDir('openssl-session-');
  server = await startSServer({ cert: (await sharedPki()).server });
  for (const tls of ['1.3', '1.2'] as const) {
    const sessOut = join(dir.path, `s${tls}.pem`);
    const r = await sClient({ port: server.port, tls, sessOut, servername: 'localhost' });
    assert.equal(r.exitCode, 0, r.stderr);
    pem[tls] = await readFile(sessOut, 'utf8');
  }
});
after(async () => {
  await server?.stop();
  await dir?.cleanup();
});

describe('reference counts', () => {
  test('SSL_SESSION_new starts at 1; up_ref returns 1 and counts; free counts down', () => {
    const s = SSL_SESSION_new();
    assert.equal(s.references, 1);
    assert.equal(SSL_SESSION_up_ref(s), 1);
    assert.equal(SSL_SESSION_up_ref(s), 1);
    assert.equal(s.references, 3);
    SSL_SESSION_free(s);
    SSL_SESSION_free(s);
    assert.equal(s.references, 1);
    assert.equal(SSL_SESSION_get_timeout(s), 304);
    SSL_SESSION_free(s);
    assert.equal(s.references, 0);
  });

  test('the last free wipes the master key; the session cannot be used any more', () => {
    const s = PEM_read_SSL_SESSION(pem['1.3'])!;
    const core = coreOf(s, 'test');
    assert.ok(core.tls.masterKey.some((b) => b !== 0));
    SSL_SESSION_free(s);
    assert.ok(
      core.tls.masterKey.every((b) => b === 0),
      'master key wiped',
    );
    assert.throws(() => SSL_SESSION_get_time(s), usage('ERR_OPENSSL_USE_AFTER_FREE'));
    assert.throws(() => i2d_SSL_SESSION(s), usage('ERR_OPENSSL_USE_AFTER_FREE'));
    assert.throws(() => SSL_SESSION_up_ref(s), usage('ERR_OPENSSL_USE_AFTER_FREE'));
  });

  test('a free past zero throws a double-free error', () => {
    const s = SSL_SESSION_new();
    SSL_SESSION_free(s);
    assert.throws(() => SSL_SESSION_free(s), usage('ERR_OPENSSL_DOUBLE_FREE'));
  });

  test('SSL_SESSION_free(null) does nothing; a non-session is a usage error', () => {
    SSL_SESSION_free(null);
    SSL_SESSION_free(undefined);
    assert.throws(() => SSL_SESSION_free({} as SSL_SESSION), usage('ERR_OPENSSL_BAD_HANDLE'));
  });
});

describe('SSL_SESSION_dup', () => {
  test('a deep copy with count 1, in no cache; changing it leaves the original alone', () => {
    const src = PEM_read_SSL_SESSION(pem['1.2'])!;
    SSL_SESSION_up_ref(src);
    const copy = SSL_SESSION_dup(src)!;
    assert.equal(copy.references, 1);
    assert.equal(copy.owner, null);
    assert.notEqual(copy, src);
    assert.deepEqual(i2d_SSL_SESSION(copy), i2d_SSL_SESSION(src));
    assert.equal(SSL_SESSION_set1_id(copy, Buffer.alloc(32, 7)), 1);
    assert.equal(SSL_SESSION_set_timeout(copy, 5), 1);
    assert.notDeepEqual(SSL_SESSION_get_id(src), Buffer.alloc(32, 7));
    assert.notEqual(SSL_SESSION_get_timeout(src), 5);
    // Freeing the copy wipes only the copy's key.
    const key = SSL_SESSION_get_master_key(src);
    SSL_SESSION_free(copy);
    assert.deepEqual(SSL_SESSION_get_master_key(src), key);
    SSL_SESSION_free(src);
    SSL_SESSION_free(src);
  });

  test('keeps the non-resumable mark (SSL_SESSION_dup copies not_resumable)', () => {
    const src = PEM_read_SSL_SESSION(pem['1.3'])!;
    coreOf(src, 'test').tls.notResumable = true;
    const copy = SSL_SESSION_dup(src)!;
    assert.equal(SSL_SESSION_is_resumable(copy), 0);
    SSL_SESSION_free(copy);
    SSL_SESSION_free(src);
  });
});

describe('fields', () => {
  test('SSL_SESSION_new: no id, not resumable, time now, 304 s', () => {
    const s = SSL_SESSION_new();
    assert.equal(SSL_SESSION_is_resumable(s), 0);
    assert.equal(SSL_SESSION_get_id(s).length, 0);
    assert.equal(SSL_SESSION_get_protocol_version(s), 0);
    assert.ok(Math.abs(SSL_SESSION_get_time(s) - Date.now() / 1000) < 5);
    assert.equal(SSL_SESSION_get_timeout(s), 304);
    assert.equal(SSL_SESSION_has_ticket(s), 0);
    // An id makes it resumable.
    assert.equal(SSL_SESSION_set1_id(s, Buffer.alloc(32, 1)), 1);
    assert.equal(SSL_SESSION_is_resumable(s), 1);
    SSL_SESSION_free(s);
  });

  test('ids and id contexts above 32 bytes: 0 with OpenSSL reason on the queue', () => {
    drainErrors();
    const s = SSL_SESSION_new();
    assert.equal(SSL_SESSION_set1_id(s, Buffer.alloc(33)), 0);
    assert.equal(ERR_error_string(ERR_get_error()), 'error:0A000198:SSL routines::ssl session id too long');
    assert.equal(SSL_SESSION_set1_id_context(s, Buffer.alloc(33)), 0);
    assert.equal(ERR_error_string(ERR_get_error()), 'error:0A000111:SSL routines::ssl session id context too long');
    assert.equal(SSL_SESSION_set1_id_context(s, Buffer.from('ctx')), 1);
    assert.deepEqual(SSL_SESSION_get0_id_context(s), Buffer.from('ctx'));
    assert.equal(SSL_SESSION_set1_master_key(s, Buffer.alloc(65)), 0);
    assert.equal(ERR_get_error() !== 0, true);
    assert.equal(SSL_SESSION_set_timeout(s, -1), 0);
    assert.equal(SSL_SESSION_set_time(s, 1234), 1234);
    assert.equal(SSL_SESSION_get_time(s), 1234);
    SSL_SESSION_free(s);
  });

  test('a real TLS 1.3 session: ticket, version; its text never shows the key unless asked', () => {
    const s = PEM_read_SSL_SESSION(pem['1.3'])!;
    assert.equal(SSL_SESSION_get_protocol_version(s), TLS1_3_VERSION);
    assert.equal(SSL_SESSION_has_ticket(s), 1);
    assert.equal(SSL_SESSION_is_resumable(s), 1);
    // s_client records no SNI in a TLS 1.3 session (`sess_id -text` shows none either).
    assert.equal(SSL_SESSION_get0_hostname(s), null);
    const key = SSL_SESSION_get_master_key(s).toString('hex').toUpperCase();
    assert.ok(!SSL_SESSION_print(s).includes(key));
    assert.ok(SSL_SESSION_print(s, { reveal: true }).includes(key));
    SSL_SESSION_free(s);
  });
});

describe('encodings', () => {
  for (const tls of ['1.3', '1.2'] as const) {
    test(`TLS ${tls}: PEM_read / PEM_write / i2d / d2i give back the bytes openssl wrote`, async () => {
      const s = PEM_read_SSL_SESSION(pem[tls])!;
      assert.equal(SSL_SESSION_get_protocol_version(s), tls === '1.3' ? TLS1_3_VERSION : TLS1_2_VERSION);
      assert.equal(PEM_write_SSL_SESSION(s), pem[tls]);
      const der = i2d_SSL_SESSION(s)!;
      const again = d2i_SSL_SESSION(der)!;
      assert.equal(again.references, 1);
      assert.deepEqual(i2d_SSL_SESSION(again), der);
      // d2i copies: wiping the decoded session leaves the caller's bytes alone.
      SSL_SESSION_free(again);
      assert.deepEqual(i2d_SSL_SESSION(s), der);
      // openssl reads what i2d wrote.
      const file = join(dir.path, `i2d-${tls}.der`);
      await writeFile(file, der);
      const r = await runOpenssl(['sess_id', '-inform', 'DER', '-in', file, '-outform', 'PEM']);
      assert.equal(r.code, 0, r.stderr);
      assert.equal(r.stdout.toString('utf8'), pem[tls]);
      SSL_SESSION_free(s);
    });
  }

  /** The first packed code `openssl sess_id` reports for `input`. */
  async function opensslCode(input: Buffer, inform: 'DER' | 'PEM'): Promise<number> {
    const file = join(dir.path, `bad.${inform}`);
    await writeFile(file, input);
    const r = await runOpenssl(['sess_id', '-inform', inform, '-in', file, '-noout']);
    assert.notEqual(r.code, 0);
    const m = /error:([0-9A-F]{8}):/.exec(r.stderr);
    assert.ok(m, r.stderr);
    return Number.parseInt(m[1]!, 16);
  }

  test('truncated DER: null, and the code `openssl sess_id` reports (not enough data)', async () => {
    drainErrors();
    const der = i2d_SSL_SESSION(PEM_read_SSL_SESSION(pem['1.2'])!)!;
    const cut = der.subarray(0, 50);
    assert.equal(d2i_SSL_SESSION(cut), null);
    const ours = ERR_get_error();
    assert.equal(ours, await opensslCode(Buffer.from(cut), 'DER'));
    assert.equal(ERR_error_string(ours), 'error:0680008E:asn1 encoding routines::not enough data');
    drainErrors();
  });

  test('text without a PEM block: null, and the code `openssl sess_id` reports (no start line)', async () => {
    drainErrors();
    assert.equal(PEM_read_SSL_SESSION('not a session\n'), null);
    const ours = ERR_get_error();
    assert.equal(ours, await opensslCode(Buffer.from('not a session\n'), 'PEM'));
    assert.equal(ERR_error_string(ours), 'error:0480006C:PEM routines::no start line');
  });

  test('a session of encoding version 2: null with SSL_R_UNKNOWN_SSL_VERSION', () => {
    drainErrors();
    const der = Buffer.from(i2d_SSL_SESSION(PEM_read_SSL_SESSION(pem['1.2'])!)!);
    // SEQUENCE header (4 bytes for this length), then INTEGER 1 at offset 4: 02 01 01.
    const at = der.indexOf(Buffer.from([0x02, 0x01, 0x01]));
    assert.ok(at > 0 && at < 6);
    der[at + 2] = 2;
    assert.equal(d2i_SSL_SESSION(der), null);
    assert.equal(ERR_error_string(ERR_get_error()), 'error:0A0000FE:SSL routines::unknown ssl version');
  });
});
