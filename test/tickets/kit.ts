/**
 * Shared pieces of the ticket key tests: a clock the tests move by hand (rotation and
 * retirement without waiting hours; handshakes stay real), the key name a ticket carries, and
 * a TLS client that works against any server (tls, https, http2) without waiting for it to close.
 */
import { type ConnectionOptions, connect } from 'node:tls';
import { sessionForConnect } from '../../src/node/client-sessions.js';
import { TlsSession, unwrapNodeSession } from '../../src/session/index.js';
import { sharedPki } from '../helpers/index.js';

export const HOUR = 3600;

/** A clock for `TicketKeyRing`'s `now` option. Starts one minute into a 1-hour slot. */
export interface FakeClock {
  now: () => number;
  /** Moves the clock forward by `seconds`. */
  advance(seconds: number): void;
  /** Sets the clock to `ms` since the epoch. */
  set(ms: number): void;
}

export function fakeClock(startMs = Math.floor(Date.now() / 3_600_000) * 3_600_000 + 60_000): FakeClock {
  let t = startMs;
  return {
    now: () => t,
    advance(seconds) {
      t += seconds * 1000;
    },
    set(ms) {
      t = ms;
    },
  };
}

/**
 * The key name of the ticket in the session `openssl s_client` printed at its end (the session
 * it holds last: after a TLS 1.2 resumption with a renewed ticket s_client writes no -sess_out,
 * but prints the new ticket).
 */
export function printedTicketKeyName(stdout: string): string | undefined {
  const m = /TLS session ticket:\n\s*0000 - ((?:[0-9a-f]{2}[ -]){16})/.exec(stdout);
  return m?.[1]?.replace(/[ -]/g, '');
}

/** The key name (32 hex characters) at the start of the session's ticket. */
export function ticketKeyName(session: Buffer | string): string {
  const s = typeof session === 'string' ? TlsSession.fromPEM(session) : TlsSession.fromDER(session);
  const ticket = s.ticket;
  if (ticket === undefined || ticket.length < 16) throw new Error('the session carries no stateless ticket');
  return ticket.toString('hex', 0, 16);
}

/** Lifetime hint the server gave the session's ticket, in seconds. */
export function ticketLifetime(session: Buffer): number {
  return TlsSession.fromDER(session).ticketLifetimeHint;
}

export type Version = 'TLSv1.2' | 'TLSv1.3';

export interface Handshake {
  reused: boolean;
  /** The last session (ticket) received, if any. */
  session: Buffer | undefined;
  sessions: number;
}

/**
 * One TLS connection to 127.0.0.1:`port` with SNI localhost: resolves after the handshake and,
 * when `tickets` > 0, once that many sessions arrived (bounded by `timeoutMs`), then closes.
 */
export async function handshake(
  port: number,
  version: Version,
  opts: { session?: Buffer | undefined; alpn?: string[]; tickets?: number; timeoutMs?: number } = {},
): Promise<Handshake> {
  const ca = (await sharedPki()).ca.cert;
  const want = opts.tickets ?? (opts.session === undefined ? 1 : 0);
  return new Promise((resolve, reject) => {
    const options: ConnectionOptions = {
      host: '127.0.0.1',
      port,
      servername: 'localhost',
      ca,
      minVersion: version,
      maxVersion: version,
      ...(opts.alpn === undefined ? {} : { ALPNProtocols: opts.alpn }),
    };
    // Sessions travel as DER here; each Node line is handed the form it offers.
    if (opts.session !== undefined) options.session = sessionForConnect(opts.session, options);
    const socket = connect(options);
    const sessions: Buffer[] = [];
    let reused: boolean | undefined;
    let done = false;
    const finish = (err?: Error): void => {
      if (done) return;
      done = true;
      clearTimeout(timer);
      socket.destroy();
      if (err !== undefined) reject(err);
      else resolve({ reused: reused ?? false, session: sessions.at(-1), sessions: sessions.length });
    };
    const check = (): void => {
      if (reused !== undefined && sessions.length >= want) finish();
    };
    const timer = setTimeout(() => {
      if (reused === undefined) finish(new Error(`no handshake within ${opts.timeoutMs ?? 5000} ms`));
      else finish();
    }, opts.timeoutMs ?? 5000);
    socket.on('session', (s: Buffer) => {
      sessions.push(unwrapNodeSession(s).der);
      check();
    });
    socket.on('data', () => {});
    socket.once('secureConnect', () => {
      reused = socket.isSessionReused();
      check();
    });
    socket.once('error', (err) => finish(reused === undefined ? err : undefined));
    socket.once('close', () => finish(reused === undefined ? new Error('closed before the handshake') : undefined));
  });
}
