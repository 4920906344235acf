/**
 * SSL_CTX: configuration, the internal session cache with its callbacks and statistics.
 *
 * The cache works the way OpenSSL's "internal cache" does (ssl/ssl_sess.c, ssl_lib.c): in memory,
 * synchronous, holding one reference on each session, ordered by expiry, with the new/remove/get
 * callbacks for an external cache. Node's own cache is not involved: Node disables it, and
 * connections made from this context report their sessions here.
 */
import { randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { createSecureContext, type SecureContext, type SecureContextOptions } from 'node:tls';
import {
  DEFAULT_NUM_TICKETS,
  DEFAULT_SESSION_TIMEOUT_S,
  SESS_CACHE_MODE_MASK,
  SSL_MAX_SID_CTX_LENGTH,
  SSL_SESS_CACHE_CLIENT,
  SSL_SESS_CACHE_NO_AUTO_CLEAR,
  SSL_SESS_CACHE_NO_INTERNAL_STORE,
  SSL_SESS_CACHE_SERVER,
  SSL_SESS_CACHE_UPDATE_TIME,
  SSL_SESSION_CACHE_MAX_SIZE_DEFAULT,
  SSL_OP_IGNORE_UNEXPECTED_EOF,
  SSL_OP_NO_TICKET,
  SSL_VERIFY_NONE,
  SSL_VERIFY_PEER,
  TLS1_1_VERSION,
  TLS1_2_VERSION,
  TLS1_3_VERSION,
  TLS1_VERSION,
} from './constants.js';
import {
  ERR_LIB_SSL,
  ERR_R_PASSED_INVALID_ARGUMENT,
  ERR_R_UNSUPPORTED,
  ERR_raise,
  errnoOf,
  raiseSystemError,
} from './err.js';
import { raiseNodeError } from './node-errors.js';
import {
  SSL_R_ATTEMPT_TO_REUSE_SESSION_IN_DIFFERENT_CONTEXT,
  SSL_R_SSL_SESSION_ID_CONTEXT_TOO_LONG,
} from './reasons.js';
import { keyOfCore, SessionCache, type SessionStats, zeroStats } from './session-cache.js';
import type { SSL } from './ssl.js';
import { coreOf, Lease, nowSeconds, type SessionCore, type SSL_SESSION } from './ssl-session.js';
import { OpenSSLUsageError } from './usage-error.js';

/** Which ends a context serves: TLS_client_method(), TLS_server_method() or TLS_method(). */
export interface SSL_METHOD {
  readonly name: 'TLS_method' | 'TLS_client_method' | 'TLS_server_method';
  readonly client: boolean;
  readonly server: boolean;
}

const METHODS = {
  TLS_method: Object.freeze({ name: 'TLS_method', client: true, server: true }),
  TLS_client_method: Object.freeze({ name: 'TLS_client_method', client: true, server: false }),
  TLS_server_method: Object.freeze({ name: 'TLS_server_method', client: false, server: true }),
} as const satisfies Record<string, SSL_METHOD>;

/** TLS_method(): a context for both ends. */
export function TLS_method(): SSL_METHOD {
  return METHODS.TLS_method;
}
/** TLS_client_method(): a context for clients only. */
export function TLS_client_method(): SSL_METHOD {
  return METHODS.TLS_client_method;
}
/** TLS_server_method(): a context for servers only. */
export function TLS_server_method(): SSL_METHOD {
  return METHODS.TLS_server_method;
}

/** Configuration of {@link SSL_CTX_new}; each field also has its `SSL_CTX_*` setter. */
export interface SslCtxOptions {
  /** Default TLS_method(). */
  method?: SSL_METHOD;
  /** Certificate chain, PEM (SSL_CTX_use_certificate_chain_file). */
  cert?: string | Buffer;
  /** Private key, PEM (SSL_CTX_use_PrivateKey_file). */
  key?: string | Buffer;
  /** Trusted CA certificates, PEM (SSL_CTX_load_verify_locations); default: Node's root store. */
  ca?: string | Buffer | Array<string | Buffer>;
  /** e.g. TLS1_2_VERSION; 0 = the lowest supported. */
  minProtoVersion?: number;
  /** e.g. TLS1_3_VERSION; 0 = the highest supported. */
  maxProtoVersion?: number;
  /**
   * SSL_VERIFY_* flags. Default: clients verify the server (SSL_VERIFY_PEER, where OpenSSL's
   * default is SSL_VERIFY_NONE: see docs/openssl.md); servers do not ask for client certificates.
   */
  verifyMode?: number;
}

/** OpenSSL's new-session callback: return 1 to keep the reference it was given, 0 to let the library free it. */
export type NewSessionCallback = (ssl: SSL, sess: SSL_SESSION) => number | boolean;
/** OpenSSL's remove-session callback. `sess` is borrowed: valid until the callback returns (up_ref it to keep it). */
export type RemoveSessionCallback = (ctx: SSL_CTX, sess: SSL_SESSION) => void;
/**
 * OpenSSL's get-session callback (servers): the session for `id`, or `null`. `copy.copy` starts
 * at 1: the library then takes its own reference; set it to 0 to hand over a reference instead.
 */
export type GetSessionCallback = (ssl: SSL, id: Buffer, copy: { copy: number }) => SSL_SESSION | null;

/**
 * Options Node's contexts always have and that cannot be cleared (Node's secureOptions only adds
 * options): an unexpected EOF is ignored, so a peer that closes TCP without close_notify reads as
 * a clean close on every Node line (measured in test/openssl/after-handshake.test.ts).
 */
const NODE_OPTIONS = SSL_OP_IGNORE_UNEXPECTED_EOF;

/** The state behind an SSL_CTX pointer (internal). */
export class CtxState {
  refs = 1;
  freed = false;
  readonly cache: SessionCache;
  mode = SSL_SESS_CACHE_SERVER;
  cacheSize = SSL_SESSION_CACHE_MAX_SIZE_DEFAULT;
  timeout = DEFAULT_SESSION_TIMEOUT_S;
  readonly stats: SessionStats = zeroStats();
  newCb: NewSessionCallback | null = null;
  removeCb: RemoveSessionCallback | null = null;
  getCb: GetSessionCallback | null = null;
  /** SSL_OP_* bits; always with the ones Node sets on every context ({@link NODE_OPTIONS}). */
  options = NODE_OPTIONS;
  minVersion = 0;
  maxVersion = 0;
  cipherList: string | undefined;
  cipherSuites: string | undefined;
  cert: string | Buffer | undefined;
  key: string | Buffer | undefined;
  ca: Array<string | Buffer> | undefined;
  /** Set by SSL_CTX_set_verify; undefined = the defaults of {@link clientVerifyMode} / {@link serverVerifyMode}. */
  verifyMode: number | undefined;
  sidCtx: Buffer = Buffer.alloc(0);
  numTickets = DEFAULT_NUM_TICKETS;
  /** One ticket key for the context's life, as an SSL_CTX has (Node would pick a new one per SecureContext). */
  readonly ticketKeys = randomBytes(48);
  #secure: SecureContext | undefined;

  constructor(
    readonly method: SSL_METHOD,
    readonly ctx: SSL_CTX,
  ) {
    this.cache = new SessionCache(ctx);
  }

  /** Verify flags of client connections: SSL_VERIFY_PEER unless set otherwise. */
  get clientVerifyMode(): number {
    return this.verifyMode ?? SSL_VERIFY_PEER;
  }

  /** Verify flags of server connections: SSL_VERIFY_NONE unless set otherwise. */
  get serverVerifyMode(): number {
    return this.verifyMode ?? SSL_VERIFY_NONE;
  }

  /** Node's SecureContext for the current settings, built on first use after a change. */
  secureContext(): SecureContext {
    this.#secure ??= createSecureContext(this.secureContextOptions());
    return this.#secure;
  }

  secureContextOptions(): SecureContextOptions {
    const ciphers = [this.cipherList, this.cipherSuites].filter((c) => c !== undefined && c !== '').join(':');
    const options: SecureContextOptions = {
      minVersion: versionName(this.minVersion, 'min'),
      maxVersion: versionName(this.maxVersion, 'max'),
      secureOptions: this.options,
      ticketKeys: this.ticketKeys,
      sessionTimeout: Math.min(this.timeout, 0x7fffffff),
    };
    if (ciphers !== '') options.ciphers = ciphers;
    if (this.cert !== undefined) options.cert = this.cert;
    if (this.key !== undefined) options.key = this.key;
    if (this.ca !== undefined) options.ca = this.ca;
    if (this.sidCtx.length > 0) options.sessionIdContext = this.sidCtx.toString('utf8');
    return options;
  }

  /** Drops the built SecureContext after a setting changed. */
  changed(): void {
    this.#secure = undefined;
  }

  /**
   * Applies `change`, checks that Node accepts the result, and undoes it when not: 0 with the
   * error queued, like the OpenSSL setter that would have refused it.
   */
  tryChange(change: () => void, undo: () => void): number {
    change();
    try {
      this.#secure = createSecureContext(this.secureContextOptions());
      return 1;
    } catch (error) {
      undo();
      this.#secure = undefined;
      raiseNodeError(error);
      return 0;
    }
  }
}

function versionName(v: number, end: 'min' | 'max'): SecureContextOptions['minVersion'] {
  switch (v) {
    case TLS1_VERSION:
      return 'TLSv1';
    case TLS1_1_VERSION:
      return 'TLSv1.1';
    case TLS1_2_VERSION:
      return 'TLSv1.2';
    case TLS1_3_VERSION:
      return 'TLSv1.3';
    default:
      return end === 'min' ? 'TLSv1' : 'TLSv1.3';
  }
}

let stateOf: (ctx: SSL_CTX) => CtxState;
let createCtx: (method: SSL_METHOD) => SSL_CTX;

/** A pointer to an OpenSSL `SSL_CTX`. Opaque: use the `SSL_CTX_*` functions. */
export class SSL_CTX {
  readonly #state: CtxState;

  static {
    stateOf = (ctx) => ctx.#state;
    createCtx = (method) => new SSL_CTX(method);
  }

  private constructor(method: SSL_METHOD) {
    this.#state = new CtxState(method, this);
  }
}

/** The state of a context pointer, after checking that it may be used. */
export function ctxState(ctx: SSL_CTX, fn: string): CtxState {
  if (!(ctx instanceof SSL_CTX)) throw new OpenSSLUsageError('ERR_OPENSSL_BAD_HANDLE', `${fn}: not an SSL_CTX`);
  const st = stateOf(ctx);
  if (st.freed) throw new OpenSSLUsageError('ERR_OPENSSL_USE_AFTER_FREE', `${fn}: the SSL_CTX was freed`);
  return st;
}

// --- life cycle ---

/**
 * SSL_CTX_new: a context with reference count 1. `SSL_CTX_new(TLS_client_method())` and
 * `SSL_CTX_new({ method: TLS_client_method(), cert, key, ... })` both work. Returns `null` with
 * an error queued when Node refuses the configuration.
 */
export function SSL_CTX_new(
  methodOrOptions: SSL_METHOD | SslCtxOptions = {},
  more: SslCtxOptions = {},
): SSL_CTX | null {
  const options: SslCtxOptions = isMethod(methodOrOptions) ? { ...more, method: methodOrOptions } : methodOrOptions;
  const ctx = createCtx(options.method ?? METHODS.TLS_method);
  const st = stateOf(ctx);
  if (options.cert !== undefined) st.cert = options.cert;
  if (options.key !== undefined) st.key = options.key;
  if (options.ca !== undefined) st.ca = Array.isArray(options.ca) ? [...options.ca] : [options.ca];
  if (options.minProtoVersion !== undefined) st.minVersion = options.minProtoVersion;
  if (options.maxProtoVersion !== undefined) st.maxVersion = options.maxProtoVersion;
  if (options.verifyMode !== undefined) st.verifyMode = options.verifyMode;
  try {
    st.secureContext();
  } catch (error) {
    raiseNodeError(error);
    st.freed = true;
    return null;
  }
  return ctx;
}

function isMethod(x: unknown): x is SSL_METHOD {
  return Object.values(METHODS).includes(x as (typeof METHODS)[keyof typeof METHODS]);
}

/** SSL_CTX_up_ref: one more reference; returns 1. */
export function SSL_CTX_up_ref(ctx: SSL_CTX): number {
  ctxState(ctx, 'SSL_CTX_up_ref').refs += 1;
  return 1;
}

/**
 * SSL_CTX_free: one reference less. At zero every cached session is removed (the remove
 * callback runs for each, as SSL_CTX_flush_sessions(ctx, 0) does) and the context is released.
 * Connections hold a reference on their context. `null` does nothing.
 */
export function SSL_CTX_free(ctx: SSL_CTX | null | undefined): void {
  if (ctx === null || ctx === undefined) return;
  if (!(ctx instanceof SSL_CTX)) throw new OpenSSLUsageError('ERR_OPENSSL_BAD_HANDLE', 'SSL_CTX_free: not an SSL_CTX');
  const st = stateOf(ctx);
  if (st.freed) throw new OpenSSLUsageError('ERR_OPENSSL_DOUBLE_FREE', 'SSL_CTX_free: the SSL_CTX was already freed');
  releaseCtx(st);
}

/** Drops one context reference (SSL_CTX_free, and SSL_free for the connection's one). */
export function releaseCtx(st: CtxState): void {
  st.refs -= 1;
  if (st.refs > 0) return;
  flushSessions(st, 0);
  st.freed = true;
  st.changed();
}

// --- the cache (ssl_sess.c) ---

/** SSL_CTX_set_session_cache_mode: sets the SSL_SESS_CACHE_* bits; returns the previous mode. */
export function SSL_CTX_set_session_cache_mode(ctx: SSL_CTX, mode: number): number {
  const st = ctxState(ctx, 'SSL_CTX_set_session_cache_mode');
  const old = st.mode;
  st.mode = mode & SESS_CACHE_MODE_MASK;
  return old;
}

/** SSL_CTX_get_session_cache_mode. */
export function SSL_CTX_get_session_cache_mode(ctx: SSL_CTX): number {
  return ctxState(ctx, 'SSL_CTX_get_session_cache_mode').mode;
}

/** SSL_CTX_sess_set_cache_size: most sessions held (0 = no limit); returns the previous size. */
export function SSL_CTX_sess_set_cache_size(ctx: SSL_CTX, size: number): number {
  const st = ctxState(ctx, 'SSL_CTX_sess_set_cache_size');
  const old = st.cacheSize;
  if (Number.isSafeInteger(size) && size >= 0) st.cacheSize = size;
  return old;
}

/** SSL_CTX_sess_get_cache_size. */
export function SSL_CTX_sess_get_cache_size(ctx: SSL_CTX): number {
  return ctxState(ctx, 'SSL_CTX_sess_get_cache_size').cacheSize;
}

/** SSL_CTX_set_timeout: lifetime in seconds of the sessions made from now on; returns the previous one. */
export function SSL_CTX_set_timeout(ctx: SSL_CTX, t: number): number {
  const st = ctxState(ctx, 'SSL_CTX_set_timeout');
  const old = st.timeout;
  if (Number.isSafeInteger(t) && t >= 0) {
    st.timeout = t;
    st.changed();
  }
  return old;
}

/** SSL_CTX_get_timeout. */
export function SSL_CTX_get_timeout(ctx: SSL_CTX): number {
  return ctxState(ctx, 'SSL_CTX_get_timeout').timeout;
}

/**
 * SSL_CTX_add_session: puts a session in the internal cache, which takes its own reference.
 * Returns 1 when added, 0 when it was already there (the cache keeps one reference) or belongs
 * to another context's cache (then with SSL_R_ATTEMPT_TO_REUSE_SESSION_IN_DIFFERENT_CONTEXT).
 */
export function SSL_CTX_add_session(ctx: SSL_CTX, sess: SSL_SESSION): number {
  const st = ctxState(ctx, 'SSL_CTX_add_session');
  return addSession(st, coreOf(sess, 'SSL_CTX_add_session'));
}

export function addSession(st: CtxState, c: SessionCore): number {
  if (c.owner !== undefined && c.owner !== st.cache) {
    ERR_raise(
      ERR_LIB_SSL,
      SSL_R_ATTEMPT_TO_REUSE_SESSION_IN_DIFFERENT_CONTEXT,
      'the session is in the cache of another SSL_CTX',
    );
    return 0;
  }
  c.upRef();
  let s = st.cache.insert(c);
  if (s !== undefined && s !== c) {
    // Another session with the same id: it goes, as OpenSSL does.
    st.cache.listRemove(s);
    s.release('SSL_CTX_add_session');
    s = undefined;
  }
  if ((st.mode & SSL_SESS_CACHE_UPDATE_TIME) !== 0) c.tls.time = nowSeconds();
  let ret = 0;
  if (s === undefined) {
    ret = 1;
    if (st.cacheSize > 0) {
      while (st.cache.size >= st.cacheSize) {
        if (removeSessionLock(st, st.cache.tail) === 0) break;
        st.stats.cache_full += 1;
      }
    }
  }
  st.cache.listAdd(c);
  if (s !== undefined) {
    s.release('SSL_CTX_add_session');
    ret = 0;
  }
  return ret;
}

/**
 * SSL_CTX_remove_session: takes a session out of the internal cache and marks it non-resumable.
 * The remove callback runs for any session with an id, cached or not. Returns 1 when it was cached.
 */
export function SSL_CTX_remove_session(ctx: SSL_CTX, sess: SSL_SESSION): number {
  const st = ctxState(ctx, 'SSL_CTX_remove_session');
  return removeSessionLock(st, coreOf(sess, 'SSL_CTX_remove_session'));
}

export function removeSessionLock(st: CtxState, c: SessionCore | undefined): number {
  if (c === undefined || c.tls.sessionId.length === 0) return 0;
  const r = st.cache.get(keyOfCore(c));
  if (r !== undefined) {
    st.cache.delete(r);
    st.cache.listRemove(r);
  }
  c.tls.notResumable = true;
  callRemoveCb(st, c);
  if (r !== undefined) {
    r.release('SSL_CTX_remove_session');
    return 1;
  }
  return 0;
}

function callRemoveCb(st: CtxState, c: SessionCore): void {
  const cb = st.removeCb;
  if (cb === null) return;
  const lease = new Lease(c, 'the remove-session callback');
  try {
    cb(st.ctx, lease.view());
  } finally {
    lease.revoke('the remove-session callback returned');
  }
}

/**
 * SSL_CTX_flush_sessions: removes the cached sessions that expired before time `t` (seconds
 * since the epoch; 0 removes all), calling the remove callback for each.
 */
export function SSL_CTX_flush_sessions(ctx: SSL_CTX, t: number): void {
  flushSessions(ctxState(ctx, 'SSL_CTX_flush_sessions'), t);
}

export function flushSessions(st: CtxState, t: number): void {
  const gone: SessionCore[] = [];
  for (let cur = st.cache.tail; cur !== undefined; cur = st.cache.tail) {
    if (t !== 0 && !(t > cur.expiresAt)) break;
    st.cache.delete(cur);
    st.cache.listRemove(cur);
    cur.tls.notResumable = true;
    callRemoveCb(st, cur);
    gone.push(cur);
  }
  for (const s of gone) s.release('SSL_CTX_flush_sessions');
}

/** SSL_CTX_sess_set_new_cb; `null` removes it. */
export function SSL_CTX_sess_set_new_cb(ctx: SSL_CTX, cb: NewSessionCallback | null): void {
  ctxState(ctx, 'SSL_CTX_sess_set_new_cb').newCb = cb;
}
/** SSL_CTX_sess_get_new_cb. */
export function SSL_CTX_sess_get_new_cb(ctx: SSL_CTX): NewSessionCallback | null {
  return ctxState(ctx, 'SSL_CTX_sess_get_new_cb').newCb;
}
/** SSL_CTX_sess_set_remove_cb; `null` removes it. */
export function SSL_CTX_sess_set_remove_cb(ctx: SSL_CTX, cb: RemoveSessionCallback | null): void {
  ctxState(ctx, 'SSL_CTX_sess_set_remove_cb').removeCb = cb;
}
/** SSL_CTX_sess_get_remove_cb. */
export function SSL_CTX_sess_get_remove_cb(ctx: SSL_CTX): RemoveSessionCallback | null {
  return ctxState(ctx, 'SSL_CTX_sess_get_remove_cb').removeCb;
}
/** SSL_CTX_sess_set_get_cb (servers; synchronous, as in OpenSSL); `null` removes it. */
export function SSL_CTX_sess_set_get_cb(ctx: SSL_CTX, cb: GetSessionCallback | null): void {
  ctxState(ctx, 'SSL_CTX_sess_set_get_cb').getCb = cb;
}
/** SSL_CTX_sess_get_get_cb. */
export function SSL_CTX_sess_get_get_cb(ctx: SSL_CTX): GetSessionCallback | null {
  return ctxState(ctx, 'SSL_CTX_sess_get_get_cb').getCb;
}

// --- statistics (SSL_CTX_sess_number(3)) ---

/** SSL_CTX_sess_number: sessions in the internal cache. */
export function SSL_CTX_sess_number(ctx: SSL_CTX): number {
  return ctxState(ctx, 'SSL_CTX_sess_number').cache.size;
}
/** SSL_CTX_sess_connect: client handshakes started. */
export function SSL_CTX_sess_connect(ctx: SSL_CTX): number {
  return ctxState(ctx, 'SSL_CTX_sess_connect').stats.connect;
}
/** SSL_CTX_sess_connect_good: client handshakes completed. */
export function SSL_CTX_sess_connect_good(ctx: SSL_CTX): number {
  return ctxState(ctx, 'SSL_CTX_sess_connect_good').stats.connect_good;
}
/** SSL_CTX_sess_connect_renegotiate: always 0 (connections made here never renegotiate). */
export function SSL_CTX_sess_connect_renegotiate(ctx: SSL_CTX): number {
  return ctxState(ctx, 'SSL_CTX_sess_connect_renegotiate').stats.connect_renegotiate;
}
/** SSL_CTX_sess_accept: server handshakes started. */
export function SSL_CTX_sess_accept(ctx: SSL_CTX): number {
  return ctxState(ctx, 'SSL_CTX_sess_accept').stats.accept;
}
/** SSL_CTX_sess_accept_good: server handshakes completed. */
export function SSL_CTX_sess_accept_good(ctx: SSL_CTX): number {
  return ctxState(ctx, 'SSL_CTX_sess_accept_good').stats.accept_good;
}
/** SSL_CTX_sess_accept_renegotiate: always 0 (Node refuses client renegotiation here). */
export function SSL_CTX_sess_accept_renegotiate(ctx: SSL_CTX): number {
  return ctxState(ctx, 'SSL_CTX_sess_accept_renegotiate').stats.accept_renegotiate;
}
/** SSL_CTX_sess_hits: sessions reused. */
export function SSL_CTX_sess_hits(ctx: SSL_CTX): number {
  return ctxState(ctx, 'SSL_CTX_sess_hits').stats.hits;
}
/** SSL_CTX_sess_cb_hits: sessions found by the get-session callback. */
export function SSL_CTX_sess_cb_hits(ctx: SSL_CTX): number {
  return ctxState(ctx, 'SSL_CTX_sess_cb_hits').stats.cb_hits;
}
/** SSL_CTX_sess_misses: sessions asked for and not found (server), or offered and not resumed (client). */
export function SSL_CTX_sess_misses(ctx: SSL_CTX): number {
  return ctxState(ctx, 'SSL_CTX_sess_misses').stats.misses;
}
/** SSL_CTX_sess_timeouts: sessions found but expired. */
export function SSL_CTX_sess_timeouts(ctx: SSL_CTX): number {
  return ctxState(ctx, 'SSL_CTX_sess_timeouts').stats.timeouts;
}
/** SSL_CTX_sess_cache_full: sessions evicted because the cache was full. */
export function SSL_CTX_sess_cache_full(ctx: SSL_CTX): number {
  return ctxState(ctx, 'SSL_CTX_sess_cache_full').stats.cache_full;
}

/**
 * The session-cache step of a finished handshake or of a new TLS 1.3 ticket (ssl_update_cache in
 * ssl_lib.c): store in the internal cache, call the new-session callback, flush every 255
 * handshakes. `role` is SSL_SESS_CACHE_CLIENT or SSL_SESS_CACHE_SERVER.
 */
export function updateCache(
  st: CtxState,
  ssl: SSL,
  c: SessionCore,
  role: number,
  info: { hit: boolean; tls13: boolean; verifyPeer: boolean },
): void {
  if (c.tls.sessionId.length === 0 || c.tls.notResumable) return;
  const server = role === SSL_SESS_CACHE_SERVER;
  // No session id context: the session could be resumed out of context; OpenSSL does not cache it.
  if (server && c.tls.sessionIdContext.length === 0 && info.verifyPeer) return;
  const mode = st.mode;
  if ((mode & role) !== 0 && (!info.hit || info.tls13)) {
    const store =
      (mode & SSL_SESS_CACHE_NO_INTERNAL_STORE) === 0 &&
      (!info.tls13 || !server || st.removeCb !== null || (st.options & SSL_OP_NO_TICKET) !== 0);
    if (store) addSession(st, c);
    const cb = st.newCb;
    if (cb !== null) {
      c.upRef();
      const keep = cb(ssl, c.handle);
      if (keep === 0 || keep === false) c.release('the new-session callback');
    }
  }
  if ((mode & SSL_SESS_CACHE_NO_AUTO_CLEAR) === 0 && (mode & role) === role) {
    const good = role === SSL_SESS_CACHE_CLIENT ? st.stats.connect_good : st.stats.accept_good;
    if ((good & 0xff) === 0xff) flushSessions(st, nowSeconds());
  }
}

// --- configuration ---

/** SSL_CTX_set_options: adds SSL_OP_* bits; returns the new options. */
export function SSL_CTX_set_options(ctx: SSL_CTX, op: number): number {
  const st = ctxState(ctx, 'SSL_CTX_set_options');
  st.options = (st.options | op) >>> 0;
  st.changed();
  return st.options;
}
/** SSL_CTX_clear_options: removes SSL_OP_* bits, except SSL_OP_IGNORE_UNEXPECTED_EOF, which Node always sets; returns the new options. */
export function SSL_CTX_clear_options(ctx: SSL_CTX, op: number): number {
  const st = ctxState(ctx, 'SSL_CTX_clear_options');
  st.options = ((st.options & ~op) | NODE_OPTIONS) >>> 0;
  st.changed();
  return st.options;
}
/** SSL_CTX_get_options: the SSL_OP_* bits; SSL_OP_IGNORE_UNEXPECTED_EOF is always among them (see docs/openssl.md). */
export function SSL_CTX_get_options(ctx: SSL_CTX): number {
  return ctxState(ctx, 'SSL_CTX_get_options').options;
}

/** SSL_CTX_set_min_proto_version: e.g. TLS1_2_VERSION, 0 for the lowest; 1 on success. */
export function SSL_CTX_set_min_proto_version(ctx: SSL_CTX, version: number): number {
  const st = ctxState(ctx, 'SSL_CTX_set_min_proto_version');
  if (!knownVersion(version)) return badVersion(version);
  const old = st.minVersion;
  return st.tryChange(
    () => {
      st.minVersion = version;
    },
    () => {
      st.minVersion = old;
    },
  );
}
/** SSL_CTX_set_max_proto_version: e.g. TLS1_3_VERSION, 0 for the highest; 1 on success. */
export function SSL_CTX_set_max_proto_version(ctx: SSL_CTX, version: number): number {
  const st = ctxState(ctx, 'SSL_CTX_set_max_proto_version');
  if (!knownVersion(version)) return badVersion(version);
  const old = st.maxVersion;
  return st.tryChange(
    () => {
      st.maxVersion = version;
    },
    () => {
      st.maxVersion = old;
    },
  );
}
/** SSL_CTX_get_min_proto_version (0 when not set). */
export function SSL_CTX_get_min_proto_version(ctx: SSL_CTX): number {
  return ctxState(ctx, 'SSL_CTX_get_min_proto_version').minVersion;
}
/** SSL_CTX_get_max_proto_version (0 when not set). */
export function SSL_CTX_get_max_proto_version(ctx: SSL_CTX): number {
  return ctxState(ctx, 'SSL_CTX_get_max_proto_version').maxVersion;
}

function knownVersion(v: number): boolean {
  return v === 0 || v === TLS1_VERSION || v === TLS1_1_VERSION || v === TLS1_2_VERSION || v === TLS1_3_VERSION;
}

function badVersion(v: number): number {
  ERR_raise(ERR_LIB_SSL, ERR_R_PASSED_INVALID_ARGUMENT, `unknown protocol version 0x${v.toString(16)}`);
  return 0;
}

/** SSL_CTX_set_cipher_list: TLS <= 1.2 ciphers; 0 with SSL_R_NO_CIPHER_MATCH when none is usable. */
export function SSL_CTX_set_cipher_list(ctx: SSL_CTX, list: string): number {
  const st = ctxState(ctx, 'SSL_CTX_set_cipher_list');
  const old = st.cipherList;
  return st.tryChange(
    () => {
      st.cipherList = list;
    },
    () => {
      st.cipherList = old;
    },
  );
}

/** SSL_CTX_set_ciphersuites: TLS 1.3 suites, e.g. 'TLS_AES_128_GCM_SHA256'. */
export function SSL_CTX_set_ciphersuites(ctx: SSL_CTX, suites: string): number {
  const st = ctxState(ctx, 'SSL_CTX_set_ciphersuites');
  const old = st.cipherSuites;
  return st.tryChange(
    () => {
      st.cipherSuites = suites;
    },
    () => {
      st.cipherSuites = old;
    },
  );
}

/** SSL_CTX_use_certificate_chain_file: the certificate chain (PEM file); 1 on success. */
export function SSL_CTX_use_certificate_chain_file(ctx: SSL_CTX, file: string): number {
  const st = ctxState(ctx, 'SSL_CTX_use_certificate_chain_file');
  const pem = readFile(file);
  if (pem === undefined) return 0;
  const old = st.cert;
  // The key may not be loaded yet: Node checks the pair only when both are set.
  return st.tryChange(
    () => {
      st.cert = pem;
    },
    () => {
      st.cert = old;
    },
  );
}

/** SSL_CTX_use_PrivateKey_file: the private key (PEM file; SSL_FILETYPE_PEM is the only type); 1 on success. */
export function SSL_CTX_use_PrivateKey_file(ctx: SSL_CTX, file: string, type = SSL_FILETYPE_PEM): number {
  const st = ctxState(ctx, 'SSL_CTX_use_PrivateKey_file');
  if (type !== SSL_FILETYPE_PEM) {
    ERR_raise(ERR_LIB_SSL, ERR_R_UNSUPPORTED, 'only SSL_FILETYPE_PEM');
    return 0;
  }
  const pem = readFile(file);
  if (pem === undefined) return 0;
  const old = st.key;
  return st.tryChange(
    () => {
      st.key = pem;
    },
    () => {
      st.key = old;
    },
  );
}

/** SSL_FILETYPE_PEM. */
export const SSL_FILETYPE_PEM = 1;

/** SSL_CTX_load_verify_locations: trusted CA certificates from a PEM file (`caPath` is not supported). */
export function SSL_CTX_load_verify_locations(
  ctx: SSL_CTX,
  caFile: string | null,
  caPath: string | null = null,
): number {
  const st = ctxState(ctx, 'SSL_CTX_load_verify_locations');
  if (caPath !== null) {
    ERR_raise(ERR_LIB_SSL, ERR_R_UNSUPPORTED, 'CApath directories are not supported; pass a CAfile');
    return 0;
  }
  if (caFile === null) {
    ERR_raise(ERR_LIB_SSL, ERR_R_PASSED_INVALID_ARGUMENT, 'no CAfile');
    return 0;
  }
  const pem = readFile(caFile);
  if (pem === undefined) return 0;
  const old = st.ca;
  return st.tryChange(
    () => {
      st.ca = [...(old ?? []), pem];
    },
    () => {
      st.ca = old;
    },
  );
}

function readFile(file: string): Buffer | undefined {
  try {
    return readFileSync(file);
  } catch (error) {
    const errno = errnoOf((error as NodeJS.ErrnoException).code);
    raiseSystemError(errno === 0 ? 2 : errno, file);
    return undefined;
  }
}

/** SSL_CTX_set_verify: SSL_VERIFY_* flags (a verify callback is not supported). */
export function SSL_CTX_set_verify(ctx: SSL_CTX, mode: number): void {
  const st = ctxState(ctx, 'SSL_CTX_set_verify');
  st.verifyMode = mode;
  st.changed();
}
/** SSL_CTX_get_verify_mode: the mode set, else SSL_VERIFY_PEER for a client-only context and SSL_VERIFY_NONE otherwise. */
export function SSL_CTX_get_verify_mode(ctx: SSL_CTX): number {
  const st = ctxState(ctx, 'SSL_CTX_get_verify_mode');
  return st.method.server ? st.serverVerifyMode : st.clientVerifyMode;
}

/**
 * SSL_CTX_set_session_id_context: servers resume only sessions made under the same context.
 * 0 with SSL_R_SSL_SESSION_ID_CONTEXT_TOO_LONG above 32 bytes. Node passes the context as a
 * string, so the bytes must be valid UTF-8 (0 with ERR_R_PASSED_INVALID_ARGUMENT otherwise).
 */
export function SSL_CTX_set_session_id_context(ctx: SSL_CTX, sidCtx: Uint8Array | string): number {
  const st = ctxState(ctx, 'SSL_CTX_set_session_id_context');
  const bytes = typeof sidCtx === 'string' ? Buffer.from(sidCtx, 'utf8') : Buffer.from(sidCtx);
  if (bytes.length > SSL_MAX_SID_CTX_LENGTH) {
    ERR_raise(ERR_LIB_SSL, SSL_R_SSL_SESSION_ID_CONTEXT_TOO_LONG);
    return 0;
  }
  if (!Buffer.from(bytes.toString('utf8'), 'utf8').equals(bytes)) {
    ERR_raise(ERR_LIB_SSL, ERR_R_PASSED_INVALID_ARGUMENT, 'the session id context must be valid UTF-8');
    return 0;
  }
  st.sidCtx = bytes;
  st.changed();
  return 1;
}

/**
 * SSL_CTX_set_num_tickets: Node's servers always send OpenSSL's default of 2 TLS 1.3 tickets
 * after a full handshake and cannot be told otherwise. Returns 1 for 2; any other number
 * returns 0 with ERR_R_UNSUPPORTED queued, and the setting stays 2.
 */
export function SSL_CTX_set_num_tickets(ctx: SSL_CTX, n: number): number {
  const st = ctxState(ctx, 'SSL_CTX_set_num_tickets');
  if (n !== DEFAULT_NUM_TICKETS) {
    ERR_raise(ERR_LIB_SSL, ERR_R_UNSUPPORTED, `Node.js always sends ${DEFAULT_NUM_TICKETS} TLS 1.3 tickets`);
    return 0;
  }
  st.numTickets = n;
  return 1;
}
/** SSL_CTX_get_num_tickets: 2. */
export function SSL_CTX_get_num_tickets(ctx: SSL_CTX): number {
  return ctxState(ctx, 'SSL_CTX_get_num_tickets').numTickets;
}
