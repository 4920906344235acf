/**
 * Full and resumed handshakes per second of a Node server whose tickets come from a
 * TicketKeyRing (four keys), against the same server with Node's single `ticketKeys`, in one
 * run. Each server runs in a process of its own (bench/tickets-child.ts); a Node client makes
 * sequential connections (full, or offering the newest ticket), alternating between the two
 * servers connection by connection, so that other load on the machine hits both alike. Rates
 * are 1 / median connection time; the servers' CPU time per handshake is reported beside.
 * Goal: the ring less than 3% slower. Run: `npx tsx bench/tickets-ring.ts [--quick] [--connections N]`.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { once } from 'node:events';
import { createInterface } from 'node:readline';
import { connect, createServer } from 'node:tls';
import type { TicketContext } from '../src/node/ticket-key-callback.js';
import { TicketKeyRing } from '../src/tickets/index.js';
import { benchCert } from './lib/cert.js';
import { fmtRate, isMain, median } from './lib/measure.js';

const CHILD = new URL('./tickets-child.ts', import.meta.url).pathname;

type Mode = 'single' | 'ring';
type Version = 'TLSv1.2' | 'TLSv1.3';
type Kind = 'full' | 'resumed';

export interface TicketsRingRow {
  version: Version;
  kind: Kind;
  client: string;
  /** Sequential handshakes per second with Node's single key: 1 / median connection time. */
  single: number;
  /** Sequential handshakes per second with the ring: 1 / median connection time. */
  ring: number;
  /** ring / single; the goal is above 0.97. */
  ratio: number;
  /** Server CPU time per handshake in microseconds, over the whole run of the case. */
  cpuUsPerHandshake: { single: number; ring: number };
  /** single CPU per handshake / ring CPU per handshake: the same goal, above 0.97. */
  cpuRatio: number;
  /** Share of the ring's connections that resumed (resumed rows). */
  resumedShare: number;
  /** Connections made to each server. */
  connections: number;
}

export interface TicketsRingResult {
  name: 'tickets-ring';
  rows: TicketsRingRow[];
  /**
   * Time the ring's JavaScript callback takes per ticket, called in a loop (without Node's
   * native call into JavaScript around it): the part of the cost that does not depend on load.
   */
  callbackNs: { encrypt: number; decrypt: number };
}

/** ns per call of the ring's callback, as Node calls it (`this` = the native context). */
async function callbackCost(
  creds: { key: string; cert: string },
  calls: number,
): Promise<{ encrypt: number; decrypt: number }> {
  const server = createServer(creds);
  const ring = new TicketKeyRing();
  await ring.rotate();
  ring.attach(server);
  try {
    const ctx = (server as unknown as { _sharedCreds: { context: TicketContext } })._sharedCreds.context;
    const cb = ctx.onticketkeycallback!;
    const name = Buffer.from(ring.currentName!, 'hex');
    const iv = Buffer.alloc(16);
    const time = (encrypt: boolean): number => {
      for (let i = 0; i < 10_000; i++) cb.call(ctx, Buffer.from(name), iv, encrypt);
      const t0 = process.hrtime.bigint();
      // Node hands the callback a fresh copy of the name each time: so does this loop.
      for (let i = 0; i < calls; i++) cb.call(ctx, Buffer.from(name), iv, encrypt);
      return Number(process.hrtime.bigint() - t0) / calls;
    };
    return { encrypt: time(true), decrypt: time(false) };
  } finally {
    await ring.close();
  }
}

interface Server {
  port: number;
  /** Server CPU time (µs) and handshakes so far. */
  cpu(): Promise<[number, number]>;
  stop(): Promise<void>;
}

async function startServer(mode: Mode, creds: { key: string; cert: string }): Promise<Server> {
  const child: ChildProcess = spawn(process.execPath, ['--import', 'tsx', CHILD, mode], {
    stdio: ['pipe', 'pipe', 'inherit'],
  });
  const exited = once(child, 'exit');
  child.stdin!.write(`${JSON.stringify(creds)}\n`);
  const lines = createInterface({ input: child.stdout! });
  const first = await Promise.race([once(lines, 'line'), exited.then(() => [undefined])]);
  const port = Number((first as [string | undefined])[0]);
  if (!(port > 0)) throw new Error(`tickets-child ${mode} did not start`);
  return {
    port,
    async cpu() {
      child.stdin!.write('cpu\n');
      const [line] = (await once(lines, 'line')) as [string];
      const [us, n] = line.split(' ').map(Number) as [number, number];
      return [us, n];
    },
    async stop() {
      child.stdin!.end();
      const timer = setTimeout(() => child.kill('SIGKILL'), 3000);
      await exited;
      clearTimeout(timer);
    },
  };
}

