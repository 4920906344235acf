/**
 * SSL: one connection and the session it uses (ssl_lib.c, ssl_sess.c).
 *
 * The connection holds one reference on its session. Replacing the session (SSL_set_session, a
 * new TLS 1.3 ticket, a handshake that did not resume) frees that reference and revokes the
 * borrowed pointers handed out by SSL_get0_session; so does SSL_free.
 */
import type { Socket } from 'node:net';
import type { TLSSocket } from 'node:tls';
import {
  SSL_ERROR_NONE,
  SSL_ERROR_SSL,
  SSL_ERROR_SYSCALL,
  SSL_ERROR_ZERO_RETURN,
  SSL_RECEIVED_SHUTDOWN,
  SSL_SENT_SHUTDOWN,
  TLS1_1_VERSION,
  TLS1_2_VERSION,
  TLS1_3_VERSION,
  TLS1_VERSION,
} from './constants.js';
import { ERR_LIB_SSL, ERR_raise } from './err.js';
import { type FailureKind, isReceivedAlert, raiseRecordError } from './node-errors.js';
import { SSL_R_ATTEMPT_TO_REUSE_SESSION_IN_DIFFERENT_CONTEXT } from './reasons.js';
import { sessionKey } from './session-cache.js';
import { type CtxState, ctxState, releaseCtx, removeSessionLock, type SSL_CTX } from './ssl-ctx.js';
import { coreOf, Lease, type SessionCore, type SSL_SESSION } from './ssl-session.js';
import { OpenSSLUsageError } from './usage-error.js';

/** Where a connection is: OpenSSL's "before", "in init", "init finished", or failed. */
export type Phase = 'before' | 'init' | 'ok' | 'error';

/** The state behind an SSL pointer (internal). */
export class SslState {
  freed = false;
  session: SessionCore | undefined;
  lease: Lease | undefined;
  role: 'client' | 'server' | undefined;
  phase: Phase = 'before';
  hit = false;
  shutdown = 0;
  /** The TCP socket given with SSL_set_fd. */
  fd: Socket | undefined;
  /** The TLS socket of the current connection. */
  tls: TLSSocket | undefined;
  servername: string | undefined;
  /** Negotiated protocol version (e.g. TLS1_3_VERSION), 0 before a handshake. */
  version = 0;
  /** Why the last call failed, for SSL_get_error. */
  failure: Exclude<FailureKind, 'verify'> | 'zero' | undefined;
  /**
   * A fatal TLS error after the handshake (an alert sent or received): 'pending' until SSL_read
   * reports it, then 'reported'; libssl answers every later read with SSL_ERROR_SYSCALL.
   */
  fatal: 'pending' | 'reported' | undefined;
  /** What SSL_read returns when it reports the fatal error: 0 for a received alert, -1 otherwise (libssl 3.0, measured). */
  fatalRet = -1;
  /** An exception thrown by an application callback during socket events; the next call rethrows it. */
  pendingError: unknown;
  // Application data received and not read yet.
  readonly incoming: Buffer[] = [];
  ended = false;
  closed = false;
  readonly wakeups = new Set<() => void>();

  constructor(
    readonly ctx: SSL_CTX,
    readonly ctxSt: CtxState,
  ) {}

  /** Wakes every pending SSL_read / SSL_shutdown. */
  wake(): void {
    for (const f of [...this.wakeups]) f();
  }
}

let stateOf: (ssl: SSL) => SslState;
let createSsl: (ctx: SSL_CTX, st: CtxState) => SSL;

/** A pointer to an OpenSSL `SSL` connection object. Opaque: use the `SSL_*` functions. */
export class SSL {
  readonly #state: SslState;

  static {
    stateOf = (ssl) => ssl.#state;
    createSsl = (ctx, st) => new SSL(ctx, st);
  }

  private constructor(ctx: SSL_CTX, st: CtxState) {
    this.#state = new SslState(ctx, st);
  }
}

/** The state of a connection pointer, after checking that it may be used. */
export function sslState(ssl: SSL, fn: string): SslState {
  if (!(ssl instanceof SSL)) throw new OpenSSLUsageError('ERR_OPENSSL_BAD_HANDLE', `${fn}: not an SSL`);
  const st = stateOf(ssl);
  if (st.freed) throw new OpenSSLUsageError('ERR_OPENSSL_USE_AFTER_FREE', `${fn}: the SSL was freed`);
  return st;
}

/**
 * Replaces the connection's session: frees the old reference and revokes borrowed pointers.
 * `fn` names the call in the error thrown when that reference was already freed by the program.
 */
export function setSession(st: SslState, core: SessionCore | undefined, why: string, fn = 'SSL_SESSION_free'): void {
  const old = st.session;
  if (old === core) return;
  st.lease?.revoke(why);
  st.lease = undefined;
  st.session = core;
  old?.release(fn);
}

