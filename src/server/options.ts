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
 * How TLS 1.3 (and TLS 1.2 ticket-capable) clients resume:
 * - `'stateful'`: the server sets `SSL_OP_NO_TICKET`; TLS 1.3 tickets then carry a 32-byte
 *   session id and the session lives in this cache; TLS 1.2 clients resume by session id.
 * - `'stateless'`: Node's own encrypted tickets stay in charge; the cache serves TLS 1.2
 *   session-id resumption only (clients that do not use tickets).
 */
export type TicketMode = 'stateful' | 'stateless';

/** Options of {@link ServerSessionCache}. */
export interface ServerSessionCacheOptions {
  /** Where sessions live. Default: a new {@link MemoryStore} sized to `maxSessions`. */
  store?: SessionStore;
  /** OpenSSL cache mode bits, see {@link SessionCacheMode}. Default `SessionCacheMode.SERVER`. */
  cacheMode?: number;
  /** Stateful sessions or Node's stateless tickets, see {@link TicketMode}. Default `'stateful'`. */
  tickets?: TicketMode;
  /**
   * Let a stateful TLS 1.3 session resume more than once. Default `false`: a TLS 1.3 session is
   * taken out of the cache when it is resumed (single use, RFC 8446 Appendix C.4), and the client
   * gets a fresh ticket on the resumed connection.
   */
  reuseTls13?: boolean;
  /**
   * Most sessions this process keeps track of (`SSL_CTX_sess_set_cache_size`). When full, the
   * session expiring soonest is removed and `cacheFull` is counted. `0` means no limit.
   * Default 20480.
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
  reuseTls13: boolean;
  maxSessions: number;
  timeout: number | undefined;
  storeTimeoutMs: number;
  helloTimeoutMs: number;
  sessionIdContext: Uint8Array | undefined;
  now: () => number;
}

function bad(message: string): ServerSessionCacheError {
  return new ServerSessionCacheError('ERR_CACHE_OPTION', `ServerSessionCache: ${message}`);
}

function nonNegativeInteger(value: unknown, name: string, fallback: number): number {
  if (value === undefined) return fallback;
  if (typeof value !== 'number' || !Number.isInteger(value) || value < 0) {
    throw bad(`${name} must be a non-negative integer`);
  }
  return value;
}

const check = new OptionChecks('ServerSessionCache', (message) => new ServerSessionCacheError('ERR_CACHE_OPTION', message));

/** Validates `options` and fills in defaults; throws `ERR_CACHE_OPTION` on bad input. */
export function resolveOptions(options: ServerSessionCacheOptions): ResolvedOptions {
  if (options === null || typeof options !== 'object') throw bad('options must be an object');
  const cacheMode = nonNegativeInteger(options.cacheMode, 'cacheMode', SessionCacheMode.SERVER);
  if ((cacheMode & ~KNOWN_MODE_BITS) !== 0) {
    throw bad(`cacheMode 0x${cacheMode.toString(16)} has bits other than SERVER, NO_AUTO_CLEAR and UPDATE_TIME`);
  }
  const tickets = options.tickets ?? 'stateful';
  if (tickets !== 'stateful' && tickets !== 'stateless') throw bad("tickets must be 'stateful' or 'stateless'");
  const timeout = options.timeout === undefined ? undefined : nonNegativeInteger(options.timeout, 'timeout', 0);
  if (timeout === 0) throw bad('timeout must be at least 1 second');
  // OpenSSL keeps time and timeout in 32-bit-safe seconds; 2^31 - 1 bounds both.
  if (timeout !== undefined && timeout > 0x7fffffff) throw bad('timeout is too large');
  let sessionIdContext: Uint8Array | undefined;
  if (typeof options.sessionIdContext === 'string') sessionIdContext = Buffer.from(options.sessionIdContext, 'utf8');
  else if (options.sessionIdContext instanceof Uint8Array) sessionIdContext = Uint8Array.prototype.slice.call(options.sessionIdContext);
  else if (options.sessionIdContext !== undefined) throw bad('sessionIdContext must be a string or a Uint8Array');
  if (options.now !== undefined && typeof options.now !== 'function') throw bad('now must be a function');
  if (options.store !== undefined && (options.store === null || typeof options.store.get !== 'function')) {
    throw bad('store must implement SessionStore');
  }
  return {
    cacheMode,
    tickets,
    reuseTls13: check.boolean(options.reuseTls13, 'reuseTls13', false),
    maxSessions: nonNegativeInteger(options.maxSessions, 'maxSessions', 20480),
    timeout,
    storeTimeoutMs: check.ms(options.storeTimeoutMs, 'storeTimeoutMs', 50),
    helloTimeoutMs: check.ms(options.helloTimeoutMs, 'helloTimeoutMs', 5000),
    sessionIdContext,
    now: options.now ?? Date.now,
  };
}
