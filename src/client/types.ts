import type { TLSSocket } from 'node:tls';
import type { TlsSession } from '../session/index.js';
import type { SessionStore } from '../stores/session-store.js';

/** Options of {@link ClientSessionStore}. */
export interface ClientSessionStoreOptions {
  /**
   * Where sessions live. Default: a private {@link MemoryStore}, closed with this store. A store
   * passed here is shared, not owned: {@link ClientSessionStore.close} leaves it open.
   */
  store?: SessionStore;
  /** TLS 1.3 tickets kept per security domain, newest first. Default 8 (as rustls). */
  maxTicketsPerKey?: number;
  /** Security domains kept; the least recently used goes first. Default 256. */
  maxKeys?: number;
  /** Sessions kept over all domains (tickets plus TLS 1.2 sessions). Default 2048. */
  maxSessions?: number;
  /**
   * Time limit in ms of each store call. Past it, the lookup made before a handshake gives up
   * (the connection goes ahead with a full handshake) and a background write is counted as
   * failed, so that neither connections nor {@link ClientSessionStore.close} wait on a store
   * that does not answer. Default 100 for a store passed in, none for the private memory store
   * (it answers at once).
   */
  storeTimeoutMs?: number;
  /** Clock in ms since epoch, for tests. Default `Date.now`. */
  now?: () => number;
}

/** Counters since the store was made (or since {@link ClientSessionStore.clear}). */
export interface ClientSessionStoreStats {
  /** Connections that were handed a stored session to offer. */
  offered: number;
  /** Offered sessions the server resumed. */
  resumed: number;
  /** Offered sessions the server declined (a full handshake took place). */
  declined: number;
  /** Sessions connections yielded (`'session'` events seen). */
  captured: number;
  /** Captured sessions written to the store. */
  stored: number;
  /** Captured sessions not stored: not resumable, already expired, or a peer certificate expired or not matching the servername. */
  rejected: number;
  /**
   * Stored sessions found expired (or with an expired peer certificate) when looked up, and
   * purged: OpenSSL's `SSL_CTX_sess_timeouts`, which its client-mode cache counts the same way.
   */
  timeouts: number;
  /**
   * Sessions pushed out by the bounds (tickets per domain, domains, sessions), each reported by
   * `'evicted'`: OpenSSL's `SSL_CTX_sess_cache_full`.
   */
  cacheFull: number;
  /**
   * Sessions removed because their connection ended with an error (handshake failure, alert,
   * reset), each reported by `'dropped'`. The server cache counts the same under the same name
   * (`ServerSessionCacheStats.uncleanRemovals`).
   */
  uncleanRemovals: number;
  /** @deprecated Use {@link ClientSessionStoreStats.timeouts} (same value); removed in 1.0. */
  expired: number;
  /** @deprecated Use {@link ClientSessionStoreStats.cacheFull} (same value); removed in 1.0. */
  evicted: number;
  /** @deprecated Use {@link ClientSessionStoreStats.uncleanRemovals} (same value); removed in 1.0. */
  droppedOnError: number;
  /** Store calls that failed or ran out of time; each one meant a full handshake or a session not kept. */
  storeErrors: number;
  /**
   * Sessions given to {@link ClientSessionStore.connect} as `options.session` and not offered,
   * because they could not vouch for the server (see {@link IgnoredReason}).
   */
  ignored: number;
  /** Domains this process knows to hold sessions. */
  keys: number;
  /** Sessions this process knows to be stored (an estimate when the store is shared). */
  sessions: number;
}

/** Protocol families the store treats differently. */
export type SessionProtocol = 'TLSv1.3' | 'TLSv1.2';

/** A stored session handed to a connection, as reported by `'offer'`, `'resumed'` and `'declined'`. */
export interface OfferEvent {
  /** The security domain (hex SHA-256; reveals nothing about the options). */
  readonly domain: string;
  readonly protocol: SessionProtocol;
  readonly socket: TLSSocket;
  /** The session that was offered, decoded on first access. */
  readonly session: TlsSession;
}

/** A session written to the store, as reported by `'session'`. */
export interface SessionEvent {
  readonly domain: string;
  readonly protocol: SessionProtocol;
  readonly socket: TLSSocket;
  /** When it stops being offered. */
  readonly expiresAt: Date;
  /** The session, decoded. */
  readonly session: TlsSession;
}

/**
 * Why a session given as `options.session` was not offered:
 * - `'other-identity'`: Node bound it to another server identity (`servername || host`);
 * - `'unverifiable'`: plain DER on a verified connection whose peer certificate is missing,
 *   expired, not verified when the session was made, or not for this server name;
 * - `'malformed'`: not a session Node could read.
 */
export type IgnoredReason = 'other-identity' | 'unverifiable' | 'malformed';

/** A session given to {@link ClientSessionStore.connect} that was not offered, as reported by `'ignored'`. */
export interface IgnoredEvent {
  readonly domain: string;
  readonly reason: IgnoredReason;
  readonly socket: TLSSocket;
}

/** Why sessions left the store early. */
export type EvictionReason = 'tickets-per-key' | 'max-keys' | 'max-sessions';

/** Sessions removed by the bounds, as reported by `'evicted'`. */
export interface EvictionEvent {
  readonly domain: string;
  /** Sessions removed (an estimate when the store is shared). */
  readonly sessions: number;
  readonly reason: EvictionReason;
}

/** Sessions removed because their connection failed, as reported by `'dropped'`. */
export interface DropEvent {
  readonly domain: string;
  readonly sessions: number;
  readonly socket: TLSSocket;
  /** The connection's error, when Node kept one (`socket.errored`). */
  readonly error: Error | undefined;
}

/** Events of {@link ClientSessionStore}. */
export interface ClientSessionStoreEvents {
  /** A session was stored. */
  session: [event: SessionEvent];
  /** A connection is about to offer a stored session. */
  offer: [event: OfferEvent];
  /** The server resumed the offered session. */
  resumed: [event: OfferEvent];
  /** The server declined the offered session. */
  declined: [event: OfferEvent];
  /** Sessions were pushed out by a bound. */
  evicted: [event: EvictionEvent];
  /** Sessions were removed because their connection ended with an error. */
  dropped: [event: DropEvent];
  /** A session given as `options.session` was not offered: it could not vouch for the server. */
  ignored: [event: IgnoredEvent];
  /**
   * A store call failed; the connection went on without resumption or the session was not
   * kept. Not named `'error'`, so that an unobserved failure never throws.
   */
  storeError: [error: Error];
}
