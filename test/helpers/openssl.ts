/**
 * Real OpenSSL peers: `openssl s_server`, `openssl s_client` and `openssl sess_id`.
 *
 * ```ts
 * const pki = await sharedPki();
 * const server = await startSServer({ cert: pki.server, tls: '1.3' });
 * t.after(() => server.stop());
 * const first = await sClient({ port: server.port, sessOut: file });   // first.reused === false
 * const again = await sClient({ port: server.port, sessIn: file });    // again.reused === true
 * const text = await sessId(file);                                     // 'Resumption PSK: ...'
 * ```
 *
 * s_server runs in `-www` mode by default: it serves any number of sequential connections, and
 * each one ends cleanly (close_notify) after it answers one HTTP GET. s_client sends that GET
 * and runs with `-ign_eof`, so it exits once the server has answered and closed.
 *
 * TLS 1.3 tickets: the server sends its NewSessionTicket messages right after the handshake,
 * before any application data. s_client writes `-sess_out` each time a session (ticket) arrives,
 * so once it has read the answer to its GET every ticket has been processed and the file holds
 * the last one (`sess_id` shows "TLS session ticket:" and "Resumption PSK"). A client that
 * closes right after the handshake may save a session without a ticket, which cannot resume.
 *
 * The server is ready when it prints `ACCEPT host:port` (that also gives the port when it bound
 * port 0); no probe connection is made, so the server's session statistics stay untouched.
 * With `-quiet` in `args` that line is not printed, so readiness is then polled with TCP
 * connects to a pre-chosen port.
 *
 * Every process is tracked (see `liveOpensslProcesses()`) and killed at process exit if a test
 * forgot to stop it; s_server runs under the kit's one peer launcher (process.ts).
 */
import type { ChildProcess } from 'node:child_process';
import { type Cert, sharedPki } from './certs.js';
import { runOpenssl, runOpensslOk, spawnOpenssl } from './openssl-process.js';
import { freePort } from './ports.js';
import { canConnect, launchPeer } from './process.js';

export {
  liveOpensslProcesses,
  OPENSSL_BIN,
  OpensslTimeoutError,
  type RunOpensslOptions,
  type RunOpensslResult,
  runOpenssl,
  runOpensslOk,
} from './openssl-process.js';

/** Protocol version pin: `-tls1_2` or `-tls1_3`. */
export type TlsVersion = '1.2' | '1.3';

/** Options for {@link startSServer}. */
export interface SServerOptions {
  /** Server certificate and key. */
  cert: Cert;
  /** Port on 127.0.0.1; default: any free port (bound as port 0). */
  port?: number;
  /** Extra s_server arguments, appended last. */
  args?: string[];
  /** Only this protocol version. */
  tls?: TlsVersion;
  /** `-no_ticket`: no TLS 1.2 tickets; TLS 1.3 tickets become stateful (session id in cache). */
  noTicket?: boolean;
  /** `-num_tickets N`: TLS 1.3 tickets sent after a full handshake (OpenSSL default 2). */
  numTickets?: number;
  /** `-CAfile`: CA certificates for client verification (default: shared PKI root when verifyClient). */
  caPath?: string;
  /** Require a client certificate (`-Verify 1 -verify_return_error`). */
  verifyClient?: boolean;
  /** Serve with `-www` (default true). When false, pass a mode in `args` yourself. */
  www?: boolean;
  /** Bound on start-up. Default 5000 ms. */
  startTimeoutMs?: number;
}

/** A running `openssl s_server`. */
export interface SServer {
  host: '127.0.0.1';
  port: number;
  process: ChildProcess;
  /** Stops the server (SIGTERM, then SIGKILL after 2 s) and waits until it has exited. */
  stop(): Promise<void>;
  /** Everything the server printed so far (stdout and stderr, interleaved). */
  output(): string;
}

function versionArgs(tls: TlsVersion | undefined): string[] {
  if (tls === '1.2') return ['-tls1_2'];
  if (tls === '1.3') return ['-tls1_3'];
  return [];
}

/** Starts `openssl s_server` on 127.0.0.1 and resolves once it accepts connections. */
export async function startSServer(opts: SServerOptions): Promise<SServer> {
  const extra = opts.args ?? [];
  const quiet = extra.includes('-quiet');
  // -quiet hides the ACCEPT line that reports the bound port, so the port must be known.
  const port = opts.port ?? (quiet ? await freePort() : 0);
  const args = ['s_server', '-accept', `127.0.0.1:${port}`];
  args.push('-cert', opts.cert.certPath, '-key', opts.cert.keyPath);
  if (opts.www ?? true) args.push('-www');
  args.push(...versionArgs(opts.tls));
  if (opts.noTicket) args.push('-no_ticket');
  if (opts.numTickets !== undefined) args.push('-num_tickets', String(opts.numTickets));
  const caPath = opts.caPath ?? (opts.verifyClient ? (await sharedPki()).ca.certPath : undefined);
  if (caPath !== undefined) args.push('-CAfile', caPath);
  if (opts.verifyClient) args.push('-Verify', '1', '-verify_return_error');
  args.push(...extra);

  const acceptedPort = (output: string): number | undefined => {
    const match = /^ACCEPT (\S+):(\d+)\s*$/m.exec(output);
    return match ? Number(match[2]) : undefined;
  };
  const peer = await launchPeer({
    name: 'openssl s_server',
    spawn: () => spawnOpenssl(args),
    readyTimeoutMs: opts.startTimeoutMs ?? 5000,
    // The ACCEPT line rather than a probe connection, so the session statistics stay untouched.
    ready: async (p) => acceptedPort(p.output()) !== undefined || (quiet && (await canConnect(port))),
  });
  return {
    host: '127.0.0.1',
    port: acceptedPort(peer.output()) ?? port,
    process: peer.process,
    stop: async () => {
      await peer.stop();
    },
    output: () => peer.output(),
  };
}

