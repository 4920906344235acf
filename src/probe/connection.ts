import { constants } from 'node:crypto';
import { isIP } from 'node:net';
import { type ConnectionOptions, type PeerCertificate, type TLSSocket, connect } from 'node:tls';
import { sessionForConnect } from '../node/client-sessions.js';
import { unwrapNodeSession } from '../session/node-state.js';
import { ProbeError } from './errors.js';
import { type ProbeTarget, formatTarget } from './target.js';
import { messageOf } from '../util/errors.js';

/** A protocol version the probe tests. */
export type ProbeVersion = 'TLSv1.2' | 'TLSv1.3';

/** What every connection of one probe shares: where, and how to authenticate. */
export interface ConnectionSettings extends ProbeTarget {
  /** SNI; `undefined` sends none. */
  servername: string | undefined;
  ca: string | Buffer | Array<string | Buffer> | undefined;
  /** Skip certificate verification. */
  insecure: boolean;
  cert: string | Buffer | undefined;
  key: string | Buffer | undefined;
  alpn: string[] | undefined;
  /** Bound on connect + handshake, and on each wait after it. */
  timeoutMs: number;
}

/** What varies between the connections of one probe. */
export interface HandshakeRequest {
  version: ProbeVersion;
  /** A session (OpenSSL's DER, whatever the Node line) to offer for resumption. */
  session?: Buffer;
  /** Leave the session_ticket extension out of a TLS 1.2 ClientHello (session id only). */
  noTicket?: boolean;
  /** Overrides {@link ConnectionSettings.servername} (cross-virtual-host check). */
  servername?: string | undefined;
  /**
   * Do not fail when the certificate does not name the server (the chain is still verified).
   * A session resumed under another name carries the first name's certificate.
   */
  ignoreHostname?: boolean;
}

/** One completed handshake. */
export interface Handshake {
  protocol: string | null;
  cipher: string;
  /** Negotiated ALPN protocol, or `null`. */
  alpn: string | null;
  /** `isSessionReused()`: the offered session was resumed. */
  reused: boolean;
  /** From the start of the TCP connect to the end of the TLS handshake, in milliseconds. */
  ms: number;
  /** Every `'session'` event as OpenSSL's DER: under TLS 1.3 one per NewSessionTicket. */
  sessions: Buffer[];
  /** `getSession()` at the end of the handshake as DER: reliable under TLS 1.2 only. */
  session: Buffer | undefined;
  /**
   * Sessions Node handed out that could not be taken out of Node's session state (never
   * expected; counted so that a check resting on them is reported as not run, not as "none").
   */
  unreadable: string[];
  /** The server's certificate, `null` when it sent none. */
  peerCertificate: PeerCertificate | null;
}

const CONNECT_CODES = new Set([
  'ECONNREFUSED',
  'ENOTFOUND',
  'EAI_AGAIN',
  'EHOSTUNREACH',
  'ENETUNREACH',
  'EADDRNOTAVAIL',
  'ETIMEDOUT',
]);

/** SNI to send for a host: Node (and RFC 6066) send none for an IP literal. */
export function defaultServername(host: string): string | undefined {
  return isIP(host) === 0 ? host : undefined;
}

/** Shortest wait for the first TLS 1.3 ticket after the handshake. */
const TICKET_WAIT_MIN_MS = 25;
/** Shortest wait for one more TLS 1.3 ticket after one arrived. */
const TICKET_GRACE_MIN_MS = 10;
/** Shortest wait for the server to close after our close_notify. */
const CLOSE_WAIT_MIN_MS = 100;
/** Shortest window, after a TLS 1.3 handshake, in which tickets are collected. */
const TICKET_WINDOW_MIN_MS = 250;
/**
 * Tickets taken from one connection before it is closed at once. Servers send 1 to 4; more is
 * a server that keeps sending, which must not hold the probe open.
 */
export const MAX_TICKETS_PER_CONNECTION = 32;

function clamp(value: number, min: number, max: number): number {
  return Math.min(max, Math.max(min, value));
}

