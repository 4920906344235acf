/**
 * Test kit: throwaway PKI, real OpenSSL and Node TLS peers on loopback, one launcher for peer
 * processes, a configurable SessionStore double, bounded waits, temp dirs and ports.
 * Import from here: `import { sharedPki, startSServer, sClient } from '../helpers/index.js'`.
 * Each module's header explains its part.
 */
export * from './certs.js';
export * from './markdown.js';
export * from './node-tls.js';
export * from './openssl.js';
export * from './peers.js';
export * from './ports.js';
export * from './process.js';
export * from './prng.js';
export * from './store-double.js';
export * from './tmp.js';
export * from './wait.js';
export { onProcessExit } from './exit-hooks.js';
export { warningsDuring } from './warnings.js';
