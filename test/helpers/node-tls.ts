/**
 * Node.js TLS peers on 127.0.0.1.
 *
 * ```ts
 * const pki = await sharedPki();
 * const server = await startNodeServer({ cert: pki.server, tlsOptions: { maxVersion: 'TLSv1.3' } });
 * t.after(() => server.close());
 * const first = await nodeConnect({ port: server.port });
 * // first.sessions.length === 2 (TLS 1.3), first.reused === false
 * const again = await nodeConnect({ port: server.port, session: first.sessions.at(-1) });
 * // again.reused === true
 * ```
 *
 * TLS 1.3 ticket timing: the client's `'session'` event fires once per NewSessionTicket, and
 * the server sends those tickets after the handshake: 2 after a full handshake; after a
 * resumption `openssl s_server` sends 1 more and a Node server none (measured). A client that
 * closes at `'secureConnect'` usually has no ticket yet, and a Node server may even send data
 * before its tickets (see {@link defaultHandler}). So nodeConnect listens for `'session'` before
 * connecting and, by default, reads until the server ends the connection: every ticket sent
 * before the end has then been seen. Under TLS 1.2 there is one `'session'`, during the handshake.
 */
import type { Server, TLSSocket, TlsOptions, ConnectionOptions } from 'node:tls';
import { connect, createServer } from 'node:tls';
import type { Socket } from 'node:net';
import { isNodeSessionState, unwrapNodeSession } from '../../src/session/node-state.js';
import { sessionForConnect } from '../../src/node/client-sessions.js';
import type { Cert } from './certs.js';
import { sharedPki } from './certs.js';

/** Options for {@link startNodeServer}. */
export interface NodeServerOptions {
  /** Server certificate and key (`key`/`cert` of the server options). */
  cert: Cert;
  /** Merged over `{ key, cert }`. */
  tlsOptions?: TlsOptions;
  /** Called for each secure connection. Default: {@link defaultHandler} (writes 'ok\n', ends). */
  handler?: (socket: TLSSocket) => void;
}

/** A listening Node TLS server. */
export interface NodeServer {
  server: Server;
  host: '127.0.0.1';
  port: number;
  /** Stops listening, destroys open connections, resolves when the server is closed. */
  close(): Promise<void>;
}

/**
 * Writes 'ok\n' and ends, one event-loop turn after the handshake. Under TLS 1.3 Node emits
 * 'secureConnection' while OpenSSL is still sending its tickets: data written synchronously (or
 * in process.nextTick) goes out before the tickets, and `openssl s_client` then fails the close
 * with a decode_error alert (measured). setImmediate runs after the tickets are out.
 */
export function defaultHandler(socket: TLSSocket): void {
  setImmediate(() => socket.end('ok\n'));
}

/** Starts a `tls.Server` on 127.0.0.1 on a free port. */
export function startNodeServer(opts: NodeServerOptions): Promise<NodeServer> {
  const handler = opts.handler ?? defaultHandler;
  const server = createServer({ key: opts.cert.key, cert: opts.cert.cert, ...opts.tlsOptions }, handler);
  const sockets = new Set<Socket>();
  server.on('connection', (socket: Socket) => {
    sockets.add(socket);
    socket.once('close', () => sockets.delete(socket));
  });
  // A client that fails its handshake must not crash the test; the client sees the failure.
  server.on('tlsClientError', () => {});
  let closing: Promise<void> | undefined;
  const close = (): Promise<void> => {
    closing ??= new Promise<void>((resolve) => {
      server.close(() => resolve());
      for (const socket of sockets) socket.destroy();
    });
    return closing;
  };
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      server.off('error', reject);
      const address = server.address();
      if (address === null || typeof address === 'string') {
        void close();
        reject(new Error('TLS server has no TCP address'));
        return;
      }
      resolve({ server, host: '127.0.0.1', port: address.port, close });
    });
  });
}

/** Options for {@link nodeConnect}: any `tls.connect` option plus these. */
export interface NodeConnectOptions extends ConnectionOptions {
  port: number;
  /**
   * Resolve only after the connection closed (default true). When false, resolve at
   * 'secureConnect'; `done` settles at close.
   */
  waitForClose?: boolean;
  /** Destroy the socket with an error after this long. Default 5000 ms. */
  timeoutMs?: number;
  /**
   * Written once the handshake is done, e.g. `WWW_REQUEST` for `openssl s_server -www`, which
   * answers and closes only after it has read a request.
   */
  request?: string | Buffer;
}

/** A finished (or, with waitForClose false, established) client connection. */
export interface NodeConnection {
  socket: TLSSocket;
  /**
   * Every `'session'` event's session as OpenSSL's DER, in order (filled as they arrive): Node
   * 22+ binds client sessions to the server identity; the binding is taken off here.
   */
  sessions: Buffer[];
  /** `socket.isSessionReused()` at 'secureConnect'. */
  reused: boolean;
  /** `socket.getProtocol()` at 'secureConnect', e.g. 'TLSv1.3'. */
  protocol: string | null;
  /** Application data received so far, as UTF-8. */
  received(): string;
  /** Settles when the socket closed; rejects on a socket error or timeout. */
  done: Promise<void>;
}

/**
 * Connects with Node's `tls.connect`. Defaults: host '127.0.0.1', servername 'localhost', `ca`
 * the shared PKI root. Rejects when the connection fails (e.g. certificate rejected). A
 * `session` given as DER is offered as it is on Node 20 and bound to this connection's identity
 * on later lines: the tests decide what to offer, Node's binding rule is tested on its own.
 */
export async function nodeConnect(opts: NodeConnectOptions): Promise<NodeConnection> {
  const { waitForClose = true, timeoutMs = 5000, request, ...tlsOptions } = opts;
  const ca = tlsOptions.ca ?? (await sharedPki()).ca.cert;
  const options: ConnectionOptions = { host: '127.0.0.1', servername: 'localhost', ...tlsOptions, ca };
  if (Buffer.isBuffer(options.session) && !isNodeSessionState(options.session)) {
    options.session = sessionForConnect(options.session, options);
  }
  const socket = connect(options);
  const sessions: Buffer[] = [];
  const chunks: Buffer[] = [];
  socket.on('session', (session: Buffer) => sessions.push(unwrapNodeSession(session).der));
  socket.on('data', (chunk: Buffer) => chunks.push(chunk));

  let failure: Error | undefined;
  socket.on('error', (error) => {
    failure ??= error;
  });
  const timer = setTimeout(() => {
    socket.destroy(new Error(`TLS connection not closed within ${timeoutMs} ms`));
  }, timeoutMs);
  const done = new Promise<void>((resolve, reject) => {
    socket.once('close', () => {
      clearTimeout(timer);
      if (failure) reject(failure);
      else resolve();
    });
  });
  // Callers with waitForClose false may never await `done`.
  done.catch(() => {});

  const established = new Promise<void>((resolve, reject) => {
    socket.once('secureConnect', () => resolve());
    done.then(() => reject(new Error('TLS connection closed before the handshake completed')), reject);
  });
  await established;
  if (request !== undefined) socket.write(request);
  const connection: NodeConnection = {
    socket,
    sessions,
    reused: socket.isSessionReused(),
    protocol: socket.getProtocol(),
    received: () => Buffer.concat(chunks).toString('utf8'),
    done,
  };
  if (waitForClose) await done;
  return connection;
}
