/**
 * The internal session cache of an SSL_CTX, ported from ssl/ssl_sess.c: a hash keyed by
 * (protocol version, session id) plus a list ordered by expiry time, the latest first
 * (SSL_SESSION_list_add / list_remove), so that the session expiring soonest is at the tail,
 * where eviction and flushing start.
 */
import type { SSL_CTX } from './ssl-ctx.js';
import type { SessionCore, SessionOwner } from './ssl-session.js';
import { bufferView } from '../util/bytes.js';

/** The per-context counters of SSL_CTX_sess_*(3). */
export interface SessionStats {
  connect: number;
  connect_good: number;
  connect_renegotiate: number;
  accept: number;
  accept_good: number;
  accept_renegotiate: number;
  hits: number;
  cb_hits: number;
  misses: number;
  timeouts: number;
  cache_full: number;
}

export function zeroStats(): SessionStats {
  return {
    connect: 0,
    connect_good: 0,
    connect_renegotiate: 0,
    accept: 0,
    accept_good: 0,
    accept_renegotiate: 0,
    hits: 0,
    cb_hits: 0,
    misses: 0,
    timeouts: 0,
    cache_full: 0,
  };
}

/** The hash key of a session: protocol version and session id (ssl_session_hash / ssl_session_cmp). */
export function sessionKey(version: number, id: Uint8Array): string {
  return `${version.toString(16)}:${bufferView(id).toString('hex')}`;
}

export function keyOfCore(core: SessionCore): string {
  return sessionKey(core.tls.protocolVersion, core.tls.sessionId);
}

/** The hash and the expiry list. Reference counting and callbacks stay with the SSL_CTX. */
export class SessionCache implements SessionOwner {
  readonly #map = new Map<string, SessionCore>();
  #head: SessionCore | undefined;
  #tail: SessionCore | undefined;

  constructor(readonly ctx: SSL_CTX) {}

  /** SSL_CTX_sess_number: sessions in the hash. */
  get size(): number {
    return this.#map.size;
  }

  /** The session expiring soonest. */
  get tail(): SessionCore | undefined {
    return this.#tail;
  }

  /** lh_SSL_SESSION_retrieve. */
  get(key: string): SessionCore | undefined {
    return this.#map.get(key);
  }

  /** lh_SSL_SESSION_insert: stores `core`, returning the session it replaced under the same key. */
  insert(core: SessionCore): SessionCore | undefined {
    const key = keyOfCore(core);
    const old = this.#map.get(key);
    this.#map.set(key, core);
    return old;
  }

  /** lh_SSL_SESSION_delete. */
  delete(core: SessionCore): void {
    const key = keyOfCore(core);
    if (this.#map.get(key) === core) this.#map.delete(key);
  }

  /** Every cached session, latest expiry first. */
  *sessions(): IterableIterator<SessionCore> {
    for (let s = this.#head; s !== undefined; s = s.next) yield s;
  }

  relink(core: SessionCore): void {
    this.listAdd(core);
  }

  /** SSL_SESSION_list_remove. */
  listRemove(s: SessionCore): void {
    if (s.owner !== this) return;
    if (s.prev === undefined) this.#head = s.next;
    else s.prev.next = s.next;
    if (s.next === undefined) this.#tail = s.prev;
    else s.next.prev = s.prev;
    s.prev = undefined;
    s.next = undefined;
    s.owner = undefined;
  }

  /** SSL_SESSION_list_add: before the first session that expires no later, so ties go first. */
  listAdd(s: SessionCore): void {
    if (s.owner === this) this.listRemove(s);
    const head = this.#head;
    const tail = this.#tail;
    if (head === undefined || tail === undefined) {
      this.#head = s;
      this.#tail = s;
    } else if (s.expiresAt >= head.expiresAt) {
      s.next = head;
      head.prev = s;
      this.#head = s;
    } else if (s.expiresAt < tail.expiresAt) {
      s.prev = tail;
      tail.next = s;
      this.#tail = s;
    } else {
      let next = head.next;
      while (next !== undefined) {
        if (s.expiresAt >= next.expiresAt) {
          s.next = next;
          s.prev = next.prev;
          if (next.prev !== undefined) next.prev.next = s;
          next.prev = s;
          break;
        }
        next = next.next;
      }
    }
    s.owner = this;
  }
}
