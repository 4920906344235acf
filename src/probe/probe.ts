import { checkServerIdentity } from 'node:tls';
import { TlsSession } from '../session/tls-session.js';
import {
  type ConnectionSettings,
  type Handshake,
  type HandshakeRequest,
  type ProbeVersion,
  handshake,
} from './connection.js';
import { ProbeError } from './errors.js';
import { badOption, resolveConnectionOptions } from './options.js';
import { findingsFor } from './findings.js';
import type {
  CrossHostCheck,
  CrossHostReport,
  ProbeCheckName,
  ProbeNotRun,
  ProbeReport,
  ProbeTiming,
  Tls12Report,
  Tls13Report,
} from './report.js';
import { formatTarget } from './target.js';
import { messageOf } from '../util/errors.js';

/** Names under which {@link ProbeOptions.onSession} hands out sessions worth keeping. */
export type ProbeSessionName = 'tls12-session-id' | 'tls12-ticket' | 'tls13-ticket';

/** Options of {@link probe}. */
export interface ProbeOptions {
  /** Host name or IP address. */
  host: string;
  /** Default 443. */
  port?: number;
  /** SNI. Default: `host`, unless it is an IP address (then none is sent). */
  servername?: string;
  /** Trust anchors (PEM). Default: Node's bundled CAs. */
  ca?: string | Buffer | Array<string | Buffer>;
  /** Do not verify the server's certificate. */
  insecure?: boolean;
  /** Client certificate and key (PEM), for servers that ask for one. */
  cert?: string | Buffer;
  key?: string | Buffer;
  /** ALPN protocols offered, e.g. `['h2', 'http/1.1']`. */
  alpn?: string[];
  /** Versions to probe. Default both. */
  versions?: readonly ProbeVersion[];
  /** Resumption attempts per check, 1 to 100. Default 5. */
  attempts?: number;
  /** Check whether sessions made for `servername` resume under this name. */
  otherServername?: string;
  /** Bound on each connection's handshake, in milliseconds. Default 5000. */
  timeoutMs?: number;
  /** Told what the probe is doing, for a progress line. */
  onProgress?: (message: string) => void;
  /**
   * Given one client session of each kind the server issued (a TLS 1.3 ticket never offered
   * yet), e.g. to save it for `openssl s_client -sess_in`. It holds secrets.
   */
  onSession?: (name: ProbeSessionName, session: TlsSession) => void;
}

export { DEFAULT_ATTEMPTS, DEFAULT_TIMEOUT_MS } from './options.js';

/** The handshakes of one version, for timing. */
class Timings {
  readonly full: number[] = [];
  readonly resumed: number[] = [];

  add(h: Handshake): Handshake {
    (h.reused ? this.resumed : this.full).push(h.ms);
    return h;
  }

  medians(): ProbeTiming {
    return { fullMs: median(this.full), resumedMs: median(this.resumed) };
  }
}

/**
 * Probes what a TLS server does with sessions, over TLS 1.2 and TLS 1.3: whether session ids
 * and tickets resume, how many tickets come and for how long, whether a ticket is accepted
 * twice, whether sessions cross virtual hosts, and how long full and resumed handshakes take.
 *
 * Connections are made one after the other with Node's `tls.connect`, each offering exactly
 * the session chosen for it. Rejects with a {@link ProbeError} when the server cannot be
 * reached or completes no handshake.
 *
 * @example
 * ```ts
 * const report = await probe({ host: 'example.com' });
 * for (const f of report.findings) console.log(f.severity, f.message);
 * ```
 */
