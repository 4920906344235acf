import type { SessionStore } from '../stores/session-store.js';
import { OptionChecks } from '../util/options.js';
import { ServerSessionCacheError } from './errors.js';

/**
 * OpenSSL's server session cache mode bits (`SSL_SESS_CACHE_*`) that apply to this cache.
 * Combine with `|`, e.g. `SessionCacheMode.SERVER | SessionCacheMode.NO_AUTO_CLEAR`.
 */
export const SessionCacheMode = {
  /** No caching: every handshake is full (`SSL_SESS_CACHE_OFF`). */
  OFF: 0x0,
  /** Cache server sessions (`SSL_SESS_CACHE_SERVER`). The default. */
  SERVER: 0x2,
  /** Do not flush expired sessions every 255 good handshakes (`SSL_SESS_CACHE_NO_AUTO_CLEAR`). */
  NO_AUTO_CLEAR: 0x80,
  /**
   * Restart a session's lifetime each time it is resumed (`SSL_SESS_CACHE_UPDATE_TIME`).
   * Applies to sessions that stay in the cache after use: TLS 1.2 sessions, and TLS 1.3 sessions
   * when `reuseTls13` is set.
   */
  UPDATE_TIME: 0x400,
} as const;

const KNOWN_MODE_BITS = SessionCacheMode.SERVER | SessionCacheMode.NO_AUTO_CLEAR | SessionCacheMode.UPDATE_TIME;

/**
 * How clients resume, chosen per connection from the ClientHello the cache reads:
 * - `'auto'` (default): a connection that will be TLS 1.3 gets stateful tickets (a 32-byte
 *   session id, the session lives in this cache, single use); a TLS 1.2 connection gets both
 *   mechanisms, session ids (kept in this cache) and stateless tickets (encrypted with the
 *   server's ticket keys, or a {@link TicketKeyRing}'s when one is attached). Go resumes
 *   TLS 1.2 only by ticket, curl only by session id: both resume.
 * - `'stateful'`: `SSL_OP_NO_TICKET` for every connection: TLS 1.3 stateful tickets, TLS 1.2
 *   session ids only (no stateless ticket is ever issued).
 * - `'stateless'`: Node's own encrypted tickets stay in charge of every connection; the cache
 *   serves TLS 1.2 session-id resumption only (clients that do not use tickets).
 */
export type TicketMode = 'auto' | 'stateful' | 'stateless';

/** What the cache is told about a session whose client certificate it checks before resuming it. */
export interface ClientCertificateCheckInfo {
  /** `'TLSv1.2'` or `'TLSv1.3'`. */
  protocol: 'TLSv1.2' | 'TLSv1.3';
  /** SNI of the handshake that made the session, lower case; `''` without SNI. */
  serverName: string | undefined;
}

/**
 * Decides whether a session whose client certificate is `cert` may still be resumed (e.g. a
 * revocation check). `false`, a throw or a rejection refuses it: the client gets a full
 * handshake, in which its certificate is verified anew. Runs on the handshake path, within
 * `storeTimeoutMs`.
 */
export type ClientCertificateCheck = (
  cert: import('node:crypto').X509Certificate,
  info: ClientCertificateCheckInfo,
) => boolean | Promise<boolean>;

