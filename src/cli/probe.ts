import { chmod, mkdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { ProbeVersion } from '../probe/connection.js';
import { ProbeError } from '../probe/errors.js';
import { formatProbeReport } from '../probe/format.js';
import { DEFAULT_ATTEMPTS, DEFAULT_TIMEOUT_MS, type ProbeOptions, type ProbeSessionName, probe } from '../probe/probe.js';
import { parseProbeTarget } from '../probe/target.js';
import type { TlsSession } from '../session/tls-session.js';
import { parse } from './args.js';
import type { ProbeReport } from '../probe/report.js';
import { type CliIO, EXIT_FAILURE, EXIT_OK, UsageError } from './io.js';

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
    throw new UsageError(err instanceof Error ? err.message : String(err));
  }
  if (values.key !== undefined && values.cert === undefined) throw new UsageError('--key needs --cert');
  if (values.ca !== undefined && values.insecure) throw new UsageError('--ca and --insecure cannot be combined');
  const versions: ProbeVersion[] = [];
  if (values['tls1.3']) versions.push('TLSv1.3');
  if (values['tls1.2']) versions.push('TLSv1.2');
  const alpn = values.alpn?.split(',').map((p) => p.trim());
  if (alpn?.some((p) => p === '' || Buffer.byteLength(p) > 255)) throw new UsageError('--alpn takes a comma-separated list of protocol names');

  const options: ProbeOptions = {
    host: target.host,
    port: target.port,
    attempts: integer(values.attempts, '--attempts', 1, 100) ?? DEFAULT_ATTEMPTS,
    timeoutMs: integer(values.timeout, '--timeout', 1, 600_000) ?? DEFAULT_TIMEOUT_MS,
    insecure: values.insecure === true,
  };
  if (values.servername !== undefined) options.servername = nonEmpty(values.servername, '--servername');
  if (values['other-servername'] !== undefined) options.otherServername = nonEmpty(values['other-servername'], '--other-servername');
  if (versions.length > 0) options.versions = versions;
  if (alpn) options.alpn = alpn;
  if (values.ca !== undefined) options.ca = await readFile(values.ca);
  if (values.cert !== undefined) {
    options.cert = await readFile(values.cert);
    options.key = await readFile(values.key ?? values.cert);
  }
  const saved = new Map<ProbeSessionName, TlsSession>();
  const saveDir = values['save-sessions'];
  if (saveDir !== undefined) options.onSession = (name, session) => saved.set(name, session);

  const progress = io.stderr.isTTY ? new ProgressLine(io.stderr) : undefined;
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
    const color = io.stdout.isTTY === true && !process.env['NO_COLOR'];
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

/** Why a probe handed out no session: what the server issued, or which check could not run. */
function whyNoSession(report: ProbeReport): string {
  if (report.notRun.length > 0) return `${report.notRun[0]!.check}: ${report.notRun[0]!.reason}`;
  return 'the server issued no session id or ticket';
}

function integer(text: string | undefined, flag: string, min: number, max: number): number | undefined {
  if (text === undefined) return undefined;
  const n = /^\d+$/.test(text) ? Number(text) : Number.NaN;
  if (!Number.isSafeInteger(n) || n < min || n > max) throw new UsageError(`${flag} must be an integer from ${min} to ${max} (got '${text}')`);
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
