/**
 * Connections per second through `ClientSessionStore.connect` against bare `tls.connect` with
 * the session held by hand, in one run, against a local Node TLS server in a child process (so
 * the server's work does not share the client's event loop). Also reports the client's CPU time
 * per connection, which the load of other processes on the machine disturbs less than a rate.
 *
 * Connections alternate one by one between the contenders (ABBA), and each is timed alone
 * (wall clock and this process's CPU time), so that load from other processes falls on both
 * alike. Connections per second = 1 / (trimmed) mean connection time.
 *
 * Both contenders do the same handshakes: under TLS 1.2 both reuse one session; under TLS 1.3
 * the bare client keeps its tickets in an array and uses each once, newest first, as the store
 * does (a Node server sends two tickets after a full handshake and none after a resumption, so
 * both see full, resumed, resumed, full...). The difference is the store's own cost: domain key,
 * store lookup and write, session checks. Goal: under 3 %.
 *
 * Run: `npx tsx bench/client-connect.ts [--quick]`; prints a table, then one JSON line.
 * `--instructions` counts the client's instructions per connection under callgrind instead.
 */
import { execFile, spawn } from 'node:child_process';
import { once } from 'node:events';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { promisify } from 'node:util';
import * as tls from 'node:tls';
import { fileURLToPath } from 'node:url';
import { ClientSessionStore } from '../src/index.js';
import { readCounted } from './lib/callgrind.js';
import { benchCert } from './lib/cert.js';
import { isMain } from './lib/measure.js';

type Version = 'TLSv1.2' | 'TLSv1.3';
const execFileP = promisify(execFile);

export interface ClientConnectScenario {
  version: Version;
  storePerSecond: number;
  barePerSecond: number;
  /** 1 - store / bare: the share of throughput the store costs. Goal: < 0.03. */
  overhead: number;
  /** Client CPU time per connection, µs (user + system, this process). */
  storeCpuMicros: number;
  bareCpuMicros: number;
  /** store / bare - 1 in client CPU time per connection. */
  cpuOverhead: number;
  /** Share of connections that resumed, per contender (they should match). */
  storeResumed: number;
  bareResumed: number;
}

export interface ClientConnectResult {
  name: 'client-connect';
  scenarios: ClientConnectScenario[];
  /** The largest overhead over the scenarios. */
  overhead: number;
  goal: 0.03;
}

const SERVER_SOURCE = `
const tls = require('node:tls');
const server = tls.createServer(JSON.parse(process.env.BENCH_TLS_OPTIONS), (socket) => {
  socket.on('error', () => {});
  // After the tickets are out (they follow the handshake), answer and close cleanly.
  setImmediate(() => socket.end('ok\\n'));
});
server.on('tlsClientError', () => {});
server.listen(0, '127.0.0.1', () => console.log(server.address().port));
process.stdin.on('end', () => process.exit(0));
process.stdin.resume();
`;

async function startServer(version: Version): Promise<{ port: number; stop(): Promise<void> }> {
  const { key, cert } = await benchCert('ecdsa');
  const child = spawn(process.execPath, ['-e', SERVER_SOURCE], {
    env: { ...process.env, BENCH_TLS_OPTIONS: JSON.stringify({ key, cert, minVersion: version, maxVersion: version }) },
    stdio: ['pipe', 'pipe', 'inherit'],
  });
  const exited = once(child, 'exit');
  const [line] = (await Promise.race([once(child.stdout, 'data'), exited.then(() => [''])])) as [Buffer | string];
  const port = Number(String(line).trim());
  if (!(port > 0)) throw new Error('bench TLS server did not start');
  return {
    port,
    stop: async () => {
      child.stdin.end();
      await exited;
    },
  };
}

/** Reads the connection to its end; resolves whether it resumed. */
function finish(socket: tls.TLSSocket): Promise<boolean> {
  return new Promise((resolve, reject) => {
    let reused = false;
    socket.once('secureConnect', () => {
      reused = socket.isSessionReused();
    });
    socket.once('error', reject);
    socket.once('close', () => resolve(reused));
    socket.resume();
  });
}

interface Contenders {
  bareOne(): Promise<boolean>;
  storeOne(): Promise<boolean>;
  close(): Promise<void>;
}

async function contenders(version: Version): Promise<Contenders> {
  const server = await startServer(version);
  const { cert } = await benchCert('ecdsa');
  const options: tls.ConnectionOptions = { host: '127.0.0.1', port: server.port, servername: 'localhost', ca: cert };
  const store = new ClientSessionStore();
  // Bare client: one TLS 1.2 session, reused; TLS 1.3 tickets used once, newest first.
  const held: Buffer[] = [];
  const bareOne = async () => {
    const session = version === 'TLSv1.3' ? held.pop() : held[0];
    const socket = tls.connect(session === undefined ? options : { ...options, session });
    socket.on('session', (s: Buffer) => {
      if (version === 'TLSv1.2') held[0] = s;
      else if (held.push(s) > 8) held.shift();
    });
    return finish(socket);
  };
  const storeOne = async () => finish(await store.connect(options));
  return {
    bareOne,
    storeOne,
    close: async () => {
      await store.close();
      await server.stop();
    },
  };
}

