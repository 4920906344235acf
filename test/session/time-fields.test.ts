/**
 * A session's time and timeout are integers: NaN, Infinity, fractions and strings are refused
 * where they are set, so that printing, JSON and expiry never meet them. A peer certificate
 * that does not parse gets one answer from text and JSON: openssl's refusal.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { inspect } from 'node:util';
import { TlsSession, TlsSessionError } from '../../src/index.js';

const fieldError = (field: string) => (err: unknown) =>
  err instanceof TlsSessionError &&
  err.code === 'ERR_SESSION_FIELD' &&
  err.message.startsWith(`${field}: must be an integer number of seconds`) &&
  !err.message.includes('\n');

test('a NaN, infinite, fractional or string timeout or time is refused with ERR_SESSION_FIELD, in one line', () => {
  for (const bad of [
    Number.NaN,
    Number.POSITIVE_INFINITY,
    Number.NEGATIVE_INFINITY,
    1.5,
    2 ** 60,
    '300' as unknown as number,
    undefined as unknown as number,
  ]) {
    const s = new TlsSession({ time: 1_700_000_000, timeout: 300 });
    assert.throws(
      () => {
        s.timeout = bad;
      },
      fieldError('timeout'),
      String(bad),
    );
    assert.throws(
      () => {
        s.time = bad;
      },
      fieldError('time'),
      String(bad),
    );
    // The session is left as it was, and still prints, serializes and expires.
    assert.equal(s.timeout, 300);
    assert.equal(s.time, 1_700_000_000);
    assert.match(inspect(s), /expires=2023-11-14T22:18:20\.000Z/);
    assert.equal(s.toJSON().expiresAt, '2023-11-14T22:18:20.000Z');
    assert.equal(s.isExpired(Date.UTC(2023, 10, 14, 22, 18, 21)), true);
    assert.equal(s.isExpired(Date.UTC(2023, 10, 14, 22, 18, 19)), false);
    if (bad !== undefined) {
      assert.throws(() => new TlsSession({ timeout: bad }), fieldError('timeout'));
      assert.throws(() => new TlsSession({ time: bad }), fieldError('time'));
    }
  }
});

test('integer times, negative and huge ones included, are kept and expire by the clamped date', () => {
  const s = new TlsSession({ time: 1_700_000_000, timeout: 300 });
  s.timeout = Number.MAX_SAFE_INTEGER;
  assert.equal(s.isExpired(), false);
  assert.doesNotThrow(() => JSON.stringify(s));
  s.timeout = -10_000;
  assert.equal(s.isExpired(), true);
  assert.doesNotThrow(() => inspect(s));
  assert.deepEqual(TlsSession.fromDER(s.toDER()).timeout, -10_000);
});

test('a peer certificate that does not parse: toText() and toJSON() both refuse it, as openssl does', () => {
  const s = new TlsSession({
    protocolVersion: 0x0303,
    cipherId: 0xc02f,
    sessionId: Buffer.alloc(32, 1),
    masterKey: Buffer.alloc(48, 2),
    time: 1_700_000_000,
    timeout: 300,
  });
  s.peerCertificateDER = Buffer.from([0x30, 0x03, 0x02, 0x01, 0x01]);
  const decoded = TlsSession.fromDER(s.toDER());
  const peerError = (err: unknown) => err instanceof TlsSessionError && err.code === 'ERR_SESSION_PEER_CERT';
  assert.throws(() => decoded.toText(), peerError);
  assert.throws(() => decoded.toJSON(), peerError);
  assert.throws(() => decoded.peerCertificate, peerError);
});
