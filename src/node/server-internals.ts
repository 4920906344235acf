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
 * - `tlsConnectionListener` reads `server._sharedCreds` synchronously, once, to make the
 *   connection's OpenSSL `SSL` (options such as `SSL_OP_NO_TICKET` are copied from the context
 *   then); the TLSWrap sets the get/new session callbacks on whichever context it was given.
 * - The TLSWrap's `loadSession(der)` puts a session in a one-session slot that OpenSSL's
 *   get-session callback empties when it asks (`ReleaseSession`). Node answers `'resumeSession'`
 *   that way once, for the first ClientHello only, and processes that hello synchronously
 *   inside the callback; `isSessionReused()` is `SSL_session_reused`, which must not be called
 *   once the TLS socket is destroyed (its `SSL` is freed soon after). The TLSWrap keeps its
 *   TLSSocket under an own symbol described `'owner_symbol'`. (Bytes that are not a
 *   session empty the slot but leave an error on OpenSSL's queue that a later read reports.)
 * - `tls.Server` keeps its `SNICallback` option under an own symbol described `'snicallback'`.
 * - A connection that fails before its handshake completes makes the server emit
 *   `'tlsClientError'` once (`onSocketTLSError`, `onSocketClose`), whether or not it has listeners.
 */
import { executionAsyncResource } from 'node:async_hooks';
import type { Socket } from 'node:net';
import { type Server as TlsServer, TLSSocket } from 'node:tls';

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
  /** The session handed to OpenSSL, settled (hit or not) once the handshake is over. */
  offer: unknown;
  /** The handshake completed (`'secureConnection'`). */
  secure: boolean;
  /** The handshake failed, or the connection saw a fatal TLS alert. */
  failed: boolean;
}

/** The TLSWrap methods the cache calls. */
export interface TlsWrapInternals {
  loadSession(der: Buffer): void;
  isSessionReused(): boolean;
}

/**
 * Whether the TLSWrap still has its `SSL`: its TLSSocket exists and is not destroyed. An
 * unknown layout answers `false` (the caller then does nothing).
 */
export function wrapAlive(wrap: TlsWrapInternals): boolean {
  const owner = ownerOf(wrap) as { destroyed?: boolean; _handle?: unknown } | undefined;
  return owner !== undefined && owner.destroyed === false && owner._handle === wrap;
}

/** The object a Node handle belongs to (`handle[owner_symbol]`, lib/internal/async_hooks.js); for a TLSWrap, its TLSSocket. */
function ownerOf(handle: object): unknown {
  const sym = Object.getOwnPropertySymbols(handle).find((x) => x.description === 'owner_symbol');
  return sym === undefined ? undefined : (handle as Record<symbol, unknown>)[sym];
}

/**
 * The TLSSocket whose `'newSession'` event is being emitted (the owner of the TLSWrap Node runs
 * the callback in, lib/_tls_wrap.js onnewsession), or `undefined` when it cannot be found.
 */
export function currentSocket(): TLSSocket | undefined {
  const wrap = executionAsyncResource() as object | undefined;
  if (typeof wrap !== 'object' || wrap === null) return undefined;
  const owner = ownerOf(wrap);
  return owner instanceof TLSSocket ? owner : undefined;
}

/** The TLSWrap whose `'resumeSession'` event is being emitted. */
export function currentWrap(): TlsWrapInternals | undefined {
  const wrap = executionAsyncResource() as Partial<TlsWrapInternals> | undefined;
  return typeof wrap?.loadSession === 'function' && typeof wrap.isSessionReused === 'function'
    ? (wrap as TlsWrapInternals)
    : undefined;
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

/**
 * Whether the server chooses certificates by SNI: `addContext()` entries or an `SNICallback`.
 * An unknown layout counts as virtual hosts (the safe answer: no cross-host tickets).
 */
export function hasVirtualHosts(server: ServerInternals): boolean {
  if ((server._contexts?.length ?? 0) > 0) return true;
  const sym = Object.getOwnPropertySymbols(server).find((x) => x.description === 'snicallback');
  if (sym === undefined) return !Array.isArray(server._contexts);
  return typeof (server as unknown as Record<symbol, unknown>)[sym] === 'function';
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
