import { EventEmitter } from 'node:events';
import type { Agent, AgentOptions } from 'node:https';
import * as tls from 'node:tls';
import { nodeSessionIdentity, sessionForConnect, verifiesServer } from '../node/client-sessions.js';
import { TLS1_3_VERSION, TlsSession, unwrapNodeSession } from '../session/index.js';
import { certificateNames, sessionVouchesFor } from '../session/vouch.js';
import { MemoryStore } from '../stores/memory-store.js';
import type { SessionStore } from '../stores/session-store.js';
import { withBudget } from '../util/budget.js';
import { bufferView } from '../util/bytes.js';
import { messageOf, TlsSessionsError } from '../util/errors.js';
import { OptionChecks } from '../util/options.js';
import { certificateNotAfter } from './cert-validity.js';
import { DomainIndex } from './domain-index.js';
import { type DomainKey, DomainKeyer } from './domain-key.js';
import { ClientSessionStoreError } from './errors.js';
import { createStoreAgent } from './https-agent.js';
import { summarizeSession } from './session-summary.js';
import { decodeEntry, encodeEntry, type StoredEntry, sessionExpiresAtMs } from './stored-entry.js';
import type {
  ClientSessionStoreEvents,
  IgnoredReason,
  ClientSessionStoreOptions,
  ClientSessionStoreStats,
  EvictionReason,
  OfferEvent,
  SessionEvent,
  SessionProtocol,
} from './types.js';
import { createUndiciConnector, type UndiciConnectOptions, type UndiciConnector } from './undici-connect.js';

const DEFAULT_TICKETS_PER_KEY = 8;
const DEFAULT_MAX_KEYS = 256;
const DEFAULT_MAX_SESSIONS = 2048;
const DEFAULT_STORE_TIMEOUT_MS = 100;
/** Upper bound of the count options: far above any real need, low enough to stay exact. */
const MAX_COUNT = 2 ** 30;

const check = new OptionChecks(
  'ClientSessionStore',
  (message) => new ClientSessionStoreError('ERR_CLIENT_STORE_OPTIONS', message),
);

const STORE_METHODS = ['get', 'set', 'take', 'delete', 'push', 'pop', 'clear', 'close'] as const;

function isSessionStore(value: unknown): value is SessionStore {
  return (
    typeof value === 'object' &&
    value !== null &&
    STORE_METHODS.every((m) => typeof (value as Record<string, unknown>)[m] === 'function')
  );
}
const MAX_REMEMBERED_CERTS = 64;

/** A stored session handed to one connection. */
interface Offer {
  readonly entry: StoredEntry;
  /** The value exactly as stored, to recognise it in the store later. */
  readonly bytes: Buffer;
  readonly tls13: boolean;
}

/** What the store follows of one connection. */
interface Tracked {
  readonly socket: tls.TLSSocket;
  readonly key: DomainKey;
  readonly offer: Offer | undefined;
  /** True once Node has verified the peer (sessions seen before wait in `early`). */
  verified: boolean;
  early: Buffer[];
  /** Values this connection wrote, to remove them if it fails. */
  readonly written: { bytes: Buffer; tls13: boolean }[];
  failed: boolean;
  /** The peer certificate's notAfter (0 = none), or false when it must not be stored; computed once. */
  certNotAfter: number | false | undefined;
  /** Store writes and removals of this connection run in order: tickets keep their order and a removal follows the writes. */
  chain: Promise<void> | undefined;
}

/**
 * Client-side TLS session resumption the way OpenSSL and RFC 8446 describe it, for Node's
 * `tls.connect`, `https` and undici.
 *
 * - Every session a connection yields is captured (`'session'` fires once per TLS 1.3 ticket).
 * - Sessions are filed by security domain: host, port, servername and every option that changes
 *   what a handshake accepts (docs/client.md lists them); two configurations never share sessions.
 * - TLS 1.3 tickets are used once each, newest first, at most `maxTicketsPerKey` per domain;
 *   a TLS 1.2 session is reused until it expires.
 * - A session whose connection ends with an error is removed, and so is a session the server
 *   declined.
 *
 * Storage goes through an async {@link SessionStore}, so {@link connect} is async: it looks the
 * domain up before the handshake starts, then returns the socket as `tls.connect` does.
 *
 * @example
 * ```ts
 * const sessions = new ClientSessionStore();
 * const socket = await sessions.connect({ host: 'example.com', port: 443, servername: 'example.com' });
 * socket.on('secureConnect', () => console.log('resumed:', socket.isSessionReused()));
 * ```
 */
