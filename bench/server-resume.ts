/**
 * Resumed handshakes per second through ServerSessionCache, against two baselines measured in
 * the same run: Node's own stateless-ticket resumption (`plain`) and a bare Map in
 * 'newSession'/'resumeSession' with SSL_OP_NO_TICKET (`map`); plus full handshakes per second
 * without the cache, behind the ClientHello reader alone (`peek`) and with the whole cache.
 *
 * Each server runs in a process of its own (bench/server-child.ts), which also reports its CPU
 * time: server CPU per handshake is the steadier figure on a busy machine. Clients: `openssl
 * s_time -www / -reuse` for TLS 1.2 resumption, `-new` for full handshakes; for TLS 1.3
 * resumption, which s_time does not do, a Node client in this process making sequential
 * connections, each offering the newest ticket it received. Set-ups alternate round by round;
 * a ratio is the median of the per-round ratios.
 * Run: `npx tsx bench/server-resume.ts [--quick] [--json] [--rounds N] [--only full|resumed]
 * [--versions TLSv1.2,TLSv1.3]`. `--instructions [--warm N --n N]` counts server instructions per
 * handshake under valgrind (callgrind) instead: figures that a busy machine does not disturb.
 */
import { type ChildProcess, execFile, spawn } from 'node:child_process';
import { once } from 'node:events';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { connect } from 'node:tls';
import { promisify } from 'node:util';
import { REDIS_CLI_BIN, redisSkipReason, startRedisServer } from '../test/helpers-redis/redis-server.js';
import { benchCert } from './lib/cert.js';
import { fmtRate, isMain } from './lib/measure.js';
import { readCounted } from './lib/callgrind.js';
import { type BenchRow, goalText, metOf, ratioOf, skippedRow } from './lib/report.js';

const execFileP = promisify(execFile);
const CHILD = new URL('./server-child.ts', import.meta.url).pathname;

type Mode = 'plain' | 'map' | 'cache' | 'auto' | 'peek' | 'redis' | 'ring' | 'control';
type Version = 'TLSv1.2' | 'TLSv1.3';
const VERSIONS: Version[] = ['TLSv1.2', 'TLSv1.3'];

/**
 * One set-up's figures, pooled over all its rounds (so that a ratio of two of them is the ratio
 * of the figures shown, nothing hidden).
 */
export interface SetupRate {
  /** Handshakes per second (sequential client): all handshakes / all the rounds' time. */
  perSecond: number;
  /** Server process CPU (user + system) per handshake, µs: all of it over the rounds / all handshakes. */
  serverCpuUs: number;
  /** Share of handshakes that resumed. */
  resumedShare: number;
  /** Handshakes counted. */
  handshakes: number;
}

export interface ServerResumeResult {
  name: 'server-resume';
  rounds: number;
  resumed: Partial<Record<Version, { client: string; plain: SetupRate; map?: SetupRate; cache: SetupRate }>>;
  full: Partial<Record<Version, { plain: SetupRate; peek: SetupRate; cache: SetupRate }>>;
}

interface Sample {
  count: number;
  reused: number;
  ms: number;
  /** Server CPU over the round. */
  cpuUs: number;
  /** Median server CPU of one connection. */
  connCpuUs: number;
}

interface Server {
  port: number;
  pid: number;
  /** Total CPU µs so far, and the median CPU µs of the connections closed since the last call. */
  cpu(): Promise<{ total: number; median: number }>;
  stop(): Promise<void>;
}

