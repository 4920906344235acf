/**
 * SSL_connect over Node's `tls.connect`, with the client-side session steps of OpenSSL's state
 * machine (statem_clnt.c, statem_lib.c tls_finish_handshake, ssl_lib.c ssl_update_cache):
 * - the session set with SSL_set_session is offered when it is resumable and its version allowed,
 *   and, on a connection that verifies the server, when it vouches for that server (offer.ts);
 *   otherwise it is dropped, as OpenSSL replaces a session it cannot offer in the ClientHello;
 * - sessions are DER inside the facade on every Node line: Node's bound client sessions
 *   (22.23+) are unwrapped as they arrive and bound again for the connection that offers them;
 * - every session Node reports (`'session'`: the TLS 1.2 session, then each TLS 1.3 ticket)
 *   becomes the connection's session and goes through the cache and the new-session callback;
 * - a handshake that did not resume frees the offered session and counts a miss; one that did
 *   counts a hit and, in TLS 1.3, removes the ticket from the cache (each ticket is used once);
 * - a fatal TLS error removes the offered session from the cache.
 */
import { isIP, type Socket } from 'node:net';
import { connect, type ConnectionOptions, type TLSSocket } from 'node:tls';
import { SSL_SESS_CACHE_CLIENT, SSL_VERIFY_PEER, TLS1_3_VERSION, TLS1_VERSION } from './constants.js';
import { raiseSystemError } from './err.js';
import { nodeSessionIdentity } from '../node/client-sessions.js';
import { raiseNodeError } from './node-errors.js';
import { sessionToOffer } from './offer.js';
import { removeSessionLock, updateCache } from './ssl-ctx.js';
import { type SSL, attachIo, beginHandshake, failAfterHandshake, setSession, type SslState, versionOf } from './ssl.js';
import { coreFromNode, type SessionCore } from './ssl-session.js';

/** Where {@link SSL_connect} connects when no socket was given with SSL_set_fd. */
export interface ConnectTarget {
  /** Default '127.0.0.1'. */
  host?: string;
  port?: number;
  /** SNI name; default the SSL_set_tlsext_host_name name, else `host` unless it is an IP address. */
  servername?: string;
  /** Give up after this long (ETIMEDOUT on the error queue). Default 10000 ms. */
  timeoutMs?: number;
}

const ETIMEDOUT = 110;

/** True when the context's version range allows `version` (a session of another version is not offered). */
export function versionAllowed(st: SslState, version: number): boolean {
  const min = st.ctxSt.minVersion || TLS1_VERSION;
  const max = st.ctxSt.maxVersion || TLS1_3_VERSION;
  return version >= min && version <= max;
}

/**
 * SSL_connect: the client handshake. Resolves 1 once it completed, -1 when it failed (the reason
 * is on the error queue; SSL_get_error tells SSL_ERROR_SSL from SSL_ERROR_SYSCALL). TLS 1.3
 * tickets arrive after the handshake: read from the connection (SSL_read) to receive them.
 */
