import { constants as cryptoConstants } from 'node:crypto';
import { EventEmitter } from 'node:events';
import type { Socket } from 'node:net';
import { createSecureContext, Server as TlsServer, type TLSSocket } from 'node:tls';
import { OPENSSL_DEFAULT_TIMEOUT_S, TLS1_3_VERSION, TlsSession } from '../session/index.js';
import { type ImmediateStore, immediateStore } from '../stores/immediate-store.js';
import type { SessionStore } from '../stores/session-store.js';
import { warnIfUnsealed } from '../stores/store-traits.js';
import { BudgetClock, BudgetExceededError } from '../util/budget.js';
import { messageOf } from '../util/errors.js';
import { type HelloLookup, readHelloLookup } from '../wire/index.js';
import { refuseClientCertificate } from './client-certificate.js';
import { defaultStore } from './default-store.js';
import { ServerSessionCacheError } from './errors.js';
import {
  type MissReason,
  type RemoveReason,
  type ServerSessionCacheEvents,
  type SessionEventInfo,
  warnOnDeprecatedEvents,
} from './events.js';
import { HelloTap, type TapOutcome } from './hello-tap.js';
import {
  type ConnectionState,
  connectionOf,
  currentConnection,
  currentServerName,
  currentSocket,
  currentWrap,
  findTlsConnectionListener,
  hasVirtualHosts,
  type SecureContextInternals,
  type ServerInternals,
  setConnectionState,
  wrapAlive,
} from '../node/server-internals.js';
import {
  ContextPhase,
  secureContextConfigured,
  unwatchSecureContext,
  watchSecureContext,
} from '../node/secure-context-watch.js';
import { type ResolvedOptions, resolveOptions, type ServerSessionCacheOptions, SessionCacheMode } from './options.js';
import { deriveSessionIdContext } from './session-id-context.js';
import { type KnownSessions, SessionIndex } from './session-index.js';
import { decodeRecord, derProtocolVersion, encodeRecord, type SessionRecord } from './session-record.js';
import { type ServerSessionCacheStats, zeroStats } from './stats.js';

/** Store keys start with this, then the 16-byte session id context, then the session id. */
const KEY_PREFIX = Buffer.from('srv:', 'latin1');
/** Length of a store key before the session id: KEY_PREFIX and the 16-byte session id context. */
const KEY_PREFIX_BYTES = KEY_PREFIX.length + 16;
/** A stateful TLS 1.3 ticket's PSK identity is the 32-byte session id (OpenSSL). */
const STATEFUL_IDENTITY_LENGTH = 32;
/** Fields `tls.Server#setSecureContext` reads; used to rebuild the context on `detach()`. */
const CONTEXT_FIELDS = [
  'pfx',
  'key',
  'passphrase',
  'cert',
  'clientCertEngine',
  'ca',
  'minVersion',
  'maxVersion',
  'secureProtocol',
  'crl',
  'sigalgs',
  'ciphers',
  'ecdhCurve',
  'dhparam',
  'honorCipherOrder',
  'secureOptions',
  'sessionIdContext',
  'sessionTimeout',
  'ticketKeys',
  'privateKeyIdentifier',
  'privateKeyEngine',
  // Node 24+.
  'certificateCompression',
] as const;

const kCache = Symbol('tls-sessions.ServerSessionCache');

type ResumeCallback = (err: Error | null, session?: Buffer | null) => void;

/** A session handed to OpenSSL for a connection, counted as a hit only if the handshake resumes it. */
interface Offer {
  key: Buffer;
  id: Buffer;
  /** Taken out of the store (single-use TLS 1.3): put back if not resumed. */
  single: boolean;
  tls13: boolean;
  serverName: string | undefined;
  value: Uint8Array;
  expiresMs: number;
}

/** A session being written: what its outcome reports. */
interface Written {
  id: Buffer;
  tls13: boolean;
  serverName: string | undefined;
  socket: TLSSocket | undefined;
  /** Its store key: the index forgets it when the write fails. */
  key: Buffer;
}

const SSL_ERROR_CODE = /^ERR_SSL_/;

/** An error raised by OpenSSL (a fatal alert sent or received), not by the transport. */
function isTlsError(err: unknown): boolean {
  const e = err as { library?: unknown; code?: unknown } | null;
  return (
    e !== null &&
    typeof e === 'object' &&
    (e.library === 'SSL routines' || (typeof e.code === 'string' && SSL_ERROR_CODE.test(e.code)))
  );
}

/**
 * The server-side TLS session cache that Node.js lacks: OpenSSL's cache semantics for any
 * `tls.Server`, `https.Server` or `http2.createSecureServer()`, including TLS 1.3 stateful
 * resumption, over an async {@link SessionStore}.
 *
 * @example
 * ```ts
 * const server = https.createServer({ key, cert }, app);
 * const cache = new ServerSessionCache({ timeout: 300 }).attach(server);
 * server.listen(443);
 * // later
 * console.log(cache.stats()); // { number, accept, acceptGood, hits, misses, ... }
 * ```
 */