/** Options for {@link sClient}. */
export interface SClientOptions {
  port: number;
  /** Default '127.0.0.1'. */
  host?: string;
  /** `-servername` (SNI). When absent, s_client's default applies (no SNI for an IP host). */
  servername?: string;
  /** `-sess_out`: file that receives the session (the last ticket under TLS 1.3). */
  sessOut?: string;
  /** `-sess_in`: session to offer for resumption. */
  sessIn?: string;
  tls?: TlsVersion;
  /** `-no_ticket`: do not ask for TLS 1.2 tickets. */
  noTicket?: boolean;
  /** `-CAfile`; default: the shared PKI root. Verification is reported, not enforced. */
  caPath?: string;
  /** Client certificate (`-cert`/`-key`). */
  cert?: Cert;
  /** `-alpn a,b`. */
  alpn?: string[];
  /** Appended last. */
  extraArgs?: string[];
  /** Kill s_client and reject with OpensslTimeoutError after this long. Default 5000 ms. */
  timeoutMs?: number;
  /** Written to stdin. Default: an HTTP/1.0 GET for `-www` servers. */
  input?: string;
  /** `-ign_eof` (wait for the server to close). Default true. */
  ignEof?: boolean;
}

/** What one `openssl s_client` run reported. */
export interface SClientResult {
  /** "Reused, ..." rather than "New, ...". */
  reused: boolean;
  /** e.g. 'TLSv1.3'; '(NONE)' when the handshake failed. */
  protocol: string;
  /** OpenSSL cipher name, e.g. 'TLS_AES_256_GCM_SHA384'; '(NONE)' when the handshake failed. */
  cipher: string;
  /** Negotiated ALPN protocol, or null. */
  alpn: string | null;
  /** "Verify return code", or null when not printed. */
  verifyCode: number | null;
  /** TLS 1.3 NewSessionTicket messages received after the handshake. */
  postHandshakeTickets: number;
  stdout: string;
  stderr: string;
  exitCode: number;
}

/** The HTTP request sClient sends by default. */
export const WWW_REQUEST = 'GET / HTTP/1.0\r\n\r\n';

/** Parses s_client's report; the first "New,"/"Reused," line is s_client's own. */
export function parseSClientOutput(stdout: string): Omit<SClientResult, 'stdout' | 'stderr' | 'exitCode'> {
  const summary = /^(New|Reused), (\S+), Cipher is (\S+)/m.exec(stdout);
  const alpn = /^ALPN protocol: (\S+)/m.exec(stdout);
  const verify = /^\s*Verify return code: (\d+)/m.exec(stdout);
  return {
    reused: summary?.[1] === 'Reused',
    protocol: summary?.[2] ?? '(NONE)',
    cipher: summary?.[3] ?? '(NONE)',
    alpn: alpn?.[1] ?? null,
    verifyCode: verify?.[1] === undefined ? null : Number(verify[1]),
    postHandshakeTickets: stdout.match(/^Post-Handshake New Session Ticket arrived:/gm)?.length ?? 0,
  };
}

/** Runs one `openssl s_client` connection to completion and parses what it printed. */
export async function sClient(opts: SClientOptions): Promise<SClientResult> {
  const args = ['s_client', '-connect', `${opts.host ?? '127.0.0.1'}:${opts.port}`];
  if (opts.servername !== undefined) args.push('-servername', opts.servername);
  if (opts.sessOut !== undefined) args.push('-sess_out', opts.sessOut);
  if (opts.sessIn !== undefined) args.push('-sess_in', opts.sessIn);
  args.push(...versionArgs(opts.tls));
  if (opts.noTicket) args.push('-no_ticket');
  args.push('-CAfile', opts.caPath ?? (await sharedPki()).ca.certPath);
  if (opts.cert) args.push('-cert', opts.cert.certPath, '-key', opts.cert.keyPath);
  if (opts.alpn && opts.alpn.length > 0) args.push('-alpn', opts.alpn.join(','));
  if (opts.ignEof ?? true) args.push('-ign_eof');
  args.push(...(opts.extraArgs ?? []));
  const run = await runOpenssl(args, {
    input: opts.input ?? WWW_REQUEST,
    timeoutMs: opts.timeoutMs ?? 5000,
  });
  const stdout = run.stdout.toString('utf8');
  return { ...parseSClientOutput(stdout), stdout, stderr: run.stderr, exitCode: run.code };
}

/**
 * `openssl sess_id -in path -noout -text ...args`; resolves with stdout, rejects when
 * OpenSSL cannot read the session.
 */
export async function sessId(path: string, args: string[] = []): Promise<string> {
  const run = await runOpensslOk(['sess_id', '-in', path, '-noout', '-text', ...args]);
  return run.stdout.toString('utf8');
}
