/**
 * Runs one connection through a ClientSessionStore to its end and reports what happened, the
 * way test/helpers' nodeConnect does for plain tls.connect: it reads until the server closes,
 * so every TLS 1.3 ticket sent before the end has been seen, then waits for the store's writes.
 */
import type { ConnectionOptions, TLSSocket } from 'node:tls';
import type { ClientSessionStore } from '../../src/client/index.js';
import { WWW_REQUEST } from '../helpers/index.js';

export interface Outcome {
  socket: TLSSocket;
  /** isSessionReused() at secureConnect. */
  reused: boolean;
  protocol: string | null;
  /** 'session' events the connection yielded. */
  sessions: number;
  received: string;
}

export interface RunOptions {
  /** Written after the handshake (`WWW_REQUEST` for s_server -www). */
  request?: string;
  timeoutMs?: number;
}

/** Connects through `store`, reads to the end; rejects with the connection's error. */
export async function runConnection(
  store: ClientSessionStore,
  options: ConnectionOptions,
  run: RunOptions = {},
): Promise<Outcome> {
  const socket = await store.connect({ host: '127.0.0.1', servername: 'localhost', ...options });
  const outcome: Outcome = { socket, reused: false, protocol: null, sessions: 0, received: '' };
  const chunks: Buffer[] = [];
  let failure: Error | undefined;
  socket.on('session', () => outcome.sessions++);
  socket.on('data', (chunk: Buffer) => chunks.push(chunk));
  socket.on('error', (error) => {
    failure ??= error;
  });
  socket.once('secureConnect', () => {
    outcome.reused = socket.isSessionReused();
    outcome.protocol = socket.getProtocol();
    if (run.request !== undefined) socket.write(run.request);
  });
  const timer = setTimeout(() => socket.destroy(new Error('connection not closed in time')), run.timeoutMs ?? 5000);
  await new Promise<void>((resolve) => socket.once('close', () => resolve()));
  clearTimeout(timer);
  await store.flush();
  outcome.received = Buffer.concat(chunks).toString('utf8');
  if (failure) throw failure;
  return outcome;
}

/** `runConnection` for an `openssl s_server -www` peer. */
export function runWww(store: ClientSessionStore, options: ConnectionOptions): Promise<Outcome> {
  return runConnection(store, options, { request: WWW_REQUEST });
}

/** Runs `n` connections one after another. */
export async function runSequence(n: number, one: () => Promise<Outcome>): Promise<Outcome[]> {
  const out: Outcome[] = [];
  for (let i = 0; i < n; i++) out.push(await one());
  return out;
}