export class ClientSessionStore extends EventEmitter<ClientSessionStoreEvents> {
  readonly #store: SessionStore;
  readonly #ownsStore: boolean;
  readonly #ticketsPerKey: number;
  readonly #maxKeys: number;
  readonly #maxSessions: number;
  readonly #now: () => number;
  readonly #keyer = new DomainKeyer();
  readonly #index = new DomainIndex();
  /** Store calls started and not yet settled, for {@link flush} and {@link close}. */
  #inFlight = 0;
  #idle: { promise: Promise<void>; resolve: () => void } | undefined;
  readonly #certs = new Map<string, { der: Buffer; notAfter: number }>();
  #stats = zeroStats();
  #closed = false;

  constructor(options?: ClientSessionStoreOptions) {
    super();
    const o = check.object(options);
    this.#ticketsPerKey = check.integer(o.maxTicketsPerKey, 'maxTicketsPerKey', DEFAULT_TICKETS_PER_KEY, 1, MAX_COUNT);
    this.#maxKeys = check.integer(o.maxKeys, 'maxKeys', DEFAULT_MAX_KEYS, 1, MAX_COUNT);
    this.#maxSessions = check.integer(o.maxSessions, 'maxSessions', DEFAULT_MAX_SESSIONS, 1, MAX_COUNT);
    if (this.#maxSessions < this.#ticketsPerKey) throw check.fail('maxSessions must be at least maxTicketsPerKey');
    this.#ownsStore = o.store === undefined;
    if (!this.#ownsStore && !isSessionStore(o.store)) {
      throw check.fail('store must be a SessionStore (get, set, take, delete, push, pop, clear, close)');
    }
    // The private memory store answers at once: no budget unless one is asked for.
    const budget = check.ms(
      o.storeTimeoutMs,
      'storeTimeoutMs',
      this.#ownsStore ? Number.POSITIVE_INFINITY : DEFAULT_STORE_TIMEOUT_MS,
    );
    this.#store = timeBoxed(o.store ?? new MemoryStore(), budget);
    this.#now = check.func(o.now, 'now') ?? Date.now;
  }

  /**
   * Like `tls.connect(options, secureConnectListener)`, offering a stored session of the
   * options' security domain when there is one, and capturing the sessions the connection
   * yields. Async because the store is: the lookup happens before the socket exists. An explicit
   * `options.session` is offered as given (no lookup); the connection's sessions are still kept.
   *
   * Rejects with `ERR_CLIENT_STORE_CLOSED` after {@link close}; a failing store never makes it
   * reject (the connection then does a full handshake and `'storeError'` is emitted).
   */
  async connect(options: tls.ConnectionOptions, secureConnectListener?: () => void): Promise<tls.TLSSocket> {
    this.#assertOpen();
    const key = this.#keyer.keyOf(options);
    if (options.session !== undefined) return this.#connectWithGiven(options, key, secureConnectListener);
    let offer: Offer | undefined;
    const lookup = this.#lookup(key);
    if (lookup !== undefined) {
      offer = await lookup;
      this.#assertOpen();
    }
    // Stored sessions are DER, whatever line wrote them; each line is handed its own form.
    const socket = tls.connect(
      offer === undefined ? options : { ...options, session: sessionForConnect(offer.entry.der, options) },
      secureConnectListener,
    );
    this.#track(socket, key, offer);
    if (offer !== undefined) {
      this.#stats.offered++;
      if (this.listenerCount('offer') > 0) this.emit('offer', this.#offerEvent(key, offer, socket));
    }
    return socket;
  }

  /**
   * A connection with a session the caller gave (a file from `openssl s_client -sess_out`, a
   * session from another process). A resumed session skips certificate checks, so on a verified
   * connection it is offered only when it vouches for the server: bound by Node to this
   * connection's identity, or carrying a peer certificate that is unexpired, was verified
   * (verify_result 0) and names this server. Any other is not offered, on every Node line, and
   * is counted and reported as `'ignored'`, where Node 22+ would drop it without a word.
   */
  #connectWithGiven(options: tls.ConnectionOptions, key: DomainKey, secureConnectListener?: () => void): tls.TLSSocket {
    const given = options.session as Uint8Array | string;
    let session: Buffer | undefined;
    let ignored: IgnoredReason | undefined;
    let identity: string | undefined;
    let der: Buffer;
    try {
      ({ identity, der } = unwrapNodeSession(typeof given === 'string' ? Buffer.from(given, 'latin1') : given));
    } catch {
      der = Buffer.alloc(0);
      ignored = 'malformed';
    }
    if (ignored === undefined) {
      if (identity !== undefined) {
        if (identity === nodeSessionIdentity(options)) session = sessionForConnect(der, options);
        else ignored = 'other-identity';
      } else if (!verifiesServer(options)) {
        session = der;
      } else {
        if (decodedVouches(der, key.identity, this.#now())) session = sessionForConnect(der, options);
        else ignored = 'unverifiable';
      }
    }
    const socket = tls.connect({ ...options, session }, secureConnectListener);
    this.#track(socket, key, undefined);
    if (ignored !== undefined) {
      this.#stats.ignored++;
      if (this.listenerCount('ignored') > 0) this.emit('ignored', { domain: key.id, reason: ignored, socket });
    }
    return socket;
  }

  /**
   * Captures the sessions of a socket made elsewhere with `tls.connect(options)`. `options` must
   * be the options the socket was made with: they name its security domain. Attach before the
   * handshake completes: sessions Node emitted earlier are gone (a TLS 1.2 session is still
   * taken from `getSession()`). Returns `socket`.
   */
  attach(socket: tls.TLSSocket, options: tls.ConnectionOptions): tls.TLSSocket {
    this.#assertOpen();
    const tracked = this.#track(socket, this.#keyer.keyOf(options), undefined);
    if (tracked.verified && !socket.destroyed && socket.getProtocol() !== 'TLSv1.3') {
      const session = socket.getSession();
      if (session !== undefined) this.#capture(tracked, session);
    }
    return socket;
  }

  /**
   * An `https.Agent` whose connections go through {@link connect}. Node's own per-agent session
   * cache is turned off. The agent hands sockets to requests through the asynchronous
   * `createConnection(options, callback)` form, which Node's `http.Agent` supports.
   */
  agent(options: AgentOptions = {}): Agent {
    return createStoreAgent(this, options);
  }

  /**
   * A `connect` function for undici's `Client`, `Pool` or `Agent` (`new Agent({ connect })`):
   * undici then opens its TLS connections through this store. `options` are `tls.connect`
   * options (CA, client certificate...) plus undici's `timeout`, `keepAlive` and
   * `keepAliveInitialDelay`. undici itself is not a dependency: any version with the
   * `connect(options, callback)` contract works.
   */
  undiciConnect(options: UndiciConnectOptions = {}): UndiciConnector {
    return createUndiciConnector(this, options);
  }

  /**
   * Resolves once the store writes and removals started so far have finished (they run in the
   * background of the connections). Useful before reading {@link stats} or exiting.
   */
  async flush(): Promise<void> {
    await this.#settle();
  }

  /** A snapshot of the counters. */
  stats(): ClientSessionStoreStats {
    const st = this.#stats;
    return {
      ...st,
      keys: this.#index.size,
      sessions: this.#index.total,
      // The names before OpenSSL's, kept until 1.0.
      expired: st.timeouts,
      evicted: st.cacheFull,
      droppedOnError: st.uncleanRemovals,
    };
  }

  /**
   * Removes every session this store holds and resets the counters. A private store is
   * emptied; in a shared store, the domains this process knows of are deleted.
   */
  async clear(): Promise<void> {
    this.#assertOpen();
    await this.#settle();
    const records = this.#index.drain();
    if (this.#ownsStore) await this.#store.clear();
    else await Promise.all(records.map((r) => this.#deleteDomain(r.key)));
    this.#stats = zeroStats();
  }

  /**
   * Waits for pending store writes, then closes the private store (a store passed in stays
   * open). Later calls to {@link connect} reject; open connections keep working but their
   * sessions are no longer kept.
   */
  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    await this.#settle();
    this.#index.drain();
    this.#keyer.clear();
    this.#certs.clear();
    if (this.#ownsStore) await this.#store.close();
  }

  #assertOpen(): void {
    if (this.#closed)
      throw new ClientSessionStoreError('ERR_CLIENT_STORE_CLOSED', 'ClientSessionStore: the store is closed');
  }

  // ---- lookup (the handshake path) ----

  /**
   * The session to offer: the newest live TLS 1.3 ticket (taken), else the TLS 1.2 session.
   * `undefined` without a promise when a private store holds nothing for the domain. Never
   * rejects: a failing store means no session.
   */
  #lookup(key: DomainKey): Promise<Offer | undefined> | undefined {
    let pending: Promise<Offer | undefined>;
    if (this.#ownsStore) {
      // Only this store writes to a private store, so the index knows what it holds: no call
      // for what is not there, and one call in the common case.
      const record = this.#index.peek(key);
      if (record === undefined) return undefined;
      const session = record.session;
      pending =
        record.tickets > 0
          ? this.#takeTicket(key).then((ticket) => ticket ?? (session ? this.#getSession(key) : undefined))
          : this.#getSession(key);
    } else {
      pending = Promise.all([this.#takeTicket(key), this.#getSession(key)]).then(
        ([ticket, session]) => ticket ?? session,
      );
    }
    return pending.then(
      (offer) => {
        if (offer !== undefined) this.#index.use(key);
        return offer;
      },
      (error: unknown) => {
        this.#storeFailed(error);
        return undefined;
      },
    );
  }

  async #takeTicket(key: DomainKey): Promise<Offer | undefined> {
    // Bounded: a stack never holds more than maxTicketsPerKey entries.
    for (let i = 0; i <= this.#ticketsPerKey; i++) {
      const value = await this.#store.pop(key.ticketsKey);
      if (value === undefined) {
        this.#index.ticketsEmpty(key);
        return undefined;
      }
      this.#index.ticketsRemoved(key, 1);
      const offer = this.#usable(value);
      if (offer !== undefined) return offer;
    }
    return undefined;
  }

  async #getSession(key: DomainKey): Promise<Offer | undefined> {
    const value = await this.#store.get(key.sessionKey);
    if (value === undefined) {
      this.#index.sessionRemoved(key);
      return undefined;
    }
    const offer = this.#usable(value);
    if (offer === undefined) {
      this.#background(
        this.#deleteIfSame(key.sessionKey, bufferView(value)).then((deleted) => {
          if (deleted) this.#index.sessionRemoved(key);
        }),
      );
    }
    return offer;
  }

  /** The stored value as an offer, or undefined (counted in `timeouts`) when it must not be offered. */
  #usable(value: Uint8Array): Offer | undefined {
    const bytes = bufferView(value);
    const entry = decodeEntry(bytes);
    const now = this.#now();
    if (entry === undefined || entry.expiresAtMs <= now || (entry.certNotAfter !== 0 && entry.certNotAfter <= now)) {
      this.#stats.timeouts++;
      return undefined;
    }
    return { entry, bytes, tls13: entry.protocolVersion === TLS1_3_VERSION };
  }