async function startServer(
  mode: Mode,
  creds: { key: string; cert: string },
  callgrindOut?: string,
  env: NodeJS.ProcessEnv = {},
): Promise<Server> {
  const node = [process.execPath, '--import', 'tsx', CHILD, mode];
  // Under callgrind with instrumentation off until asked: start-up and warm-up are not counted.
  const command =
    callgrindOut === undefined
      ? node
      : ['valgrind', '--tool=callgrind', '--instr-atstart=no', `--callgrind-out-file=${callgrindOut}`, ...node];
  const child: ChildProcess = spawn(command[0]!, command.slice(1), {
    stdio: ['pipe', 'pipe', callgrindOut === undefined ? 'inherit' : 'ignore'],
    env: { ...process.env, ...env },
  });
  const exited = once(child, 'exit');
  child.stdin!.write(`${JSON.stringify(creds)}\n`);
  const lines = createInterface({ input: child.stdout! });
  const waiting: Array<(line: string) => void> = [];
  const first = new Promise<string>((resolve) => waiting.push(resolve));
  lines.on('line', (line) => waiting.shift()?.(line));
  const port = Number(await Promise.race([first, exited.then(() => '')]));
  if (!(port > 0)) throw new Error(`server-child ${mode} did not start`);
  return {
    port,
    pid: child.pid!,
    cpu() {
      const answer = new Promise<string>((resolve) => waiting.push(resolve));
      child.stdin!.write('cpu\n');
      return answer.then((line) => {
        const [total, median] = line.split(' ').map(Number);
        return { total: total!, median: median! };
      });
    },
    async stop() {
      child.stdin!.end();
      const timer = setTimeout(() => child.kill('SIGKILL'), 3000);
      await exited;
      clearTimeout(timer);
    },
  };
}

/** One `openssl s_time` run; counts connections and, with -reuse, the ones resumed ('r'). */
async function sTime(server: Server, version: Version, reuse: boolean, seconds: number): Promise<Sample> {
  const args = ['s_time', '-connect', `127.0.0.1:${server.port}`, '-www', '/', '-time', String(seconds)];
  args.push(reuse ? '-reuse' : '-new', version === 'TLSv1.2' ? '-tls1_2' : '-tls1_3');
  const cpu0 = await server.cpu();
  const start = process.hrtime.bigint();
  const { stdout } = await execFileP('openssl', args, { timeout: (seconds + 20) * 1000, maxBuffer: 64 << 20 });
  const ms = Number(process.hrtime.bigint() - start) / 1e6;
  const cpu1 = await server.cpu();
  const count = Number(/^(\d+) connections in [\d.]+s;/m.exec(stdout)?.[1] ?? Number.NaN);
  if (!(count > 0)) throw new Error(`s_time printed no connection count: ${stdout.slice(-200)}`);
  // After "starting", s_time prints one character per connection: 'r' reused, '*' new.
  const progress = /starting\n([r*]*)/.exec(stdout)?.[1] ?? '';
  const reused = reuse ? (progress.match(/r/g)?.length ?? 0) : 0;
  return { count, reused, ms, cpuUs: cpu1.total - cpu0.total, connCpuUs: cpu1.median };
}

/** Sequential TLS 1.3 connections, each offering the newest ticket received so far. */
async function nodeResume(server: Server, seconds: number): Promise<Sample> {
  let session: Buffer | undefined;
  let count = 0;
  let reused = 0;
  const cpu0 = await server.cpu();
  const start = process.hrtime.bigint();
  const end = start + BigInt(Math.round(seconds * 1e9));
  while (process.hrtime.bigint() < end) {
    const c = connect({
      host: '127.0.0.1',
      port: server.port,
      rejectUnauthorized: false,
      minVersion: 'TLSv1.3',
      ...(session === undefined ? {} : { session }),
    });
    c.on('session', (s: Buffer) => {
      session = s;
    });
    const closed = once(c, 'close');
    await once(c, 'secureConnect');
    if (c.isSessionReused()) reused++;
    c.end('GET / HTTP/1.0\r\n\r\n');
    c.resume();
    await closed;
    count++;
  }
  const ms = Number(process.hrtime.bigint() - start) / 1e6;
  const cpu1 = await server.cpu();
  return { count, reused, ms, cpuUs: cpu1.total - cpu0.total, connCpuUs: cpu1.median };
}

/** Runs each contender once per round, alternating; figures pooled over the rounds. */
async function rounds<K extends string>(
  contenders: Record<K, () => Promise<Sample>>,
  n: number,
): Promise<Record<K, SetupRate>> {
  const keys = Object.keys(contenders) as K[];
  const samples = Object.fromEntries(keys.map((k) => [k, [] as Sample[]])) as Record<K, Sample[]>;
  for (let r = 0; r < n; r++) {
    // Alternate the order too, so that neither set-up always runs first.
    const order = r % 2 === 0 ? keys : [...keys].reverse();
    for (const k of order) samples[k].push(await contenders[k]());
  }
  const rates = {} as Record<K, SetupRate>;
  for (const k of keys) {
    const sum = (f: (s: Sample) => number) => samples[k].reduce((a, s) => a + f(s), 0);
    const count = sum((s) => s.count);
    rates[k] = {
      perSecond: (count * 1000) / sum((s) => s.ms),
      serverCpuUs: sum((s) => s.cpuUs) / count,
      resumedShare: sum((s) => s.reused) / count,
      handshakes: count,
    };
  }
  return rates;
}

