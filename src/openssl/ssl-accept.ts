/**
 * SSL_accept over a Node `TLSSocket` in server mode, with the server-side session steps of
 * OpenSSL (ssl_sess.c ssl_get_prev_session / lookup_sess_in_cache, ssl_lib.c ssl_update_cache).
 *
 * Each connection gets its own `server` emitter for Node's `'newSession'` and `'resumeSession'`
 * events, so every event is known to belong to this connection. Node asks for a session by the
 * ClientHello's legacy session id only; the ClientHello is therefore read first
 * (src/wire peekClientHello) to know what OpenSSL itself would look up:
 * - TLS <= 1.2 without a ticket: the session id;
 * - TLS 1.3 with stateful tickets (SSL_OP_NO_TICKET): the first 32-byte PSK identity, which is
 *   the session id of the ticket; Node hands the session back and OpenSSL resumes it;
 * - TLS 1.3 stateless tickets: nothing (OpenSSL decrypts the ticket; no cache, no callback).
 */
import { EventEmitter } from 'node:events';
import type { Server } from 'node:net';
import { TLSSocket } from 'node:tls';
import { nodeDerivesServerSessionIdContext, serverSessionIdContext } from '../node/server-session-context.js';
import { releaseServerControl } from '../node/server-socket.js';
import { type ClientHelloInfo, peekClientHello } from '../wire/index.js';
import {
  SSL_OP_NO_TICKET,
  SSL_OP_NO_TLSv1_2,
  SSL_OP_NO_TLSv1_3,
  SSL_SESS_CACHE_NO_INTERNAL_LOOKUP,
  SSL_SESS_CACHE_NO_INTERNAL_STORE,
  SSL_SESS_CACHE_SERVER,
  SSL_VERIFY_FAIL_IF_NO_PEER_CERT,
  SSL_VERIFY_PEER,
  TLS1_2_VERSION,
  TLS1_3_VERSION,
  TLS1_VERSION,
} from './constants.js';
import { ERR_LIB_SSL, ERR_raise, raiseSystemError } from './err.js';
import { raiseNodeError } from './node-errors.js';
import { sessionKey } from './session-cache.js';
import { addSession, type CtxState, removeSessionLock, updateCache } from './ssl-ctx.js';
import { type SSL, attachIo, beginHandshake, failAfterHandshake, setSession, type SslState, versionOf } from './ssl.js';
import { coreFromNode, coreOf, nowSeconds, type SessionCore } from './ssl-session.js';

/** Options of {@link SSL_accept}. */
export interface AcceptOptions {
  /** Give up after this long (ETIMEDOUT on the error queue). Default 10000 ms. */
  timeoutMs?: number;
}

const SSL_R_BIO_NOT_SET = 128;
const ETIMEDOUT = 110;
const ECONNRESET = 104;
/** OpenSSL's stateful TLS 1.3 tickets carry the 32-byte session id as PSK identity. */
const STATEFUL_IDENTITY_LENGTH = 32;

type ResumeCallback = (err: Error | null, session: Buffer | null) => void;
type NewSessionDone = () => void;

/**
 * SSL_accept: the server handshake on the socket given with SSL_set_fd. Resolves 1 once the
 * handshake completed and the TLS 1.3 tickets (if any) were sent, -1 when it failed (the reason is
 * on the error queue).
 */