  // ---- following a connection ----

  #track(socket: tls.TLSSocket, key: DomainKey, offer: Offer | undefined): Tracked {
    const tracked: Tracked = {
      socket,
      key,
      offer,
      verified: (socket as { secureConnecting?: boolean }).secureConnecting === false,
      early: [],
      written: [],
      failed: false,
      certNotAfter: undefined,
      chain: undefined,
    };
    // Node emits 'session' only after it verified the peer; the check on `verified` also
    // covers sockets that emit earlier.
    socket.on('session', (session: Buffer) => {
      if (tracked.verified) this.#capture(tracked, session);
      else tracked.early.push(session);
    });
    // Both fire once per client socket: plain listeners are cheaper than once() wrappers.
    if (!tracked.verified) socket.on('secureConnect', () => this.#onSecure(tracked));
    socket.on('close', (hadError: boolean) => {
      const error = socket.errored;
      if ((hadError || error) && (!tracked.verified || isConnectionError(error))) this.#onFailure(tracked);
    });
    return tracked;
  }

  #onSecure(tracked: Tracked): void {
    tracked.verified = true;
    const { offer, socket, key } = tracked;
    if (offer !== undefined) {
      if (socket.isSessionReused()) {
        this.#stats.resumed++;
        if (this.listenerCount('resumed') > 0) this.emit('resumed', this.#offerEvent(key, offer, socket));
      } else {
        this.#stats.declined++;
        if (this.listenerCount('declined') > 0) this.emit('declined', this.#offerEvent(key, offer, socket));
        // A TLS 1.3 ticket is already out of the store; a TLS 1.2 session stays until removed.
        if (!offer.tls13) this.#removeOffered(tracked, 'declined');
      }
    }
    const early = tracked.early;
    tracked.early = [];
    for (const session of early) this.#capture(tracked, session);
  }

  /**
   * Stores one session of a verified connection, if it may be offered later. `session` is what
   * Node hands out: DER on Node 20, DER bound to the connection's identity on later lines. The
   * store keeps DER, so that one store serves every line.
   */
  #capture(tracked: Tracked, session: Buffer): void {
    this.#stats.captured++;
    if (this.#closed || tracked.failed) return;
    const der = nodeDER(session);
    const summary = der === undefined ? undefined : summarizeSession(der);
    const now = this.#now();
    const expiresAtMs = summary === undefined ? 0 : sessionExpiresAtMs(summary, now);
    const certNotAfter = summary === undefined ? false : this.#certNotAfter(tracked, summary.peerCertificate, now);
    if (
      der === undefined ||
      summary === undefined ||
      !summary.resumable ||
      expiresAtMs <= now ||
      certNotAfter === false
    ) {
      this.#stats.rejected++;
      return;
    }
    const tls13 = summary.protocolVersion === TLS1_3_VERSION;
    const bytes = encodeEntry({ protocolVersion: summary.protocolVersion, expiresAtMs, certNotAfter, der });
    const ttl = (certNotAfter === 0 ? expiresAtMs : Math.min(expiresAtMs, certNotAfter)) - now;
    const { key } = tracked;
    tracked.written.push({ bytes, tls13 });
    this.#stats.stored++;
    // The index counts a session once it is written: a lookup that found the store empty
    // meanwhile must not wipe the count of a write that landed after it.
    this.#enqueue(tracked, async () => {
      if (tls13) {
        await this.#store.push(key.ticketsKey, bytes, ttl, this.#ticketsPerKey);
        if (this.#index.ticketPushed(this.#index.touch(key), this.#ticketsPerKey))
          this.#evicted(key, 1, 'tickets-per-key');
      } else {
        await this.#store.set(key.sessionKey, bytes, ttl);
        this.#index.sessionSet(this.#index.touch(key));
      }
      this.#enforceBounds();
    });
    if (this.listenerCount('session') > 0) {
      this.emit(
        'session',
        new SessionEventImpl(key.id, tls13 ? 'TLSv1.3' : 'TLSv1.2', tracked.socket, der, new Date(expiresAtMs)),
      );
    }
  }