/** Options of {@link run}; `rounds` and `only` are for investigating one figure. */
export interface ServerResumeOptions {
  quick: boolean;
  rounds?: number;
  only?: 'resumed' | 'full';
  versions?: Version[];
}

export async function run(opts: ServerResumeOptions): Promise<ServerResumeResult> {
  const { quick } = opts;
  const versions = opts.versions ?? VERSIONS;
  const creds = await benchCert('ecdsa');
  const servers = {} as Record<Mode, Server>;
  try {
    for (const m of ['plain', 'map', 'cache', 'peek'] as const) servers[m] = await startServer(m, creds);
    const n = opts.rounds ?? (quick ? 1 : 6);
    // s_time takes whole seconds.
    const secs = 1;
    // Warm-up: JIT, first sessions.
    for (const m of ['plain', 'map', 'cache', 'peek'] as const) await sTime(servers[m], 'TLSv1.2', true, 1);

    const resumed = {} as ServerResumeResult['resumed'];
    for (const v of opts.only === 'full' ? [] : versions) {
      const client = v === 'TLSv1.2' ? 'openssl s_time -reuse' : 'Node tls.connect, newest ticket';
      const one = (m: Mode) =>
        v === 'TLSv1.2' ? () => sTime(servers[m], v, true, secs) : () => nodeResume(servers[m], secs);
      // Map handlers do not resume TLS 1.3 (Node's tickets are off, OpenSSL's stateful tickets
      // need the PSK identity): TLS 1.3 resumption is compared with the tickets only.
      resumed[v] =
        v === 'TLSv1.2'
          ? { client, ...(await rounds({ plain: one('plain'), map: one('map'), cache: one('cache') }, n)) }
          : { client, ...(await rounds({ plain: one('plain'), cache: one('cache') }, n)) };
    }

    const full = {} as ServerResumeResult['full'];
    for (const v of opts.only === 'resumed' ? [] : versions) {
      const one = (m: Mode) => () => sTime(servers[m], v, false, secs);
      full[v] = await rounds({ plain: one('plain'), peek: one('peek'), cache: one('cache') }, n);
    }
    return { name: 'server-resume', rounds: n, resumed, full };
  } finally {
    await Promise.all(Object.values<Server>(servers).map((s) => s.stop()));
  }
}

/** Sequential connections, `n` of them; with `resume`, each offers the newest session received. */
async function connectMany(port: number, version: Version, resume: boolean, n: number): Promise<number> {
  let session: Buffer | undefined;
  let reused = 0;
  for (let i = 0; i < n; i++) {
    const c = connect({
      host: '127.0.0.1',
      port,
      rejectUnauthorized: false,
      minVersion: version,
      maxVersion: version,
      ...(resume && session !== undefined ? { session } : {}),
    });
    c.on('session', (s: Buffer) => {
      session = s;
    });
    c.on('error', () => {});
    const closed = once(c, 'close');
    await once(c, 'secureConnect');
    if (c.isSessionReused()) reused++;
    c.end('GET / HTTP/1.0\r\n\r\n');
    c.resume();
    await closed;
  }
  return reused;
}

/** Server instructions per handshake, per set-up, for one kind of handshake. */
export interface InstructionCounts {
  handshake: string;
  /** Handshakes made before counting, and counted. */
  warm: number;
  n: number;
  /** Instructions the server executed per handshake, counted over `n` handshakes after `warm` uncounted ones. */
  perHandshake: Partial<Record<Mode, number>>;
  /** Of those, the ones spent in V8's garbage collector (bench/lib/callgrind.ts says why they are apart). */
  collectorPerHandshake: Partial<Record<Mode, number>>;
  resumedShare: Partial<Record<Mode, number>>;
  /** With `redis`: Redis commands per handshake (all of them, and those on the handshake path: get, getdel). */
  redisCommands?: { all: number; lookups: number };
  /** Why a mode was not counted. */
  skipped?: Partial<Record<Mode, string>>;
}

