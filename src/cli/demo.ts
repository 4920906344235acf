import { type DemoPhase, type DemoProtocol, type DemoResult, runDemo } from '../demo/run-demo.js';
import { describeStore, openStore, parseStoreSpec } from '../demo/store-spec.js';
import { SessionStoreError } from '../stores/store-error.js';
import { choice, parse } from './args.js';
import { type CliIO, EXIT_OK, UsageError } from './io.js';

const USAGE = `usage: tls-sessions demo [options]

Runs the whole thing on loopback: a TLS server with the ServerSessionCache and clients
with the ClientSessionStore, N connections for TLS 1.2 and N for TLS 1.3, then prints
full vs resumed handshakes, their median times, tickets, and the cache counters.

options:
  -n, --connections N   connections per protocol version (default 200)
  --store SPEC          the server cache's store: memory (default), sqlite:PATH, redis://HOST:PORT
  --key rsa|ecdsa       the server certificate's key (default rsa, 2048 bits)
  --tls1.2, --tls1.3    run only that version
  --json                print the figures as one JSON object
  -h, --help            show this help
`;

/** `tls-sessions demo`: the product end to end on loopback. */
export async function demo(argv: string[], io: CliIO): Promise<number> {
  const { values, positionals } = parse(
    argv,
    {
      connections: { type: 'string', short: 'n' },
      store: { type: 'string' },
      key: { type: 'string' },
      'tls1.2': { type: 'boolean' },
      'tls1.3': { type: 'boolean' },
      json: { type: 'boolean' },
      help: { type: 'boolean', short: 'h' },
    },
    false,
  );
  if (values.help) {
    io.stdout.write(USAGE);
    return EXIT_OK;
  }
  if (positionals.length > 0) throw new UsageError('demo takes no arguments');
  const connections = values.connections === undefined ? 200 : Number(values.connections);
  if (!Number.isInteger(connections) || connections < 1 || connections > 100_000) {
    throw new UsageError('--connections must be an integer from 1 to 100000');
  }
  const spec = parseStoreSpec(values.store ?? 'memory');
  if (typeof spec === 'string') throw new UsageError(spec);
  const keyType = choice(values.key, ['rsa', 'ecdsa'] as const, '--key') ?? 'rsa';
  const protocols: DemoProtocol[] = [];
  if (values['tls1.2'] || !values['tls1.3']) protocols.push('TLSv1.2');
  if (values['tls1.3'] || !values['tls1.2']) protocols.push('TLSv1.3');

  const progress = io.stderr.isTTY && !values.json ? progressBar(io) : undefined;
  const result = await runDemo({
    connections,
    protocols,
    keyType,
    serverStore: await openStoreOrUsage(spec),
    onProgress: progress,
  });
  if (progress) io.stderr.write('\r\x1b[K');

  if (values.json) {
    io.stdout.write(`${JSON.stringify({ connections, store: describeStore(spec), ...result }, null, 2)}\n`);
  } else {
    io.stdout.write(formatDemo(result, connections, describeStore(spec)));
  }
  return EXIT_OK;
}

/** Opens the store; a bad --store value found by the store itself (a Redis database 'abc') is a usage error. */
async function openStoreOrUsage(spec: Exclude<ReturnType<typeof parseStoreSpec>, string>) {
  try {
    return await openStore(spec);
  } catch (err) {
    if (err instanceof SessionStoreError && err.code === 'ERR_STORE_OPTION')
      throw new UsageError(`--store: ${err.message}`);
    throw err;
  }
}

function progressBar(io: CliIO): (done: number, total: number, protocol: DemoProtocol) => void {
  const width = 30;
  return (done, total, protocol) => {
    const filled = Math.round((done / total) * width);
    io.stderr.write(`\r[${'#'.repeat(filled)}${'.'.repeat(width - filled)}] ${done}/${total} ${protocol}`);
  };
}

const ms = (v: number | null) => (v === null ? '-' : v.toFixed(2));
const pct = (v: number) => `${(v * 100).toFixed(1)}%`;