  /**
   * The peer certificate's notAfter (0 when the session has no certificate), or false when the
   * certificate expired or does not match the name the connection checks: a resumed session
   * skips certificate checks, so such a session is never kept. Computed once per connection.
   */
  #certNotAfter(tracked: Tracked, peer: Buffer | undefined, now: number): number | false {
    if (tracked.certNotAfter !== undefined) return tracked.certNotAfter;
    const { socket, offer, key } = tracked;
    const reused = socket.isSessionReused();
    let result: number | false;
    if (offer !== undefined && reused) {
      // The resumed session's certificate, checked when that session was stored.
      result = offer.entry.certNotAfter;
    } else {
      // Read from the session, not the socket: Node 20's getPeerX509Certificate() removes the
      // leaf from the connection's chain (a later getPeerCertificate() then finds nothing).
      const notAfter = peer === undefined ? 0 : this.#notAfterOf(tracked.key, peer);
      if (peer === undefined) result = 0;
      else if (notAfter === undefined || notAfter <= now) result = false;
      // After a full handshake Node's own checkServerIdentity passed when `authorized` is set.
      else if (!reused && socket.authorized && key.defaultIdentityCheck) result = notAfter;
      else result = certificateNames(peer, key.identity) ? notAfter : false;
    }
    tracked.certNotAfter = result;
    return result;
  }

  /** The certificate's notAfter, remembered per domain: servers present the same one for days. */
  #notAfterOf(key: DomainKey, cert: Buffer): number | undefined {
    const known = this.#certs.get(key.id);
    if (known?.der.equals(cert)) return known.notAfter;
    const notAfter = certificateNotAfter(cert);
    if (notAfter !== undefined) {
      if (this.#certs.size >= MAX_REMEMBERED_CERTS) this.#certs.clear();
      this.#certs.set(key.id, { der: Buffer.from(cert), notAfter });
    }
    return notAfter;
  }

  /**
   * The connection ended with an error: remove what it wrote and the TLS 1.2 session it used.
   *
   * Sessions are written as soon as the connection is verified rather than held until a clean
   * close: TLS 1.3 tickets arrive after the handshake and a kept-alive connection can live for
   * minutes, while other connections to the same server need its tickets now. OpenSSL does the
   * same: the session enters the cache at once and is removed when the connection fails.
   */
  #onFailure(tracked: Tracked): void {
    if (tracked.failed) return;
    tracked.failed = true;
    if (this.#closed) return;
    if (tracked.offer !== undefined && !tracked.offer.tls13) this.#removeOffered(tracked, 'failed');
    if (tracked.written.length === 0) return;
    const { key } = tracked;
    const tickets = tracked.written.filter((w) => w.tls13).map((w) => w.bytes);
    const sessions = tracked.written.filter((w) => !w.tls13).map((w) => w.bytes);
    this.#enqueue(tracked, async () => {
      let removed = 0;
      for (const bytes of sessions) {
        if (await this.#deleteIfSame(key.sessionKey, bytes)) {
          removed++;
          this.#index.sessionRemoved(key);
        }
      }
      if (tickets.length > 0) {
        const n = await this.#removeTickets(key, tickets);
        this.#index.ticketsRemoved(key, n);
        removed += n;
      }
      this.#dropped(tracked, removed);
    });
  }

  /** Removes the TLS 1.2 session a connection offered, when it is still the stored one. */
  #removeOffered(tracked: Tracked, why: 'declined' | 'failed'): void {
    const { key, offer } = tracked;
    if (offer === undefined) return;
    this.#enqueue(tracked, async () => {
      if (!(await this.#deleteIfSame(key.sessionKey, offer.bytes))) return;
      this.#index.sessionRemoved(key);
      if (why === 'failed') this.#dropped(tracked, 1);
    });
  }

  #dropped(tracked: Tracked, sessions: number): void {
    if (sessions === 0) return;
    this.#stats.uncleanRemovals += sessions;
    if (this.listenerCount('dropped') > 0) {
      this.emit('dropped', {
        domain: tracked.key.id,
        sessions,
        socket: tracked.socket,
        error: tracked.socket.errored ?? undefined,
      });
    }
  }

  /**
   * Removes the given tickets from a domain's stack. The store has no "remove this value"
   * operation, so the stack is popped (atomically, entry by entry), the given tickets are left
   * out and the others pushed back in their order. No ticket is handed out twice this way; a
   * connection that looks up meanwhile may find fewer tickets and do a full handshake.
   */
  async #removeTickets(key: DomainKey, tickets: Buffer[]): Promise<number> {
    const keep: Buffer[] = [];
    let removed = 0;
    for (let i = 0; i < this.#ticketsPerKey && removed < tickets.length; i++) {
      const value = await this.#store.pop(key.ticketsKey);
      if (value === undefined) break;
      const bytes = bufferView(value);
      if (tickets.some((t) => t.equals(bytes))) removed++;
      else keep.push(bytes);
    }
    const now = this.#now();
    for (const bytes of keep.reverse()) {
      const entry = decodeEntry(bytes);
      if (entry === undefined) continue;
      const until = entry.certNotAfter === 0 ? entry.expiresAtMs : Math.min(entry.expiresAtMs, entry.certNotAfter);
      if (until > now) await this.#store.push(key.ticketsKey, bytes, until - now, this.#ticketsPerKey);
    }
    return removed;
  }

  /** Deletes `key` if it still holds `bytes`; true when it did. */
  async #deleteIfSame(storeKey: Buffer, bytes: Buffer): Promise<boolean> {
    const current = await this.#store.get(storeKey);
    if (current === undefined || !bufferView(current).equals(bytes)) return false;
    return this.#store.delete(storeKey);
  }

  // ---- bounds ----

  #enforceBounds(): void {
    if (this.#index.size <= this.#maxKeys && this.#index.total <= this.#maxSessions) return;
    const reason: EvictionReason = this.#index.size > this.#maxKeys ? 'max-keys' : 'max-sessions';
    for (const record of this.#index.shrink(this.#maxKeys, this.#maxSessions)) {
      this.#evicted(record.key, record.tickets + (record.session ? 1 : 0), reason);
      this.#background(this.#deleteDomain(record.key));
    }
  }

  #evicted(key: DomainKey, sessions: number, reason: EvictionReason): void {
    this.#stats.cacheFull += sessions;
    if (this.listenerCount('evicted') > 0) this.emit('evicted', { domain: key.id, sessions, reason });
  }

  async #deleteDomain(key: DomainKey): Promise<void> {
    await Promise.all([this.#store.delete(key.ticketsKey), this.#store.delete(key.sessionKey)]);
  }

  // ---- store calls off the handshake path ----

  /** Runs `op` after the connection's earlier store calls; failures are counted, never thrown. */
  #enqueue(tracked: Tracked, op: () => Promise<unknown>): void {
    this.#inFlight++;
    const run = tracked.chain === undefined ? op() : tracked.chain.then(op);
    tracked.chain = run.then(this.#opDone, this.#opFailed);
  }

  #background(promise: Promise<unknown>): void {
    this.#inFlight++;
    promise.then(this.#opDone, this.#opFailed);
  }

  readonly #opDone = (): void => {
    if (--this.#inFlight === 0 && this.#idle !== undefined) {
      this.#idle.resolve();
      this.#idle = undefined;
    }
  };

  readonly #opFailed = (error: unknown): void => {
    this.#storeFailed(error);
    this.#opDone();
  };

  /** Resolves when no store call is pending. */
  #settle(): Promise<void> {
    if (this.#inFlight === 0) return Promise.resolve();
    if (this.#idle === undefined) {
      let resolve = (): void => {};
      const promise = new Promise<void>((r) => {
        resolve = r;
      });
      this.#idle = { promise, resolve };
    }
    return this.#idle.promise;
  }

  #storeFailed(error: unknown): void {
    this.#stats.storeErrors++;
    if (this.listenerCount('storeError') > 0) {
      // A foreign store's error may carry the command's arguments (session bytes): it is
      // passed on only as the safe cause of an error of ours.
      const reported =
        error instanceof TlsSessionsError
          ? error
          : new ClientSessionStoreError('ERR_CLIENT_STORE_BACKEND', `session store: ${messageOf(error)}`, {
              cause: error,
            });
      this.emit('storeError', reported);
    }
  }

  #offerEvent(key: DomainKey, offer: Offer, socket: tls.TLSSocket): OfferEvent {
    return new OfferEventImpl(key.id, offer.tls13 ? 'TLSv1.3' : 'TLSv1.2', socket, offer.entry.der);
  }
}

