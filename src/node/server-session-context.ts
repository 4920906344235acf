/**
 * The session id context a Node server connection really has. OpenSSL copies the context's
 * (SSL_CTX_set_session_id_context, Node's `sessionIdContext`) into each connection and into each
 * session it makes, and resumes only sessions carrying the same bytes. Measured on loopback:
 *
 * - Node 20.20 and 26.12: the context's bytes, as OpenSSL does.
 * - Node 22.23 and 24.22: SHA-256(context || 0x00 || SNI host name, empty without SNI) when the
 *   context has one (an empty context stays empty), so that a session made under one SNI name is
 *   not resumed under another. On these lines a session found for a connection that verifies
 *   client certificates without a context is dropped silently (a full handshake), where OpenSSL
 *   fails the handshake with SSL_R_SESSION_ID_CONTEXT_UNINITIALIZED.
 *
 * Which behaviour this line has is decided by one loopback handshake with the caller's
 * certificate (once per process, on first use; about 10-20 ms), not by version number.
 */
import { createHash } from 'node:crypto';
import { EventEmitter, once } from 'node:events';
import { createServer, type Server, type Socket } from 'node:net';
import { connect, createSecureContext, type SecureContextOptions, TLSSocket } from 'node:tls';
import { TlsSession } from '../session/tls-session.js';

const PROBE_CONTEXT = 'tls-sessions-probe';
const PROBE_NAME = 'probe.invalid';
const PROBE_TIMEOUT_MS = 5000;

let derives: Promise<boolean> | undefined;

/**
 * True when this Node line gives server connections SHA-256(context || 0 || SNI) as session id
 * context (22.23, 24.22); false when it gives the context as is (20, 26). `options` must hold a
 * certificate and key the probe server can use. A probe that cannot complete answers false.
 */
export function nodeDerivesServerSessionIdContext(options: SecureContextOptions): Promise<boolean> {
  derives ??= probe(options).catch(() => {
    derives = undefined; // try again with the next caller's options
    return false;
  });
  return derives;
}

/** The session id context a server connection has on this line, for the context `sidCtx` and the ClientHello's SNI name. */
export function serverSessionIdContext(sidCtx: Buffer, servername: string | undefined, derived: boolean): Buffer {
  if (!derived || sidCtx.length === 0) return sidCtx;
  return createHash('sha256')
    .update(sidCtx)
    .update(Buffer.from([0]))
    .update(servername ?? '', 'utf8')
    .digest();
}

async function probe(options: SecureContextOptions): Promise<boolean> {
  const secureContext = createSecureContext({
    ...options,
    sessionIdContext: PROBE_CONTEXT,
    minVersion: 'TLSv1.2',
    maxVersion: 'TLSv1.2',
  });
  // Node turns its session events on only when the emitter given as `server` has listeners.
  const sessions = new EventEmitter();
  sessions.on('newSession', (_id: Buffer, _der: Buffer, done: () => void) => done());
  const sockets: Socket[] = [];
  let timer: NodeJS.Timeout | undefined;
  const server: Server = createServer();
  const seen = new Promise<Buffer>((resolve, reject) => {
    timer = setTimeout(() => reject(new Error('probe timed out')), PROBE_TIMEOUT_MS);
    server.on('connection', (socket: Socket) => {
      sockets.push(socket);
      const tls = new TLSSocket(socket, { isServer: true, secureContext, server: sessions as unknown as Server });
      tls.on('error', reject);
      tls.once('secure', () => {
        const der = tls.getSession();
        if (der === undefined) reject(new Error('no server session'));
        else resolve(der);
      });
    });
  });
  seen.catch(() => {}); // awaited below; a rejection before that is not unhandled
  try {
    server.listen(0, '127.0.0.1');
    await once(server, 'listening');
    const address = server.address();
    const port = typeof address === 'object' && address !== null ? address.port : 0;
    const client = connect({
      host: '127.0.0.1',
      port,
      servername: PROBE_NAME,
      rejectUnauthorized: false,
      maxVersion: 'TLSv1.2',
    });
    client.on('error', () => {});
    sockets.push(client);
    const sidCtx = TlsSession.fromDER(await seen).sessionIdContext;
    return sidCtx.equals(serverSessionIdContext(Buffer.from(PROBE_CONTEXT), PROBE_NAME, true));
  } finally {
    clearTimeout(timer);
    for (const socket of sockets) socket.destroy();
    server.close();
  }
}
