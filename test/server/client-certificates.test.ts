/**
 * Client certificates on resumption. A resumed handshake verifies no certificate: a client whose
 * certificate expired, or that the application revoked, would keep resuming until its session
 * times out (a plain Node server does, shown here). The cache checks the certificate kept in the
 * session before it resumes it, and refuses it (counted, reported, removed) when it expired or
 * `checkClientCertificate` says no; the full handshake that follows verifies it anew.
 */
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { test } from 'node:test';
import { setTimeout as delay } from 'node:timers/promises';
import type { TLSSocket } from 'node:tls';
import type { ServerSessionCacheError } from '../../src/server/index.js';
import { type Cert, sClient, sharedPki, startNodeServer, tmpDir } from '../helpers/index.js';
import { startCachedServer } from './kit.js';

async function mtlsOptions() {
  const pki = await sharedPki();
  return { requestCert: true, rejectUnauthorized: true, ca: pki.ca.cert };
}

/** Records, per server, whether each completed connection was resumed and its client authorized. */
function watch(server: import('node:tls').Server): Array<{ reused: boolean; authorized: boolean }> {
  const seen: Array<{ reused: boolean; authorized: boolean }> = [];
  server.on('secureConnection', (s: TLSSocket) => seen.push({ reused: s.isSessionReused(), authorized: s.authorized }));
  return seen;
}

test('a client certificate that expires between two connections: the cache refuses its sessions (TLS 1.2, 1.3); a plain Node server resumes it', async (t) => {
  const pki = await sharedPki();
  const dir = await tmpDir('mtls-');
  t.after(() => dir.cleanup());
  // Valid for a few seconds from now (whole seconds: X.509 times have no fraction).
  const notAfterMs = Math.ceil((Date.now() + 5000) / 1000) * 1000;
  const client: Cert = await pki.issue({ cn: 'expiring-client', client: true, notAfterMs });
  const tlsOptions = await mtlsOptions();
  const srv = await startCachedServer({ tlsOptions });
  t.after(() => srv.close());
  const plain = await startNodeServer({ cert: pki.server, tlsOptions });
  t.after(() => plain.close());
  const cached = watch(srv.server);
  const anchor = watch(plain.server);
  const refused: string[] = [];
  srv.cache.on('missed', ({ reason }) => refused.push(`missed ${reason}`));
  srv.cache.on('removed', ({ reason }) => {
    if (reason === 'client-certificate') refused.push(`removed ${reason}`);
  });
  const f = (name: string) => join(dir.path, `${name}.pem`);

  // While the certificate is valid: made, then resumed (TLS 1.2 by session id: a server that
  // requests certificates gets no TLS 1.2 tickets from the cache, even when the client asks).
  assert.equal((await sClient({ port: srv.port, tls: '1.2', cert: client, sessOut: f('c12') })).reused, false);
  assert.equal((await sClient({ port: srv.port, tls: '1.2', cert: client, sessIn: f('c12') })).reused, true);
  assert.equal((await sClient({ port: srv.port, tls: '1.3', cert: client, sessOut: f('c13a') })).reused, false);
  assert.equal(
    (await sClient({ port: srv.port, tls: '1.3', cert: client, sessIn: f('c13a'), sessOut: f('c13b') })).reused,
    true,
  );
  assert.equal((await sClient({ port: plain.port, tls: '1.3', cert: client, sessOut: f('p13') })).reused, false);
  assert.equal(srv.cache.stats().hits, 2);

  const wait = notAfterMs + 1200 - Date.now();
  if (wait > 0) await delay(wait);
  assert.ok(Date.now() > notAfterMs);

  // Expired: the plain server resumes it and calls the client authorized.
  const p = await sClient({ port: plain.port, tls: '1.3', cert: client, sessIn: f('p13') });
  assert.equal(p.reused, true);
  assert.deepEqual(anchor.at(-1), { reused: true, authorized: true });

  // The cache refuses both sessions; the full handshakes verify the certificate and fail.
  const c12 = await sClient({ port: srv.port, tls: '1.2', cert: client, sessIn: f('c12') });
  const c13 = await sClient({ port: srv.port, tls: '1.3', cert: client, sessIn: f('c13b') });
  assert.equal(c12.reused, false);
  assert.equal(c13.reused, false);
  assert.equal(cached.length, 4, 'no connection with the expired certificate completed');
  const st = srv.cache.stats();
  assert.equal(st.clientCertificateRefusals, 2);
  assert.equal(st.hits, 2);
  assert.equal(st.resumed, 2);
  assert.deepEqual(refused, [
    'removed client-certificate',
    'missed client-certificate',
    'removed client-certificate',
    'missed client-certificate',
  ]);
});

test('checkClientCertificate can refuse a session (revocation); the full handshake that follows sees the certificate again', async (t) => {
  const pki = await sharedPki();
  const dir = await tmpDir('mtls-');
  t.after(() => dir.cleanup());
  const revoked = new Set<string>();
  const checked: string[] = [];
  const srv = await startCachedServer({
    tlsOptions: await mtlsOptions(),
    cache: {
      checkClientCertificate: async (cert, info) => {
        checked.push(`${cert.subject} ${info.protocol}`);
        return !revoked.has(cert.serialNumber);
      },
    },
  });
  t.after(() => srv.close());
  const seen = watch(srv.server);
  const f = (name: string) => join(dir.path, `${name}.pem`);
  assert.equal((await sClient({ port: srv.port, tls: '1.3', cert: pki.client, sessOut: f('a') })).reused, false);
  assert.equal(
    (await sClient({ port: srv.port, tls: '1.3', cert: pki.client, sessIn: f('a'), sessOut: f('b') })).reused,
    true,
  );
  revoked.add(new (await import('node:crypto')).X509Certificate(pki.client.cert).serialNumber);
  const after = await sClient({ port: srv.port, tls: '1.3', cert: pki.client, sessIn: f('b') });
  assert.equal(after.reused, false);
  // OpenSSL still trusts the certificate: the application sees it in a full handshake.
  assert.deepEqual(seen.at(-1), { reused: false, authorized: true });
  assert.deepEqual(checked, ['CN=client TLSv1.3', 'CN=client TLSv1.3']);
  assert.equal(srv.cache.stats().clientCertificateRefusals, 1);
});

test('a checkClientCertificate that throws refuses the session and reports ERR_CACHE_CLIENT_CHECK', async (t) => {
  const pki = await sharedPki();
  const dir = await tmpDir('mtls-');
  t.after(() => dir.cleanup());
  const srv = await startCachedServer({
    tlsOptions: await mtlsOptions(),
    cache: {
      checkClientCertificate: () => {
        throw new Error('revocation service unreachable');
      },
    },
  });
  t.after(() => srv.close());
  const errors: ServerSessionCacheError[] = [];
  srv.cache.on('storeError', (e) => errors.push(e));
  const file = join(dir.path, 's.pem');
  await sClient({ port: srv.port, tls: '1.2', cert: pki.client, sessOut: file });
  assert.equal((await sClient({ port: srv.port, tls: '1.2', cert: pki.client, sessIn: file })).reused, false);
  assert.deepEqual(
    errors.map((e) => `${e.code}: ${e.message}`),
    ['ERR_CACHE_CLIENT_CHECK: client certificate check: revocation service unreachable'],
  );
});