/**
 * Makes one TLS connection, offering exactly the session in `request`, collects the TLS 1.3
 * tickets that follow the handshake, then ends the connection cleanly with a close_notify so
 * that the server keeps the session.
 *
 * Every wait is bounded, and so is the whole: the handshake within `timeoutMs`, the tickets
 * within a window of ten handshake times (at least 250 ms, at most `timeoutMs`) and at most
 * {@link MAX_TICKETS_PER_CONNECTION} of them, the close within `timeoutMs`. A server that keeps
 * sending tickets cannot hold a connection open longer than three times `timeoutMs`.
 */
export function handshake(settings: ConnectionSettings, request: HandshakeRequest): Promise<Handshake> {
  const servername = 'servername' in request ? request.servername : settings.servername;
  const options: ConnectionOptions = {
    host: settings.host,
    port: settings.port,
    minVersion: request.version,
    maxVersion: request.version,
    rejectUnauthorized: !settings.insecure,
    secureOptions: request.noTicket ? constants.SSL_OP_NO_TICKET : 0,
  };
  if (servername !== undefined) options.servername = servername;
  if (settings.ca !== undefined) options.ca = settings.ca;
  if (settings.cert !== undefined) options.cert = settings.cert;
  if (settings.key !== undefined) options.key = settings.key;
  if (settings.alpn !== undefined) options.ALPNProtocols = settings.alpn;
  if (request.session !== undefined) {
    // Node 22+ offers a session only when it is bound to this connection's identity
    // (servername || host), and ignores plain DER on a verified connection, without a word.
    // The probe binds every session to the identity of the connection that offers it. For the
    // cross-virtual-host check that is deliberately another name than the session was made
    // for: the probe is a diagnostic that knowingly offers a session across names, to learn
    // whether the server accepts it, which a client must never do.
    options.session = sessionForConnect(request.session, options);
  }
  if (request.ignoreHostname) options.checkServerIdentity = () => undefined;

  const where = formatTarget(settings);
  return new Promise<Handshake>((resolve, reject) => {
    const start = process.hrtime.bigint();
    const sessions: Buffer[] = [];
    const unreadable: string[] = [];
    // Node 22+ hands client sessions out bound to the server identity; the probe works on DER.
    const der = (session: Buffer | undefined): Buffer | undefined => {
      if (session === undefined) return undefined;
      try {
        return Buffer.from(unwrapNodeSession(session).der);
      } catch (error) {
        unreadable.push(firstLine(error));
        return undefined;
      }
    };
    let result: Handshake | undefined;
    let settled = false;
    let closing = false;
    let socket: TLSSocket;

    const finish = (error?: ProbeError) => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      socket.destroy();
      if (result) resolve(result);
      else
        reject(error ?? new ProbeError('ERR_PROBE_HANDSHAKE', `${where}: connection closed during the TLS handshake`));
    };
    // Before the handshake: the time limit is an error. After it: the wait for tickets is over.
    let timer = setTimeout(() => {
      finish(new ProbeError('ERR_PROBE_TIMEOUT', `${where}: no TLS handshake within ${settings.timeoutMs} ms`));
    }, settings.timeoutMs);

    try {
      socket = connect(options);
    } catch (cause) {
      settled = true;
      clearTimeout(timer);
      reject(new ProbeError('ERR_PROBE_HANDSHAKE', `${where}: ${firstLine(cause)}`, { cause }));
      return;
    }
    socket.on('session', (session: Buffer) => {
      // Tickets that come after our close_notify were not waited for: not counted.
      if (closing) return;
      const plain = der(session);
      if (plain !== undefined) sessions.push(plain);
    });
    socket.on('data', () => {});
    socket.on('error', (cause: Error & { code?: string }) => {
      if (!result) {
        finish(classify(cause, where, request.version));
      } else if (cause.code?.startsWith('ERR_SSL_')) {
        // A TLS 1.3 client finishes before the server has checked its Finished (and certificate):
        // an alert right after the handshake means the server did not accept it.
        result = undefined;
        const hint = /certificate required/.test(cause.message)
          ? ' (the server wants a client certificate: --cert/--key)'
          : '';
        finish(
          new ProbeError(
            'ERR_PROBE_HANDSHAKE',
            `${where}: the server rejected the ${request.version} handshake: ${firstLine(cause)}${hint}`,
            {
              cause,
            },
          ),
        );
      }
      // Otherwise (a reset while closing) the handshake stands.
    });
    socket.once('close', () => finish());
    // Ends cleanly (close_notify) and gives the server a bounded moment to close its side.
    const close = (ms: number) => {
      closing = true;
      clearTimeout(timer);
      timer = setTimeout(() => finish(), clamp(4 * ms + 50, CLOSE_WAIT_MIN_MS, settings.timeoutMs));
      socket.end();
    };
    socket.once('secureConnect', () => {
      const ms = Number(process.hrtime.bigint() - start) / 1e6;
      result = {
        protocol: socket.getProtocol(),
        cipher: socket.getCipher()?.standardName ?? socket.getCipher()?.name ?? '',
        alpn: typeof socket.alpnProtocol === 'string' ? socket.alpnProtocol : null,
        reused: socket.isSessionReused(),
        ms,
        sessions,
        session: der(socket.getSession()),
        unreadable,
        peerCertificate: peerCertificate(socket),
      };
      clearTimeout(timer);
      if (request.version === 'TLSv1.2') {
        // TLS 1.2 tickets come inside the handshake: nothing more to wait for.
        close(ms);
        return;
      }
      // TLS 1.3 tickets follow the handshake, about one round trip after it. Closing at once
      // would lose them behind proxies that do not pass a half-closed connection on, so wait:
      // two handshake times for the first ticket, then a little after each one for the rest,
      // never past the ticket window: each ticket restarts the short wait, not the window.
      const windowEnd = Date.now() + clamp(10 * ms, TICKET_WINDOW_MIN_MS, settings.timeoutMs);
      const waitAtMost = (wait: number) => Math.max(0, Math.min(wait, windowEnd - Date.now()));
      timer = setTimeout(() => close(ms), waitAtMost(clamp(2 * ms, TICKET_WAIT_MIN_MS, settings.timeoutMs)));
      socket.on('session', () => {
        if (closing) return;
        clearTimeout(timer);
        if (sessions.length + unreadable.length >= MAX_TICKETS_PER_CONNECTION) {
          close(ms);
          return;
        }
        timer = setTimeout(() => close(ms), waitAtMost(clamp(ms, TICKET_GRACE_MIN_MS, settings.timeoutMs)));
      });
    });
  });
}