/** Decodes the offered session only when a listener reads it. */
class OfferEventImpl implements OfferEvent {
  readonly domain: string;
  readonly protocol: SessionProtocol;
  readonly socket: tls.TLSSocket;
  readonly #der: Buffer;
  #session: TlsSession | undefined;

  constructor(domain: string, protocol: SessionProtocol, socket: tls.TLSSocket, der: Buffer) {
    this.domain = domain;
    this.protocol = protocol;
    this.socket = socket;
    this.#der = der;
  }

  get session(): TlsSession {
    this.#session ??= TlsSession.fromDER(this.#der);
    return this.#session;
  }
}

/**
 * The store with every call limited to `ms` (a {@link BudgetExceededError} past it). A late
 * answer is ignored; a late `pop` loses that ticket, which only costs a full handshake.
 */
function timeBoxed(store: SessionStore, ms: number): SessionStore {
  if (!Number.isFinite(ms)) return store;
  return {
    get: (key) => withBudget(store.get(key), ms, 'session store get'),
    set: (key, value, ttlMs) => withBudget(store.set(key, value, ttlMs), ms, 'session store set'),
    take: (key) => withBudget(store.take(key), ms, 'session store take'),
    delete: (key) => withBudget(store.delete(key), ms, 'session store delete'),
    push: (key, value, ttlMs, max) => withBudget(store.push(key, value, ttlMs, max), ms, 'session store push'),
    pop: (key) => withBudget(store.pop(key), ms, 'session store pop'),
    clear: () => withBudget(store.clear(), ms, 'session store clear'),
    close: () => store.close(),
  };
}

