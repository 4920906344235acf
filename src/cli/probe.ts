import { chmod, mkdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { ProbeVersion } from '../probe/connection.js';
import { ProbeError } from '../probe/errors.js';
import { formatProbeReport } from '../probe/format.js';
import {
  DEFAULT_ATTEMPTS,
  DEFAULT_TIMEOUT_MS,
  type ProbeOptions,
  type ProbeSessionName,
  probe,
} from '../probe/probe.js';
import { parseProbeTarget } from '../probe/target.js';
import type { TlsSession } from '../session/tls-session.js';
import { parse } from './args.js';
import { type FleetOptions, probeFleet } from '../probe/fleet.js';
import { formatFleetReport } from '../probe/fleet-format.js';
import type { FleetReport } from '../probe/fleet-report.js';
import { MAX_TIMER_MS } from '../probe/options.js';
import type { ProbeReport } from '../probe/report.js';
import { type WatchOptions, type WatchReport, watchTickets } from '../probe/watch.js';
import { formatWatchReport } from '../probe/watch-format.js';
import { type CliIO, EXIT_FAILURE, EXIT_OK, UsageError } from './io.js';
import { messageOf } from '../util/errors.js';

const USAGE = `usage: tls-sessions probe HOST[:PORT] [options]

Tells what a TLS server does with sessions, for TLS 1.2 and TLS 1.3: session id and ticket
resumption, tickets per handshake and their lifetime, ticket reuse, 0-RTT, sessions crossing
virtual hosts, and full vs resumed handshake time. PORT defaults to 443.

options:
  --servername NAME         SNI to send (default: HOST, none for an IP address)
  --ca FILE                 trust the CA certificates in FILE (PEM) instead of Node's
  --insecure                do not verify the server's certificate
  --cert FILE, --key FILE   client certificate and key (PEM; --key defaults to --cert's file)
  --alpn LIST               ALPN protocols to offer, comma-separated (e.g. h2,http/1.1)
  --tls1.2, --tls1.3        probe only this version
  --attempts N              resumption attempts per check, 1-100 (default ${DEFAULT_ATTEMPTS})
  --other-servername NAME   also check whether sessions made for the SNI resume under NAME
  --timeout MS              time limit of each handshake (default ${DEFAULT_TIMEOUT_MS})
  --fleet ADDR[:PORT],...   probe a fleet: make a session on each member and offer it to every
                            member (TLS 1.2 ids and tickets, TLS 1.3 tickets); 'dns' takes every
                            address HOST resolves to; the SNI is HOST's name on every member
  --watch DURATION          sample tickets for DURATION (e.g. 90s, 10m, 2h): key name changes,
                            how long old tickets still resume (grace), lifetime hints; Ctrl-C
                            prints what was seen so far
  --every INTERVAL          time between --watch samples (default 10s, at least 100ms)
  --save-sessions DIR       write one session of each kind the server issued to DIR as PEM
                            (openssl s_client -sess_in accepts them; they hold secrets);
                            exit 1 when there was none to save
  --json                    print one JSON object instead of the table
  -h, --help                show this help

exit codes: 0 probed, 1 could not connect or complete a handshake (or --save-sessions
saved nothing), 2 usage
`;

/** `tls-sessions probe`: report what a server does with sessions. */
export async function probeCommand(argv: string[], io: CliIO): Promise<number> {
  const { values, positionals } = parse(argv, {
    servername: { type: 'string' },
    ca: { type: 'string' },
    insecure: { type: 'boolean' },
    cert: { type: 'string' },
    key: { type: 'string' },
    alpn: { type: 'string' },
    'tls1.2': { type: 'boolean' },
    'tls1.3': { type: 'boolean' },
    attempts: { type: 'string' },
    'other-servername': { type: 'string' },
    timeout: { type: 'string' },
    'save-sessions': { type: 'string' },
    fleet: { type: 'string' },
    watch: { type: 'string' },
    every: { type: 'string' },
    json: { type: 'boolean' },
    help: { type: 'boolean', short: 'h' },
  });
  if (values.help) {
    io.stdout.write(USAGE);
    return EXIT_OK;
  }
  if (positionals.length !== 1) throw new UsageError('expected one HOST[:PORT]');
  let target: ReturnType<typeof parseProbeTarget>;
  try {
    target = parseProbeTarget(positionals[0]!);
  } catch (err) {
    throw new UsageError(messageOf(err, Number.POSITIVE_INFINITY));
  }
  if (values.key !== undefined && values.cert === undefined) throw new UsageError('--key needs --cert');
  if (values.ca !== undefined && values.insecure) throw new UsageError('--ca and --insecure cannot be combined');
  const versions: ProbeVersion[] = [];
  if (values['tls1.3']) versions.push('TLSv1.3');
  if (values['tls1.2']) versions.push('TLSv1.2');
  const alpn = values.alpn?.split(',').map((p) => p.trim());
  if (alpn?.some((p) => p === '' || Buffer.byteLength(p) > 255))
    throw new UsageError('--alpn takes a comma-separated list of protocol names');

  const options: ProbeOptions = {
    host: target.host,
    port: target.port,
    attempts: integer(values.attempts, '--attempts', 1, 100) ?? DEFAULT_ATTEMPTS,
    timeoutMs: integer(values.timeout, '--timeout', 1, 600_000) ?? DEFAULT_TIMEOUT_MS,
    insecure: values.insecure === true,
  };
  if (values.servername !== undefined) options.servername = nonEmpty(values.servername, '--servername');
  if (values['other-servername'] !== undefined)
    options.otherServername = nonEmpty(values['other-servername'], '--other-servername');
  if (versions.length > 0) options.versions = versions;
  if (alpn) options.alpn = alpn;
  if (values.ca !== undefined) options.ca = await readFile(values.ca);
  if (values.cert !== undefined) {
    options.cert = await readFile(values.cert);
    options.key = await readFile(values.key ?? values.cert);
  }
  const progress = io.stderr.isTTY ? new ProgressLine(io.stderr) : undefined;
  const color = io.stdout.isTTY === true && !process.env['NO_COLOR'];
  const alone = (flag: string, others: Array<[string, unknown]>) => {
    const clash = others.find(([, v]) => v !== undefined);
    if (clash) throw new UsageError(`${flag} cannot be combined with ${clash[0]}`);
  };
  if (values.every !== undefined && values.watch === undefined) throw new UsageError('--every needs --watch');
  if (values.fleet !== undefined) {
    alone('--fleet', [
      ['--watch', values.watch],
      ['--other-servername', values['other-servername']],
      ['--save-sessions', values['save-sessions']],
      ['--attempts', values.attempts],
    ]);
    return fleetCommand(values.fleet, positionals[0]!, options, { io, progress, color, json: values.json === true });
  }
  if (values.watch !== undefined) {
    alone('--watch', [
      ['--other-servername', values['other-servername']],
      ['--save-sessions', values['save-sessions']],
      ['--attempts', values.attempts],
    ]);
    const durationMs = durationArg(values.watch, '--watch');
    const everyMs = values.every === undefined ? Math.min(10_000, durationMs) : durationArg(values.every, '--every');
    if (everyMs < 100) throw new UsageError(`--every must be at least 100ms (got '${values.every}')`);
    if (everyMs > durationMs) throw new UsageError('--every must not be longer than --watch');
    return watchCommand({ ...options, durationMs, everyMs }, positionals[0]!, {
      io,
      progress,
      color,
      json: values.json === true,
    });
  }

  const saved = new Map<ProbeSessionName, TlsSession>();
  const saveDir = values['save-sessions'];
  if (saveDir !== undefined) options.onSession = (name, session) => saved.set(name, session);

  if (progress) options.onProgress = (message) => progress.show(`probing ${positionals[0]}: ${message}`);
  let report: Awaited<ReturnType<typeof probe>>;
  try {
    report = await probe(options);
  } catch (err) {
    if (err instanceof ProbeError && err.code === 'ERR_PROBE_TARGET') throw new UsageError(err.message);
    throw err;
  } finally {
    progress?.clear();
  }

  const files: string[] = [];
  if (saveDir !== undefined) {
    await mkdir(saveDir, { recursive: true, mode: 0o700 });
    for (const [name, session] of saved) {
      const file = join(saveDir, `${name}.pem`);
      await writeFile(file, session.toPEM(), { mode: 0o600 });
      // writeFile keeps the mode of a file that already existed.
      await chmod(file, 0o600);
      files.push(file);
    }
  }

  if (values.json) {
    const out = saveDir === undefined ? report : { ...report, savedSessions: files };
    io.stdout.write(`${JSON.stringify(out, null, 2)}\n`);
  } else {
    io.stdout.write(formatProbeReport(report, { color }));
    if (saveDir !== undefined && files.length > 0) {
      io.stdout.write(`\nSessions saved (they hold secrets):\n${files.map((f) => `  ${f}\n`).join('')}`);
    }
  }
  if (saveDir !== undefined && files.length === 0) {
    // The report is printed; asking for sessions and getting none is still a failure.
    io.stderr.write(`tls-sessions probe: --save-sessions: no session to save (${whyNoSession(report)})\n`);
    return EXIT_FAILURE;
  }
  return EXIT_OK;
}

interface Output {
  io: CliIO;
  progress: ProgressLine | undefined;
  color: boolean;
  json: boolean;
}

/** `--fleet LIST|dns`: every member's sessions offered to every member. */
async function fleetCommand(list: string, target: string, options: ProbeOptions, out: Output): Promise<number> {
  const fleet: FleetOptions = { ...options };
  delete (fleet as ProbeOptions).attempts;
  if (list.trim() !== 'dns') {
    const members = list.split(',').map((m) => m.trim());
    if (members.some((m) => m === '')) throw new UsageError("--fleet takes ADDR[:PORT],ADDR[:PORT],... or 'dns'");
    fleet.members = members;
  }
  if (out.progress) fleet.onProgress = (message) => out.progress?.show(`probing ${target}: ${message}`);
  let report: FleetReport;
  try {
    report = await probeFleet(fleet);
  } catch (err) {
    if (err instanceof ProbeError && err.code === 'ERR_PROBE_TARGET') throw new UsageError(err.message);
    throw err;
  } finally {
    out.progress?.clear();
  }
  out.io.stdout.write(
    out.json ? `${JSON.stringify(report, null, 2)}\n` : formatFleetReport(report, { color: out.color }),
  );
  if (report.members.every((m) => m.error !== null)) {
    out.io.stderr.write(
      `tls-sessions probe: no member of the fleet could be probed (${report.members[0]?.error ?? 'no member'})\n`,
    );
    return EXIT_FAILURE;
  }
  return EXIT_OK;
}

/** `--watch DURATION [--every INTERVAL]`: ticket keys over time; Ctrl-C prints what was seen. */
async function watchCommand(options: WatchOptions, target: string, out: Output): Promise<number> {
  const controller = new AbortController();
  const stop = () => controller.abort();
  process.once('SIGINT', stop);
  options.signal = controller.signal;
  const started = Date.now();
  if (out.progress) {
    options.onSample = (sample, report) => {
      const left = Math.max(0, Math.round((options.durationMs - (Date.now() - started)) / 1000));
      const key = sample.keyName === null ? 'no ticket' : `key ${sample.keyName.slice(0, 8)}`;
      out.progress?.show(
        `watching ${target}: ${report.samples.length} samples, ${key}, ${report.changes.length} change${report.changes.length === 1 ? '' : 's'}, ${left} s left (Ctrl-C: report now)`,
      );
    };
  }
  let report: WatchReport;
  try {
    report = await watchTickets(options);
  } catch (err) {
    if (err instanceof ProbeError && err.code === 'ERR_PROBE_TARGET') throw new UsageError(err.message);
    throw err;
  } finally {
    process.off('SIGINT', stop);
    out.progress?.clear();
  }
  out.io.stdout.write(
    out.json ? `${JSON.stringify(report, null, 2)}\n` : formatWatchReport(report, { color: out.color }),
  );
  return EXIT_OK;
}

const UNITS: Record<string, number> = { ms: 1, s: 1000, m: 60_000, h: 3_600_000 };

/** `500ms`, `30s`, `5m`, `2h` (a bare number is seconds), at most 2^31 - 1 ms. */
function durationArg(text: string, flag: string): number {
  const m = /^(\d+(?:\.\d+)?)(ms|s|m|h)?$/.exec(text.trim());
  const ms = m ? Math.round(Number(m[1]) * UNITS[m[2] ?? 's']!) : Number.NaN;
  if (!Number.isSafeInteger(ms) || ms < 1 || ms > MAX_TIMER_MS) {
    throw new UsageError(
      `${flag} must be a duration such as 90s, 10m or 2h, from 1ms to ${MAX_TIMER_MS}ms (got '${text}')`,
    );
  }
  return ms;
}

/** Why a probe handed out no session: what the server issued, or which check could not run. */
function whyNoSession(report: ProbeReport): string {
  if (report.notRun.length > 0) return `${report.notRun[0]!.check}: ${report.notRun[0]!.reason}`;
  return 'the server issued no session id or ticket';
}

function integer(text: string | undefined, flag: string, min: number, max: number): number | undefined {
  if (text === undefined) return undefined;
  const n = /^\d+$/.test(text) ? Number(text) : Number.NaN;
  if (!Number.isSafeInteger(n) || n < min || n > max)
    throw new UsageError(`${flag} must be an integer from ${min} to ${max} (got '${text}')`);
  return n;
}

function nonEmpty(text: string, flag: string): string {
  if (text.trim() === '') throw new UsageError(`${flag} must not be empty`);
  return text;
}

/** One line on a terminal, rewritten in place. */
class ProgressLine {
  #shown = false;
  constructor(private readonly stream: CliIO['stderr']) {}

  show(text: string): void {
    const columns = (this.stream as { columns?: number }).columns ?? 80;
    this.stream.write(`\r\u001b[K${text.slice(0, Math.max(10, columns - 1))}`);
    this.#shown = true;
  }

  clear(): void {
    if (this.#shown) this.stream.write('\r\u001b[K');
    this.#shown = false;
  }
}
