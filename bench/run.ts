/**
 * `npm run bench [-- --quick] [-- --only NAME,NAME] [-- --out DIR] [-- --rows-from A.json,B.json]`: runs every
 * benchmark (or, with --rows-from, makes the table again from saved results), each reporting ratios
 * against a baseline measured in the same run, and writes bench/results/latest.json,
 * bench/results/latest.md and bench/results/handshakes.svg. `--quick` (under a minute) is the
 * smoke run CI makes; no figure is asserted.
 */
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import { cpus, totalmem } from 'node:os';
import { join } from 'node:path';
import { spawnSync } from 'node:child_process';
import { IN_CI } from '../test/helpers/peers.js';
import { type BenchRow, type ChartBar, barChartSvg, markdownTable, skippedRow } from './lib/report.js';
import { instructionRows, rows as serverResumeRowsOf } from './server-resume.js';

/** Why a quick run leaves a row out: the one reason a skipped row is not a failure under CI. */
const QUICK_SKIP = 'quick run';

interface Bench {
  name: string;
  run: (opts: { quick: boolean }) => Promise<unknown>;
  rows: (result: never) => BenchRow[];
  bars?: (result: never) => ChartBar[];
}

const VERSIONS = ['TLSv1.2', 'TLSv1.3'] as const;