export class ServerSessionCache extends EventEmitter<ServerSessionCacheEvents> {
  readonly #opts: ResolvedOptions;
  readonly #store: SessionStore;
  /** The store's synchronous face, when it lives in this process: the handshake path then awaits nothing. */
  readonly #immediate: ImmediateStore | undefined;
  readonly #ownsStore: boolean;
  readonly #index: KnownSessions;
  readonly #stats = zeroStats();
  readonly #budget: BudgetClock;

  #server: ServerInternals | undefined;
  #original: ((socket: Socket) => void) | undefined;
  #tap: HelloTap | undefined;
  /** The secure context last configured, and what it was derived from. */
  #creds: SecureContextInternals | undefined;
  /**
   * `tickets: 'auto'`: the server's context with SSL_OP_NO_TICKET, for connections that will be
   * TLS 1.3, and for every connection when #allStateful.
   */
  #statefulCreds: SecureContextInternals | undefined;
  /** The server requests client certificates or serves virtual hosts: no TLS 1.2 tickets (see #configureContext). */
  #allStateful = false;
  #closed = false;
  #addedNoTicket = false;
  #sessionIdContext: string | undefined;
  #keyPrefix: Buffer = KEY_PREFIX;
  #timeoutS = 300;
  #tls13Capable = true;
  #tls13Stateful = true;

