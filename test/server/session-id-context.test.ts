/**
 * The session id context: derived from what a session vouches for, so that processes with the
 * same configuration share sessions (here two processes over one file-backed store) and
 * different configurations never do.
 */
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { test } from 'node:test';
import tls from 'node:tls';
import { fileURLToPath } from 'node:url';
import { ServerSessionCache } from '../../src/server/index.js';
import { type Cert, sClient, sharedPki, spawnNodeFixture, tmpDir } from '../helpers/index.js';
import { FileStore } from './fixtures/file-store.js';
import { startCachedServer } from './kit.js';

const CHILD = fileURLToPath(new URL('./fixtures/cached-server.ts', import.meta.url));

interface Child {
  port: number;
  sessionIdContext: string;
  nodeSessionIdContext: string;
  stop(): Promise<void>;
}

async function startChild(cert: Cert, storeDir: string): Promise<Child> {
  const child = spawnNodeFixture(CHILD, [cert.certPath, cert.keyPath, storeDir], undefined, { stderr: 'inherit' });
  const stop = async () => {
    await child.stop();
  };
  try {
    const line = await child.line(() => true, { what: 'cached-server listening', timeoutMs: 15_000 });
    return { ...(JSON.parse(line) as Omit<Child, 'stop'>), stop };
  } catch (error) {
    await child.kill();
    throw error;
  }
}

test('two processes with the same certificate share sessions through a shared store', async (t) => {
  const pki = await sharedPki();
  const dir = await tmpDir('ssc-ctx-');
  t.after(() => dir.cleanup());
  const storeDir = join(dir.path, 'store');
  const local = await startCachedServer({ cache: { store: new FileStore(storeDir), storeTimeoutMs: 2000 } });
  t.after(() => local.close());
  const same = await startChild(pki.server, storeDir);
  t.after(() => same.stop());
  const other = await startChild(pki.rsaServer, storeDir);
  t.after(() => other.stop());

  // Node's own context comes from process.argv: it differs; the cache's does not.
  assert.notEqual(
    same.nodeSessionIdContext,
    (local.server as unknown as { sessionIdContext: string }).sessionIdContext,
  );
  assert.equal(same.sessionIdContext, local.cache.sessionIdContext);
  assert.notEqual(other.sessionIdContext, local.cache.sessionIdContext);

  for (const tlsVersion of ['1.2', '1.3'] as const) {
    const file = join(dir.path, `s${tlsVersion}.pem`);
    const opts = { tls: tlsVersion, noTicket: tlsVersion === '1.2' };
    assert.equal((await sClient({ ...opts, port: local.port, sessOut: file })).reused, false);
    const elsewhere = await sClient({ ...opts, port: other.port, sessIn: file });
    assert.equal(elsewhere.reused, false, `TLS ${tlsVersion}: another certificate resumed the session`);
    const shared = await sClient({ ...opts, port: same.port, sessIn: file });
    assert.equal(shared.reused, true, `TLS ${tlsVersion}: the same configuration in another process did not resume`);
  }
});

test('the client-certificate policy and the vhost certificates are part of the context', async (t) => {
  const pki = await sharedPki();
  const contextOf = (options: tls.TlsOptions, extra?: (s: tls.Server) => void, sessionIdContext?: string) => {
    const server = tls.createServer({ key: pki.server.key, cert: pki.server.cert, ...options });
    extra?.(server);
    const cache = new ServerSessionCache(sessionIdContext === undefined ? {} : { sessionIdContext }).attach(server);
    t.after(() => cache.close());
    return cache.sessionIdContext;
  };
  const base = contextOf({});
  assert.equal(contextOf({}), base, 'same configuration, same context');
  // PEM line endings do not matter: certificates are hashed as DER.
  assert.equal(contextOf({ cert: pki.server.cert.replace(/\n/g, '\r\n') }), base);
  assert.notEqual(contextOf({ requestCert: true, ca: pki.ca.cert }), base);
  assert.notEqual(
    contextOf({ requestCert: true, ca: pki.ca.cert }),
    contextOf({ requestCert: true, rejectUnauthorized: false, ca: pki.ca.cert }),
  );
  assert.notEqual(contextOf({ key: pki.rsaServer.key, cert: pki.rsaServer.cert }), base);
  assert.notEqual(
    contextOf({}, (s) => s.addContext('a.test', { key: pki.server.key, cert: pki.server.cert })),
    base,
  );
  // An explicit context replaces the derivation.
  assert.equal(
    contextOf({}, undefined, 'fleet-1'),
    contextOf({ key: pki.rsaServer.key, cert: pki.rsaServer.cert }, undefined, 'fleet-1'),
  );
});

test('a new secure context (setSecureContext) gets a context of its own before the next handshake', async (t) => {
  const pki = await sharedPki();
  const dir = await tmpDir('ssc-');
  t.after(() => dir.cleanup());
  const srv = await startCachedServer();
  t.after(() => srv.close());
  const file = join(dir.path, 's.pem');
  assert.equal((await sClient({ port: srv.port, tls: '1.2', noTicket: true, sessOut: file })).reused, false);
  const before = srv.cache.sessionIdContext;
  srv.server.setSecureContext({ key: pki.rsaServer.key, cert: pki.rsaServer.cert });
  const after = await sClient({ port: srv.port, tls: '1.2', noTicket: true, sessIn: file });
  assert.equal(after.reused, false, 'a session made under the old certificate resumed under the new one');
  assert.notEqual(srv.cache.sessionIdContext, before);
  // Stateful mode survives the new context: TLS 1.3 tickets are still session ids.
  const t13 = await sClient({ port: srv.port, sessOut: file });
  assert.equal(t13.protocol, 'TLSv1.3');
  assert.equal((await sClient({ port: srv.port, sessIn: file })).reused, true);
  assert.equal(srv.cache.stats().hits, 1);
});