/** Total calls per command from `INFO commandstats`. */
async function redisCommandCalls(url: string): Promise<Map<string, number>> {
  const { port } = new URL(url);
  const { stdout } = await execFileP(REDIS_CLI_BIN, ['-h', '127.0.0.1', '-p', port, 'INFO', 'commandstats']);
  const out = new Map<string, number>();
  for (const m of stdout.matchAll(/^cmdstat_([a-z|]+):calls=(\d+)/gm)) out.set(m[1]!, Number(m[2]));
  return out;
}

/**
 * Counts the instructions a server set-up executes per handshake, under valgrind's callgrind,
 * with counting switched on (`callgrind_control -i on`) only after `warm` handshakes (per kind
 * of handshake: see the scenarios for why TLS 1.2 resumptions warm up longer): unlike
 * times, the counts do not depend on what else runs on the machine. What still moves them is
 * where the JIT and the garbage collector's major collections fall: a window holds 0, 1 or 2 of
 * them. The counts are therefore split into V8's collector and the rest (bench/lib/callgrind.ts):
 * the rest decides the goals, all instructions with the collector's share are shown beside, and
 * the `control` set-up counts the plain server a second time to show the spread that remains. (A full collection forced before the counted
 * window made it worse: the JavaScript-heavy set-ups then paid for optimising their code again
 * inside the window.) Takes a minute or two per set-up.
 */
export async function countInstructions(
  opts: { warm?: number; n?: number; handshakes?: string[]; modes?: Mode[] } = {},
): Promise<InstructionCounts[]> {
  const creds = await benchCert('ecdsa');
  const dir = await mkdtemp(join(tmpdir(), 'server-resume-cg-'));
  // Warm-up: V8 goes on optimising Node's own socket and TLS code, and ours, for about 13 000
  // connections (`--trace-opt`: Socket and TLSSocket reach TurboFan between 5000 and 11 000).
  // Before that a window counts compilations and unoptimised code, which weigh most on the
  // cheapest handshake, a TLS 1.2 resumption (about a tenth of its count at 5000). Its window
  // therefore starts at 15 000; the other kinds, 3 to 6 times costlier per handshake, would take
  // over an hour at that under valgrind and are counted after 5000.
  const steady = { warm: opts.warm ?? 15_000, n: opts.n ?? 2000 };
  const early = { warm: opts.warm ?? 5000, n: opts.n ?? 1000 };
  const scenarios: Array<{
    handshake: string;
    version: Version;
    resume: boolean;
    modes: Mode[];
    warm: number;
    n: number;
  }> = [
    {
      handshake: 'TLSv1.3 full',
      version: 'TLSv1.3',
      resume: false,
      modes: ['plain', 'map', 'peek', 'cache', 'auto'],
      ...early,
    },
    {
      handshake: 'TLSv1.2 full',
      version: 'TLSv1.2',
      resume: false,
      modes: ['plain', 'map', 'peek', 'cache', 'auto'],
      ...early,
    },
    {
      handshake: 'TLSv1.2 resumed',
      version: 'TLSv1.2',
      resume: true,
      modes: ['plain', 'map', 'peek', 'cache', 'auto', 'redis', 'ring', 'control'],
      ...steady,
    },
    {
      handshake: 'TLSv1.3 resumed',
      version: 'TLSv1.3',
      resume: true,
      modes: ['plain', 'peek', 'cache', 'auto', 'redis', 'ring'],
      ...early,
    },
  ];
  const out: InstructionCounts[] = [];
  const wantsRedis = opts.modes === undefined || opts.modes.includes('redis');
  const noRedis = wantsRedis ? redisSkipReason() : 'not asked for';
  const redis = noRedis === undefined ? await startRedisServer() : undefined;
  try {
    for (const sc of scenarios) {
      if (opts.handshakes !== undefined && !opts.handshakes.includes(sc.handshake)) continue;
      const { warm, n } = sc;
      const row: InstructionCounts = {
        handshake: sc.handshake,
        warm,
        n,
        perHandshake: {},
        collectorPerHandshake: {},
        resumedShare: {},
      };
      for (const mode of sc.modes) {
        if (opts.modes !== undefined && !opts.modes.includes(mode)) continue;
        if (mode === 'redis' && redis === undefined) {
          row.skipped = { ...row.skipped, redis: noRedis! };
          continue;
        }
        // One file name per set-up and handshake kind: the final dump a server writes when it exits
        // must never be read as part of another count.
        const name = `${sc.handshake.replace(' ', '-')}-${mode}.out`;
        const file = join(dir, name);
        // `control`: the plain server counted a second time, which shows the spread of the counts.
        const child = mode === 'control' ? 'plain' : mode;
        const server = await startServer(child, creds, file, redis === undefined ? {} : { BENCH_REDIS: redis.url });
        try {
          await connectMany(server.port, sc.version, sc.resume, warm);
          const calls0 = mode === 'redis' ? await redisCommandCalls(redis!.url) : undefined;
          await execFileP('callgrind_control', ['-i', 'on', String(server.pid)]);
          const reused = await connectMany(server.port, sc.version, sc.resume, n);
          await execFileP('callgrind_control', ['-d', String(server.pid)]);
          if (calls0 !== undefined) {
            const calls1 = await redisCommandCalls(redis!.url);
            const delta = (names?: string[]) =>
              [...calls1]
                .filter(([k]) => names === undefined || names.includes(k))
                .reduce((a, [k, v]) => a + v - (calls0.get(k) ?? 0), 0);
            // INFO itself runs once between the two readings.
            row.redisCommands = { all: (delta() - 1) / n, lookups: delta(['get', 'getdel', 'evalsha', 'eval']) / n };
          }
          const counted = await readCounted(dir, `${name}.`);
          if (!(counted.total > 0)) throw new Error(`callgrind wrote no count for ${mode}`);
          row.perHandshake[mode] = counted.total / n;
          row.collectorPerHandshake[mode] = counted.collector / n;
          row.resumedShare[mode] = reused / n;
        } finally {
          await server.stop();
        }
      }
      out.push(row);
    }
  } finally {
    await redis?.dispose();
    await rm(dir, { recursive: true, force: true });
  }
  return out;
}

