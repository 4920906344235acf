/**
 * Resumed handshakes per second of a Node TLS server whose ServerSessionCache keeps its
 * sessions in MemoryStore, SqliteStore, RedisStore (loopback redis-server) or RedisStore sealed
 * by EncryptedStore, in one run, for TLS 1.2 (session id: a `get` per handshake) and TLS 1.3
 * stateful sessions (single use: a `take` and a `set` per handshake).
 *
 * Each store's server runs in a child process (its own event loop); this process is the
 * client: 4 connections at a time, each resuming the session its previous connection got.
 * Servers take turns round by round (ABBA); each figure is the median round.
 *
 * Where `taskset` exists and the machine has 2 cores or more, the TLS server gets a core of its
 * own and the client and redis-server share another, as when Redis runs on its own host:
 * otherwise redis-server takes CPU from the server under test and the figures measure the
 * crowding, not the store.
 *
 * Figures per store: the wall-clock rate, and the server's capacity: resumed handshakes per
 * second of the server process's own CPU time (store client included, Redis itself not), which
 * the load of other processes disturbs less, split into user and system time per handshake.
 * The goal (RedisStore at least 85 % of MemoryStore) is decided by instructions counted under
 * callgrind (bench/server-resume.ts --instructions), which count user space only: the system
 * time shows what the kernel adds for each Redis round trip (a write, a wake-up, a read),
 * which a CPU-second figure includes and an instruction count does not.
 *
 * Run: `npx tsx bench/stores-resume.ts [--quick]`; prints a table, then one JSON line.
 */
import { spawn, spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { cpus, tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import * as tls from 'node:tls';
import { fileURLToPath } from 'node:url';
import { ServerSessionCache } from '../src/server/index.js';
import { EncryptedStore } from '../src/stores/encrypted-store.js';
import { MemoryStore } from '../src/stores/memory-store.js';
import { RedisStore } from '../src/stores/redis-store.js';
import type { SessionStore } from '../src/stores/session-store.js';
import { SqliteStore } from '../src/stores/sqlite-store.js';
import { sqliteSkipReason } from './lib/sqlite.js';
import { redisSkipReason, startRedisServer } from '../test/helpers-redis/redis-server.js';
import { benchCert } from './lib/cert.js';
import { fmtRate, isMain, median } from './lib/measure.js';

type Version = 'TLSv1.2' | 'TLSv1.3';
const VERSIONS: Version[] = ['TLSv1.2', 'TLSv1.3'];
const KINDS = ['MemoryStore', 'SqliteStore', 'RedisStore', 'RedisStore sealed'] as const;
type Kind = (typeof KINDS)[number];
const CONCURRENCY = 4;

interface Cpus {
  server: string;
  rest: string;
}

/** The server's core and the others', when the machine can pin processes; else undefined. */
function pinning(): Cpus | undefined {
  if (cpus().length < 2) return undefined;
  const probe = spawnSync('taskset', ['-p', '-c', '0', String(process.pid)], { stdio: 'ignore' });
  if (probe.status !== 0) return undefined;
  return { server: String(cpus().length - 1), rest: `0-${cpus().length - 2}` };
}

export interface StoresResumeResult {
  /** Resumed handshakes per second of wall-clock time, by store then version (median round). */
  perSecond: Partial<Record<Kind, Record<Version, number>>>;
  /** Resumed handshakes per second of server CPU time, by store then version (median round). */
  perServerCpuSecond: Partial<Record<Kind, Record<Version, number>>>;
  /** Server CPU µs per resumed handshake, user and system, by store then version (median round). */
  cpuUsPerHandshake: Partial<Record<Kind, Record<Version, { user: number; system: number }>>>;
  /** Share of handshakes that resumed, by store then version. */
  resumedShare: Partial<Record<Kind, Record<Version, number>>>;
  /** RedisStore / MemoryStore server capacity (per CPU second), by version. */
  redisVsMemory: Record<Version, number> | undefined;
  /** RedisStore / MemoryStore wall-clock rate, by version (for information). */
  redisVsMemoryWallClock: Record<Version, number> | undefined;
  skipped: Record<string, string>;
  /** How processes were placed on cores. */
  placement: string;
  rounds: number;
  roundMs: number;
}

interface Member {
  port: number;
  /** The server process's CPU time so far, in seconds. */
  cpu(): Promise<{ user: number; system: number }>;
  stop(): Promise<void>;
}

async function startMember(kind: Kind, env: NodeJS.ProcessEnv, cpus: Cpus | undefined): Promise<Member> {
  const argv = [...process.execArgv, fileURLToPath(import.meta.url), '--serve', kind];
  const options = {
    stdio: ['pipe', 'pipe', 'inherit'] as ['pipe', 'pipe', 'inherit'],
    env: { ...process.env, ...env },
  };
  const child =
    cpus === undefined
      ? spawn(process.execPath, argv, options)
      : spawn('taskset', ['-c', cpus.server, process.execPath, ...argv], options);
  const lines = createInterface({ input: child.stdout! });
  const port = await new Promise<number>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`${kind} server did not start`)), 20_000);
    child.once('exit', (code) => reject(new Error(`${kind} server exited (${code})`)));
    lines.once('line', (line) => {
      clearTimeout(timer);
      resolve((JSON.parse(line) as { port: number }).port);
    });
  });
  return {
    port,
    cpu: () =>
      new Promise<{ user: number; system: number }>((resolve) => {
        lines.once('line', (line) => {
          const [user, system] = line.split(' ').map((x) => Number(x) / 1e6);
          resolve({ user: user!, system: system! });
        });
        child.stdin!.write('cpu\n');
      }),
    stop: () =>
      new Promise<void>((resolve) => {
        if (child.exitCode !== null) return resolve();
        const timer = setTimeout(() => child.kill('SIGKILL'), 3000);
        child.once('exit', () => {
          clearTimeout(timer);
          resolve();
        });
        child.stdin!.end();
      }),
  };
}

