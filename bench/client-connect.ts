/**
 * Connections per second through `ClientSessionStore.connect` against bare `tls.connect` with
 * the session held by hand, in one run, against a local Node TLS server in a child process (so
 * the server's work does not share the client's event loop). Also reports the client's CPU time
 * per connection, which the load of other processes on the machine disturbs less than a rate.
 *
 * Both contenders do the same handshakes: under TLS 1.2 both reuse one session; under TLS 1.3
 * the bare client keeps its tickets in an array and uses each once, newest first, as the store
 * does (a Node server sends two tickets after a full handshake and none after a resumption, so
 * both see full, resumed, resumed, full...). The difference is the store's own cost: domain key,
 * store lookup and write, session checks. Goal: under 3 %.
 *
 * Run: `npx tsx bench/client-connect.ts [--quick]`; prints a table, then one JSON line.
 */
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import * as tls from 'node:tls';
import { ClientSessionStore } from '../src/index.js';
import { benchCert } from './lib/cert.js';
import { compareRates, isMain } from './lib/measure.js';

type Version = 'TLSv1.2' | 'TLSv1.3';

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

async function scenario(version: Version, quick: boolean): Promise<ClientConnectScenario> {
  const server = await startServer(version);
  const { cert } = await benchCert('ecdsa');
  const options: tls.ConnectionOptions = { host: '127.0.0.1', port: server.port, servername: 'localhost', ca: cert };
  const store = new ClientSessionStore();
  // Per contender: connections, resumed connections, client CPU µs.
  const counts = { store: [0, 0, 0], bare: [0, 0, 0] };

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

  const tally = async (which: 'store' | 'bare', one: () => Promise<boolean>, n: number) => {
    const c = counts[which];
    const cpu = process.cpuUsage();
    for (let i = 0; i < n; i++) {
      const reused = await one();
      c[0]!++;
      if (reused) c[1]!++;
    }
    const used = process.cpuUsage(cpu);
    c[2]! += used.user + used.system;
  };
  try {
    // Warm up both paths (JIT, first handshakes) before measuring.
    await tally('store', storeOne, 20);
    await tally('bare', bareOne, 20);
    counts.store = [0, 0, 0];
    counts.bare = [0, 0, 0];
    const rates = await compareRates(
      {
        bare: (n) => tally('bare', bareOne, n),
        store: (n) => tally('store', storeOne, n),
      },
      { rounds: quick ? 3 : 9, roundMs: quick ? 400 : 1500, batch: 6 },
    );
    const storePerSecond = rates['store']!.perSecond;
    const barePerSecond = rates['bare']!.perSecond;
    const storeCpuMicros = counts.store[2]! / counts.store[0]!;
    const bareCpuMicros = counts.bare[2]! / counts.bare[0]!;
    return {
      version,
      storePerSecond,
      barePerSecond,
      overhead: 1 - storePerSecond / barePerSecond,
      storeCpuMicros,
      bareCpuMicros,
      cpuOverhead: storeCpuMicros / bareCpuMicros - 1,
      storeResumed: counts.store[1]! / counts.store[0]!,
      bareResumed: counts.bare[1]! / counts.bare[0]!,
    };
  } finally {
    await store.close();
    await server.stop();
  }
}

export async function run({ quick = false }: { quick?: boolean } = {}): Promise<ClientConnectResult> {
  const scenarios: ClientConnectScenario[] = [];
  for (const version of ['TLSv1.2', 'TLSv1.3'] as const) scenarios.push(await scenario(version, quick));
  return { name: 'client-connect', scenarios, overhead: Math.max(...scenarios.map((s) => s.overhead)), goal: 0.03 };
}

if (isMain(import.meta.url)) {
  const r = await run({ quick: process.argv.includes('--quick') });
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