export async function probe(options: ProbeOptions): Promise<ProbeReport> {
  const started = process.hrtime.bigint();
  const { settings, versions, attempts } = resolveConnectionOptions(options);
  if (
    options.otherServername !== undefined &&
    (typeof options.otherServername !== 'string' || options.otherServername.trim() === '')
  ) {
    throw badOption('otherServername must be a non-empty string');
  }
  const run = new Run(settings, attempts, options);

  // One full handshake per version tells which versions the server speaks.
  const spoken: ProbeVersion[] = [];
  const notSpoken: Partial<Record<ProbeVersion, string>> = {};
  const errors: ProbeError[] = [];
  for (const version of ['TLSv1.3', 'TLSv1.2'] as const) {
    if (!versions.includes(version)) {
      notSpoken[version] = 'not probed';
      continue;
    }
    run.progress(`${version}: connecting`);
    try {
      await run.connect({ version });
      spoken.push(version);
    } catch (error) {
      if (!(error instanceof ProbeError) || error.code === 'ERR_PROBE_CONNECT') throw error;
      errors.push(error);
      notSpoken[version] = error.message;
    }
  }
  if (spoken.length === 0) throw noProtocol(errors, formatTarget(settings));

  const tls13 = spoken.includes('TLSv1.3') ? await run.tls13() : null;
  const tls12 = spoken.includes('TLSv1.2') ? await run.tls12() : null;
  const crossHost = options.otherServername === undefined ? null : await run.crossHost(options.otherServername, spoken);

  const partial = {
    target: formatTarget(settings),
    host: settings.host,
    port: settings.port,
    servername: settings.servername ?? null,
    attempts,
    tls12,
    tls13,
    notSpoken,
    crossHost,
    notRun: run.notRun,
    timing: (tls13 ?? tls12)?.timing ?? { fullMs: null, resumedMs: null },
  };
  return {
    ...partial,
    findings: findingsFor(partial),
    connections: run.connections,
    durationMs: round(Number(process.hrtime.bigint() - started) / 1e6),
  };
}

/** The state of one probe: settings, counters, timings. */
class Run {
  connections = 0;
  readonly notRun: ProbeNotRun[] = [];
  readonly #timings: Record<ProbeVersion, Timings> = { 'TLSv1.2': new Timings(), 'TLSv1.3': new Timings() };

  constructor(
    readonly settings: ConnectionSettings,
    readonly attempts: number,
    readonly options: ProbeOptions,
  ) {}

  progress(message: string): void {
    this.options.onProgress?.(message);
  }

  /** Records, once per check and reason, that a check (or an attempt of it) could not run. */
  skipped(check: ProbeCheckName, reason: string): void {
    if (!this.notRun.some((n) => n.check === check && n.reason === reason)) this.notRun.push({ check, reason });
  }

  /**
   * The session of a handshake as a TlsSession; when Node handed out something unreadable,
   * the check is recorded as not run rather than the server as issuing nothing.
   */
  read(check: ProbeCheckName, h: Handshake, der: Buffer | undefined): TlsSession | undefined {
    for (const reason of h.unreadable)
      this.skipped(check, `Node handed out a session the probe cannot read (${reason})`);
    if (der === undefined || der.length === 0) return undefined;
    try {
      return TlsSession.fromDER(der);
    } catch (error) {
      this.skipped(check, `a session Node handed out does not decode (${messageOf(error)})`);
      return undefined;
    }
  }

  readAll(check: ProbeCheckName, h: Handshake, ders: readonly Buffer[]): Array<{ der: Buffer; session: TlsSession }> {
    const out: Array<{ der: Buffer; session: TlsSession }> = [];
    for (const der of ders) {
      const session = this.read(check, h, der);
      if (session) out.push({ der, session });
    }
    return out;
  }

  async connect(request: HandshakeRequest): Promise<Handshake> {
    this.connections += 1;
    const h = await handshake(this.settings, request);
    if (h.protocol !== request.version) {
      throw new ProbeError(
        'ERR_PROBE_HANDSHAKE',
        `${formatTarget(this.settings)}: asked for ${request.version}, got ${h.protocol}`,
      );
    }
    return this.#timings[request.version].add(h);
  }

