// The error queue: OpenSSL's packed codes and texts, checked against `openssl errstr`.
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import {
  ERR_clear_error,
  ERR_error_string,
  ERR_GET_LIB,
  ERR_GET_REASON,
  ERR_get_error,
  ERR_get_error_all,
  ERR_LIB_ASN1,
  ERR_LIB_PEM,
  ERR_LIB_PROV,
  ERR_LIB_SSL,
  ERR_LIB_SYS,
  ERR_PACK,
  ERR_peek_error,
  ERR_peek_last_error,
  ERR_print_errors_cb,
  ERR_R_INTERNAL_ERROR,
  ERR_R_PASSED_INVALID_ARGUMENT,
  ERR_R_PASSED_NULL_PARAMETER,
  ERR_R_UNSUPPORTED,
  ERR_reason_error_string,
  SSL_R,
  SSL_R_SESSION_ID_CONTEXT_UNINITIALIZED,
} from '../../src/openssl/index.js';
import { ERR_raise, raiseSystemError } from '../../src/openssl/err.js';
import { PROV_REASON_TABLE } from '../../src/openssl/prov-reasons.js';
import { SSL_REASON_TABLE } from '../../src/openssl/ssl-reasons.js';
import { runOpensslOk } from '../helpers/index.js';

const hex = (code: number) => code.toString(16).toUpperCase().padStart(8, '0');

/** `openssl errstr` for each code, one line each. */
async function errstr(codes: number[]): Promise<string[]> {
  const run = await runOpensslOk(['errstr', ...codes.map(hex)]);
  return run.stdout.toString('utf8').trim().split('\n');
}

describe('error strings', () => {
  test('every SSL reason prints exactly as `openssl errstr` prints it', async () => {
    const codes = SSL_REASON_TABLE.map(([, reason]) => ERR_PACK(ERR_LIB_SSL, reason));
    assert.ok(codes.length > 300);
    assert.deepEqual(codes.map(ERR_error_string), await errstr(codes));
  });

  test('every provider reason prints exactly as `openssl errstr` prints it (Node relays them: "Provider routines::cipher operation failed")', async () => {
    const codes = PROV_REASON_TABLE.map(([, reason]) => ERR_PACK(ERR_LIB_PROV, reason));
    assert.ok(codes.length > 100);
    assert.deepEqual(codes.map(ERR_error_string), await errstr(codes));
    assert.equal(ERR_error_string(0x1c800066), 'error:1C800066:Provider routines::cipher operation failed');
  });

  test('the common, ASN.1, PEM and system codes used here print as `openssl errstr` prints them', async () => {
    const codes = [
      ERR_PACK(ERR_LIB_SSL, ERR_R_PASSED_INVALID_ARGUMENT),
      ERR_PACK(ERR_LIB_SSL, ERR_R_PASSED_NULL_PARAMETER),
      ERR_PACK(ERR_LIB_SSL, ERR_R_INTERNAL_ERROR),
      ERR_PACK(ERR_LIB_SSL, ERR_R_UNSUPPORTED),
      ERR_PACK(ERR_LIB_ASN1, 121),
      ERR_PACK(ERR_LIB_ASN1, 128),
      ERR_PACK(ERR_LIB_ASN1, 142),
      ERR_PACK(ERR_LIB_ASN1, 155),
      ERR_PACK(ERR_LIB_ASN1, 168),
      ERR_PACK(ERR_LIB_PEM, 100),
      ERR_PACK(ERR_LIB_PEM, 108),
      (0x80000000 | 111) >>> 0, // ECONNREFUSED
    ];
    assert.deepEqual(codes.map(ERR_error_string), await errstr(codes));
  });

  test('SSL_R_SESSION_ID_CONTEXT_UNINITIALIZED is 0A000115 "session id context uninitialized"', () => {
    const code = ERR_PACK(ERR_LIB_SSL, SSL_R_SESSION_ID_CONTEXT_UNINITIALIZED);
    assert.equal(ERR_error_string(code), 'error:0A000115:SSL routines::session id context uninitialized');
    assert.equal(ERR_GET_LIB(code), ERR_LIB_SSL);
    assert.equal(ERR_GET_REASON(code), 277);
    assert.equal(ERR_reason_error_string(code), 'session id context uninitialized');
    assert.equal(SSL_R.SESSION_ID_CONTEXT_UNINITIALIZED, 277);
  });

  test('unknown libraries and reasons print as lib(n) and reason(n)', () => {
    assert.equal(ERR_error_string(ERR_PACK(99, 5)), 'error:31800005:lib(99)::reason(5)');
    assert.equal(ERR_error_string(ERR_PACK(ERR_LIB_SSL, 5)), 'error:0A000005:SSL routines::reason(5)');
  });
});

describe('the queue', () => {
  test('oldest first; peek leaves entries; 0 when empty', () => {
    ERR_clear_error();
    assert.equal(ERR_get_error(), 0);
    assert.equal(ERR_peek_error(), 0);
    ERR_raise(ERR_LIB_SSL, 272);
    ERR_raise(ERR_LIB_SSL, 273);
    assert.equal(ERR_peek_error(), ERR_PACK(ERR_LIB_SSL, 272));
    assert.equal(ERR_peek_last_error(), ERR_PACK(ERR_LIB_SSL, 273));
    assert.equal(ERR_get_error(), ERR_PACK(ERR_LIB_SSL, 272));
    assert.equal(ERR_get_error(), ERR_PACK(ERR_LIB_SSL, 273));
    assert.equal(ERR_get_error(), 0);
  });

  test('holds the 16 newest entries, like ERR_NUM_ERRORS', () => {
    ERR_clear_error();
    for (let i = 1; i <= 20; i++) ERR_raise(ERR_LIB_SSL, i);
    const got: number[] = [];
    for (let e = ERR_get_error(); e !== 0; e = ERR_get_error()) got.push(ERR_GET_REASON(e));
    assert.deepEqual(
      got,
      Array.from({ length: 16 }, (_, i) => i + 5),
    );
  });

  test('ERR_clear_error empties it; ERR_get_error_all gives the data text', () => {
    ERR_raise(ERR_LIB_SSL, 1);
    ERR_clear_error();
    assert.equal(ERR_get_error(), 0);
    ERR_raise(ERR_LIB_SSL, 273, 'context of 40 bytes');
    assert.deepEqual(ERR_get_error_all(), { code: ERR_PACK(ERR_LIB_SSL, 273), data: 'context of 40 bytes' });
    assert.equal(ERR_get_error_all(), null);
  });

  test('system errors carry the errno and belong to ERR_LIB_SYS', () => {
    ERR_clear_error();
    raiseSystemError(111);
    const code = ERR_get_error();
    assert.equal(ERR_GET_LIB(code), ERR_LIB_SYS);
    assert.equal(ERR_GET_REASON(code), 111);
    assert.equal(ERR_error_string(code), 'error:8000006F:system library::Connection refused');
  });

  test('ERR_print_errors_cb prints one line per entry with its data, then the queue is empty', () => {
    ERR_clear_error();
    ERR_raise(ERR_LIB_SSL, 408);
    ERR_raise(ERR_LIB_PEM, 108, 'Expecting: SSL SESSION PARAMETERS');
    const lines: string[] = [];
    ERR_print_errors_cb((line) => lines.push(line));
    assert.deepEqual(lines, [
      'error:0A000198:SSL routines::ssl session id too long',
      'error:0480006C:PEM routines::no start line:Expecting: SSL SESSION PARAMETERS',
    ]);
    assert.equal(ERR_get_error(), 0);
  });
});