/** One sequential connection: its duration in ms and whether it resumed; keeps the newest ticket. */
async function connectOnce(
  port: number,
  version: Version,
  state: { session?: Buffer },
  resume: boolean,
): Promise<[number, boolean]> {
  const t0 = process.hrtime.bigint();
  const session = resume ? state.session : undefined;
  const c = connect({
    host: '127.0.0.1',
    port,
    rejectUnauthorized: false,
    minVersion: version,
    maxVersion: version,
    ...(session === undefined ? {} : { session }),
  });
  c.on('session', (s: Buffer) => {
    state.session = s;
  });
  const closed = once(c, 'close');
  await once(c, 'secureConnect');
  const reused = c.isSessionReused();
  c.end('GET / HTTP/1.0\r\n\r\n');
  c.resume();
  await closed;
  return [Number(process.hrtime.bigint() - t0) / 1e6, reused];
}

/** `connections`: per server and case (default 1500, quick 100). */
export async function run({
  quick = false,
  connections,
}: {
  quick?: boolean;
  connections?: number;
} = {}): Promise<TicketsRingResult> {
  const creds = await benchCert('ecdsa');
  const servers = {} as Record<Mode, Server>;
  try {
    servers.single = await startServer('single', creds);
    servers.ring = await startServer('ring', creds);
    const perServer = connections ?? (quick ? 100 : 1500);
    const rows: TicketsRingRow[] = [];
    const cases: Array<[Version, Kind]> = [
      ['TLSv1.2', 'full'],
      ['TLSv1.2', 'resumed'],
      ['TLSv1.3', 'full'],
      ['TLSv1.3', 'resumed'],
    ];
    for (const [version, kind] of cases) {
      const state: Record<Mode, { session?: Buffer }> = { single: {}, ring: {} };
      const ms: Record<Mode, number[]> = { single: [], ring: [] };
      const reused: Record<Mode, number> = { single: 0, ring: 0 };
      const resume = kind === 'resumed';
      // Warm-up, and a first ticket from each server.
      for (let i = 0; i < 20; i++)
        for (const m of ['single', 'ring'] as const) await connectOnce(servers[m].port, version, state[m], resume);
      const cpu0 = { single: await servers.single.cpu(), ring: await servers.ring.cpu() };
      // Connections alternate between the two servers, so that whatever else the machine does
      // hits both alike; the order within each pair alternates too.
      for (let i = 0; i < perServer; i++) {
        const order: Mode[] = i % 2 === 0 ? ['single', 'ring'] : ['ring', 'single'];
        for (const m of order) {
          const [d, r] = await connectOnce(servers[m].port, version, state[m], resume);
          ms[m].push(d);
          if (r) reused[m]++;
        }
      }
      const cpu1 = { single: await servers.single.cpu(), ring: await servers.ring.cpu() };
      const cpuUs = (m: Mode) => (cpu1[m][0] - cpu0[m][0]) / Math.max(1, cpu1[m][1] - cpu0[m][1]);
      const single = 1000 / median(ms.single);
      const ring = 1000 / median(ms.ring);
      const cpu = { single: cpuUs('single'), ring: cpuUs('ring') };
      rows.push({
        version,
        kind,
        client: `Node tls.connect, sequential${resume ? ', newest ticket' : ''}`,
        single,
        ring,
        ratio: ring / single,
        cpuUsPerHandshake: cpu,
        cpuRatio: cpu.single / cpu.ring,
        resumedShare: resume ? reused.ring / perServer : 0,
        connections: perServer,
      });
    }
    return { name: 'tickets-ring', rows, callbackNs: await callbackCost(creds, quick ? 100_000 : 1_000_000) };
  } finally {
    await Promise.all(Object.values<Server>(servers).map((s) => s.stop()));
  }
}

if (isMain(import.meta.url)) {
  const at = process.argv.indexOf('--connections');
  const connections = at > 0 ? Number(process.argv[at + 1]) : undefined;
  const r = await run({ quick: process.argv.includes('--quick'), ...(connections ? { connections } : {}) });
  console.log('handshakes/s: TicketKeyRing (4 keys) vs Node single ticketKeys, same run');
  for (const x of r.rows) {
    const share = x.kind === 'resumed' ? `, ${(x.resumedShare * 100).toFixed(0)}% resumed` : '';
    console.log(
      `${x.version} ${x.kind.padEnd(7)} single ${fmtRate(x.single).padStart(6)}/s  ring ${fmtRate(x.ring).padStart(6)}/s  ratio ${x.ratio.toFixed(3)}; server CPU ${x.cpuUsPerHandshake.single.toFixed(0)} vs ${x.cpuUsPerHandshake.ring.toFixed(0)} µs/handshake, ratio ${x.cpuRatio.toFixed(3)} (${x.client}${share})`,
    );
  }
  console.log(
    `ring callback (JavaScript part): ${r.callbackNs.encrypt.toFixed(0)} ns to encrypt, ${r.callbackNs.decrypt.toFixed(0)} ns to decrypt`,
  );
}
