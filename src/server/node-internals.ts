/**
 * Every Node.js internal the cache relies on, in one place (checked against Node 20's and 24's
 * lib/_tls_wrap.js and src/crypto/crypto_tls.cc):
 *
 * - `tls.Server` wraps each raw socket in its `'connection'` listener, a function named
 *   `tlsConnectionListener`, reading `server._sharedCreds` (a `tls.SecureContext`) at that moment.
 * - `server._contexts` holds the `[RegExp, SecureContext]` pairs added by `addContext()`.
 * - `secureContext.context` is the native SecureContext, whose `setSessionIdContext`,
 *   `setSessionTimeout`, `setOptions` (`SSL_CTX_set_options`), `getMaxProto`, `getCertificate`
 *   (DER) and `getTicketKeys`/`setTicketKeys` methods back `tls.createSecureContext`.
 * - `'newSession'` and `'resumeSession'` listeners run inside the TLSWrap's async scope, so
 *   `async_hooks.executionAsyncResource()` is the TLSWrap; its `_parentWrap` is the raw socket
 *   and its `getServername()` (what `TLSSocket#getServername` calls) is `SSL_get_servername`.
 * - A server-side `TLSSocket` made from a raw socket keeps it as `_parent`.
 */
import { executionAsyncResource } from 'node:async_hooks';
import type { Socket } from 'node:net';
import type { Server as TlsServer, TLSSocket } from 'node:tls';

/** The native SecureContext methods the cache calls. */
export interface NativeSecureContext {
  setSessionIdContext(context: string): void;
  setSessionTimeout(seconds: number): void;
  setOptions(options: number): void;
  getMaxProto(): number;
  getCertificate(): Buffer | null | undefined;
  getTicketKeys(): Buffer;
  setTicketKeys(keys: Buffer): void;
}

/** A `tls.SecureContext` as Node builds it. */
export interface SecureContextInternals {
  context: NativeSecureContext;
}

/** The fields of a `tls.Server` (and of https / http2 secure servers) the cache reads. */
export interface ServerInternals extends TlsServer {
  _sharedCreds?: SecureContextInternals;
  _contexts?: Array<[RegExp, SecureContextInternals]>;
  sessionIdContext?: string;
  sessionTimeout?: number;
  secureOptions?: number;
  requestCert?: boolean;
  rejectUnauthorized?: boolean;
  pauseOnConnect?: boolean;
  cert?: unknown;
  pfx?: unknown;
  ca?: unknown;
}

/** What the cache knows about one raw connection, kept on the raw socket. */
export interface ConnectionState {
  /** The first flight as read (ClientHello records first) until a lookup parses it. */
  flight: Buffer | undefined;
  /** Once parsed: whether the ClientHello could be read; the fields below are set only then. */
  readable: boolean;
  /** SNI of the ClientHello, lower case; `''` without SNI. */
  serverName: string;
  /** The ClientHello offers TLS 1.3. */
  offersTls13: boolean;
  /** The first PSK identity that can be a stateful TLS 1.3 ticket (32 bytes), if any. */
  pskIdentity: Buffer | undefined;
  /** Store keys of the sessions made or resumed on this connection (removed on an unclean close). */
  keys: Buffer[] | undefined;
}

// A WeakMap, not a property on the socket: adding properties to Node's own Socket objects would
// change their hidden class and slow Node's hot paths that handle every socket.
const connections = new WeakMap<object, ConnectionState>();

/** Node's own `'connection'` listener of a TLS server, or `undefined` when it cannot be found. */
export function findTlsConnectionListener(server: TlsServer): ((socket: Socket) => void) | undefined {
  return server.rawListeners('connection').find((f) => f.name === 'tlsConnectionListener') as
    | ((socket: Socket) => void)
    | undefined;
}

export function setConnectionState(socket: Socket, state: ConnectionState): void {
  connections.set(socket, state);
}

/** The connection whose `'newSession'` / `'resumeSession'` event is being emitted. */
export function currentConnection(): ConnectionState | undefined {
  const raw = (executionAsyncResource() as { _parentWrap?: object } | undefined)?._parentWrap;
  return raw === undefined ? undefined : connections.get(raw);
}

/**
 * The server name of the handshake whose `'newSession'` is being emitted, lower case (`''`
 * without SNI), as OpenSSL read it from this handshake's ClientHello (`SSL_get_servername`:
 * the client's request in a full handshake and in any TLS 1.3 one).
 */
export function currentServerName(): string {
  const wrap = executionAsyncResource() as { getServername?: () => unknown } | undefined;
  const name = typeof wrap?.getServername === 'function' ? wrap.getServername() : undefined;
  return typeof name === 'string' ? name.toLowerCase() : '';
}

/** The connection a server-side TLS socket was made from. */
export function connectionOf(socket: TLSSocket): ConnectionState | undefined {
  const raw = (socket as TLSSocket & { _parent?: object })._parent;
  return raw === undefined ? undefined : connections.get(raw);
}
