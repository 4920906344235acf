/**
 * Counters of a {@link ServerSessionCache}. The first seven are OpenSSL's server statistics
 * (`SSL_CTX_sess_*`, see `openssl s_server` output); the rest are what Node makes observable
 * on top.
 */
export interface ServerSessionCacheStats {
  /** Sessions in the cache, as far as this process knows (`SSL_CTX_sess_number`). */
  number: number;
  /** Connections handed to the TLS stack (`SSL_CTX_sess_accept`). */
  accept: number;
  /** Handshakes completed (`SSL_CTX_sess_accept_good`). */
  acceptGood: number;
  /** Lookups that found a usable session (`SSL_CTX_sess_hits`). */
  hits: number;
  /** Lookups that found none, or one made for another server name (`SSL_CTX_sess_misses`). */
  misses: number;
  /** Lookups that found an expired session, which was removed (`SSL_CTX_sess_timeouts`). */
  timeouts: number;
  /** Sessions evicted because the cache was full (`SSL_CTX_sess_cache_full`). */
  cacheFull: number;
  /**
   * Handshakes that ended resumed (`SSL_session_reused`), by any mechanism, Node's stateless
   * tickets included. Below `hits` when OpenSSL declined a session the cache offered.
   */
  resumed: number;
  /** Sessions written to the store. */
  stored: number;
  /** Sessions removed: flushed, expired, evicted, taken for single use, closed uncleanly, or by `remove()`. */
  removed: number;
  /** Sessions removed because their connection ended with an error (no clean shutdown). */
  uncleanRemovals: number;
  /** Lookups refused because the ClientHello named another server than the session's. */
  serverNameMismatches: number;
  /** Connections whose ClientHello could not be read (not TLS, malformed, timed out, closed). */
  helloUnavailable: number;
  /** Store calls on the handshake path that failed. */
  storeErrors: number;
  /** Store calls on the handshake path that exceeded `storeTimeoutMs`. */
  storeTimeouts: number;
}

export function zeroStats(): ServerSessionCacheStats {
  return {
    number: 0,
    accept: 0,
    acceptGood: 0,
    hits: 0,
    misses: 0,
    timeouts: 0,
    cacheFull: 0,
    resumed: 0,
    stored: 0,
    removed: 0,
    uncleanRemovals: 0,
    serverNameMismatches: 0,
    helloUnavailable: 0,
    storeErrors: 0,
    storeTimeouts: 0,
  };
}
