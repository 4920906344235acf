/**
 * Test kit for the OpenSSL-style API: contexts for the shared PKI, a Node server endpoint made
 * from an SSL_CTX (tcpListen + SSL_accept), and the steps of OpenSSL's test/helpers/ssltestlib.c
 * (create_ssl_objects, create_ssl_connection, shutdown_ssl_connection) over real sockets.
 */
import assert from 'node:assert/strict';
import { after, before } from 'node:test';
import {
  ERR_error_string,
  ERR_get_error,
  OpenSSLUsageError,
  type SSL,
  SSL_accept,
  SSL_connect,
  type SSL_CTX,
  SSL_CTX_free,
  SSL_CTX_new,
  SSL_free,
  SSL_new,
  SSL_read,
  SSL_set_fd,
  SSL_shutdown,
  SSL_write,
  type SslCtxOptions,
  type TcpListener,
  TLS_client_method,
  TLS_server_method,
  tcpListen,
} from '../../src/openssl/index.js';
import { sharedPki, WWW_REQUEST } from '../helpers/index.js';

/** Every queued error as text, oldest first; empties the queue. */
export function drainErrors(): string[] {
  const out: string[] = [];
  for (let e = ERR_get_error(); e !== 0; e = ERR_get_error()) out.push(ERR_error_string(e));
  return out;
}

/** A server context with the shared PKI's ECDSA localhost certificate. */
export async function serverCtx(options: SslCtxOptions = {}): Promise<SSL_CTX> {
  const pki = await sharedPki();
  const ctx = SSL_CTX_new({ method: TLS_server_method(), cert: pki.server.cert, key: pki.server.key, ...options });
  assert.ok(ctx, `SSL_CTX_new failed: ${drainErrors().join('; ')}`);
  return ctx;
}

/** A client context trusting the shared PKI's root. */
export async function clientCtx(options: SslCtxOptions = {}): Promise<SSL_CTX> {
  const pki = await sharedPki();
  const ctx = SSL_CTX_new({ method: TLS_client_method(), ca: pki.ca.cert, ...options });
  assert.ok(ctx, `SSL_CTX_new failed: ${drainErrors().join('; ')}`);
  return ctx;
}

/** A TCP listener for SSL_accept; closed by the caller (t.after). */
export function listener(): Promise<TcpListener> {
  return tcpListen();
}

/** What a test file shares: one listener, and the contexts it makes (freed after its tests). */
export interface FileFixture {
  /** The listener, there once the file's `before` hooks have run. */
  readonly l: TcpListener;
  /** Contexts to free after the file's tests. */
  readonly contexts: SSL_CTX[];
}

/**
 * Registers the file's `before` (listen, then `afterListen`) and `after` (free every tracked SSL
 * and the contexts, run `beforeClose`, close the listener) hooks; call it once at the top of a
 * test file.
 */
export function fileFixture(
  opts: { afterListen?: (l: TcpListener) => Promise<void>; beforeClose?: () => Promise<void> } = {},
): FileFixture {
  let l: TcpListener | undefined;
  const contexts: SSL_CTX[] = [];
  before(async () => {
    l = await listener();
    await opts.afterListen?.(l);
  });
  after(async () => {
    freeTracked();
    for (const c of contexts.splice(0)) SSL_CTX_free(c);
    await opts.beforeClose?.();
    await l?.close();
  });
  return {
    get l() {
      assert.ok(l, 'the listener is made in before()');
      return l;
    },
    contexts,
  };
}

/**
 * Both handshakes at once: `serverssl` on the next connection `l` accepts, `clientssl` to `target`
 * (default: the listener's port, SNI localhost, 5 s). Resolves with [SSL_connect's, SSL_accept's] results.
 */
export async function handshakeBoth(
  l: TcpListener,
  serverssl: SSL,
  clientssl: SSL,
  target: { port?: number; servername?: string; timeoutMs?: number } = {},
): Promise<[number, number]> {
  const accepting = l.accept(5000).then((sock) => {
    SSL_set_fd(serverssl, sock);
    return SSL_accept(serverssl, { timeoutMs: 5000 });
  });
  return Promise.all([
    SSL_connect(clientssl, { port: l.port, servername: 'localhost', timeoutMs: 5000, ...target }),
    accepting,
  ]);
}

const tracked = new Set<SSL>();

/** SSL_new, remembered so that {@link freeTracked} can release what a failed test left behind. */
export function newSsl(ctx: SSL_CTX): SSL {
  const ssl = SSL_new(ctx);
  tracked.add(ssl);
  return ssl;
}

/** Frees every connection made with {@link newSsl} that is still allocated (after a failure). */
export function freeTracked(): void {
  for (const ssl of tracked) {
    try {
      SSL_free(ssl);
    } catch (error) {
      if (!(error instanceof OpenSSLUsageError)) throw error;
    }
  }
  tracked.clear();
}

/** create_ssl_objects: a server and a client connection object. */
export function createSslObjects(sctx: SSL_CTX, cctx: SSL_CTX): { serverssl: SSL; clientssl: SSL } {
  return { serverssl: newSsl(sctx), clientssl: newSsl(cctx) };
}

/**
 * create_ssl_connection: both handshakes, then one byte from server to client so that the client
 * has read every TLS 1.3 ticket sent before it. Resolves true when both ends succeeded.
 */
export async function createSslConnection(l: TcpListener, serverssl: SSL, clientssl: SSL): Promise<boolean> {
  const [c, s] = await handshakeBoth(l, serverssl, clientssl);
  if (c !== 1 || s !== 1) return false;
  if ((await SSL_write(serverssl, 'x')) !== 1) return false;
  return (await SSL_read(clientssl, Buffer.alloc(1), { timeoutMs: 5000 })) === 1;
}

/**
 * A client connection to `openssl s_server -www`: handshake, GET, and the whole answer, so that
 * every ticket the server sent has been read. Resolves true on success.
 */
export async function connectToSServer(clientssl: SSL, port: number): Promise<boolean> {
  if ((await SSL_connect(clientssl, { port, servername: 'localhost', timeoutMs: 5000 })) !== 1) return false;
  if ((await SSL_write(clientssl, WWW_REQUEST)) <= 0) return false;
  const buf = Buffer.alloc(16384);
  for (let i = 0; i < 100; i++) {
    const n = await SSL_read(clientssl, buf, { timeoutMs: 5000 });
    if (n === 0) return true;
    if (n < 0) return false;
  }
  return false;
}

/** shutdown_ssl_connection: SSL_shutdown on both ends, then SSL_free both. */
export async function shutdownSslConnection(serverssl: SSL | null, clientssl: SSL): Promise<void> {
  await Promise.all([
    SSL_shutdown(clientssl, { timeoutMs: 2000 }),
    serverssl ? SSL_shutdown(serverssl, { timeoutMs: 2000 }) : 0,
  ]);
  SSL_free(serverssl);
  SSL_free(clientssl);
}