/**
 * ssl_clear_bad_session: a connection that finished its handshake and did not send close_notify
 * (SSL_shutdown) leaves its session "open"; such a session is removed from the cache (and marked
 * non-resumable). Returns true when it did so.
 */
export function clearBadSession(st: SslState): boolean {
  if (st.session !== undefined && (st.shutdown & SSL_SENT_SHUTDOWN) === 0 && st.phase === 'ok') {
    removeSessionLock(st.ctxSt, st.session);
    return true;
  }
  return false;
}

/** The error of an application callback, rethrown at the next call on the connection. */
export function takePendingError(st: SslState): void {
  if (st.pendingError !== undefined) {
    const e = st.pendingError;
    st.pendingError = undefined;
    throw e;
  }
}

/** Listens for application data, close_notify and errors once the handshake is done. */
export function attachIo(st: SslState, tls: TLSSocket): void {
  // Events of a socket that SSL_clear or SSL_free let go of must not touch the next connection.
  const current = (): boolean => st.tls === tls && !st.freed;
  tls.on('data', (chunk: Buffer) => {
    if (!current()) return;
    st.incoming.push(chunk);
    st.wake();
  });
  tls.on('end', () => {
    // After a fatal error the connection is dead: a later close is not a shutdown.
    if (!current() || st.fatal !== undefined) return;
    st.ended = true;
    st.shutdown |= SSL_RECEIVED_SHUTDOWN;
    st.wake();
  });
  tls.on('close', () => {
    if (!current()) return;
    st.closed = true;
    st.wake();
  });
}

/**
 * A failure after the handshake, from either end: queued for SSL_read to report. A fatal TLS
 * error removes the session, as an alert does in OpenSSL (ssl3_send_alert, and ssl3_read_bytes
 * for a received one, which also sets SSL_RECEIVED_SHUTDOWN). The connection cannot be used any
 * more: its socket is destroyed.
 */
export function failAfterHandshake(st: SslState, error: unknown): void {
  if (st.fatal !== undefined) return;
  const kind = raiseRecordError(error);
  st.failure = kind === 'verify' ? 'ssl' : kind;
  st.fatal = 'pending';
  if (kind === 'ssl') {
    if (st.session !== undefined) removeSessionLock(st.ctxSt, st.session);
    if (isReceivedAlert(error)) {
      st.shutdown |= SSL_RECEIVED_SHUTDOWN;
      st.fatalRet = 0;
    }
  }
  st.tls?.destroy();
  st.wake();
}

/** TLS1_x_VERSION of Node's protocol name ('TLSv1.3'), or 0. */
export function versionOf(name: string | null): number {
  switch (name) {
    case 'TLSv1.3':
      return TLS1_3_VERSION;
    case 'TLSv1.2':
      return TLS1_2_VERSION;
    case 'TLSv1.1':
      return TLS1_1_VERSION;
    case 'TLSv1':
      return TLS1_VERSION;
    default:
      return 0;
  }
}

// --- SSL_new(3), SSL_free(3), SSL_clear(3) ---

/** SSL_new: a connection object of `ctx` (which gains a reference). */
export function SSL_new(ctx: SSL_CTX): SSL {
  const st = ctxState(ctx, 'SSL_new');
  st.refs += 1;
  return createSsl(ctx, st);
}

/**
 * SSL_free: releases the connection. Without a prior SSL_shutdown, a connection that finished its
 * handshake counts as not closed cleanly: its session is removed from the cache and marked
 * non-resumable. The socket is destroyed (no close_notify is sent). `null` does nothing.
 */
export function SSL_free(ssl: SSL | null | undefined): void {
  if (ssl === null || ssl === undefined) return;
  if (!(ssl instanceof SSL)) throw new OpenSSLUsageError('ERR_OPENSSL_BAD_HANDLE', 'SSL_free: not an SSL');
  const st = stateOf(ssl);
  if (st.freed) throw new OpenSSLUsageError('ERR_OPENSSL_DOUBLE_FREE', 'SSL_free: the SSL was already freed');
  // Every step runs even when one throws (a remove callback, a session the program freed once
  // too often): the socket closes and the context reference goes, then the first error is thrown.
  let first: unknown;
  const step = (f: () => void): void => {
    try {
      f();
    } catch (error) {
      first ??= error;
    }
  };
  st.tls?.destroy();
  st.fd?.destroy();
  step(() => clearBadSession(st));
  st.freed = true;
  st.wake();
  step(() => releaseCtx(st.ctxSt));
  // The session last: its reference may be the one a program freed already.
  step(() => setSession(st, undefined, 'SSL_free', 'SSL_free'));
  if (first !== undefined) throw first;
}