  /** @param options see {@link ServerSessionCacheOptions}; throws `ERR_CACHE_OPTION` on bad input. */
  constructor(options: ServerSessionCacheOptions = {}) {
    super();
    this.#opts = resolveOptions(options);
    this.#budget = new BudgetClock(this.#opts.storeTimeoutMs);
    this.#ownsStore = options.store === undefined;
    const made = this.#ownsStore ? defaultStore(this.#opts.maxSessions, KEY_PREFIX_BYTES, this.#opts.now) : undefined;
    this.#store = options.store ?? made!.store;
    this.#index = made?.known ?? new SessionIndex(this.#opts.maxSessions);
    this.#immediate = immediateStore(this.#store);
    // Sessions hold master secrets: a store outside the process without sealing warns, once per store.
    warnIfUnsealed(this.#store);
    warnOnDeprecatedEvents(this as EventEmitter);
  }

  /** The server the cache is attached to. */
  get server(): TlsServer | undefined {
    return this.#server;
  }

  /** OpenSSL cache mode bits in force (see {@link SessionCacheMode}). */
  get cacheMode(): number {
    return this.#opts.cacheMode;
  }

  /** The session id context given to the server's OpenSSL context (32 hex characters), once attached. */
  get sessionIdContext(): string | undefined {
    return this.#sessionIdContext;
  }

  /** Session lifetime in seconds, once attached. */
  get timeout(): number {
    return this.#timeoutS;
  }

  /** A snapshot of the counters. */
  stats(): ServerSessionCacheStats {
    return { ...this.#stats, number: this.#index.size };
  }

  /**
   * Starts caching sessions of `server`: a `tls.Server`, `https.Server` or http2 secure server,
   * listening or not, with any request handlers, SNI callbacks and ALPN settings.
   *
   * It takes over the server's `'newSession'` / `'resumeSession'` events, reads each connection's
   * ClientHello before OpenSSL does, and sets on the server's secure context an explicit session
   * id context, the session timeout and, in `'stateful'` mode, `SSL_OP_NO_TICKET`.
   *
   * @throws ServerSessionCacheError `ERR_CACHE_SERVER`, `ERR_CACHE_ATTACHED`, `ERR_CACHE_LISTENERS` or `ERR_CACHE_CLOSED`.
   */
  attach(server: TlsServer): this {
    // close() closed the store the cache made: attached again, it could keep nothing.
    if (this.#closed) throw new ServerSessionCacheError('ERR_CACHE_CLOSED', 'attach: the cache is closed');
    if (!(server instanceof TlsServer)) {
      throw new ServerSessionCacheError(
        'ERR_CACHE_SERVER',
        'attach: expected a tls.Server, https.Server or http2 secure server',
      );
    }
    const s = server as ServerInternals & { [kCache]?: ServerSessionCache };
    if (this.#server !== undefined)
      throw new ServerSessionCacheError('ERR_CACHE_ATTACHED', 'attach: this cache is already attached to a server');
    if (s[kCache] !== undefined)
      throw new ServerSessionCacheError('ERR_CACHE_ATTACHED', 'attach: the server already has a session cache');
    if (s.listenerCount('newSession') > 0 || s.listenerCount('resumeSession') > 0) {
      throw new ServerSessionCacheError(
        'ERR_CACHE_LISTENERS',
        "attach: the server already has 'newSession' or 'resumeSession' listeners",
      );
    }
    const original = findTlsConnectionListener(s);
    if (original === undefined) {
      throw new ServerSessionCacheError(
        'ERR_CACHE_SERVER',
        "attach: the server has no TLS 'connection' listener to take over",
      );
    }
    this.#server = s;
    this.#original = original;
    // Connections still reading their hello after a detach go to this server's own listener.
    this.#tap = new HelloTap(this.#opts.helloTimeoutMs, (socket, outcome, flight) =>
      this.#handOff(s, original, socket, outcome, flight),
    );
    s[kCache] = this;
    this.#timeoutS = this.#opts.timeout ?? (s.sessionTimeout || 300);
    if (this.#caching) {
      this.#configureContext();
      // setSecureContext() and addContext() change what the context is derived from: it is
      // configured again at once, before a TicketKeyRing sets its ticket lifetime on top.
      watchSecureContext(s, ContextPhase.setup, this.#contextChanged);
      secureContextConfigured(s, ContextPhase.setup);
    }
    swapListener(s, 'connection', original, this.#onConnection);
    if (this.#caching) {
      s.on('newSession', this.#onNewSession);
      s.on('resumeSession', this.#onResumeSession);
    }
    s.on('secureConnection', this.#onSecure);
    if (this.#caching) s.on('tlsClientError', this.#onClientError);
    return this;
  }

  /**
   * Gives the server back as it was: Node's own connection listener, session id context, session
   * timeout and ticket setting. Connections in progress finish normally; sessions stay in the store.
   */
  detach(): void {
    const s = this.#server as (ServerInternals & { [kCache]?: ServerSessionCache }) | undefined;
    if (s === undefined) return;
    swapListener(s, 'connection', this.#onConnection, this.#original!);
    s.removeListener('newSession', this.#onNewSession);
    s.removeListener('resumeSession', this.#onResumeSession);
    s.removeListener('secureConnection', this.#onSecure);
    s.removeListener('tlsClientError', this.#onClientError);
    unwatchSecureContext(s, this.#contextChanged);
    this.#restoreContext(s);
    secureContextConfigured(s, ContextPhase.setup);
    delete s[kCache];
    this.#server = undefined;
    this.#original = undefined;
    this.#creds = undefined;
    this.#statefulCreds = undefined;
  }

  /** Detaches, then closes the store if the cache made it (the default MemoryStore). The cache cannot be attached again. */
  async close(): Promise<void> {
    this.detach();
    this.#closed = true;
    if (this.#ownsStore) await this.#store.close();
  }

  /**
   * Removes the sessions this process knows that have expired at `now` (default: the current
   * time), like `SSL_CTX_flush_sessions`. Resolves with the number removed.
   */
  async flush(now: number | Date = this.#opts.now()): Promise<number> {
    const ms = typeof now === 'number' ? now : now.getTime();
    const expired = this.#index.takeExpired(ms);
    await Promise.all(expired.map((e) => this.#dropRemoved(e.key, e.id, 'flushed')));
    return expired.length;
  }

  /** Removes the session with this id (`SSL_CTX_remove_session`); resolves `true` when there was one. */
  async remove(id: Uint8Array): Promise<boolean> {
    const sid = Buffer.from(id);
    const key = this.#storeKey(sid);
    const known = this.#index.delete(key) !== undefined;
    let had = false;
    try {
      had = await this.#store.delete(key);
    } catch (err) {
      this.#storeFailure(err, 'remove');
    }
    if (known || had) this.#removed(sid, 'removed');
    return known || had;
  }

  /** Removes every session this process knows; resolves with their number. */
  async clear(): Promise<number> {
    const all = this.#index.takeAll();
    await Promise.all(all.map((e) => this.#dropRemoved(e.key, e.id, 'removed')));
    return all.length;
  }

  get #caching(): boolean {
    return (this.#opts.cacheMode & SessionCacheMode.SERVER) !== 0;
  }

  // ---- server context -------------------------------------------------------------------

  /** Sets session id context, timeout and (stateful mode) SSL_OP_NO_TICKET on the current context. */
  #configureContext(): void {
    const s = this.#server!;
    const creds = s._sharedCreds;
    if (creds === undefined) return;
    const sid = deriveSessionIdContext(s, this.#opts.sessionIdContext);
    creds.context.setSessionIdContext(sid);
    creds.context.setSessionTimeout(this.#timeoutS);
    const noTicket = ((s.secureOptions ?? 0) & cryptoConstants.SSL_OP_NO_TICKET) !== 0;
    if (this.#opts.tickets === 'stateful' && !noTicket) {
      creds.context.setOptions(cryptoConstants.SSL_OP_NO_TICKET);
      this.#addedNoTicket = true;
    }
    // A server configured with SSL_OP_NO_TICKET issues stateful TLS 1.3 tickets whatever the mode.
    this.#tls13Stateful = this.#opts.tickets !== 'stateless' || noTicket;
    const max = creds.context.getMaxProto();
    this.#tls13Capable = max === 0 || max >= TLS1_3_VERSION;
    this.#statefulCreds = undefined;
    // OpenSSL resumes a stateless ticket without asking the cache, so neither the client
    // certificate in it nor the server name it was made for could be checked (Node 20 and 26
    // resume a TLS 1.2 ticket under any virtual host, measured): a server that requests client
    // certificates or serves virtual hosts gets no TLS 1.2 tickets in 'auto'.
    this.#allStateful = s.requestCert === true || hasVirtualHosts(s);
    if (this.#opts.tickets === 'auto' && !noTicket && (this.#tls13Capable || this.#allStateful)) {
      // OpenSSL copies its options into each connection when Node makes it, and Node offers no
      // per-connection SSL_OP_NO_TICKET: connections that will be TLS 1.3 are made from a twin
      // of the server's context that has it. The server's own context keeps its tickets (and a
      // TicketKeyRing's callback) for TLS 1.2.
      const twin = this.#statefulTwin(s, sid);
      if (twin !== undefined) this.#statefulCreds = twin;
      else {
        // The context cannot be rebuilt from the server's fields: stateful for every connection.
        creds.context.setOptions(cryptoConstants.SSL_OP_NO_TICKET);
        this.#addedNoTicket = true;
      }
    }
    this.#sessionIdContext = sid;
    this.#keyPrefix = Buffer.concat([KEY_PREFIX, Buffer.from(sid, 'hex')]);
    this.#creds = creds;
  }

  /** The server's context made anew from its own fields, with SSL_OP_NO_TICKET; `undefined` if it cannot be. */
  #statefulTwin(s: ServerInternals, sid: string): SecureContextInternals | undefined {
    const src = s as unknown as Record<string, unknown>;
    const fields: Record<string, unknown> = {};
    for (const f of CONTEXT_FIELDS) if (src[f] !== undefined) fields[f] = src[f];
    let twin: SecureContextInternals;
    try {
      twin = createSecureContext(fields) as unknown as SecureContextInternals;
    } catch {
      return undefined;
    }
    twin.context.setSessionIdContext(sid);
    twin.context.setSessionTimeout(this.#timeoutS);
    twin.context.setOptions(cryptoConstants.SSL_OP_NO_TICKET);
    return twin;
  }

  /** The server got a new context (`setSecureContext`), client-certificate policy or virtual host (`addContext`). */
  readonly #contextChanged = (): void => {
    if (this.#server !== undefined) this.#configureContext();
  };

  #restoreContext(s: ServerInternals): void {
    const creds = s._sharedCreds;
    if (creds === undefined || creds !== this.#creds) return; // replaced by the application: not ours
    if (this.#addedNoTicket) {
      // SSL_OP_NO_TICKET cannot be cleared through Node: rebuild the context from the server's
      // own fields (which the cache never changed), keeping the ticket keys.
      const keys = creds.context.getTicketKeys();
      const fields: Record<string, unknown> = {};
      const src = s as unknown as Record<string, unknown>;
      for (const f of CONTEXT_FIELDS) fields[f] = src[f];
      const ticketKeys = src['ticketKeys'];
      s.setSecureContext(fields);
      src['ticketKeys'] = ticketKeys;
      s.setTicketKeys(keys);
      this.#addedNoTicket = false;
      return;
    }
    if (s.sessionIdContext !== undefined) creds.context.setSessionIdContext(s.sessionIdContext);
    creds.context.setSessionTimeout(s.sessionTimeout || OPENSSL_DEFAULT_TIMEOUT_S);
  }

  // ---- connection path ------------------------------------------------------------------

  /** Replaces Node's `tlsConnectionListener`: reads the ClientHello, then hands the socket on. */
  readonly #onConnection = (socket: Socket): void => {
    const server = this.#server!;
    const original = this.#original!;
    this.#stats.accept++;
    if (!this.#caching || server.pauseOnConnect === true) {
      original.call(server, socket);
      return;
    }
    this.#tap!.start(socket);
  };

  #handOff(
    server: ServerInternals,
    original: (socket: Socket) => void,
    socket: Socket,
    outcome: TapOutcome,
    flight: Buffer | undefined,
  ): void {
    let creds = this.#allStateful && this.#server === server ? this.#statefulCreds : undefined;
    let readable = flight !== undefined;
    if (flight !== undefined) {
      // Parsed only when something needs it (#readHello): a lookup, or the choice of context in
      // tickets 'auto', where the offered versions decide between the two contexts.
      const state: ConnectionState = {
        flight,
        readable: false,
        serverName: '',
        offersTls13: false,
        pskIdentity: undefined,
        keys: undefined,
        offer: undefined,
        secure: false,
        failed: false,
      };
      setConnectionState(socket, state);
      if (creds === undefined && this.#tls13Capable && this.#server === server) {
        readable = this.#readHello(state);
        if (readable && state.offersTls13) creds = this.#statefulCreds;
      }
    } else {
      this.#stats.helloUnavailable++;
      // The readable side is over: nothing is left for the TLS stack to answer.
      if (outcome === 'gone') {
        socket.destroy();
        return;
      }
    }
    if (socket.destroyed) return;
    const own = server._sharedCreds;
    // Input the cache could not read goes to Node as a server without session listeners gets it:
    // Node's own hello parser, started for every socket when such listeners exist, waits for a
    // record OpenSSL 3.5 refuses at once. Nothing could be looked up for it anyway.
    const bare = !readable && this.#server === server;
    try {
      // Node reads _sharedCreds and the session listeners once, synchronously, to make the
      // connection (src/node/server-internals.ts).
      if (creds !== undefined) server._sharedCreds = creds;
      if (bare) {
        server.removeListener('newSession', this.#onNewSession);
        server.removeListener('resumeSession', this.#onResumeSession);
      }
      original.call(server, socket);
    } catch (err) {
      // Node's listener throwing is a bug Node would surface as an uncaught exception: do the same.
      socket.destroy();
      process.nextTick(() => {
        throw err;
      });
    } finally {
      if (creds !== undefined) server._sharedCreds = own;
      if (bare) {
        server.on('newSession', this.#onNewSession);
        server.on('resumeSession', this.#onResumeSession);
      }
    }
  }

  /** Parses the connection's ClientHello once, on the first lookup; false when it cannot be read. */
  #readHello(conn: ConnectionState): boolean {
    const flight = conn.flight;
    if (flight === undefined) return conn.readable;
    conn.flight = undefined;
    let hello: HelloLookup;
    try {
      // Only what the lookups need, not the hello's bytes. OpenSSL looks up stateful identities
      // in order and Node can load one session only: the session offered must be the one of
      // the first identity that has a session id's length.
      hello = readHelloLookup(flight, STATEFUL_IDENTITY_LENGTH);
    } catch {
      this.#stats.helloUnavailable++;
      return false;
    }
    conn.pskIdentity = hello.pskIdentity;
    conn.serverName = (hello.serverName ?? '').toLowerCase();
    conn.offersTls13 = hello.highestVersion >= TLS1_3_VERSION;
    conn.readable = true;
    return true;
  }

  readonly #onSecure = (socket: TLSSocket): void => {
    const st = this.#stats;
    st.acceptGood++;
    const reused = socket.isSessionReused();
    if (reused) st.resumed++;
    if (this.#caching) {
      const conn = connectionOf(socket);
      if (conn !== undefined) {
        conn.secure = true;
        // No lookup comes after the handshake: the bytes of a hello never parsed can go.
        conn.flight = undefined;
        const offer = conn.offer as Offer | undefined;
        if (offer !== undefined) {
          conn.offer = undefined;
          this.#settle(offer, reused, socket);
        }
      }
      // 'on', not 'once': a socket closes once, and 'once' would allocate a wrapper per connection.
      socket.on('close', this.#onTlsClose);
      socket.on('error', this.#onTlsError);
      if ((this.#opts.cacheMode & SessionCacheMode.NO_AUTO_CLEAR) === 0 && (st.acceptGood & 0xff) === 0xff) {
        void this.flush();
      }
    }
  };

  /** The handshake resumed the offered session (a hit), or OpenSSL declined it (a miss; a taken session goes back). */
  #settle(offer: Offer, reused: boolean, socket: TLSSocket): void {
    const st = this.#stats;
    if (reused) {
      st.hits++;
      if (offer.single) this.#removed(offer.id, 'used');
      this.#resumed(offer, socket);
      return;
    }
    st.misses++;
    if (offer.single) {
      const ttl = offer.expiresMs - this.#opts.now();
      if (ttl > 0) {
        this.#index.add(offer.key, offer.id.length, offer.expiresMs);
        void this.#putBack(offer.key, offer.value, ttl);
      }
    }
    this.#missed(offer.id, 'declined');
  }

  /**
   * A failed connection loses its sessions: a handshake that did not complete (the session
   * offered, taken or not, and any made), or a fatal TLS alert, sent or received, as OpenSSL
   * does (ssl3_send_alert, ssl3_read_bytes).
   */
  #fail(conn: ConnectionState): void {
    conn.failed = true;
    const offer = conn.offer as Offer | undefined;
    if (offer !== undefined) {
      conn.offer = undefined;
      // Taken out of the store and not given back: gone.
      if (offer.single) {
        this.#stats.uncleanRemovals++;
        this.#removed(offer.id, 'unclean');
      }
    }
    const keys = conn.keys;
    if (keys === undefined) return;
    conn.keys = undefined;
    for (const key of keys) void this.#removeUnclean(key);
  }

  /** A connection that failed before its handshake completed (Node emits this whether or not anyone listens). */
  readonly #onClientError = (_err: Error, socket: TLSSocket): void => {
    const conn = connectionOf(socket);
    if (conn !== undefined && !conn.secure) this.#fail(conn);
  };

  readonly #onTlsError = (() => {
    const cache = this;
    return function onTlsError(this: TLSSocket, err: Error): void {
      if (!isTlsError(err)) return;
      const conn = connectionOf(this);
      if (conn !== undefined) cache.#fail(conn);
    };
  })();

  /**
   * `strictShutdown`, OpenSSL's rule: a connection freed without a shutdown from the server
   * (SSL_SENT_SHUTDOWN unset) loses its session. Node's equivalent: the socket closed with an
   * error before the server ended its side (`end()` sends close_notify). A peer that resets after
   * the server's close_notify, or a server that destroys an idle keep-alive socket, leaves the
   * session alone. By default only a fatal alert or a failed handshake removes sessions: TLS 1.1+
   * dropped the rule (RFC 5246 §7.2.1), and nginx and s_server keep them.
   */
  readonly #onTlsClose = (() => {
    const cache = this;
    return function onTlsClose(this: TLSSocket, hadError: boolean): void {
      if (!cache.#opts.strictShutdown || !hadError || this.writableEnded) return;
      const conn = connectionOf(this);
      if (conn !== undefined) cache.#fail(conn);
    };
  })();

  async #removeUnclean(key: Buffer): Promise<void> {
    const known = this.#index.delete(key);
    let had = false;
    try {
      had = await this.#store.delete(key);
    } catch (err) {
      this.#storeFailure(err, 'remove');
    }
    if (known !== undefined || had) {
      this.#stats.uncleanRemovals++;
      this.#removed(key.subarray(this.#keyPrefix.length), 'unclean');
    }
  }

  // ---- session callbacks ----------------------------------------------------------------

  readonly #onNewSession = (id: Buffer, der: Buffer, done: () => void): void => {
    const tls13 = derProtocolVersion(der) === TLS1_3_VERSION;
    // Stateless mode: a TLS 1.3 session lives in its ticket; nothing will look it up here.
    if (tls13 && !this.#tls13Stateful) {
      done();
      return;
    }
    // Write-behind: the handshake goes on at once and the write runs under its time budget.
    // Waiting would add the store's write latency to every full handshake; the cost is that a
    // client reconnecting faster than the write misses (an in-memory store writes synchronously).
    const conn = currentConnection();
    // OpenSSL has read this handshake's hello by now: its server name needs no parse here.
    // The socket, for 'session' listeners only: finding it costs a symbol lookup.
    const socket = this.listenerCount('session') > 0 ? currentSocket() : undefined;
    this.#storeSession(id, der, tls13, conn, conn === undefined ? undefined : currentServerName(), socket);
    done();
  };

  /**
   * Writes a new session: at once into a store in this process, otherwise behind the handshake
   * under its time budget.
   */
  #storeSession(
    id: Buffer,
    der: Buffer,
    tls13: boolean,
    conn: ConnectionState | undefined,
    serverName: string | undefined,
    socket: TLSSocket | undefined,
  ): void {
    const key = this.#storeKey(id);
    const now = this.#opts.now();
    const ttl = this.#timeoutS * 1000;
    const expiresMs = now + ttl;
    const evicted = this.#index.add(key, id.length, expiresMs);
    if (evicted !== undefined) {
      for (const e of evicted) {
        this.#stats.cacheFull++;
        void this.#dropRemoved(e.key, e.id, 'evicted');
      }
    }
    const value = encodeRecord({ tls13, serverName, createdMs: now, expiresMs, der });
    if (conn !== undefined) addKey(conn, key);
    const written = { id, tls13, serverName, socket, key };
    if (this.#immediate !== undefined) {
      try {
        this.#immediate.setNow(key, value, ttl);
      } catch (err) {
        this.#notStored(written, err);
        return;
      }
      this.#wasStored(written);
      return;
    }
    let pending: Promise<void>;
    try {
      pending = this.#store.set(key, value, ttl);
    } catch (err) {
      pending = Promise.reject(err);
    }
    this.#budget.run(pending, 'session store').then(
      () => this.#wasStored(written),
      (err: unknown) => this.#notStored(written, err),
    );
  }

  #wasStored(w: Written): void {
    this.#stats.stored++;
    this.#stored(w.id, w.tls13 ? 'TLSv1.3' : 'TLSv1.2', w.serverName, w.socket);
  }

  #notStored(w: Written, err: unknown): void {
    this.#index.delete(w.key);
    this.#storeFailure(err, 'store');
  }

  readonly #onResumeSession = (legacyId: Buffer, callback: ResumeCallback): void => {
    const conn = currentConnection();
    if (conn === undefined || !this.#readHello(conn)) {
      this.#stats.misses++;
      this.#missed(legacyId, 'no-hello');
      callback(null, null);
      return;
    }
    let id: Buffer;
    let tls13: boolean;
    // The creds were chosen when the connection was made; a context change since then does not matter here.
    if (conn.offersTls13 && this.#tls13Capable) {
      // TLS 1.3 will be negotiated: the legacy id is random; only a stateful PSK identity resumes.
      if (conn.pskIdentity === undefined || !this.#tls13Stateful) {
        callback(null, null);
        return;
      }
      id = conn.pskIdentity;
      tls13 = true;
    } else {
      id = legacyId;
      tls13 = false;
    }
    const wrap = tls13 ? currentWrap() : undefined;
    const answer = (der: Buffer | undefined): void => {
      // Node processes the first ClientHello inside this call, and OpenSSL takes the loaded
      // session out of Node's slot. After a HelloRetryRequest the handshake is not resumed
      // yet and the second ClientHello asks again: load the session once more for it.
      callback(null, der ?? null);
      if (
        der !== undefined &&
        wrap !== undefined &&
        conn.offer !== undefined &&
        !conn.failed &&
        wrapAlive(wrap) &&
        !wrap.isSessionReused()
      ) {
        wrap.loadSession(der);
      }
    };
    const found = this.#lookup(id, tls13, conn);
    if (found instanceof Promise) found.then(answer, () => callback(null, null));
    else answer(found);
  };

  /**
   * Looks a session up: at once in a store in this process, otherwise through its promise under
   * the time budget. A promise only when the store or a client certificate check must be awaited.
   */
  #lookup(id: Buffer, tls13: boolean, conn: ConnectionState): Buffer | undefined | Promise<Buffer | undefined> {
    const key = this.#storeKey(id);
    const single = tls13 && !this.#opts.reuseTls13;
    if (this.#immediate === undefined) return this.#fetch(key, id, tls13, single, conn);
    let value: Uint8Array | undefined;
    try {
      value = single ? this.#immediate.takeNow(key) : this.#immediate.getNow(key);
    } catch (err) {
      return this.#lookupFailed(id, err);
    }
    return this.#admit(key, id, tls13, single, conn, value);
  }

  async #fetch(
    key: Buffer,
    id: Buffer,
    tls13: boolean,
    single: boolean,
    conn: ConnectionState,
  ): Promise<Buffer | undefined> {
    let value: Uint8Array | undefined;
    try {
      const pending = single ? this.#store.take(key) : this.#store.get(key);
      value = await this.#budget.run(pending, 'session lookup');
    } catch (err) {
      return this.#lookupFailed(id, err);
    }
    return this.#admit(key, id, tls13, single, conn, value);
  }

  #lookupFailed(id: Buffer, err: unknown): undefined {
    this.#storeFailure(err, 'lookup');
    this.#stats.misses++;
    this.#missed(id, 'store-error');
    return undefined;
  }

  /** Decides on what the store answered: the session to hand OpenSSL, or a miss (counted and reported). */
  #admit(
    key: Buffer,
    id: Buffer,
    tls13: boolean,
    single: boolean,
    conn: ConnectionState,
    value: Uint8Array | undefined,
  ): Buffer | undefined | Promise<Buffer | undefined> {
    const st = this.#stats;
    const now = this.#opts.now();
    if (value === undefined) {
      const known = this.#index.delete(key);
      if (known !== undefined && known <= now) {
        st.timeouts++;
        this.#removed(id, 'expired');
        this.#missed(id, 'expired');
      } else {
        // Known, unexpired, and not in the store: the store dropped it; say so.
        if (known !== undefined) this.#removed(id, 'dropped');
        st.misses++;
        this.#missed(id, 'absent');
      }
      return undefined;
    }
    let rec: SessionRecord;
    try {
      rec = decodeRecord(value);
    } catch (err) {
      this.#index.delete(key);
      if (!single) void this.#deleteQuiet(key);
      this.#report(err as ServerSessionCacheError);
      st.misses++;
      this.#missed(id, 'record');
      return undefined;
    }
    if (rec.expiresMs <= now) {
      st.timeouts++;
      this.#index.delete(key);
      if (!single) void this.#deleteQuiet(key);
      this.#removed(id, 'expired');
      this.#missed(id, 'expired');
      return undefined;
    }
    if (rec.tls13 !== tls13 || rec.serverName !== conn.serverName) {
      const reason: MissReason = rec.tls13 !== tls13 ? 'version' : 'server-name';
      if (reason === 'server-name') st.serverNameMismatches++;
      st.misses++;
      // Taken for nothing: put it back for the client it belongs to.
      if (single) void this.#putBack(key, value, rec.expiresMs - now);
      this.#missed(id, reason);
      return undefined;
    }
    if (this.#server?.requestCert === true) {
      return this.#checkClientCertificate(rec, tls13).then((refused) =>
        refused
          ? this.#refusedClientCertificate(key, id, single)
          : this.#offer(key, id, tls13, single, conn, rec, value, now),
      );
    }
    return this.#offer(key, id, tls13, single, conn, rec, value, now);
  }

  /** True when the session's client certificate is refused (expired, or by `checkClientCertificate`). */
  async #checkClientCertificate(rec: SessionRecord, tls13: boolean): Promise<boolean> {
    const info = { protocol: tls13 ? ('TLSv1.3' as const) : ('TLSv1.2' as const), serverName: rec.serverName };
    const refused = await refuseClientCertificate(
      rec.der,
      info,
      this.#opts.now(),
      this.#opts.checkClientCertificate,
      this.#budget,
    );
    if (refused instanceof ServerSessionCacheError) this.#report(refused);
    return refused !== undefined;
  }

  #refusedClientCertificate(key: Buffer, id: Buffer, single: boolean): undefined {
    this.#stats.clientCertificateRefusals++;
    this.#stats.misses++;
    // It will never be good again: removed, whoever offers it.
    this.#index.delete(key);
    if (!single) void this.#deleteQuiet(key);
    this.#removed(id, 'client-certificate');
    this.#missed(id, 'client-certificate');
    return undefined;
  }

  /** Hands the session to the connection; counted as a hit when the handshake completes resumed (#settle). */
  #offer(
    key: Buffer,
    id: Buffer,
    tls13: boolean,
    single: boolean,
    conn: ConnectionState,
    rec: SessionRecord,
    value: Uint8Array,
    now: number,
  ): Buffer | undefined {
    let der = rec.der as Buffer;
    if (single) this.#index.delete(key);
    else if ((this.#opts.cacheMode & SessionCacheMode.UPDATE_TIME) !== 0) der = this.#refresh(key, id, rec, now);
    conn.offer = {
      key,
      id,
      single,
      tls13,
      serverName: rec.serverName,
      value,
      expiresMs: rec.expiresMs,
    } satisfies Offer;
    if (!single) addKey(conn, key);
    // The connection failed while the store answered.
    if (conn.failed) {
      this.#fail(conn);
      return undefined;
    }
    return der;
  }

  /** UPDATE_TIME: the session's lifetime restarts now, in OpenSSL's eyes and in the store. */
  #refresh(key: Buffer, id: Buffer, rec: SessionRecord, now: number): Buffer {
    let der: Buffer;
    try {
      const session = TlsSession.fromDER(rec.der);
      session.time = Math.floor(now / 1000);
      session.timeout = this.#timeoutS;
      der = session.toDER();
      session.wipe();
    } catch {
      return rec.der as Buffer;
    }
    const ttl = this.#timeoutS * 1000;
    const expiresMs = now + ttl;
    this.#index.add(key, id.length, expiresMs);
    const value = encodeRecord({ ...rec, createdMs: now, expiresMs, der });
    void this.#budget
      .run(this.#store.set(key, value, ttl), 'session update')
      .catch((err: unknown) => this.#storeFailure(err, 'update'));
    return der;
  }

  // ---- helpers --------------------------------------------------------------------------

  #storeKey(id: Buffer): Buffer {
    return Buffer.concat([this.#keyPrefix, id], this.#keyPrefix.length + id.length);
  }

  async #dropRemoved(key: Uint8Array, id: Buffer, reason: RemoveReason): Promise<void> {
    this.#removed(id, reason);
    await this.#deleteQuiet(key);
  }

  async #deleteQuiet(key: Uint8Array): Promise<void> {
    try {
      await this.#store.delete(key);
    } catch (err) {
      this.#storeFailure(err, 'remove');
    }
  }

  async #putBack(key: Buffer, value: Uint8Array, ttlMs: number): Promise<void> {
    if (ttlMs <= 0) return;
    try {
      await this.#store.set(key, value, ttlMs);
    } catch (err) {
      this.#storeFailure(err, 'store');
    }
  }

  #storeFailure(err: unknown, what: string): void {
    const timeout = err instanceof BudgetExceededError;
    if (timeout) this.#stats.storeTimeouts++;
    else this.#stats.storeErrors++;
    if (this.listenerCount('storeError') === 0 && this.listenerCount('error') === 0) return;
    this.#report(
      new ServerSessionCacheError(
        timeout ? 'ERR_STORE_TIMEOUT' : 'ERR_CACHE_STORE',
        `session ${what}: ${messageOf(err)}`,
        {
          cause: err,
        },
      ),
    );
  }

  // ---- events: each emitted only when someone listens; the deprecated names after the new ----

  #stored(
    id: Buffer,
    protocol: SessionEventInfo['protocol'],
    serverName: string | undefined,
    socket: TLSSocket | undefined,
  ): void {
    if (this.listenerCount('session') > 0) this.emit('session', { id, protocol, serverName, socket });
    if (this.listenerCount('new') > 0) this.emit('new', id, { protocol, serverName });
  }

  #resumed(offer: Offer, socket: TLSSocket): void {
    const protocol = offer.tls13 ? 'TLSv1.3' : 'TLSv1.2';
    const { id, serverName } = offer;
    if (this.listenerCount('resumed') > 0) this.emit('resumed', { id, protocol, serverName, socket });
    if (this.listenerCount('hit') > 0) this.emit('hit', id, { protocol, serverName });
  }

  #missed(id: Buffer, reason: MissReason): void {
    if (this.listenerCount('missed') > 0) this.emit('missed', { id, reason });
    if (this.listenerCount('miss') > 0) this.emit('miss', id, reason);
  }

  #removed(id: Buffer, reason: RemoveReason): void {
    this.#stats.removed++;
    if (this.listenerCount('removed') > 0) this.emit('removed', { id, reason });
    if (this.listenerCount('remove') > 0) this.emit('remove', id, reason);
  }

  #report(err: ServerSessionCacheError): void {
    if (this.listenerCount('storeError') > 0) this.emit('storeError', err);
    if (this.listenerCount('error') > 0) this.emit('error', err);
  }
}

function addKey(conn: ConnectionState, key: Buffer): void {
  if (conn.keys === undefined) conn.keys = [key];
  else conn.keys.push(key);
}

/** Puts `to` where `from` is in the listener list of `event`, keeping the order of the others. */
function swapListener(
  emitter: EventEmitter,
  event: string,
  from: (...args: never[]) => void,
  to: (...args: never[]) => void,
): void {
  const all = emitter.rawListeners(event) as Array<(...args: unknown[]) => void>;
  if (!all.includes(from as (...args: unknown[]) => void)) return;
  emitter.removeAllListeners(event);
  for (const f of all) emitter.on(event, f === from ? (to as (...args: unknown[]) => void) : f);
}