async function scenario(version: Version, quick: boolean): Promise<ClientConnectScenario> {
  const { bareOne, storeOne, close } = await contenders(version);
  const samples = { store: newSamples(), bare: newSamples() };
  const measure = async (which: 'store' | 'bare') => {
    const one = which === 'store' ? storeOne : bareOne;
    const cpu = process.cpuUsage();
    const start = process.hrtime.bigint();
    const reused = await one();
    const wall = Number(process.hrtime.bigint() - start) / 1000;
    const used = process.cpuUsage(cpu);
    const s = samples[which];
    s.wall.push(wall);
    s.cpu.push(used.user + used.system);
    if (reused) s.resumed++;
  };
  try {
    // Warm up both paths (JIT, first handshakes), then alternate connection by connection
    // (ABBA), so that load from elsewhere on the machine falls on both alike.
    for (let i = 0; i < 60; i++) await measure(i % 2 ? 'store' : 'bare');
    samples.store = newSamples();
    samples.bare = newSamples();
    const pairs = quick ? 150 : 1500;
    for (let i = 0; i < pairs; i++) {
      const order: ('store' | 'bare')[] = i % 2 ? ['store', 'bare'] : ['bare', 'store'];
      for (const which of order) await measure(which);
    }
    const storePerSecond = 1e6 / trimmedMean(samples.store.wall);
    const barePerSecond = 1e6 / trimmedMean(samples.bare.wall);
    const storeCpuMicros = mean(samples.store.cpu);
    const bareCpuMicros = mean(samples.bare.cpu);
    return {
      version,
      storePerSecond,
      barePerSecond,
      overhead: 1 - storePerSecond / barePerSecond,
      storeCpuMicros,
      bareCpuMicros,
      cpuOverhead: storeCpuMicros / bareCpuMicros - 1,
      storeResumed: samples.store.resumed / samples.store.wall.length,
      bareResumed: samples.bare.resumed / samples.bare.wall.length,
    };
  } finally {
    await close();
  }
}

/** Client instructions per connection, per contender, counted under callgrind after a warm-up. */
export interface ClientInstructionCounts {
  version: Version;
  perConnection: { store: number; bare: number };
  /** Of those, the ones spent in V8's garbage collector (bench/lib/callgrind.ts says why they are apart). */
  collectorPerConnection: { store: number; bare: number };
  resumedShare: { store: number; bare: number };
}

/**
 * Counts the instructions this client executes per connection (valgrind's callgrind, counting
 * switched on only after `warm` connections), for each contender in a process of its own
 * under valgrind; the TLS server runs outside valgrind. Counts do not depend on the machine's
 * load, unlike the rates.
 */