/** Options of {@link ServerSessionCache}. */
export interface ServerSessionCacheOptions {
  /** Where sessions live. Default: a new {@link MemoryStore} sized to `maxSessions`. */
  store?: SessionStore;
  /** OpenSSL cache mode bits, see {@link SessionCacheMode}. Default `SessionCacheMode.SERVER`. */
  cacheMode?: number;
  /** Stateful sessions, stateless tickets or both, see {@link TicketMode}. Default `'auto'`. */
  tickets?: TicketMode;
  /**
   * OpenSSL's strict rule: remove the sessions of every connection that was not shut down
   * cleanly (it closed with an error before the server ended it). Default `false`: sessions of
   * a connection whose handshake completed are kept when it merely drops (a reset, no
   * close_notify: TLS 1.1+ no longer requires otherwise, RFC 5246 §7.2.1), and removed on a
   * fatal TLS alert or a failed handshake.
   */
  strictShutdown?: boolean;
  /**
   * Checked before a session that holds a client certificate is resumed, after the
   * certificate's own expiry (always checked): see {@link ClientCertificateCheck}.
   */
  checkClientCertificate?: ClientCertificateCheck;
  /**
   * Let a stateful TLS 1.3 session resume more than once. Default `false`: a TLS 1.3 session is
   * taken out of the cache when it is resumed (single use, RFC 8446 Appendix C.4), and the client
   * gets a fresh ticket on the resumed connection.
   */
  reuseTls13?: boolean;
  /**
   * Most sessions this process keeps track of (`SSL_CTX_sess_set_cache_size`). When full, the
   * session expiring soonest is removed and `cacheFull` is counted. `0` means no limit (the
   * default store is then unbounded too). Default 20480.
   */
  maxSessions?: number;
  /**
   * Session lifetime in seconds (`SSL_CTX_set_timeout`); also set on the server's context so that
   * session timeouts and TLS 1.3 ticket lifetime hints agree with the cache.
   * Default: the server's `sessionTimeout` option if it was given, else 300.
   */
  timeout?: number;
  /**
   * Time budget of each store call on the handshake path, in ms. A store that fails or does not
   * answer in time costs a full handshake, never a failed or stalled one. Default 50.
   */
  storeTimeoutMs?: number;
  /** How long a new connection may take to send its ClientHello before the cache steps aside (ms). Default 5000. */
  helloTimeoutMs?: number;
  /**
   * Material for the session id context, replacing the one derived from the server's
   * certificates and client-certificate settings. Servers given the same value share sessions.
   */
  sessionIdContext?: string | Uint8Array;
  /** Clock in milliseconds since the epoch. Default `Date.now`; for tests. */
  now?: () => number;
}

/** Options after validation and defaults (the timeout is resolved at attach time). */
export interface ResolvedOptions {
  cacheMode: number;
  tickets: TicketMode;
  strictShutdown: boolean;
  checkClientCertificate: ClientCertificateCheck | undefined;
  reuseTls13: boolean;
  maxSessions: number;
  timeout: number | undefined;
  storeTimeoutMs: number;
  helloTimeoutMs: number;
  sessionIdContext: Uint8Array | undefined;
  now: () => number;
}

const check = new OptionChecks(
  'ServerSessionCache',
  (message) => new ServerSessionCacheError('ERR_CACHE_OPTION', message),
);

/** OpenSSL keeps times in 32-bit-safe seconds; counts stay exact far beyond any real need. */
const MAX_INT31 = 0x7fffffff;

/** Validates `options` and fills in defaults; throws `ERR_CACHE_OPTION` on bad input. */
export function resolveOptions(options: ServerSessionCacheOptions): ResolvedOptions {
  check.object(options);
  const cacheMode = check.integer(options.cacheMode, 'cacheMode', SessionCacheMode.SERVER, 0, MAX_INT31);
  if ((cacheMode & ~KNOWN_MODE_BITS) !== 0) {
    throw check.fail(`cacheMode 0x${cacheMode.toString(16)} has bits other than SERVER, NO_AUTO_CLEAR and UPDATE_TIME`);
  }
  const tickets = options.tickets ?? 'auto';
  if (tickets !== 'auto' && tickets !== 'stateful' && tickets !== 'stateless') {
    throw check.fail("tickets must be 'auto', 'stateful' or 'stateless'");
  }
  const timeout =
    options.timeout === undefined ? undefined : check.integer(options.timeout, 'timeout', 0, 1, MAX_INT31, 'seconds');
  let sessionIdContext: Uint8Array | undefined;
  if (typeof options.sessionIdContext === 'string') sessionIdContext = Buffer.from(options.sessionIdContext, 'utf8');
  else if (options.sessionIdContext instanceof Uint8Array)
    sessionIdContext = Uint8Array.prototype.slice.call(options.sessionIdContext);
  else if (options.sessionIdContext !== undefined)
    throw check.fail('sessionIdContext must be a string or a Uint8Array');
  if (options.store !== undefined && (options.store === null || typeof options.store.get !== 'function')) {
    throw check.fail('store must implement SessionStore');
  }
  return {
    cacheMode,
    tickets,
    strictShutdown: check.boolean(options.strictShutdown, 'strictShutdown', false),
    checkClientCertificate: check.func(options.checkClientCertificate, 'checkClientCertificate'),
    reuseTls13: check.boolean(options.reuseTls13, 'reuseTls13', false),
    maxSessions: check.integer(options.maxSessions, 'maxSessions', 20480, 0, MAX_INT31),
    timeout,
    storeTimeoutMs: check.ms(options.storeTimeoutMs, 'storeTimeoutMs', 50),
    helloTimeoutMs: check.ms(options.helloTimeoutMs, 'helloTimeoutMs', 5000),
    sessionIdContext,
    now: check.func(options.now, 'now') ?? Date.now,
  };
}