/** Goals of issue-level weight: bounds on instructions per handshake / the baseline's. */
const GOAL_TAP = { max: 1.03 };
const GOAL_CACHE_FULL = { max: 1.05 };
const GOAL_CACHE_RESUMED = { max: 1.1 };
const GOAL_REDIS = { max: 1.176 };
const GOAL_RING = { max: 1.03 };

const NAMES: Record<Mode, string> = {
  plain: 'plain Node server',
  map: "bare Map in 'newSession'/'resumeSession'",
  peek: 'ClientHello tap alone',
  cache: "ServerSessionCache, tickets 'stateful' (its lookup path)",
  auto: "ServerSessionCache as configured by default (tickets 'auto')",
  redis: 'ServerSessionCache over RedisStore (loopback redis-server)',
  ring: "Node's stateless tickets from a TicketKeyRing (4 keys)",
  control: 'plain Node server, counted again (the spread of the counts)',
};

/**
 * Rows of server instructions per handshake (the measure that decides the goals). Every
 * comparison is of the same handshake kind; resumed rows say what share resumed on each side.
 * Scenarios not counted in this run (`skipped`) show as skipped.
 */
export function instructionRows(counts: InstructionCounts[] | undefined, skipped?: string): BenchRow[] {
  const out: BenchRow[] = [];
  const plan: Array<[string, Mode, Mode, { max?: number; min?: number } | undefined]> = [];
  for (const hs of ['TLSv1.2 full', 'TLSv1.3 full', 'TLSv1.2 resumed', 'TLSv1.3 resumed']) {
    const resumed = hs.endsWith('resumed');
    plan.push([hs, 'peek', 'plain', GOAL_TAP]);
    plan.push([hs, 'cache', 'plain', resumed ? GOAL_CACHE_RESUMED : GOAL_CACHE_FULL]);
    // The default configuration, which users run: the same goals.
    plan.push([hs, 'auto', 'plain', resumed ? GOAL_CACHE_RESUMED : GOAL_CACHE_FULL]);
    if (hs !== 'TLSv1.3 resumed') plan.push([hs, 'cache', 'map', resumed ? GOAL_CACHE_RESUMED : undefined]);
    if (hs !== 'TLSv1.3 resumed') plan.push([hs, 'map', 'plain', undefined]);
    // RedisStore at least 85% of MemoryStore's handshakes per server CPU second: at most 1/0.85
    // of its instructions per handshake (redis-server's own work is another process's).
    if (resumed) plan.push([hs, 'redis', 'cache', GOAL_REDIS]);
    // TicketKeyRing: Node's stateless tickets with the ring's keys against Node's own key.
    if (resumed) plan.push([hs, 'ring', 'plain', GOAL_RING]);
    if (hs === 'TLSv1.2 resumed') plan.push([hs, 'control', 'plain', undefined]);
  }
  for (const [hs, mode, base, goal] of plan) {
    const baseName =
      base === 'plain' && hs.endsWith('resumed')
        ? "Node's stateless tickets"
        : base === 'cache' && mode === 'redis'
          ? 'ServerSessionCache over MemoryStore'
          : NAMES[base];
    const label = base === 'plain' && mode === 'ring' ? "Node's stateless tickets, Node's own key" : baseName;
    const c = counts?.find((x) => x.handshake === hs);
    // The counted window: `n` handshakes after `warm` uncounted ones (older results lack it).
    const window = c?.n === undefined ? '' : ` (${c.n} counted after ${c.warm})`;
    const metric = `${hs}${window}: server instructions per handshake outside V8's garbage collector, ${NAMES[mode]}`;
    const row = { bench: 'server-instructions', metric, ...(goal === undefined ? {} : { goal }) };
    const allMetric = `${hs}${window}: server instructions per handshake, all, ${NAMES[mode]}`;
    const v = c?.perHandshake[mode];
    const b = c?.perHandshake[base];
    if (c === undefined || v === undefined || b === undefined) {
      const why = skipped ?? c?.skipped?.[mode] ?? 'not counted in this run';
      out.push(skippedRow({ ...row, baseline: { name: label, value: Number.NaN } }, why));
      out.push(skippedRow({ bench: row.bench, metric: allMetric, baseline: { name: label, value: Number.NaN } }, why));
      continue;
    }
    const share = (m: Mode) => pct(c.resumedShare[m] ?? 0);
    const commands =
      mode === 'redis' && c.redisCommands !== undefined
        ? `; Redis commands per handshake: ${c.redisCommands.lookups.toFixed(2)} on the handshake path, ${c.redisCommands.all.toFixed(2)} in all`
        : '';
    const resumedNote = hs.endsWith('resumed') ? ` (${share(mode)} resumed${commands})` : '';
    const baseLabel = `${label}${hs.endsWith('resumed') ? ` (${share(base)} resumed)` : ''}`;
    const vc = c.collectorPerHandshake[mode] ?? 0;
    const bc = c.collectorPerHandshake[base] ?? 0;
    // The goal is decided outside the collector: one major collection more or less in a window
    // of 1000 handshakes moves a total by about 86 000 instructions per handshake (12% of a
    // TLS 1.2 resumption). The row of all instructions follows, with the collector's figure on
    // each side (value - collector = the row above).
    out.push({
      ...row,
      metric: `${metric}${resumedNote}`,
      value: v - vc,
      baseline: { name: baseLabel, value: b - bc },
    });
    out.push({
      bench: row.bench,
      metric: `${allMetric}${resumedNote}; in the collector: ${vc.toFixed(0)} vs ${bc.toFixed(0)}`,
      value: v,
      baseline: { name: baseLabel, value: b },
    });
  }
  return out;
}