export async function countClientInstructions(
  opts: { warm?: number; n?: number } = {},
): Promise<ClientInstructionCounts[]> {
  const warm = opts.warm ?? Number(process.env['BENCH_WARM'] ?? 3000);
  const n = opts.n ?? Number(process.env['BENCH_N'] ?? 1000);
  const dir = await mkdtemp(join(tmpdir(), 'client-connect-cg-'));
  const out: ClientInstructionCounts[] = [];
  try {
    for (const version of ['TLSv1.2', 'TLSv1.3'] as const) {
      const row: ClientInstructionCounts = {
        version,
        perConnection: { store: 0, bare: 0 },
        collectorPerConnection: { store: 0, bare: 0 },
        resumedShare: { store: 0, bare: 0 },
      };
      for (const kind of ['bare', 'store'] as const) {
        const file = join(dir, `${version}-${kind}.out`);
        const child = spawn(
          'valgrind',
          [
            '--tool=callgrind',
            '--instr-atstart=no',
            `--callgrind-out-file=${file}`,
            process.execPath,
            ...process.execArgv,
            fileURLToPath(import.meta.url),
            '--instructions-child',
            version,
            kind,
            String(warm),
          ],
          { stdio: ['pipe', 'pipe', 'ignore'] },
        );
        const exited = once(child, 'exit');
        const lines = createInterface({ input: child.stdout! });
        const next = () => Promise.race([once(lines, 'line').then(([l]) => l as string), exited.then(() => '')]);
        if ((await next()) !== 'ready')
          throw new Error(`client-connect ${version} ${kind} under callgrind did not start`);
        await execFileP('callgrind_control', ['-i', 'on', String(child.pid)]);
        child.stdin!.write(`${n}\n`);
        const reused = Number(await next());
        await execFileP('callgrind_control', ['-d', String(child.pid)]);
        child.stdin!.end();
        await exited;
        const counted = await readCounted(dir, `${version}-${kind}.out.`);
        if (!(counted.total > 0)) throw new Error(`callgrind wrote no count for the ${kind} client`);
        row.perConnection[kind] = counted.total / n;
        row.collectorPerConnection[kind] = counted.collector / n;
        row.resumedShare[kind] = reused / n;
      }
      out.push(row);
    }
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
  return out;
}

/** The process counted by {@link countClientInstructions}: warms up, then runs `n` connections per stdin line. */
async function instructionsChild(version: Version, kind: 'bare' | 'store', warm: number): Promise<void> {
  const c = await contenders(version);
  const one = kind === 'store' ? c.storeOne : c.bareOne;
  for (let i = 0; i < warm; i++) await one();
  process.stdout.write('ready\n');
  for await (const line of createInterface({ input: process.stdin })) {
    let reused = 0;
    for (let i = 0; i < Number(line); i++) if (await one()) reused++;
    process.stdout.write(`${reused}\n`);
  }
  await c.close();
}

function newSamples() {
  return { wall: [] as number[], cpu: [] as number[], resumed: 0 };
}

function mean(xs: readonly number[]): number {
  return xs.reduce((a, b) => a + b, 0) / xs.length;
}

/** Mean without the lowest and highest 5 % (a process descheduled mid-connection). */
function trimmedMean(xs: readonly number[]): number {
  const sorted = [...xs].sort((a, b) => a - b);
  const cut = Math.floor(sorted.length * 0.05);
  return mean(sorted.slice(cut, sorted.length - cut));
}

/**
 * Runs each scenario in a fresh process: run after another in the same process, a scenario's
 * numbers shift by several percent (code optimized for the first protocol's paths).
 */
export async function run({ quick = false }: { quick?: boolean } = {}): Promise<ClientConnectResult> {
  const scenarios: ClientConnectScenario[] = [];
  for (const version of ['TLSv1.2', 'TLSv1.3'] as const) scenarios.push(await scenarioInChild(version, quick));
  return { name: 'client-connect', scenarios, overhead: Math.max(...scenarios.map((s) => s.overhead)), goal: 0.03 };
}

async function scenarioInChild(version: Version, quick: boolean): Promise<ClientConnectScenario> {
  const args = [...process.execArgv, fileURLToPath(import.meta.url), '--scenario', version];
  if (quick) args.push('--quick');
  const child = spawn(process.execPath, args, { stdio: ['ignore', 'pipe', 'inherit'] });
  let out = '';
  child.stdout.setEncoding('utf8');
  child.stdout.on('data', (chunk: string) => {
    out += chunk;
  });
  const [code] = (await once(child, 'exit')) as [number | null];
  if (code !== 0) throw new Error(`client-connect ${version} scenario failed (exit ${code})`);
  return JSON.parse(out.trim().split('\n').at(-1) ?? '') as ClientConnectScenario;
}

if (isMain(import.meta.url) && process.argv.includes('--instructions-child')) {
  const [version, kind, warm] = process.argv.slice(process.argv.indexOf('--instructions-child') + 1) as [
    Version,
    'bare' | 'store',
    string,
  ];
  await instructionsChild(version, kind, Number(warm));
  process.exit(0);
} else if (isMain(import.meta.url) && process.argv.includes('--instructions')) {
  for (const r of await countClientInstructions()) {
    const { store, bare } = r.perConnection;
    const gc = r.collectorPerConnection;
    console.log(
      `${r.version}: client instructions per connection: store.connect ${store.toFixed(0)}, bare ${bare.toFixed(0)}, ratio ${(store / bare).toFixed(4)}; ` +
        `outside the collector ${(store - gc.store).toFixed(0)} / ${(bare - gc.bare).toFixed(0)}, ratio ${((store - gc.store) / (bare - gc.bare)).toFixed(4)} ` +
        `(resumed ${(r.resumedShare.store * 100).toFixed(0)} % / ${(r.resumedShare.bare * 100).toFixed(0)} %)`,
    );
  }
} else if (isMain(import.meta.url)) {
  const quick = process.argv.includes('--quick');
  const only = process.argv[process.argv.indexOf('--scenario') + 1];
  if (process.argv.includes('--scenario') && (only === 'TLSv1.2' || only === 'TLSv1.3')) {
    console.log(JSON.stringify(await scenario(only, quick)));
  } else {
    const r = await run({ quick });
    console.log('connections/s, store.connect vs bare tls.connect with the session held by hand');
    for (const s of r.scenarios) {
      const pct = (x: number) => `${(x * 100).toFixed(1)} %`;
      console.log(
        `  ${s.version}  store ${s.storePerSecond.toFixed(0)}/s  bare ${s.barePerSecond.toFixed(0)}/s  overhead ${pct(s.overhead)}  ` +
          `client CPU ${s.storeCpuMicros.toFixed(0)} / ${s.bareCpuMicros.toFixed(0)} µs per connection (${pct(s.cpuOverhead)})  ` +
          `resumed ${pct(s.storeResumed)} / ${pct(s.bareResumed)}`,
      );
    }
    console.log(`  worst overhead ${(r.overhead * 100).toFixed(1)} % (goal: < 3 %)`);
    console.log(JSON.stringify(r));
  }
}