  async tls12(): Promise<Tls12Report> {
    const v = 'TLSv1.2';
    let cipher = '';
    let alpn: string | null = null;
    const sessionId = { issued: false, attempts: 0, resumed: 0 };
    for (let i = 0; i < this.attempts; i += 1) {
      this.progress(`${v}: session id resumption ${i + 1}/${this.attempts}`);
      const full = await this.connect({ version: v, noTicket: true });
      if (i === 0) ({ cipher, alpn } = full);
      const session = this.read('TLSv1.2 session id resumption', full, full.session);
      if (!session || session.sessionId.length === 0) continue;
      if (!sessionId.issued) this.options.onSession?.('tls12-session-id', session);
      sessionId.issued = true;
      sessionId.attempts += 1;
      const again = await this.connect({ version: v, noTicket: true, session: full.session });
      if (again.reused) sessionId.resumed += 1;
    }

    const ticket = {
      issued: false,
      attempts: 0,
      resumed: 0,
      lifetimeHint: null as number | null,
      renewedOnResumption: null as boolean | null,
    };
    for (let i = 0; i < this.attempts; i += 1) {
      this.progress(`${v}: ticket resumption ${i + 1}/${this.attempts}`);
      const full = await this.connect({ version: v });
      const session = this.read('TLSv1.2 ticket resumption', full, full.session);
      if (!session?.ticket || session.ticket.length === 0) continue;
      if (!ticket.issued) this.options.onSession?.('tls12-ticket', session);
      ticket.issued = true;
      ticket.lifetimeHint = Math.max(ticket.lifetimeHint ?? 0, session.ticketLifetimeHint);
      ticket.attempts += 1;
      const again = await this.connect({ version: v, session: full.session });
      if (!again.reused) continue;
      ticket.resumed += 1;
      const after = this.read('TLSv1.2 ticket resumption', again, again.session)?.ticket;
      const renewed = after !== undefined && !after.equals(session.ticket);
      ticket.renewedOnResumption = (ticket.renewedOnResumption ?? false) || renewed;
    }
    return { protocol: v, cipher, alpn, sessionId, ticket, timing: this.#timings[v].medians() };
  }

  async tls13(): Promise<Tls13Report> {
    const v = 'TLSv1.3';
    let cipher = '';
    let alpn: string | null = null;
    const perFull: number[] = [];
    const perResumed: number[] = [];
    const seen: TlsSession[] = [];
    const check = 'TLSv1.3 ticket resumption';
    let attempts = 0;
    let resumed = 0;
    let spare: TlsSession | undefined;
    let resumedTicket: Buffer | undefined;
    for (let i = 0; i < this.attempts; i += 1) {
      this.progress(`${v}: resumption ${i + 1}/${this.attempts}`);
      const full = await this.connect({ version: v });
      if (i === 0) ({ cipher, alpn } = full);
      perFull.push(full.sessions.length + full.unreadable.length);
      const got = this.readAll(check, full, full.sessions);
      seen.push(...got.map((g) => g.session));
      const [first, ...rest] = got;
      if (first === undefined) continue;
      spare = rest.at(-1)?.session ?? spare;
      attempts += 1;
      const again = await this.connect({ version: v, session: first.der });
      const more = this.readAll(check, again, again.sessions);
      seen.push(...more.map((g) => g.session));
      if (!again.reused) continue;
      resumed += 1;
      resumedTicket = first.der;
      perResumed.push(again.sessions.length + again.unreadable.length);
      spare = more.at(-1)?.session ?? spare;
    }

    let ticketReuseAccepted: boolean | null = null;
    if (resumedTicket) {
      this.progress(`${v}: offering a used ticket again`);
      ticketReuseAccepted = (await this.connect({ version: v, session: resumedTicket })).reused;
    }
    if (spare) this.options.onSession?.('tls13-ticket', spare);

    const tickets = seen.filter((s) => (s.ticket?.length ?? 0) > 0);
    const identityLength = tickets.length === 0 ? null : Math.max(...tickets.map((s) => s.ticket!.length));
    return {
      protocol: v,
      cipher,
      alpn,
      tickets: {
        attempts,
        resumed,
        perFullHandshake: medianCount(perFull) ?? 0,
        perResumedHandshake: medianCount(perResumed),
        lifetimeHint: tickets.length === 0 ? null : Math.max(...tickets.map((s) => s.ticketLifetimeHint)),
        identityLength,
        storageGuess: identityLength === null ? null : identityLength <= 32 ? 'stateful' : 'stateless',
      },
      ticketReuseAccepted,
      maxEarlyData: Math.max(0, ...tickets.map((s) => s.maxEarlyData)),
      timing: this.#timings[v].medians(),
    };
  }

  async crossHost(other: string, spoken: readonly ProbeVersion[]): Promise<CrossHostReport> {
    const checks: CrossHostCheck[] = [];
    let certificateCoversOther: boolean | null = null;
    const kinds: Array<{ version: ProbeVersion; kind: CrossHostCheck['kind'] }> = [];
    if (spoken.includes('TLSv1.3')) kinds.push({ version: 'TLSv1.3', kind: 'ticket' });
    if (spoken.includes('TLSv1.2'))
      kinds.push({ version: 'TLSv1.2', kind: 'sessionId' }, { version: 'TLSv1.2', kind: 'ticket' });
    for (const { version, kind } of kinds) {
      const what = kind === 'ticket' ? 'ticket' : 'session id';
      const name = `cross-host ${version} ${what}` as ProbeCheckName;
      this.progress(`${version}: ${what} made for one host, offered to ${other}`);
      const noTicket = kind === 'sessionId';
      const full = await this.connect({ version, noTicket });
      if (full.peerCertificate && certificateCoversOther === null) {
        certificateCoversOther = checkServerIdentity(other, full.peerCertificate) === undefined;
      }
      const offer = version === 'TLSv1.3' ? full.sessions[0] : full.session;
      const session = this.read(name, full, offer);
      const usable = kind === 'ticket' ? (session?.ticket?.length ?? 0) > 0 : (session?.sessionId.length ?? 0) > 0;
      if (!usable || offer === undefined) {
        const readable = full.unreadable.length === 0 && (offer === undefined || session !== undefined);
        const reason = readable
          ? `the server issued no ${version} ${what} to offer`
          : 'Node handed out a session the probe cannot read';
        if (!readable) this.skipped(name, reason);
        checks.push({ protocol: version, kind, resumed: null, notRun: reason });
        continue;
      }
      let resumed = false;
      try {
        resumed = (await this.connect({ version, noTicket, session: offer, servername: other, ignoreHostname: true }))
          .reused;
      } catch (error) {
        // A server that refuses the other name did not resume the session.
        if (!(error instanceof ProbeError) || error.code === 'ERR_PROBE_CONNECT') throw error;
      }
      checks.push({ protocol: version, kind, resumed, notRun: null });
    }
    return {
      servername: this.settings.servername ?? null,
      otherServername: other,
      certificateCoversOther,
      checks,
      resumed: checks.some((c) => c.resumed === true),
    };
  }
}

function noProtocol(errors: ProbeError[], where: string): ProbeError {
  const certificate = errors.find((e) => e.code === 'ERR_PROBE_CERTIFICATE');
  if (certificate) return certificate;
  const [first, second] = errors;
  if (first && !second) return first;
  const reasons = errors.map((e) =>
    e.message.startsWith(`${where}: `) ? e.message.slice(where.length + 2) : e.message,
  );
  return new ProbeError(
    'ERR_PROBE_NO_PROTOCOL',
    `${where}: no TLS 1.2 or TLS 1.3 handshake completed (${reasons.join('; ')})`,
  );
}

/** Median (the mean of the two middle values for an even count), rounded to 0.01; `null` for none. */
export function median(values: readonly number[]): number | null {
  if (values.length === 0) return null;
  const sorted = [...values].sort((a, b) => a - b);
  const half = Math.floor(sorted.length / 2);
  return round(sorted.length % 2 === 1 ? sorted[half]! : (sorted[half - 1]! + sorted[half]!) / 2);
}

/** The lower median of counts, so that a count stays a whole number; `null` for none. */
function medianCount(values: readonly number[]): number | null {
  if (values.length === 0) return null;
  return [...values].sort((a, b) => a - b)[Math.floor((values.length - 1) / 2)]!;
}

function round(ms: number): number {
  return Math.round(ms * 100) / 100;
}
