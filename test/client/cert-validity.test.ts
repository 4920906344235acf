import assert from 'node:assert/strict';
import { X509Certificate } from 'node:crypto';
import { test } from 'node:test';
import { certificateNotAfter } from '../../src/client/cert-validity.js';
import { sharedPki } from '../helpers/index.js';

test('notAfter read from the DER equals what X509Certificate reports', async () => {
  const pki = await sharedPki();
  const expired = await pki.issue({ cn: 'localhost', notAfterPast: true });
  // Past 2049 notAfter is a GeneralizedTime.
  const longLived = await pki.issue({ cn: 'localhost', days: 12_000 });
  assert.ok(new Date(new X509Certificate(longLived.cert).validTo).getUTCFullYear() >= 2050);
  for (const pem of [pki.server.cert, pki.rsaServer.cert, pki.client.cert, pki.ca.cert, expired.cert, longLived.cert]) {
    const x = new X509Certificate(pem);
    assert.equal(certificateNotAfter(x.raw), Date.parse(x.validTo), x.subject);
  }
});

test('anything that is not a certificate gives undefined', async () => {
  const pki = await sharedPki();
  const raw = new X509Certificate(pki.server.cert).raw;
  assert.equal(certificateNotAfter(Buffer.alloc(0)), undefined);
  assert.equal(certificateNotAfter(Buffer.from('30030201', 'hex')), undefined);
  assert.equal(certificateNotAfter(raw.subarray(0, 60)), undefined);
  for (let i = 0; i < 200; i++) {
    const damaged = Buffer.from(raw);
    const at = (i * 7919) % damaged.length;
    damaged[at] = (damaged[at] ?? 0) ^ 0xff;
    const v = certificateNotAfter(damaged);
    assert.ok(v === undefined || Number.isFinite(v));
  }
});