/** The server side, in its own process: a TLS server with a cache over the named store. */
async function serve(kind: Kind): Promise<void> {
  let store: SessionStore;
  if (kind === 'MemoryStore') store = new MemoryStore();
  else if (kind === 'SqliteStore') store = new SqliteStore({ path: process.env['BENCH_SQLITE']! });
  else {
    const redis = new RedisStore({
      url: process.env['BENCH_REDIS']!,
      prefix: `bench-${kind === 'RedisStore' ? 'plain' : 'sealed'}:`,
    });
    await redis.ready();
    store = kind === 'RedisStore' ? redis : new EncryptedStore(redis, { key: { id: 'bench', key: randomBytes(32) } });
  }
  const server = tls.createServer({ key: process.env['BENCH_KEY'], cert: process.env['BENCH_CERT'] }, (socket) => {
    setImmediate(() => socket.end('ok\n'));
  });
  server.on('tlsClientError', () => {});
  // tickets 'stateful': every TLS 1.2 resumption goes through the store (by session id).
  const cache = new ServerSessionCache({ store, tickets: 'stateful' }).attach(server);
  server.listen(0, '127.0.0.1', () => {
    const a = server.address();
    process.stdout.write(`${JSON.stringify({ port: typeof a === 'object' && a ? a.port : 0 })}\n`);
  });
  createInterface({ input: process.stdin }).on('line', (line) => {
    if (line !== 'cpu') return;
    const c = process.cpuUsage();
    process.stdout.write(`${c.user} ${c.system}\n`);
  });
  process.stdin.once('end', () => {
    server.close();
    void cache.close().then(() => store.close().then(() => process.exit(0)));
  });
}

function handshake(
  port: number,
  version: Version,
  session: Buffer | undefined,
): Promise<{ reused: boolean; session: Buffer | undefined }> {
  return new Promise((resolve, reject) => {
    let latest = session;
    let reused = false;
    const socket = tls.connect({
      host: '127.0.0.1',
      port,
      servername: 'localhost',
      rejectUnauthorized: false,
      minVersion: version,
      maxVersion: version,
      ...(session === undefined ? {} : { session }),
    });
    const timer = setTimeout(() => socket.destroy(new Error('bench connection timed out')), 5000);
    socket.on('session', (s: Buffer) => {
      latest = s;
    });
    socket.once('secureConnect', () => {
      reused = socket.isSessionReused();
    });
    socket.on('data', () => {});
    socket.once('error', (err) => {
      clearTimeout(timer);
      reject(err);
    });
    socket.once('close', () => {
      clearTimeout(timer);
      resolve({ reused, session: latest });
    });
  });
}