/** Rows of the wall-clock and server-CPU run: shown beside the instruction counts, no goal. */
export function rows(r: ServerResumeResult): BenchRow[] {
  const out: BenchRow[] = [];
  for (const v of VERSIONS) {
    const x = r.resumed[v];
    if (x === undefined) continue;
    const note = (s: SetupRate) => `${pct(s.resumedShare)} resumed`;
    const bases: Array<[string, SetupRate]> = [[`Node's stateless tickets (${note(x.plain)})`, x.plain]];
    if (x.map !== undefined) bases.push([`bare Map handlers (${note(x.map)})`, x.map]);
    for (const [name, base] of bases) {
      out.push({
        bench: 'server-resume',
        metric: `${v} resumed handshakes/s, ServerSessionCache (${x.client}; ${note(x.cache)})`,
        value: x.cache.perSecond,
        baseline: { name, value: base.perSecond },
      });
      out.push({
        bench: 'server-resume',
        metric: `${v} resumed: server CPU µs per handshake, ServerSessionCache`,
        value: x.cache.serverCpuUs,
        baseline: { name, value: base.serverCpuUs },
      });
    }
  }
  for (const v of VERSIONS) {
    const f = r.full[v];
    if (f === undefined) continue;
    for (const [mode, s] of [
      ['peek', f.peek],
      ['cache', f.cache],
    ] as const) {
      out.push({
        bench: 'server-resume',
        metric: `${v} full handshakes/s, ${NAMES[mode]} (openssl s_time -new)`,
        value: s.perSecond,
        baseline: { name: NAMES.plain, value: f.plain.perSecond },
      });
      out.push({
        bench: 'server-resume',
        metric: `${v} full: server CPU µs per handshake, ${NAMES[mode]}`,
        value: s.serverCpuUs,
        baseline: { name: NAMES.plain, value: f.plain.serverCpuUs },
      });
    }
  }
  return out;
}