const BENCHES: Bench[] = [
  {
    // Instruction counts decide the server goals: they do not depend on what else the machine
    // runs. Minutes under valgrind, so the quick run skips them (its rows say so).
    name: 'server-instructions',
    run: async (o) => {
      if (o.quick) return { skipped: `${QUICK_SKIP} (callgrind takes about 30 minutes)` };
      const version = valgrindVersion();
      if (version === undefined)
        return { skipped: "valgrind not installed (Debian's package: apt-get install valgrind)" };
      return { counts: await (await import('./server-resume.js')).countInstructions() };
    },
    rows: (r: { counts?: import('./server-resume.js').InstructionCounts[]; skipped?: string }) =>
      instructionRows(r.counts, r.skipped),
  },
  {
    name: 'client-instructions',
    run: async (o) => {
      if (o.quick) return { skipped: `${QUICK_SKIP} (callgrind takes minutes)` };
      if (valgrindVersion() === undefined)
        return { skipped: "valgrind not installed (Debian's package: apt-get install valgrind)" };
      return { counts: await (await import('./client-connect.js')).countClientInstructions() };
    },
    rows: (r: { counts?: import('./client-connect.js').ClientInstructionCounts[]; skipped?: string }) =>
      VERSIONS.flatMap((v) => {
        const c = r.counts?.find((x) => x.version === v);
        const bench = 'client-instructions';
        const metric = `${v} client instructions per connection outside V8's garbage collector, through store.connect`;
        const allMetric = `${v} client instructions per connection, all, through store.connect`;
        if (c === undefined) {
          const base = { name: 'tls.connect, session by hand', value: Number.NaN };
          const why = r.skipped ?? 'not counted';
          return [
            skippedRow({ bench, metric, goal: { max: 1.03 }, baseline: base }, why),
            skippedRow({ bench, metric: allMetric, baseline: base }, why),
          ];
        }
        const pct = (x: number) => `${(x * 100).toFixed(0)}% resumed`;
        const baseName = `tls.connect, session by hand (${pct(c.resumedShare.bare)})`;
        const { store, bare } = c.perConnection;
        const gc = c.collectorPerConnection;
        return [
          {
            bench,
            metric: `${metric} (${pct(c.resumedShare.store)})`,
            goal: { max: 1.03 },
            value: store - gc.store,
            baseline: { name: baseName, value: bare - gc.bare },
          },
          {
            bench,
            metric: `${allMetric} (${pct(c.resumedShare.store)}); in the collector: ${gc.store.toFixed(0)} vs ${gc.bare.toFixed(0)}`,
            value: store,
            baseline: { name: baseName, value: bare },
          },
        ];
      }),
  },
  {
    name: 'session-decode',
    run: async (o) => (await import('./session-decode.js')).run(o),
    rows: (r: import('./session-decode.js').SessionDecodeResult) => [
      {
        bench: 'session-decode',
        metric: 'TlsSession.fromDER sessions/s, server sessions (no certificate: both decode every field)',
        value: r.withoutCertificate.tlsSessionPerSecond,
        baseline: { name: 'asn1js fromBER', value: r.withoutCertificate.asn1jsPerSecond },
        goal: { min: 100 },
      },
      {
        bench: 'session-decode',
        metric: 'TlsSession.fromDER + asn1js fromBER of the peer certificate sessions/s, client sessions',
        value: r.withCertificate.tlsSessionPerSecond,
        baseline: { name: 'asn1js fromBER of the whole session', value: r.withCertificate.asn1jsPerSecond },
      },
    ],
  },
  {
    name: 'wire-hello',
    run: async (o) => (await import('./wire-hello.js')).run(o),
    rows: (r: import('./wire-hello.js').WireHelloResult) => [
      { bench: 'wire-hello', metric: 'parseClientHello hellos/s', value: r.parseBodyPerSecond },
      ...VERSIONS.map((v) => ({
        bench: 'wire-hello',
        metric: `${v} full handshakes/s behind peekClientHello (wall clock)`,
        value: r.handshakes[v].peek,
        baseline: { name: 'no peek', value: r.handshakes[v].direct },
      })),
    ],
  },
  {
    name: 'client-connect',
    run: async (o) => (await import('./client-connect.js')).run(o),
    rows: (r: import('./client-connect.js').ClientConnectResult) =>
      r.scenarios.flatMap((s) => [
        {
          bench: 'client-connect',
          metric: `${s.version} connections/s through store.connect (wall clock)`,
          value: s.storePerSecond,
          baseline: { name: 'tls.connect, session by hand', value: s.barePerSecond },
        },
        {
          bench: 'client-connect',
          metric: `${s.version} client CPU µs per connection through store.connect`,
          value: s.storeCpuMicros,
          baseline: { name: 'tls.connect, session by hand', value: s.bareCpuMicros },
        },
      ]),
  },
  {
    name: 'server-resume',
    run: async (o) => (await import('./server-resume.js')).run(o),
    rows: (r: import('./server-resume.js').ServerResumeResult) => serverResumeRowsOf(r),
    bars: (r: import('./server-resume.js').ServerResumeResult) =>
      VERSIONS.flatMap((v) => {
        const full = r.full[v];
        const res = r.resumed[v];
        const bars: ChartBar[] = [];
        if (full) {
          bars.push({ group: v, label: 'full, plain Node server', value: full.plain.perSecond });
          bars.push({ group: v, label: 'full, with the cache', value: full.cache.perSecond });
        }
        if (res) {
          bars.push({ group: v, label: "resumed, Node's stateless tickets", value: res.plain.perSecond });
          if (res.map) bars.push({ group: v, label: 'resumed, bare Map handlers', value: res.map.perSecond });
          bars.push({ group: v, label: 'resumed, ServerSessionCache', value: res.cache.perSecond });
        }
        return bars;
      }),
  },
  {
    name: 'session-memory',
    run: async (o) => (await import('./session-memory.js')).run(o),
    rows: (r: import('./session-memory.js').SessionMemoryResult) => [
      ...r.figures.map((f) => ({
        bench: 'session-memory',
        metric: `${f.version} heap bytes per cached server session, ${f.store}${f.store === 'SqliteStore' ? ' (the index; sessions on disk)' : " (the cache's own; its bookkeeping is the index)"}, ${f.sessions} sessions`,
        value: f.bytesPerSession,
        baseline: { name: 'DER bytes of the session', value: f.derBytes },
        goal: { max: 1.5 },
      })),
      ...Object.entries(r.skipped).flatMap(([store, why]) =>
        VERSIONS.map((v) =>
          skippedRow(
            {
              bench: 'session-memory',
              metric: `${v} heap bytes per cached server session, ${store}`,
              baseline: { name: 'DER bytes of the session', value: Number.NaN },
              goal: { max: 1.5 },
            },
            why,
          ),
        ),
      ),
    ],
  },
  {
    name: 'stores-ops',
    run: async (o) => (await import('./stores-ops.js')).run(o),
    rows: (r: import('./stores-ops.js').StoresOpsResult) =>
      Object.entries(r.perSecond)
        .flatMap(([store, ops]) =>
          (['set', 'get', 'take'] as const).map((op) => ({
            bench: 'stores-ops',
            metric: `${store} ${op} ops/s`,
            value: ops[op],
            ...(store === 'MemoryStore'
              ? { baseline: { name: 'lru-cache', value: r.perSecond['lru-cache']?.[op] ?? 0 } }
              : {}),
          })),
        )
        .concat(
          Object.entries(r.skipped).flatMap(([store, why]) =>
            (['set', 'get', 'take'] as const).map((op) =>
              skippedRow({ bench: 'stores-ops', metric: `${store} ${op} ops/s` }, why),
            ),
          ),
        ),
  },
  {
    name: 'stores-resume',
    run: async (o) => (await import('./stores-resume.js')).run(o),
    rows: (r: import('./stores-resume.js').StoresResumeResult) => [
      ...Object.entries(r.perSecond).flatMap(([store, byVersion]) =>
        VERSIONS.map((v) => ({
          bench: 'stores-resume',
          metric: `${v} resumed handshakes/s, ${store}`,
          value: byVersion[v],
        })),
      ),
      ...Object.entries(r.skipped).flatMap(([store, why]) =>
        VERSIONS.map((v) => skippedRow({ bench: 'stores-resume', metric: `${v} resumed handshakes/s, ${store}` }, why)),
      ),
      // Beside the instruction counts that decide RedisStore's goal (server-instructions): the
      // same comparison in server CPU time, which also holds the kernel's work per Redis round trip.
      ...VERSIONS.flatMap((v) => {
        const redis = r.perServerCpuSecond.RedisStore?.[v];
        const memory = r.perServerCpuSecond.MemoryStore?.[v];
        const cpuRedis = r.cpuUsPerHandshake?.RedisStore?.[v];
        const cpuMemory = r.cpuUsPerHandshake?.MemoryStore?.[v];
        const rows: BenchRow[] = [];
        const capacity = {
          bench: 'stores-resume',
          metric: `${v} resumed handshakes per server CPU second, RedisStore`,
        };
        rows.push(
          redis === undefined || memory === undefined
            ? skippedRow(
                { ...capacity, baseline: { name: 'MemoryStore', value: Number.NaN } },
                r.skipped.RedisStore ?? 'not measured',
              )
            : { ...capacity, value: redis, baseline: { name: 'MemoryStore', value: memory } },
        );
        if (cpuRedis !== undefined && cpuMemory !== undefined) {
          for (const part of ['user', 'system'] as const) {
            rows.push({
              bench: 'stores-resume',
              metric: `${v} resumed: server ${part} CPU µs per handshake, RedisStore`,
              value: cpuRedis[part],
              baseline: { name: 'MemoryStore', value: cpuMemory[part] },
            });
          }
        }
        return rows;
      }),
    ],
  },
  {
    name: 'tickets-ring',
    run: async (o) => (await import('./tickets-ring.js')).run(o),
    rows: (r: import('./tickets-ring.js').TicketsRingResult) =>
      r.rows.flatMap((row) => [
        {
          bench: 'tickets-ring',
          metric: `${row.version} ${row.kind} handshakes/s with the ticket key ring (wall clock)`,
          value: row.ring,
          baseline: { name: "Node's single ticket key", value: row.single },
        },
        {
          bench: 'tickets-ring',
          metric: `${row.version} ${row.kind}: server CPU µs per handshake with the ticket key ring`,
          value: row.cpuUsPerHandshake.ring,
          baseline: { name: "Node's single ticket key", value: row.cpuUsPerHandshake.single },
        },
      ]),
  },
];