/**
 * SSL_clear: makes the object ready for a new connection. The session stays (and is offered by the
 * next SSL_connect) unless the connection was not shut down cleanly: then it is removed from the
 * cache and dropped. Returns 1.
 */
export function SSL_clear(ssl: SSL): number {
  const st = sslState(ssl, 'SSL_clear');
  if (clearBadSession(st)) setSession(st, undefined, 'SSL_clear');
  st.tls?.destroy();
  st.fd?.destroy();
  st.tls = undefined;
  st.fd = undefined;
  st.role = undefined;
  st.phase = 'before';
  st.hit = false;
  st.shutdown = 0;
  st.version = 0;
  st.failure = undefined;
  st.fatal = undefined;
  st.fatalRet = -1;
  st.pendingError = undefined;
  st.incoming.length = 0;
  st.ended = false;
  st.closed = false;
  st.wake();
  return 1;
}

/** SSL_get_SSL_CTX: the context of the connection. */
export function SSL_get_SSL_CTX(ssl: SSL): SSL_CTX {
  return sslState(ssl, 'SSL_get_SSL_CTX').ctx;
}

/** SSL_set_fd: the connected TCP socket SSL_connect / SSL_accept runs on. Returns 1. */
export function SSL_set_fd(ssl: SSL, socket: Socket): number {
  const st = sslState(ssl, 'SSL_set_fd');
  if (st.phase !== 'before')
    throw new OpenSSLUsageError(
      'ERR_OPENSSL_BAD_STATE',
      'SSL_set_fd: the connection has already started; SSL_clear it first',
    );
  st.fd = socket;
  return 1;
}

/** SSL_set_tlsext_host_name: the SNI name SSL_connect sends (and checks the certificate against). Returns 1. */
export function SSL_set_tlsext_host_name(ssl: SSL, name: string): number {
  sslState(ssl, 'SSL_set_tlsext_host_name').servername = name;
  return 1;
}

// --- sessions (SSL_get_session(3), SSL_set_session(3)) ---

/**
 * SSL_set_session: the session SSL_connect offers. Takes a reference on `session`; frees the
 * previous session, which is first removed from the cache when its connection is still open (no
 * SSL_shutdown). `null` only drops the previous session. A session held by the cache of another
 * SSL_CTX is refused: 0 with SSL_R_ATTEMPT_TO_REUSE_SESSION_IN_DIFFERENT_CONTEXT. During a
 * handshake (SSL_connect or SSL_accept pending) it throws ERR_OPENSSL_BAD_STATE, as SSL_set_fd does.
 */
export function SSL_set_session(ssl: SSL, session: SSL_SESSION | null): number {
  const st = sslState(ssl, 'SSL_set_session');
  // The handshake under way decides the session; one set now would be taken for its result.
  if (st.phase === 'init')
    throw new OpenSSLUsageError(
      'ERR_OPENSSL_BAD_STATE',
      'SSL_set_session: the handshake is under way; set the session before SSL_connect',
    );
  const core = session === null ? undefined : coreOf(session, 'SSL_set_session');
  if (core?.owner !== undefined && core.owner !== st.ctxSt.cache) {
    ERR_raise(
      ERR_LIB_SSL,
      SSL_R_ATTEMPT_TO_REUSE_SESSION_IN_DIFFERENT_CONTEXT,
      'the session is in the cache of another SSL_CTX',
    );
    return 0;
  }
  core?.upRef();
  clearBadSession(st);
  const old = st.session;
  if (old === core) {
    // Same session: the new reference replaces the old one.
    core?.release('SSL_set_session');
    return 1;
  }
  setSession(st, core, 'SSL_set_session replaced the session');
  return 1;
}

/**
 * SSL_get0_session: the connection's session, borrowed (no reference taken), or `null`. The
 * pointer becomes invalid when the connection is freed or its session replaced; using it then
 * throws. With TLS 1.3 a client gets a non-resumable session until a ticket arrives, then the
 * session of the last ticket.
 */
export function SSL_get0_session(ssl: SSL): SSL_SESSION | null {
  const st = sslState(ssl, 'SSL_get0_session');
  const core = st.session;
  if (core === undefined) return null;
  st.lease ??= new Lease(core, 'SSL_get0_session');
  return st.lease.view();
}

/** SSL_get_session: the same as {@link SSL_get0_session}. */
export function SSL_get_session(ssl: SSL): SSL_SESSION | null {
  const st = sslState(ssl, 'SSL_get_session');
  const core = st.session;
  if (core === undefined) return null;
  st.lease ??= new Lease(core, 'SSL_get_session');
  return st.lease.view();
}