export async function SSL_accept(ssl: SSL, options: AcceptOptions = {}): Promise<number> {
  const begun = beginHandshake(ssl, 'SSL_accept');
  if (typeof begun === 'number') return begun;
  const { st, ctxSt } = begun;
  const raw = st.fd;
  if (raw === undefined) {
    ERR_raise(ERR_LIB_SSL, SSL_R_BIO_NOT_SET, 'give the accepted socket with SSL_set_fd');
    st.failure = 'ssl';
    return -1;
  }
  st.role = 'server';
  st.phase = 'init';
  ctxSt.stats.accept += 1;
  const timeoutMs = options.timeoutMs ?? 10_000;
  const started = Date.now();

  let secureContext: ReturnType<typeof ctxSt.secureContext>;
  try {
    secureContext = ctxSt.secureContext();
  } catch (error) {
    raiseNodeError(error);
    st.phase = 'error';
    st.failure = 'ssl';
    return -1;
  }

  // The session id context Node gives this connection: a lookup must compare with it.
  const verifyPeer = (ctxSt.serverVerifyMode & SSL_VERIFY_PEER) !== 0;
  // The probe needs only a certificate (the context's own settings could rule out its handshake).
  const derived =
    ctxSt.sidCtx.length > 0 || verifyPeer
      ? await nodeDerivesServerSessionIdContext({ cert: ctxSt.cert, key: ctxSt.key })
      : false;
  if (st.freed || st.fd !== raw) return -1;

  // Read the ClientHello first: Node's resumeSession gives only the legacy session id, which
  // OpenSSL does not look up under TLS 1.3, and never the PSK identities.
  const peek = await peekClientHello(raw, { timeoutMs });
  if (st.freed || st.fd !== raw) return -1;
  const hello: ClientHelloInfo | undefined = peek.hello;
  if (hello === undefined && (raw.destroyed || raw.readableEnded)) {
    raiseSystemError(ECONNRESET, `SSL_accept: ${peek.error?.message ?? 'the peer left before its ClientHello'}`);
    st.phase = 'error';
    st.failure = 'syscall';
    raw.destroy();
    return -1;
  }
  const negotiated = hello === undefined ? 0 : predictVersion(ctxSt, hello);
  const sidCtx = serverSessionIdContext(ctxSt.sidCtx, hello?.serverName, derived);

  return new Promise<number>((resolve, reject) => {
    let settled = false;
    let lookedUp: SessionCore | undefined;
    // Set when OpenSSL will abort on the looked-up session before making it the connection's.
    let lookupFatal = false;
    // Node enables its session events only when the listeners exist as the socket is made.
    const emitter = new EventEmitter();
    let tls: TLSSocket;

    const finish = (ret: number, error?: unknown): void => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      if (error !== undefined) reject(error);
      else resolve(ret);
    };
    const releaseLookup = (): void => {
      lookedUp?.release('SSL_accept');
      lookedUp = undefined;
    };
    const fail = (error: unknown): void => {
      if (settled || st.phase !== 'init') return;
      const kind = raiseNodeError(error);
      st.phase = 'error';
      st.failure = kind === 'verify' ? 'ssl' : kind;
      // A fatal alert removes the session being resumed (ssl3_send_alert).
      const inUse = lookupFatal ? st.session : (lookedUp ?? st.session);
      if (kind === 'ssl' && inUse !== undefined) removeSessionLock(ctxSt, inUse);
      releaseLookup();
      tls.destroy();
      finish(-1);
    };
    const callbackFailed = (error: unknown): void => {
      tls.destroy();
      releaseLookup();
      if (st.phase === 'init') {
        st.phase = 'error';
        finish(-1, error);
      } else {
        st.pendingError = error;
        st.wake();
      }
    };
    const timer = setTimeout(
      () => {
        if (st.phase !== 'init') return;
        raiseSystemError(ETIMEDOUT, `SSL_accept: no handshake within ${timeoutMs} ms`);
        st.phase = 'error';
        st.failure = 'syscall';
        releaseLookup();
        tls.destroy();
        finish(-1);
      },
      Math.max(1, timeoutMs - (Date.now() - started)),
    );

    emitter.on('resumeSession', (id: Buffer, cb: ResumeCallback) => {
      let der: Buffer | null = null;
      try {
        if (!st.freed && st.tls === tls) {
          releaseLookup();
          const found = lookupSession(st, ssl, hello, negotiated, id, { sidCtx, derived });
          lookedUp = found?.core;
          lookupFatal = found?.fatal ?? false;
          der = lookedUp?.tls.toDER() ?? null;
        }
      } catch (error) {
        cb(null, null);
        callbackFailed(error);
        return;
      }
      cb(null, der);
    });

    // Whether this handshake reported its session (Node's 'newSession' fires only for sessions
    // OpenSSL caches: not for TLS 1.2 with tickets, nor for TLS 1.3 stateless tickets).
    let reported = false;
    emitter.on('newSession', (_id: Buffer, der: Buffer, done: NewSessionDone) => {
      try {
        if (!st.freed && st.tls === tls) {
          reported = true;
          const core = coreFromNode(der);
          setSession(st, core, 'a new session replaced it');
          updateCache(ctxSt, ssl, core, SSL_SESS_CACHE_SERVER, {
            hit: tls.isSessionReused(),
            tls13: core.tls.protocolVersion === TLS1_3_VERSION,
            verifyPeer,
          });
        }
      } catch (error) {
        callbackFailed(error);
      } finally {
        done();
      }
    });

    tls = new TLSSocket(raw, {
      isServer: true,
      secureContext,
      server: emitter as unknown as Server,
      requestCert: verifyPeer,
      rejectUnauthorized: verifyPeer && (ctxSt.serverVerifyMode & SSL_VERIFY_FAIL_IF_NO_PEER_CERT) !== 0,
    });
    st.tls = tls;

    tls.once('secure', () => {
      if (st.freed || st.tls !== tls || st.phase !== 'init') return;
      if (verifyPeer && !peerVerified(tls)) {
        fail(Object.assign(new Error('client certificate verification failed'), { code: 'CERT_VERIFY_FAILED' }));
        return;
      }
      st.version = versionOf(tls.getProtocol());
      st.hit = tls.isSessionReused();
      if (st.hit) {
        if (lookedUp !== undefined) {
          // The reference taken by the lookup becomes the connection's.
          setSession(st, lookedUp, 'the handshake resumed another session');
          lookedUp = undefined;
        } else {
          // Resumed from a ticket: OpenSSL counts the hit when the ticket decrypts.
          ctxSt.stats.hits += 1;
          const der = tls.getSession();
          if (der !== undefined) setSession(st, coreFromNode(der), 'the handshake resumed another session');
        }
      } else {
        releaseLookup();
        // A full handshake makes a new session (ssl_get_new_session), whatever the SSL held
        // before: one set with SSL_set_session, or the previous connection's after SSL_clear.
        if (!reported) {
          const der = tls.getSession();
          setSession(st, der === undefined ? undefined : coreFromNode(der), 'the handshake made a new session');
        }
      }
      st.phase = 'ok';
      ctxSt.stats.accept_good += 1;
      // From now on TLS errors (a bad record, the client's fatal alert) reach 'error'.
      releaseServerControl(tls);
      // TLS 1.3 tickets (and their 'newSession' events) follow 'secure' in the same turn.
      setImmediate(() => finish(1));
    });
    tls.on('error', (error) => {
      if (st.freed || st.tls !== tls) return;
      if (st.phase === 'init') fail(error);
      else failAfterHandshake(st, error);
    });
    tls.on('close', () => {
      if (st.phase === 'init')
        fail(Object.assign(new Error('connection closed during the handshake'), { code: 'ECONNRESET' }));
    });
    attachIo(st, tls);
  });
}