/** valgrind's version line, or undefined when it is not installed. */
function valgrindVersion(): string | undefined {
  const r = spawnSync('valgrind', ['--version'], { encoding: 'utf8' });
  return r.status === 0 ? r.stdout.trim() : undefined;
}

/** What produced the figures: machine, Node and its OpenSSL, valgrind. */
function machine(): string {
  const cpu = cpus();
  const valgrind = valgrindVersion();
  return (
    `Measured on ${cpu.length} × ${cpu[0]?.model.trim() ?? 'unknown CPU'}, ${(totalmem() / 2 ** 30).toFixed(0)} GiB, ` +
    `${new Date().toISOString().slice(0, 10)}, with Node ${process.version} (OpenSSL ${process.versions.openssl}) and ` +
    `${valgrind === undefined ? 'no valgrind (instruction counts skipped)' : `${valgrind} (callgrind; Debian's package)`}.`
  );
}

/** Results saved by earlier runs (their latest.json), merged in order, and where each came from. */
async function savedResults(files: string[]): Promise<{ results: Record<string, unknown>; machine: string }> {
  const results: Record<string, unknown> = {};
  const source = new Map<string, number>();
  const machines: string[] = [];
  for (const [i, f] of files.entries()) {
    const saved = JSON.parse(await readFile(f, 'utf8')) as { machine: string; results: Record<string, unknown> };
    machines.push(saved.machine);
    for (const [name, result] of Object.entries(saved.results)) {
      results[name] = result;
      source.set(name, i);
    }
  }
  const origins = machines
    .map((m, i) => [[...source].filter(([, at]) => at === i).map(([name]) => name), m] as const)
    .filter(([names]) => names.length > 0)
    .map(([names, m]) => `${names.join(', ')}: ${m}`);
  return { results, machine: origins.join('\n\n') };
}

async function main(): Promise<void> {
  const quick = process.argv.includes('--quick');
  const onlyAt = process.argv.indexOf('--only');
  const only = onlyAt > 0 ? process.argv[onlyAt + 1]?.split(',') : undefined;
  const results: Record<string, unknown> = {};
  const rows: BenchRow[] = [];
  const bars: ChartBar[] = [];
  const failures: string[] = [];
  // `--rows-from A.json,B.json`: no measuring; the table is made again from the results saved by
  // earlier runs (a later file's benchmark replaces an earlier one's), with today's row rules.
  const fromAt = process.argv.indexOf('--rows-from');
  const saved = fromAt > 0 ? await savedResults(process.argv[fromAt + 1]?.split(',') ?? []) : undefined;
  for (const b of BENCHES) {
    if (only && !only.includes(b.name)) continue;
    if (saved !== undefined) {
      const result = saved.results[b.name];
      if (result === undefined) continue;
      results[b.name] = result;
      rows.push(...b.rows(result as never));
      if (b.bars) bars.push(...b.bars(result as never));
      continue;
    }
    const started = Date.now();
    process.stderr.write(`bench ${b.name}${quick ? ' (quick)' : ''}... `);
    try {
      const result = await b.run({ quick });
      results[b.name] = result;
      rows.push(...b.rows(result as never));
      if (b.bars) bars.push(...b.bars(result as never));
      process.stderr.write(`${((Date.now() - started) / 1000).toFixed(1)} s\n`);
    } catch (err) {
      failures.push(b.name);
      results[b.name] = { error: err instanceof Error ? err.message : String(err) };
      process.stderr.write(`failed: ${err instanceof Error ? err.message : String(err)}\n`);
    }
  }
  // Under CI a row skipped for a missing peer (redis-server, valgrind) fails the run, as the tests
  // do; only the rows a quick run leaves out by design may be skipped.
  if (IN_CI) {
    for (const r of rows) {
      if (r.skipped !== undefined && !r.skipped.startsWith(QUICK_SKIP))
        failures.push(`${r.bench} (${r.metric} skipped: ${r.skipped})`);
    }
  }
  const outAt = process.argv.indexOf('--out');
  const dir = outAt > 0 && process.argv[outAt + 1] ? process.argv[outAt + 1]! : join(import.meta.dirname, 'results');
  await mkdir(dir, { recursive: true });
  const host = saved?.machine ?? machine();
  await writeFile(join(dir, 'latest.json'), `${JSON.stringify({ machine: host, quick, results, rows }, null, 2)}\n`);
  const table = markdownTable(rows, host);
  await writeFile(join(dir, 'latest.md'), table);
  if (bars.length > 0)
    await writeFile(join(dir, 'handshakes.svg'), barChartSvg(bars, 'Handshakes per second (loopback)'));
  process.stdout.write(table);
  if (failures.length > 0) {
    process.stderr.write(`failed: ${failures.join(', ')}\n`);
    process.exitCode = 1;
  }
}

await main();
