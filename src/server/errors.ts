import { TlsSessionsError } from '../util/errors.js';

/** Codes carried by {@link ServerSessionCacheError}; stable, safe to switch on. */
export type ServerSessionCacheErrorCode =
  /** An option has a wrong type or is out of range. */
  | 'ERR_CACHE_OPTION'
  /** `attach()` was given something that is not a Node `tls.Server` (or https / http2 secure server). */
  | 'ERR_CACHE_SERVER'
  /** The server already has `'newSession'` or `'resumeSession'` listeners: two caches would answer. */
  | 'ERR_CACHE_LISTENERS'
  /** The cache is already attached to a server, or the server already has a cache. */
  | 'ERR_CACHE_ATTACHED'
  /** `attach()` after `close()`: the cache's store is closed. */
  | 'ERR_CACHE_CLOSED'
  /** `checkClientCertificate` threw, rejected or ran out of time; the session was refused (full handshake). */
  | 'ERR_CACHE_CLIENT_CHECK'
  /** A store call failed on the handshake path; the handshake went on without the cache. */
  | 'ERR_CACHE_STORE'
  /** A store call did not answer within `storeTimeoutMs`; the handshake went on without the cache. */
  | 'ERR_STORE_TIMEOUT'
  /** A stored record could not be read (foreign or corrupt value); it was treated as a miss. */
  | 'ERR_CACHE_RECORD';

/**
 * The one error type of the server session cache. Messages are one line and never contain
 * session contents (master keys, PSKs).
 */
export class ServerSessionCacheError extends TlsSessionsError<ServerSessionCacheErrorCode> {
  override readonly name = 'ServerSessionCacheError';
}
