/**
 * How this Node line hands client sessions to and from `tls.connect`, in one place (read from
 * Node's lib/_tls_wrap.js of 20.20, 22.23, 24.22 and 26.12; test/node/client-sessions.test.ts
 * checks every statement here against a real handshake on each line):
 *
 * - Node 20: `'session'` and `getSession()` give OpenSSL's DER; `tls.connect({ session })` takes
 *   DER and offers it to whatever server the connection reaches.
 * - Node 22.23+, 24, 26: they give Node's session state (DER bound to the identity
 *   `servername || host || socket._host || 'localhost'`, see src/session/node-state.ts), and
 *   `tls.connect({ session })` offers a bound session only to that exact identity, and a plain
 *   DER session only when `rejectUnauthorized` is false. Anything else is ignored without a word.
 *
 * Which line this is, is decided by behaviour, not by version number: a socket that is never
 * connected is given a bound session and asked for it back (no network, about 5-10 ms, once per
 * process, on first use).
 */
import { Socket } from 'node:net';
import { type ConnectionOptions, TLSSocket } from 'node:tls';
import { TLS1_2_VERSION } from '../session/names.js';
import { isNodeSessionState, wrapNodeSession } from '../session/node-state.js';
import { TlsSession } from '../session/tls-session.js';

let wraps: boolean | undefined;

/**
 * True when this Node binds client sessions to a server identity (22.23+, 24, 26), false when it
 * hands out and takes plain DER (20). Measured once, on first call.
 */
export function nodeBindsClientSessions(): boolean {
  wraps ??= measureSessionBinding();
  return wraps;
}

/** The identity Node binds a client session to, exactly as Node computes it (case kept). */
export function nodeSessionIdentity(options: ConnectionOptions): string {
  const socketHost = (options.socket as { _host?: unknown } | undefined)?._host;
  return options.servername || options.host || (typeof socketHost === 'string' && socketHost) || 'localhost';
}

/** Whether `tls.connect(options)` verifies the server (Node's test: anything but `false`). */
export function verifiesServer(options: ConnectionOptions): boolean {
  return options.rejectUnauthorized !== false;
}

/**
 * The `session` value that makes `tls.connect(options)` offer `der` on this line: DER bound to
 * the connection's identity where Node binds sessions, the DER itself elsewhere. Only for a
 * session known to belong to that identity: binding one vouches for it.
 */
export function sessionForConnect(der: Buffer, options: ConnectionOptions): Buffer {
  return nodeBindsClientSessions() ? wrapNodeSession(der, nodeSessionIdentity(options)) : der;
}

function measureSessionBinding(): boolean {
  // A resumable TLS 1.2 session that libssl decodes: nothing is ever sent with it.
  const der = new TlsSession({
    protocolVersion: TLS1_2_VERSION,
    cipherId: 0xc02f,
    sessionId: Buffer.alloc(32, 1),
    masterKey: Buffer.alloc(48, 2),
    time: Math.floor(Date.now() / 1000),
    timeout: 300,
  }).toDER();
  // setSession is public API since Node 0.11; @types/node 20 leaves it out. Plain DER on a socket
  // that does not verify: every line takes it, so OpenSSL never fails to decode anything here (a
  // failed decode would leave an error on OpenSSL's queue for the next connection to report).
  const socket = new TLSSocket(new Socket(), { rejectUnauthorized: false }) as TLSSocket & {
    setSession(session: Buffer): void;
  };
  try {
    socket.setSession(der);
    const back = socket.getSession();
    // Node 20 hands the DER back as is; later lines hand it back bound to an identity.
    return back !== undefined && isNodeSessionState(back);
  } finally {
    socket.destroy();
  }
}
