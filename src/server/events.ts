/**
 * The events of {@link ServerSessionCache}: one object per event, as the client store's, named
 * after what happened to the session. The positional events the cache emitted before
 * (`'new'`, `'hit'`, `'miss'`, `'remove'`, `'error'`) still fire, only when someone listens to
 * them, until 1.0; the first listener of each warns once per process.
 */
import type { EventEmitter } from 'node:events';
import type { TLSSocket } from 'node:tls';
import type { ServerSessionCacheError } from './errors.js';

/** What the cache knows about a session when it is stored or resumed. */
export interface SessionEventInfo {
  /** `'TLSv1.2'` or `'TLSv1.3'` (stateful ticket). */
  protocol: 'TLSv1.2' | 'TLSv1.3';
  /** SNI of the handshake that made the session, lower case; `''` without SNI; `undefined` when unknown. */
  serverName: string | undefined;
}

/** A session stored, as reported by `'session'`. */
export interface ServerSessionEvent extends SessionEventInfo {
  /** The session id (TLS 1.2) or stateful PSK identity (TLS 1.3). */
  readonly id: Buffer;
  /** The connection that made it, when Node names it (it does for every handshake it runs). */
  readonly socket: TLSSocket | undefined;
}

/** A session resumed, as reported by `'resumed'`. */
export interface ServerResumedEvent extends SessionEventInfo {
  readonly id: Buffer;
  /** The connection that resumed it. */
  readonly socket: TLSSocket;
}

/** Why a session left the cache. */
export type RemoveReason =
  /** A single-use TLS 1.3 session was resumed. */
  | 'used'
  /** Found expired by a lookup. */
  | 'expired'
  /** Removed by `flush()` (called every 255 good handshakes unless NO_AUTO_CLEAR). */
  | 'flushed'
  /** The cache was full and this session expired soonest. */
  | 'evicted'
  /**
   * Its connection failed: the handshake did not complete, or a fatal TLS alert was sent or
   * received (with `strictShutdown`: any close with an error before the server ended it).
   */
  | 'unclean'
  /** Its client certificate expired, or `checkClientCertificate` refused it. */
  | 'client-certificate'
  /** A lookup found that the store no longer held it (evicted by the store, or removed by another process). */
  | 'dropped'
  /** `remove()` or `clear()`. */
  | 'removed';

/** A session that left the cache, as reported by `'removed'`. */
export interface ServerRemovedEvent {
  readonly id: Buffer;
  readonly reason: RemoveReason;
}

/** Why a lookup found no usable session. */
export type MissReason =
  /** Not in the store. */
  | 'absent'
  /** Expired (counted as `timeouts`, not `misses`). */
  | 'expired'
  /** Made for another server name (virtual host) than the ClientHello names. */
  | 'server-name'
  /** A TLS 1.2 session offered as a TLS 1.3 identity or the other way round. */
  | 'version'
  /** The ClientHello could not be read, so the session cannot be checked. */
  | 'no-hello'
  /** The store failed or timed out. */
  | 'store-error'
  /** The stored value is not a session record. */
  | 'record'
  /** The session's client certificate has expired, or `checkClientCertificate` refused it. */
  | 'client-certificate'
  /** The cache handed the session to OpenSSL, which did not resume it (e.g. cipher suite no longer offered). */
  | 'declined';

/** A lookup that found no usable session, as reported by `'missed'`. */
export interface ServerMissedEvent {
  /** The session id or PSK identity looked up. */
  readonly id: Buffer;
  readonly reason: MissReason;
}

/** Events of {@link ServerSessionCache}. */
export interface ServerSessionCacheEvents {
  /** A session was stored (OpenSSL's new-session callback). */
  session: [event: ServerSessionEvent];
  /** A session the cache handed to OpenSSL was resumed (emitted when the handshake completes). */
  resumed: [event: ServerResumedEvent];
  /** A lookup found no usable session. */
  missed: [event: ServerMissedEvent];
  /** A session left the cache (OpenSSL's remove-session callback). */
  removed: [event: ServerRemovedEvent];
  /**
   * A store call failed or timed out, a stored value was not a session record, or
   * `checkClientCertificate` failed. Emitted only when a listener exists; not named `'error'`,
   * so that an unobserved failure never throws (the cache never throws from a handshake).
   */
  storeError: [error: ServerSessionCacheError];
  /** @deprecated Listen to `'session'` (`{ id, protocol, serverName, socket }`); removed in 1.0. */
  new: [id: Buffer, info: SessionEventInfo];
  /** @deprecated Listen to `'resumed'` (`{ id, protocol, serverName, socket }`); removed in 1.0. */
  hit: [id: Buffer, info: SessionEventInfo];
  /** @deprecated Listen to `'missed'` (`{ id, reason }`); removed in 1.0. */
  miss: [id: Buffer, reason: MissReason];
  /** @deprecated Listen to `'removed'` (`{ id, reason }`); removed in 1.0. */
  remove: [id: Buffer, reason: RemoveReason];
  /** @deprecated Listen to `'storeError'` (same error); removed in 1.0. */
  error: [error: ServerSessionCacheError];
}

/** Each deprecated event and the event that replaces it. */
const RENAMED: ReadonlyMap<string | symbol, keyof ServerSessionCacheEvents> = new Map([
  ['new', 'session'],
  ['hit', 'resumed'],
  ['miss', 'missed'],
  ['remove', 'removed'],
  ['error', 'storeError'],
]);

/** Code of the warning a deprecated event name gives, once per process and name. */
export const DEPRECATED_EVENTS_CODE = 'TLS_SESSIONS_DEP_SERVER_EVENTS';

/** The new names whose deprecated name has warned in this process. */
const warned = new Set<string>();

/**
 * Warns (a DeprecationWarning, once per process for each name) when a listener is added to a
 * deprecated event of `cache`. Through `'newListener'`, so that `on`, `once`, `addListener` and
 * the `prepend` forms are all seen, at no cost to emitting.
 */
export function warnOnDeprecatedEvents(cache: EventEmitter): void {
  cache.on('newListener', (name: string | symbol) => {
    const replacement = RENAMED.get(name);
    if (replacement === undefined || warned.has(replacement)) return;
    warned.add(replacement);
    process.emitWarning(
      `ServerSessionCache: the '${String(name)}' event is deprecated; listen to '${replacement}' instead (one object per event)`,
      { type: 'DeprecationWarning', code: DEPRECATED_EVENTS_CODE },
    );
  });
}