/** The demo's table and the line that says what it means. */
export function formatDemo(result: DemoResult, connections: number, store: string): string {
  const rows: [string, (p: DemoPhase) => string][] = [
    ['connections', (p) => String(p.connections)],
    ['full handshakes', (p) => String(p.full)],
    ['resumed handshakes', (p) => String(p.resumed)],
    ['resumption rate', (p) => pct(p.resumptionRate)],
    ['median full (ms)*', (p) => ms(p.medianBaselineMs)],
    ['median resumed (ms)', (p) => ms(p.medianResumedMs)],
    ['sessions received', (p) => String(p.sessionsReceived)],
    ['sessions offered', (p) => String(p.sessionsOffered)],
    // TLS 1.2 sessions are reusable until they expire; TLS 1.3 tickets must be used once.
    ['tickets offered twice', (p) => (p.protocol === 'TLSv1.3' ? String(p.repeatedOffers) : 'n/a')],
    ['server cache hits', (p) => String(p.server.hits)],
    ['server cache misses', (p) => String(p.server.misses)],
    ['server sessions stored', (p) => String(p.server.stored)],
    ['server sessions removed', (p) => String(p.server.removed)],
  ];
  const label = Math.max(...rows.map(([l]) => l.length));
  const cols = result.phases.map((p) => p.protocol.replace('TLSv', 'TLS '));
  let out = `tls-sessions demo: ${connections} connections per version to a loopback TLS server (server store: ${store})\n\n`;
  out += `${''.padEnd(label)}  ${cols.map((c) => c.padStart(9)).join('  ')}\n`;
  for (const [name, cell] of rows)
    out += `${name.padEnd(label)}  ${result.phases.map((p) => cell(p).padStart(9)).join('  ')}\n`;
  out += `\n* measured over as many connections made without sessions, in the same run\n`;
  const s = result.server;
  out += `server cache (OpenSSL counters): number ${s.number}, accept ${s.accept}, accept_good ${s.acceptGood}, hits ${s.hits}, misses ${s.misses}, timeouts ${s.timeouts}, cache_full ${s.cacheFull}\n\n`;
  out += `${meaning(result, store)}\n`;
  return out;
}

function times(n: number): string {
  return n === 1 ? 'once' : `${n} times`;
}

/** The closing sentence: what the figures show, and no more (a run where nothing resumed says so, and why if it can). */
export function meaning(result: DemoResult, store: string): string {
  const parts = result.phases.map((p) => {
    if (p.resumed === 0) return `${p.protocol}: none of ${p.connections} connections resumed`;
    const speed =
      p.medianResumedMs !== null
        ? `, in ${pct(p.medianResumedMs / p.medianBaselineMs)} of a full handshake's time`
        : '';
    return `${p.protocol}: ${p.resumed} of ${p.connections} connections resumed${speed}`;
  });
  const s = result.server;
  const storeFailures = s.storeErrors + s.storeTimeouts;
  const why =
    storeFailures > 0
      ? ` The server cache's store (${store}) failed ${storeFailures} calls (${s.storeTimeouts} of them timed out); a lookup that fails costs a full handshake.`
      : '';
  if (result.phases.every((p) => p.resumed === 0)) {
    return `What it means: no session was resumed, every handshake was a full one (${parts.join('; ')}).${why}`;
  }
  const tls12 = result.phases.find((p) => p.protocol === 'TLSv1.2');
  const tls13 = result.phases.find((p) => p.protocol === 'TLSv1.3');
  // The cache counts a hit for each handshake it resumed; a TLS 1.2 resumption it did not count
  // was a stateless ticket (tickets 'auto' gives TLS 1.2 clients that ask for one a ticket).
  const byId = tls12 === undefined ? 0 : Math.min(tls12.server.hits, tls12.resumed);
  const note12 =
    tls12 !== undefined && tls12.resumed > 0
      ? ` TLS 1.2 resumed ${times(tls12.resumed - byId)} by stateless tickets (the server's ticket key, no store) and ${times(byId)} by session id from the server cache.`
      : '';
  const note =
    note12 +
    (tls13 !== undefined && tls13.resumed > 0
      ? ` TLS 1.3 resumed through stateful sessions in the server cache, which a plain Node server never does; ${
          tls13.repeatedOffers === 0
            ? 'no ticket was offered twice'
            : `${tls13.repeatedOffers} tickets were offered again`
        }.`
      : '');
  const all = result.phases.every((p) => p.resumed === p.connections - 1);
  const lead = all
    ? 'after one full handshake, clients resumed their sessions'
    : 'clients resumed some of their sessions';
  return `What it means: ${lead} (${parts.join('; ')}).${note}${why}`;
}
