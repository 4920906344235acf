import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { ConnectionOptions } from 'node:tls';
import { DomainKeyer } from '../../src/client/domain-key.js';
import { sharedPki } from '../helpers/index.js';

test('the same options give the same key; string and buffer contents count, not identity', async () => {
  const pki = await sharedPki();
  const keyer = new DomainKeyer();
  const a = keyer.keyOf({ host: 'Example.COM', port: 443, ca: pki.ca.cert });
  const b = new DomainKeyer().keyOf({ host: 'example.com', port: 443, ca: `${pki.ca.cert}` });
  assert.equal(a.id, b.id, 'host case and string identity do not matter');
  const c = keyer.keyOf({ host: 'example.com', port: 443, ca: Buffer.from(pki.ca.cert) });
  const d = keyer.keyOf({ host: 'example.com', port: 443, ca: Buffer.from(pki.ca.cert) });
  assert.equal(c.id, d.id);
  assert.equal(a.identity, 'example.com');
  assert.equal(keyer.keyOf({ host: '127.0.0.1', servername: 'localhost' }).identity, 'localhost');
});

test('every option that changes what a handshake accepts changes the key', async () => {
  const pki = await sharedPki();
  const keyer = new DomainKeyer();
  const base: ConnectionOptions = { host: 'example.com', port: 443, servername: 'example.com', ca: pki.ca.cert };
  const variants: ConnectionOptions[] = [
    { ...base, host: 'example.org' },
    { ...base, port: 8443 },
    { ...base, servername: 'www.example.com' },
    { ...base, ca: [pki.ca.cert] },
    { ...base, ca: undefined },
    { ...base, cert: pki.client.cert },
    { ...base, key: pki.client.key },
    { ...base, pfx: Buffer.from('pfx') },
    { ...base, passphrase: 'secret' },
    { ...base, rejectUnauthorized: false },
    { ...base, minVersion: 'TLSv1.3' },
    { ...base, maxVersion: 'TLSv1.2' },
    { ...base, ciphers: 'ECDHE-RSA-AES128-GCM-SHA256' },
    { ...base, sigalgs: 'ECDSA+SHA256' },
    { ...base, ecdhCurve: 'P-256' },
    { ...base, ALPNProtocols: ['h2'] },
    { ...base, ALPNProtocols: ['http/1.1', 'h2'] },
    { ...base, checkServerIdentity: () => undefined },
    { ...base, minDHSize: 2048 },
    { ...base, secureOptions: 4 },
    { ...base, crl: 'crl' },
    { ...base, path: '/run/tls.sock' },
  ];
  const ids = new Set([keyer.keyOf(base).id, ...variants.map((v) => keyer.keyOf(v).id)]);
  assert.equal(ids.size, variants.length + 1);
});

test('ALPN in wire form and as a list is the same domain; rejectUnauthorized follows tls.connect defaults', () => {
  const keyer = new DomainKeyer();
  const list = keyer.keyOf({ host: 'h', ALPNProtocols: ['h2', 'http/1.1'] });
  const wire = keyer.keyOf({ host: 'h', ALPNProtocols: Buffer.from('\x02h2\x08http/1.1', 'latin1') });
  assert.equal(list.id, wire.id);
  assert.equal(keyer.keyOf({ host: 'h' }).id, keyer.keyOf({ host: 'h', rejectUnauthorized: true }).id);
  assert.equal(keyer.keyOf({ host: 'h' }).id, keyer.keyOf({ host: 'h', rejectUnauthorized: undefined }).id);
  assert.equal(keyer.keyOf({ host: 'h', minVersion: undefined }).id, keyer.keyOf({ host: 'h' }).id);
});

test('two different check functions are two domains; the same source is the same domain across keyers', () => {
  const keyer = new DomainKeyer();
  const allowAll = () => undefined;
  const denyAll = () => new Error('no');
  assert.notEqual(
    keyer.keyOf({ host: 'h', checkServerIdentity: allowAll }).id,
    keyer.keyOf({ host: 'h', checkServerIdentity: denyAll }).id,
  );
  assert.equal(
    keyer.keyOf({ host: 'h', checkServerIdentity: allowAll }).id,
    new DomainKeyer().keyOf({ host: 'h', checkServerIdentity: allowAll }).id,
  );
});

test('the store keys hold a digest, never key material', async () => {
  const pki = await sharedPki();
  const keyer = new DomainKeyer();
  const key = keyer.keyOf({ host: 'h', cert: pki.client.cert, key: pki.client.key, passphrase: 'hunter2' });
  for (const storeKey of [key.ticketsKey, key.sessionKey]) {
    const text = storeKey.toString('latin1');
    assert.ok(storeKey.length < 64, 'a short prefix and a 32-byte digest');
    assert.ok(!text.includes('hunter2'));
    assert.ok(!text.includes('PRIVATE'));
  }
  assert.match(key.id, /^[0-9a-f]{64}$/);
  assert.notDeepEqual(key.ticketsKey, key.sessionKey);
});