/** SSL_get1_session: the connection's session with one more reference (free it with SSL_SESSION_free), or `null`. */
export function SSL_get1_session(ssl: SSL): SSL_SESSION | null {
  const core = sslState(ssl, 'SSL_get1_session').session;
  if (core === undefined) return null;
  core.upRef();
  return core.handle;
}

/** SSL_session_reused: 1 when the last handshake resumed a session. */
export function SSL_session_reused(ssl: SSL): number {
  return sslState(ssl, 'SSL_session_reused').hit ? 1 : 0;
}

/** SSL_has_matching_session_id: 1 when the internal cache holds a session with this id (and the connection's version). */
export function SSL_has_matching_session_id(ssl: SSL, id: Uint8Array): number {
  const st = sslState(ssl, 'SSL_has_matching_session_id');
  if (id.length > 32) return 0;
  const version = st.version || st.session?.tls.protocolVersion || TLS1_3_VERSION;
  return st.ctxSt.cache.get(sessionKey(version, id)) === undefined ? 0 : 1;
}

// --- state ---

/** SSL_get_error: SSL_ERROR_* for the result `ret` of the last call on this connection. */
export function SSL_get_error(ssl: SSL, ret: number): number {
  const st = sslState(ssl, 'SSL_get_error');
  if (ret > 0) return SSL_ERROR_NONE;
  switch (st.failure) {
    case 'zero':
      return SSL_ERROR_ZERO_RETURN;
    case 'ssl':
      return SSL_ERROR_SSL;
    case 'syscall':
      return SSL_ERROR_SYSCALL;
    default:
      return SSL_ERROR_SSL;
  }
}

/** SSL_get_shutdown: SSL_SENT_SHUTDOWN | SSL_RECEIVED_SHUTDOWN bits. */
export function SSL_get_shutdown(ssl: SSL): number {
  return sslState(ssl, 'SSL_get_shutdown').shutdown;
}

/** SSL_is_init_finished: 1 once the handshake completed. */
export function SSL_is_init_finished(ssl: SSL): number {
  const st = sslState(ssl, 'SSL_is_init_finished');
  // A fatal error after the handshake puts libssl's state machine back in init (measured).
  return st.phase === 'ok' && st.fatal === undefined ? 1 : 0;
}

/** SSL_version: the negotiated version (e.g. TLS1_3_VERSION), 0 before a handshake. */
export function SSL_version(ssl: SSL): number {
  return sslState(ssl, 'SSL_version').version;
}

/** SSL_get_version: 'TLSv1.3', 'TLSv1.2', ... or 'unknown'. */
export function SSL_get_version(ssl: SSL): string {
  const v = sslState(ssl, 'SSL_get_version').version;
  return (
    { [TLS1_3_VERSION]: 'TLSv1.3', [TLS1_2_VERSION]: 'TLSv1.2', [TLS1_1_VERSION]: 'TLSv1.1', [TLS1_VERSION]: 'TLSv1' }[
      v
    ] ?? 'unknown'
  );
}

/** The Node TLS socket of the connection (not an OpenSSL call), e.g. for getPeerCertificate(). */
export function SSL_get_socket(ssl: SSL): TLSSocket | null {
  return sslState(ssl, 'SSL_get_socket').tls ?? null;
}

const ERR_R_SHOULD_NOT_HAVE_BEEN_CALLED = 257 | (0x1 << 18) | (0x2 << 18);

/**
 * The start SSL_connect and SSL_accept share: a finished handshake answers 1, one under way or
 * failed is a usage error, a context without that role queues SHOULD_NOT_HAVE_BEEN_CALLED and
 * answers -1. Otherwise returns the states to go on with.
 */
export function beginHandshake(ssl: SSL, fn: 'SSL_connect' | 'SSL_accept'): { st: SslState; ctxSt: CtxState } | number {
  const st = sslState(ssl, fn);
  takePendingError(st);
  const ctxSt = ctxState(st.ctx, fn);
  if (st.phase === 'ok') return 1;
  if (st.phase !== 'before') {
    throw new OpenSSLUsageError(
      'ERR_OPENSSL_BAD_STATE',
      `${fn}: the connection is ${st.phase === 'init' ? 'in its handshake' : 'failed'}; SSL_clear it first`,
    );
  }
  const server = fn === 'SSL_accept';
  if (!(server ? ctxSt.method.server : ctxSt.method.client)) {
    ERR_raise(
      ERR_LIB_SSL,
      ERR_R_SHOULD_NOT_HAVE_BEEN_CALLED,
      `${fn} on a ${server ? 'client' : 'server'}-only SSL_CTX`,
    );
    st.failure = 'ssl';
    return -1;
  }
  return { st, ctxSt };
}