/** Error codes of a broken transport (system errors also carry `syscall`). */
const TRANSPORT_CODES = new Set([
  'ECONNRESET',
  'EPIPE',
  'ETIMEDOUT',
  'ECONNABORTED',
  'ECONNREFUSED',
  'EHOSTUNREACH',
  'ENETUNREACH',
]);

/**
 * True for errors of the connection itself: a reset or other socket error, an OpenSSL error or
 * alert, a TLS error raised by Node. After the handshake only these count as a failed
 * connection. HTTP clients close healthy connections by destroying them with a reason (undici:
 * `InformationalError('reset')` on `connection: close`, 'socket idle timeout'), which says
 * nothing about the session; dropping sessions then would defeat resumption for every undici
 * connection. Before the handshake completed, any error counts.
 */
function isConnectionError(error: Error | null | undefined): boolean {
  if (!error) return false;
  if ('syscall' in error || 'library' in error) return true;
  const code = (error as { code?: unknown }).code;
  return (
    typeof code === 'string' &&
    (code.startsWith('ERR_SSL_') || code.startsWith('ERR_TLS_') || TRANSPORT_CODES.has(code))
  );
}

/** Whether plain DER from outside vouches for `name` ({@link sessionVouchesFor}); false when it does not decode. */
function decodedVouches(der: Buffer, name: string, nowMs: number): boolean {
  try {
    return sessionVouchesFor(TlsSession.fromDER(der), name, nowMs);
  } catch {
    return false;
  }
}

/** The DER of a session Node handed out (bound or not); `undefined` when the header is broken. */
function nodeDER(session: Buffer): Buffer | undefined {
  try {
    return unwrapNodeSession(session).der;
  } catch {
    return undefined;
  }
}

/** A stored session as `'session'` reports it; the session is decoded only when read. */
class SessionEventImpl extends OfferEventImpl implements SessionEvent {
  readonly expiresAt: Date;

  constructor(domain: string, protocol: SessionProtocol, socket: tls.TLSSocket, der: Buffer, expiresAt: Date) {
    super(domain, protocol, socket, der);
    this.expiresAt = expiresAt;
  }
}

/** The counters the store keeps; the levels (`keys`, `sessions`) and the deprecated names are added by `stats()`. */
type Counters = Omit<ClientSessionStoreStats, 'keys' | 'sessions' | 'expired' | 'evicted' | 'droppedOnError'>;

function zeroStats(): Counters {
  return {
    offered: 0,
    resumed: 0,
    declined: 0,
    captured: 0,
    stored: 0,
    rejected: 0,
    timeouts: 0,
    cacheFull: 0,
    uncleanRemovals: 0,
    storeErrors: 0,
    ignored: 0,
  };
}