function pct(x: number): string {
  return `${(x * 100).toFixed(0)}%`;
}

if (isMain(import.meta.url)) {
  const arg = (name: string) => {
    const at = process.argv.indexOf(name);
    return at > 0 ? process.argv[at + 1] : undefined;
  };
  if (process.argv.includes('--instructions')) {
    const warm = arg('--warm');
    const n = arg('--n');
    const handshakes = arg('--handshakes')?.split(',');
    const modes = arg('--modes')?.split(',') as Mode[] | undefined;
    const rows = await countInstructions({
      ...(handshakes === undefined ? {} : { handshakes }),
      ...(modes === undefined ? {} : { modes }),
      ...(warm === undefined ? {} : { warm: Number(warm) }),
      ...(n === undefined ? {} : { n: Number(n) }),
    });
    for (const r of rows) {
      const plain = r.perHandshake.plain ?? Number.NaN;
      const cells = Object.entries(r.perHandshake).map(
        ([m, v]) =>
          `${m} ${(v / 1e6).toFixed(3)}M (${((v / plain - 1) * 100).toFixed(1)}%, ${pct(r.resumedShare[m as Mode]!)} resumed)`,
      );
      process.stdout.write(`${r.handshake}: server instructions per handshake: ${cells.join(', ')}\n`);
    }
    for (const row of instructionRows(rows)) {
      if (row.skipped !== undefined) continue;
      const met = metOf(row);
      const goal = row.goal === undefined ? '' : ` (goal ${goalText(row)}: ${met ? 'met' : 'not met'})`;
      process.stdout.write(
        `${row.metric}: ${row.value.toFixed(0)} vs ${row.baseline!.name} ${row.baseline!.value.toFixed(0)}, ratio ${ratioOf(row)!.toFixed(4)}${goal}\n`,
      );
    }
    if (process.argv.includes('--json')) process.stdout.write(`${JSON.stringify(rows, null, 2)}\n`);
    process.exit(0);
  }
  const only = arg('--only');
  const versions = arg('--versions')?.split(',') as Version[] | undefined;
  const result = await run({
    quick: process.argv.includes('--quick'),
    ...(arg('--rounds') === undefined ? {} : { rounds: Number(arg('--rounds')) }),
    ...(only === 'full' || only === 'resumed' ? { only } : {}),
    ...(versions === undefined ? {} : { versions }),
  });
  for (const row of rows(result)) {
    const base = row.baseline ? ` vs ${row.baseline.name} ${fmtRate(row.baseline.value)}` : '';
    const ratio = ratioOf(row);
    process.stdout.write(
      `${row.metric}: ${fmtRate(row.value)}${base}${ratio === undefined ? '' : ` ratio ${ratio.toFixed(3)}`}\n`,
    );
  }
  if (process.argv.includes('--json')) process.stdout.write(`${JSON.stringify(result, null, 2)}\n`);
}