/** Versions the context allows, highest first. */
function allowedVersions(ctxSt: CtxState): number[] {
  const min = ctxSt.minVersion || TLS1_VERSION;
  const max = ctxSt.maxVersion || TLS1_3_VERSION;
  const out: number[] = [];
  for (let v = max; v >= min; v--) {
    if (v === TLS1_3_VERSION && (ctxSt.options & SSL_OP_NO_TLSv1_3) !== 0) continue;
    if (v === TLS1_2_VERSION && (ctxSt.options & SSL_OP_NO_TLSv1_2) !== 0) continue;
    out.push(v);
  }
  return out;
}

/** The version OpenSSL will pick for this ClientHello: the highest both sides allow; 0 for none. */
function predictVersion(ctxSt: CtxState, hello: ClientHelloInfo): number {
  const offered = hello.supportedVersions?.filter((v) => v >>> 8 === 0x03);
  for (const v of allowedVersions(ctxSt)) {
    if (offered !== undefined && offered.length > 0 ? offered.includes(v) : v <= hello.legacyVersion) return v;
  }
  return 0;
}

/**
 * Node's verdict on the client certificate. Node's OpenSSL accepts any chain and leaves the check
 * to JavaScript (tls.Server reads the same `verifyError()`); no certificate is fine unless
 * SSL_VERIFY_FAIL_IF_NO_PEER_CERT, which OpenSSL itself enforces. Fails closed when Node changes.
 */
function peerVerified(tls: TLSSocket): boolean {
  const handle = (tls as unknown as { _handle?: { verifyError?: () => Error | null } })._handle;
  if (typeof handle?.verifyError !== 'function') return false;
  if (handle.verifyError() === null) return true;
  const cert = tls.getPeerCertificate();
  return cert === null || Object.keys(cert).length === 0;
}

