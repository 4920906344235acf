/**
 * The `session` SSL_connect hands to `tls.connect`, and whether it hands one at all.
 *
 * OpenSSL offers whatever SSL_set_session was given ("It does not check the session id
 * context", SSL_set_session(3)), and a resumed handshake verifies no certificate: a session of
 * server A set on a connection to server B lets B's operator, if B resumes it, pass as A (origin
 * confusion). In C the host name check (SSL_set1_host) is part of certificate verification and is
 * skipped on resumption too. Node (every line) does not check the server identity of a resumed
 * session either; Node 22.23+ instead offers a session only to the identity it was bound to.
 *
 * The facade therefore, on a connection that verifies the server, offers a session only when it
 * vouches for this server: made by a client connection to the same identity, or carrying a peer
 * certificate that was verified (verify_result 0), has not expired and names this server (what a
 * full handshake would have checked). Any other session is not offered: the handshake is a full
 * one and the session is replaced, as OpenSSL replaces one it cannot offer. A connection with
 * SSL_VERIFY_NONE offers any session, as OpenSSL does. Same rule on every Node line.
 */
import type { ConnectionOptions } from 'node:tls';
import { nodeSessionIdentity, sessionForConnect, verifiesServer } from '../node/client-sessions.js';
import { sessionVouchesFor } from '../session/vouch.js';
import type { SessionCore } from './ssl-session.js';

/** What `tls.connect(options)` must be given to offer `core`, or undefined when it must not be offered. */
export function sessionToOffer(
  core: SessionCore,
  options: ConnectionOptions,
  nowMs: number = Date.now(),
): Buffer | undefined {
  const der = core.tls.toDER();
  // Node takes plain DER on a connection that does not verify the server, on every line.
  if (!verifiesServer(options)) return der;
  const identity = nodeSessionIdentity(options);
  if (core.identity === identity || sessionVouchesFor(core.tls, identity, nowMs))
    return sessionForConnect(der, options);
  return undefined;
}
