/**
 * Servers with a {@link ServerSessionCache} for the tests of this folder, on top of the shared
 * test kit: `startCachedServer()` is `startNodeServer()` plus a cache, optionally with two
 * virtual hosts (a.test, b.test) chosen by SNI.
 */
import type { SecureContext, TLSSocket, TlsOptions } from 'node:tls';
import { createSecureContext } from 'node:tls';
import { ServerSessionCache, type ServerSessionCacheOptions } from '../../src/server/index.js';
import { type NodeServer, sharedPki, sharedVhosts, startNodeServer } from '../helpers/index.js';

export interface CachedServerOptions {
  cache?: ServerSessionCacheOptions;
  tlsOptions?: TlsOptions;
  /** How virtual hosts a.test and b.test are served: `addContext`, an `SNICallback`, or not at all. */
  vhosts?: 'addContext' | 'SNICallback';
  handler?: (socket: TLSSocket) => void;
}

export interface CachedServer extends NodeServer {
  cache: ServerSessionCache;
}

/** A Node TLS server on 127.0.0.1 (certificate: the shared `localhost` leaf) with a cache attached. */
export async function startCachedServer(opts: CachedServerOptions = {}): Promise<CachedServer> {
  const pki = await sharedPki();
  const tlsOptions: TlsOptions = { ...opts.tlsOptions };
  let contexts: Map<string, SecureContext> | undefined;
  if (opts.vhosts !== undefined) {
    const { a, b } = await sharedVhosts();
    contexts = new Map([
      ['a.test', createSecureContext({ key: a.key, cert: a.cert })],
      ['b.test', createSecureContext({ key: b.key, cert: b.cert })],
    ]);
    if (opts.vhosts === 'SNICallback') {
      const map = contexts;
      tlsOptions.SNICallback = (name, cb) => cb(null, map.get(name));
    }
  }
  const node = await startNodeServer({
    cert: pki.server,
    tlsOptions,
    ...(opts.handler === undefined ? {} : { handler: opts.handler }),
  });
  if (opts.vhosts === 'addContext') {
    const { a, b } = await sharedVhosts();
    node.server.addContext('a.test', { key: a.key, cert: a.cert });
    node.server.addContext('b.test', { key: b.key, cert: b.cert });
  }
  const cache = new ServerSessionCache(opts.cache).attach(node.server);
  return {
    ...node,
    cache,
    async close() {
      await node.close();
      await cache.close();
    },
  };
}