async function measure(
  member: Member,
  version: Version,
  ms: number,
): Promise<{ rate: number; capacity: number; userUs: number; systemUs: number; share: number }> {
  const port = member.port;
  let resumed = 0;
  let total = 0;
  const sessions: Array<Buffer | undefined> = [];
  for (let w = 0; w < CONCURRENCY; w++) sessions.push((await handshake(port, version, undefined)).session);
  const cpu0 = await member.cpu();
  const start = process.hrtime.bigint();
  const end = start + BigInt(ms) * 1_000_000n;
  await Promise.all(
    sessions.map(async (first) => {
      let session = first;
      while (process.hrtime.bigint() < end) {
        const r = await handshake(port, version, session);
        session = r.session;
        total++;
        if (r.reused) resumed++;
      }
    }),
  );
  const seconds = Number(process.hrtime.bigint() - start) / 1e9;
  const cpu1 = await member.cpu();
  const user = cpu1.user - cpu0.user;
  const system = cpu1.system - cpu0.system;
  return {
    rate: resumed / seconds,
    capacity: resumed / (user + system),
    userUs: (user * 1e6) / resumed,
    systemUs: (system * 1e6) / resumed,
    share: total === 0 ? 0 : resumed / total,
  };
}

export async function run({ quick = false }: { quick?: boolean } = {}): Promise<StoresResumeResult> {
  // Many short rounds: load from other processes drifts over seconds, and alternating often
  // spreads it over every store alike.
  const rounds = quick ? 1 : 10;
  const roundMs = quick ? 300 : 500;
  const cert = await benchCert('ecdsa');
  const dir = await mkdtemp(join(tmpdir(), 'bench-resume-'));
  const skipped: Record<string, string> = {};
  const pin = pinning(); // pins this process (the client) to the first core(s) when it can
  if (pin !== undefined) spawnSync('taskset', ['-p', '-c', pin.rest, String(process.pid)], { stdio: 'ignore' });
  const placement =
    pin === undefined ? 'not pinned' : `TLS server on CPU ${pin.server}; client and redis-server on CPU ${pin.rest}`;
  const noRedis = redisSkipReason();
  const redis = noRedis === undefined ? await startRedisServer(pin === undefined ? {} : { cpus: pin.rest }) : undefined;
  const members = new Map<Kind, Member>();
  try {
    const env = {
      BENCH_KEY: cert.key,
      BENCH_CERT: cert.cert,
      BENCH_SQLITE: join(dir, 'sessions.db'),
      BENCH_REDIS: redis?.url ?? '',
    };
    const noSqlite = await sqliteSkipReason();
    for (const kind of KINDS) {
      if (kind.startsWith('RedisStore') && redis === undefined) skipped[kind] = noRedis!;
      else if (kind === 'SqliteStore' && noSqlite !== undefined) skipped[kind] = noSqlite;
      else members.set(kind, await startMember(kind, env, pin));
    }
    const samples = new Map<Kind, Record<Version, number[]>>();
    const capacities = new Map<Kind, Record<Version, number[]>>();
    const shares = new Map<Kind, Record<Version, number[]>>();
    const userUs = new Map<Kind, Record<Version, number[]>>();
    const systemUs = new Map<Kind, Record<Version, number[]>>();
    for (const kind of members.keys()) {
      userUs.set(kind, { 'TLSv1.2': [], 'TLSv1.3': [] });
      systemUs.set(kind, { 'TLSv1.2': [], 'TLSv1.3': [] });
      samples.set(kind, { 'TLSv1.2': [], 'TLSv1.3': [] });
      capacities.set(kind, { 'TLSv1.2': [], 'TLSv1.3': [] });
      shares.set(kind, { 'TLSv1.2': [], 'TLSv1.3': [] });
    }
    const order = [...members.keys()];
    for (const [, m] of members) for (const v of VERSIONS) await measure(m, v, 200); // warm-up
    for (let r = 0; r < rounds; r++) {
      for (const kind of r % 2 ? [...order].reverse() : order) {
        for (const v of VERSIONS) {
          const got = await measure(members.get(kind)!, v, roundMs);
          samples.get(kind)![v].push(got.rate);
          capacities.get(kind)![v].push(got.capacity);
          shares.get(kind)![v].push(got.share);
          userUs.get(kind)![v].push(got.userUs);
          systemUs.get(kind)![v].push(got.systemUs);
        }
      }
    }
    const perSecond: StoresResumeResult['perSecond'] = {};
    const perServerCpuSecond: StoresResumeResult['perServerCpuSecond'] = {};
    const resumedShare: StoresResumeResult['resumedShare'] = {};
    const cpuUsPerHandshake: StoresResumeResult['cpuUsPerHandshake'] = {};
    for (const [kind, s] of samples) {
      const u = userUs.get(kind)!;
      const y = systemUs.get(kind)!;
      cpuUsPerHandshake[kind] = {
        'TLSv1.2': { user: median(u['TLSv1.2']), system: median(y['TLSv1.2']) },
        'TLSv1.3': { user: median(u['TLSv1.3']), system: median(y['TLSv1.3']) },
      };
      perSecond[kind] = { 'TLSv1.2': median(s['TLSv1.2']), 'TLSv1.3': median(s['TLSv1.3']) };
      const c = capacities.get(kind)!;
      perServerCpuSecond[kind] = { 'TLSv1.2': median(c['TLSv1.2']), 'TLSv1.3': median(c['TLSv1.3']) };
      const sh = shares.get(kind)!;
      resumedShare[kind] = { 'TLSv1.2': median(sh['TLSv1.2']), 'TLSv1.3': median(sh['TLSv1.3']) };
    }
    const ratio = (table: StoresResumeResult['perSecond']): Record<Version, number> | undefined => {
      const mem = table.MemoryStore!;
      const red = table.RedisStore;
      return red && { 'TLSv1.2': red['TLSv1.2'] / mem['TLSv1.2'], 'TLSv1.3': red['TLSv1.3'] / mem['TLSv1.3'] };
    };
    return {
      perSecond,
      perServerCpuSecond,
      cpuUsPerHandshake,
      resumedShare,
      redisVsMemory: ratio(perServerCpuSecond),
      redisVsMemoryWallClock: ratio(perSecond),
      skipped,
      placement,
      rounds,
      roundMs,
    };
  } finally {
    if (pin !== undefined)
      spawnSync('taskset', ['-p', '-c', `0-${cpus().length - 1}`, String(process.pid)], { stdio: 'ignore' });
    await Promise.all([...members.values()].map((m) => m.stop()));
    await redis?.dispose();
    await rm(dir, { recursive: true, force: true });
  }
}