/**
 * ssl_get_prev_session + lookup_sess_in_cache: the session to resume, holding one reference for
 * the connection, or undefined. Counts misses, callback hits, timeouts and hits as OpenSSL does.
 * `fatal`: OpenSSL will abort the handshake on this session (it is handed over so that Node's
 * OpenSSL raises the error itself), and it never becomes the connection's session.
 */
function lookupSession(
  st: SslState,
  ssl: SSL,
  hello: ClientHelloInfo | undefined,
  negotiated: number,
  legacyId: Buffer,
  context: { sidCtx: Buffer; derived: boolean },
): { core: SessionCore; fatal: boolean } | undefined {
  const ctxSt = st.ctxSt;
  let id: Buffer;
  let fromIdCache: boolean;
  if (negotiated === TLS1_3_VERSION) {
    // TLS 1.3 looks sessions up only for stateful tickets, by PSK identity.
    if ((ctxSt.options & SSL_OP_NO_TICKET) === 0) return undefined;
    const identity = hello?.pskIdentities?.find((p) => p.identity.length === STATEFUL_IDENTITY_LENGTH)?.identity;
    if (identity === undefined) return undefined;
    id = Buffer.from(identity);
    fromIdCache = false;
  } else {
    // Without the ClientHello the version is unknown: look nothing up.
    if (hello === undefined) return undefined;
    if (hello.sessionTicket !== undefined && hello.sessionTicket.length > 0) return undefined;
    id = Buffer.from(legacyId);
    fromIdCache = true;
  }
  const version = negotiated;
  if (version === 0) return undefined;

  let ret: SessionCore | undefined;
  if ((ctxSt.mode & SSL_SESS_CACHE_NO_INTERNAL_LOOKUP) === 0) {
    ret = ctxSt.cache.get(sessionKey(version, id));
    if (ret !== undefined) ret.upRef();
    else ctxSt.stats.misses += 1;
  }
  if (ret === undefined && ctxSt.getCb !== null) {
    const copy = { copy: 1 };
    const got = ctxSt.getCb(ssl, Buffer.from(id), copy);
    if (got !== null && got !== undefined) {
      const core = coreOf(got, 'the get-session callback');
      if (core.tls.notResumable) {
        if (copy.copy === 0) core.release('the get-session callback');
        return undefined;
      }
      ctxSt.stats.cb_hits += 1;
      if (copy.copy !== 0) core.upRef();
      if ((ctxSt.mode & SSL_SESS_CACHE_NO_INTERNAL_STORE) === 0) addSession(ctxSt, core);
      ret = core;
    }
  }
  if (ret === undefined) return undefined;

  // The checks of ssl_get_prev_session, in OpenSSL's order.
  const s = ret.tls;
  const expired = nowSeconds() > ret.expiresAt;
  if (s.protocolVersion !== version || !s.sessionIdContext.equals(context.sidCtx)) {
    ret.release('SSL_accept');
    return undefined;
  }
  if ((ctxSt.serverVerifyMode & SSL_VERIFY_PEER) !== 0 && context.sidCtx.length === 0) {
    // OpenSSL fails the handshake (SSL_R_SESSION_ID_CONTEXT_UNINITIALIZED): hand the session over
    // so that Node's OpenSSL raises that very error, but count no hit. Node 22.23 and 24.22 drop
    // the session instead (src/node/server-session-context.ts): a silent miss.
    if (context.derived) {
      ret.release('SSL_accept');
      return undefined;
    }
    return { core: ret, fatal: true };
  }
  if (expired) {
    ctxSt.stats.timeouts += 1;
    if (fromIdCache) removeSessionLock(ctxSt, ret);
    ret.release('SSL_accept');
    return undefined;
  }
  if (hello !== undefined && version !== TLS1_3_VERSION) {
    const sessionEms = s.extendedMasterSecret;
    if (!sessionEms && hello.extendedMasterSecret) {
      // New handshake has EMS and the old session does not: no resumption.
      ret.release('SSL_accept');
      return undefined;
    }
    // Old session with EMS and a ClientHello without: OpenSSL aborts (SSL_R_INCONSISTENT_EXTMS).
    if (sessionEms && !hello.extendedMasterSecret) return { core: ret, fatal: true };
  }
  ctxSt.stats.hits += 1;
  return { core: ret, fatal: false };
}
