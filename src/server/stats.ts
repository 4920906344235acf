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
  /**
   * Sessions the cache found and OpenSSL resumed (`SSL_CTX_sess_hits`), counted when the
   * handshake completes: never a hit that did not resume.
   */
  hits: number;
  /**
   * Lookups that found none, one made for another server name, one whose client certificate
   * was refused, or one OpenSSL then declined (`SSL_CTX_sess_misses`).
   */
  misses: number;
  /** Lookups that found an expired session, which was removed (`SSL_CTX_sess_timeouts`). */
  timeouts: number;
  /** Sessions evicted because the cache was full (`SSL_CTX_sess_cache_full`). */
  cacheFull: number;
  /**
   * Handshakes that ended resumed (`SSL_session_reused`), by any mechanism, stateless tickets
   * included: `resumed - hits` is what tickets resumed.
   */
  resumed: number;
  /** Sessions written to the store. */
  stored: number;
  /** Sessions removed: flushed, expired, evicted, taken for single use, closed uncleanly, or by `remove()`. */
  removed: number;
  /**
   * Sessions removed because their connection failed: a failed handshake or a fatal TLS alert
   * (with `strictShutdown`, any close with an error before the server ended it), each reported
   * by `'removed'` with reason `'unclean'`. The client store counts the same under the same name.
   */
  uncleanRemovals: number;
  /** Resumptions refused because the session's client certificate expired or `checkClientCertificate` refused it. */
  clientCertificateRefusals: number;
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
    clientCertificateRefusals: 0,
    serverNameMismatches: 0,
    helloUnavailable: 0,
    storeErrors: 0,
    storeTimeouts: 0,
  };
}