export async function SSL_connect(ssl: SSL, target: ConnectTarget = {}): Promise<number> {
  const begun = beginHandshake(ssl, 'SSL_connect');
  if (typeof begun === 'number') return begun;
  const { st, ctxSt } = begun;
  st.role = 'client';
  st.phase = 'init';
  ctxSt.stats.connect += 1;

  let secureContext: ReturnType<typeof ctxSt.secureContext>;
  try {
    secureContext = ctxSt.secureContext();
  } catch (error) {
    raiseNodeError(error);
    st.phase = 'error';
    st.failure = 'ssl';
    return -1;
  }
  const host = target.host ?? '127.0.0.1';
  const servername = target.servername ?? st.servername ?? (isIP(host) === 0 ? host : undefined);
  const options: ConnectionOptions = {
    secureContext,
    rejectUnauthorized: (ctxSt.clientVerifyMode & SSL_VERIFY_PEER) !== 0,
  };
  if (servername !== undefined) options.servername = servername;
  if (st.fd !== undefined) options.socket = st.fd;
  else {
    options.host = host;
    options.port = target.port ?? 443;
  }
  const identity = nodeSessionIdentity(options);

  // What OpenSSL offers in the ClientHello: the set session if resumable and of an allowed
  // version; on a verified connection also only if it vouches for this server (src/openssl/offer.ts).
  const set = st.session;
  let offer = set?.tls.isResumable() && versionAllowed(st, set.tls.protocolVersion) ? set : undefined;
  if (offer !== undefined) {
    const session = sessionToOffer(offer, options);
    if (session === undefined) offer = undefined;
    else options.session = session;
  }
  if (set !== undefined && offer === undefined)
    setSession(st, undefined, 'SSL_connect replaced a session it could not offer');

  return new Promise<number>((resolve, reject) => {
    let settled = false;
    let tls: TLSSocket;
    const finish = (ret: number, error?: unknown): void => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      if (error !== undefined) reject(error);
      else resolve(ret);
    };
    const fail = (error: unknown): void => {
      if (settled || st.phase !== 'init') return;
      const kind = raiseNodeError(error);
      st.phase = 'error';
      st.failure = kind === 'verify' ? 'ssl' : kind;
      // A fatal alert (sent or received) removes the session in use from the cache (ssl3_send_alert).
      if (kind === 'ssl' && st.session !== undefined) removeSessionLock(ctxSt, st.session);
      tls.destroy();
      finish(-1);
    };
    // An application callback threw: the connection is torn down and the error surfaces.
    const callbackFailed = (error: unknown): void => {
      tls.destroy();
      if (st.phase === 'init') {
        st.phase = 'error';
        finish(-1, error);
      } else {
        st.pendingError = error;
        st.wake();
      }
    };

    try {
      tls = connect(options);
    } catch (error) {
      st.phase = 'error';
      st.failure = raiseNodeError(error) === 'syscall' ? 'syscall' : 'ssl';
      resolve(-1);
      return;
    }
    st.tls = tls;
    const timer = setTimeout(() => {
      if (st.phase !== 'init') return;
      raiseSystemError(ETIMEDOUT, `SSL_connect: no handshake within ${target.timeoutMs ?? 10_000} ms`);
      st.phase = 'error';
      st.failure = 'syscall';
      tls.destroy();
      finish(-1);
    }, target.timeoutMs ?? 10_000);

    tls.on('session', (der: Buffer) => {
      if (st.freed || st.tls !== tls) return;
      try {
        onSession(st, ssl, tls, der, identity);
      } catch (error) {
        callbackFailed(error);
      }
    });
    tls.once('secureConnect', () => {
      // Node 20 emits a TLS 1.2 session right after 'secureConnect', in the same call: finish
      // once it is through, so that the cache is updated before SSL_connect returns, as in C.
      queueMicrotask(() => {
        if (st.freed || st.tls !== tls || st.phase !== 'init') return;
        try {
          onHandshakeDone(st, tls, offer, identity);
        } catch (error) {
          callbackFailed(error);
          return;
        }
        finish(1);
      });
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

/** A session reported by Node: the TLS 1.2 session, or a TLS 1.3 ticket. */
function onSession(st: SslState, ssl: SSL, tls: TLSSocket, bytes: Buffer, identity: string): void {
  const core = coreFromNode(bytes, identity);
  setSession(st, core, 'a new session replaced it');
  const hit = tls.isSessionReused();
  updateCache(st.ctxSt, ssl, core, SSL_SESS_CACHE_CLIENT, {
    hit,
    tls13: core.tls.protocolVersion === TLS1_3_VERSION,
    verifyPeer: false,
  });
}

function onHandshakeDone(st: SslState, tls: TLSSocket, offer: SessionCore | undefined, identity: string): void {
  const ctxSt = st.ctxSt;
  st.version = versionOf(tls.getProtocol());
  st.hit = tls.isSessionReused();
  const tls13 = st.version === TLS1_3_VERSION;
  if (st.hit) {
    ctxSt.stats.hits += 1;
  } else {
    if (offer !== undefined && offer.tls.sessionId.length > 0) ctxSt.stats.misses += 1;
    // Not resumed: the offered session is freed and the handshake's own session takes its place
    // (under TLS 1.2 Node has already reported it; under TLS 1.3 it has no ticket yet).
    if (st.session === undefined || st.session === offer) {
      const bytes = tls.getSession();
      setSession(
        st,
        bytes === undefined ? undefined : coreFromNode(bytes, identity),
        'the handshake did not resume it',
      );
    }
  }
  st.phase = 'ok';
  // TLS 1.3: the session used for this handshake leaves the cache (tickets are single use).
  if (tls13 && (ctxSt.mode & SSL_SESS_CACHE_CLIENT) !== 0 && st.session !== undefined)
    removeSessionLock(ctxSt, st.session);
  ctxSt.stats.connect_good += 1;
}

export type { Socket };
