import assert from 'node:assert/strict';
import { test } from 'node:test';
import { decodeEntry, encodeEntry, MAX_SESSION_LIFETIME_S, sessionExpiresAtMs } from '../../src/client/stored-entry.js';
import { TlsSession } from '../../src/session/index.js';

const T0 = 1_700_000_000;

test('expiry: start time + min(timeout, ticket lifetime hint), a zero hint ignored, capped at 7 days', () => {
  const at = (fields: { timeout: number; ticketLifetimeHint: number }) =>
    sessionExpiresAtMs({ time: T0, ...fields }, Date.now());
  assert.equal(at({ timeout: 7200, ticketLifetimeHint: 300 }), (T0 + 300) * 1000);
  assert.equal(at({ timeout: 300, ticketLifetimeHint: 7200 }), (T0 + 300) * 1000);
  assert.equal(at({ timeout: 7200, ticketLifetimeHint: 0 }), (T0 + 7200) * 1000);
  assert.equal(at({ timeout: 30 * 86400, ticketLifetimeHint: 0 }), (T0 + MAX_SESSION_LIFETIME_S) * 1000);
  assert.equal(at({ timeout: 30 * 86400, ticketLifetimeHint: 10 * 86400 }), (T0 + 604800) * 1000);
  // OpenSSL's reading of absent fields: no start time means now, no timeout means 3 s.
  assert.equal(sessionExpiresAtMs({ time: 0, timeout: 0, ticketLifetimeHint: 0 }, (T0 + 0.5) * 1000), (T0 + 3) * 1000);
});

test('an entry round-trips, and anything that is not one decodes to undefined', () => {
  const der = new TlsSession({ time: T0, timeout: 300, ticket: Buffer.alloc(8, 1) }).toDER();
  const bytes = encodeEntry({ protocolVersion: 0x0304, expiresAtMs: 123_456, certNotAfter: 789, der });
  const back = decodeEntry(new Uint8Array(bytes));
  assert.deepEqual(back && { ...back, der: Buffer.from(back.der) }, {
    protocolVersion: 0x0304,
    expiresAtMs: 123_456,
    certNotAfter: 789,
    der,
  });

  assert.equal(decodeEntry(der), undefined, 'a bare session is not an entry');
  assert.equal(decodeEntry(bytes.subarray(0, 24)), undefined, 'header only');
  const wrongMagic = Buffer.from(bytes);
  wrongMagic[3] = 2;
  assert.equal(decodeEntry(wrongMagic), undefined);
  const nan = Buffer.from(bytes);
  nan.writeDoubleBE(Number.NaN, 8);
  assert.equal(decodeEntry(nan), undefined);
  const notDer = Buffer.from(bytes);
  notDer[24] = 0x04;
  assert.equal(decodeEntry(notDer), undefined);
});