if (isMain(import.meta.url)) {
  const at = process.argv.indexOf('--serve');
  if (at > 0) {
    await serve(process.argv[at + 1] as Kind);
  } else {
    const r = await run({ quick: process.argv.includes('--quick') });
    console.log(
      `resumed handshakes, ${CONCURRENCY} connections at a time (median of ${r.rounds} rounds of ${r.roundMs} ms; ${r.placement})`,
    );
    console.log(`  ${'store'.padEnd(18)} ${VERSIONS.map((v) => `${v} per s / per server CPU s`.padEnd(34)).join('')}`);
    for (const [kind, rates] of Object.entries(r.perSecond)) {
      const cap = r.perServerCpuSecond[kind as Kind]!;
      const share = r.resumedShare[kind as Kind]!;
      console.log(
        `  ${kind.padEnd(18)} ${VERSIONS.map((v) => `${fmtRate(rates[v]).padStart(6)} / ${fmtRate(cap[v]).padStart(6)} (${(share[v] * 100).toFixed(0)} % resumed)`.padEnd(34)).join('')}`,
      );
    }
    for (const [kind, why] of Object.entries(r.skipped)) console.log(`  ${kind}: skipped (${why})`);
    if (r.redisVsMemory && r.redisVsMemoryWallClock) {
      const fmt = (x: Record<Version, number>) => VERSIONS.map((v) => `${v} ${x[v].toFixed(2)}`).join(', ');
      console.log(`  RedisStore / MemoryStore, server capacity: ${fmt(r.redisVsMemory)}`);
      console.log(`  RedisStore / MemoryStore, wall clock: ${fmt(r.redisVsMemoryWallClock)}`);
    }
    console.log(JSON.stringify(r));
  }
}