function peerCertificate(socket: TLSSocket): PeerCertificate | null {
  const cert = socket.getPeerCertificate();
  return cert && Object.keys(cert).length > 0 ? cert : null;
}

function classify(cause: Error & { code?: string }, where: string, version: ProbeVersion): ProbeError {
  const code = cause.code ?? '';
  const message = firstLine(cause);
  if (CONNECT_CODES.has(code))
    return new ProbeError('ERR_PROBE_CONNECT', `cannot connect to ${where}: ${message}`, { cause });
  if (code === 'ECONNRESET' || code === 'EPIPE') {
    return new ProbeError('ERR_PROBE_HANDSHAKE', `${where}: connection reset during the ${version} handshake`, {
      cause,
    });
  }
  if (
    code === 'ERR_TLS_CERT_ALTNAME_INVALID' ||
    (!code.startsWith('ERR_') && /CERT|SIGNATURE|ISSUER|VERIFY/.test(code))
  ) {
    return new ProbeError(
      'ERR_PROBE_CERTIFICATE',
      `${where}: certificate not accepted (${message}); use --ca FILE to trust its issuer or --insecure to skip verification`,
      { cause },
    );
  }
  return new ProbeError('ERR_PROBE_HANDSHAKE', `${where}: ${version} handshake failed: ${message}`, { cause });
}

/**
 * One readable line: OpenSSL's `...:error:0A00045C:SSL routines:ssl3_read_bytes:tlsv13 alert
 * certificate required:file:line:SSL alert number 116` becomes `tlsv13 alert certificate required`.
 */
function firstLine(err: unknown): string {
  const text = messageOf(err, Number.POSITIVE_INFINITY);
  const openssl = /^[0-9A-F]+:error:[0-9A-F]+:[^:]*:[^:]*:([^:]+):/.exec(text);
  return openssl?.[1] ?? text;
}
