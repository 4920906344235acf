/**
 * Memory per cached server session: the heap bytes (V8 heap plus ArrayBuffer backing stores)
 * that 100,000 sessions add to a process whose ServerSessionCache keeps them in the MemoryStore
 * it makes when given no store (whose own bookkeeping serves as the cache's index), or in a
 * SqliteStore (sessions on disk: what stays in the heap is the cache's own index), against the
 * sessions' DER size. Goal: at most 1.5 times the DER (nginx's shared cache: about 250 bytes
 * per session).
 *
 * Sessions enter the way OpenSSL hands them over: `'newSession'` events with a fresh id and a
 * fresh copy of a real server session DER from a loopback handshake. Each store is measured in a
 * process of its own, started with `--expose-gc`, after full collections.
 * Run: `npx tsx bench/session-memory.ts [--quick] [--sessions N]`.
 */
import { spawn } from 'node:child_process';
import { constants, randomBytes } from 'node:crypto';
import { once } from 'node:events';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { connect, createServer, type Server } from 'node:tls';
import { fileURLToPath } from 'node:url';
import { ServerSessionCache } from '../src/server/index.js';
import type { SessionStore } from '../src/stores/session-store.js';
import { SqliteStore } from '../src/stores/sqlite-store.js';
import { benchCert } from './lib/cert.js';
import { isMain } from './lib/measure.js';
import { sqliteSkipReason } from './lib/sqlite.js';

type Kind = 'MemoryStore' | 'SqliteStore';
type Version = 'TLSv1.2' | 'TLSv1.3';

export interface MemoryFigure {
  store: Kind;
  version: Version;
  sessions: number;
  /** Heap bytes (V8 heap + ArrayBuffers) added per session. */
  bytesPerSession: number;
  /** Size of the session's DER. */
  derBytes: number;
}

export interface SessionMemoryResult {
  name: 'session-memory';
  figures: MemoryFigure[];
  skipped: Partial<Record<Kind, string>>;
}

/** One real server session DER of `version` (stateful: SSL_OP_NO_TICKET). */
async function realSession(version: Version): Promise<Buffer> {
  const { key, cert } = await benchCert('ecdsa');
  const server = createServer({
    key,
    cert,
    minVersion: version,
    maxVersion: version,
    secureOptions: constants.SSL_OP_NO_TICKET,
  });
  let der: Buffer | undefined;
  server.on('newSession', (_id: Buffer, d: Buffer, done: () => void) => {
    der ??= Buffer.from(d);
    done();
  });
  server.on('secureConnection', (s) => s.end('ok'));
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  const port = (server.address() as { port: number }).port;
  const c = connect({ port, host: '127.0.0.1', rejectUnauthorized: false, servername: 'www.example.com' });
  c.on('error', () => {});
  c.resume();
  await once(c, 'close');
  server.close();
  if (der === undefined) throw new Error(`no ${version} server session`);
  return der;
}

function heapBytes(): number {
  const gc = (globalThis as { gc?: () => void }).gc;
  if (gc === undefined) throw new Error('run with --expose-gc');
  for (let i = 0; i < 4; i++) gc();
  const m = process.memoryUsage();
  return m.heapUsed + m.arrayBuffers;
}

/** In this process (started with --expose-gc): sessions added per store, bytes per session. */
async function measureHere(kind: Kind, version: Version, n: number): Promise<MemoryFigure> {
  const der = await realSession(version);
  const dir = await mkdtemp(join(tmpdir(), 'bench-memory-'));
  // MemoryStore: the one the cache makes when given no store, whose bookkeeping is the cache's
  // index. SqliteStore: given, so the cache keeps its own index beside it.
  const store: SessionStore | undefined =
    kind === 'MemoryStore' ? undefined : new SqliteStore({ path: join(dir, 'sessions.db') });
  const server: Server = createServer({});
  const cache = new ServerSessionCache({ ...(store === undefined ? {} : { store }), maxSessions: n + 1 }).attach(
    server,
  );
  try {
    // The ids are made as they are handed over: a list made beforehand and dropped before the
    // second reading would be counted against the sessions (about 130 bytes each).
    const before = heapBytes();
    for (let i = 0; i < n; i++) {
      // OpenSSL hands over a fresh id and DER each time; the cache keeps its own copies.
      server.emit('newSession', randomBytes(32), Buffer.from(der), () => {});
      if ((i & 1023) === 1023) await new Promise((r) => setImmediate(r));
    }
    for (let i = 0; i < 10; i++) await new Promise((r) => setImmediate(r));
    const after = heapBytes();
    if (cache.stats().stored !== n) throw new Error(`stored ${cache.stats().stored} of ${n} sessions`);
    return { store: kind, version, sessions: n, bytesPerSession: (after - before) / n, derBytes: der.length };
  } finally {
    await cache.close();
    await store?.close();
    await rm(dir, { recursive: true, force: true });
  }
}

async function measureInChild(kind: Kind, version: Version, n: number): Promise<MemoryFigure> {
  const args = [
    ...process.execArgv,
    '--expose-gc',
    fileURLToPath(import.meta.url),
    '--child',
    kind,
    version,
    String(n),
  ];
  const child = spawn(process.execPath, args, { stdio: ['ignore', 'pipe', 'inherit'] });
  let out = '';
  child.stdout.setEncoding('utf8');
  child.stdout.on('data', (c: string) => {
    out += c;
  });
  const [code] = (await once(child, 'exit')) as [number | null];
  if (code !== 0) throw new Error(`session-memory ${kind} ${version} failed (exit ${code})`);
  return JSON.parse(out.trim().split('\n').at(-1)!) as MemoryFigure;
}

export async function run({
  quick = false,
  sessions,
}: {
  quick?: boolean;
  sessions?: number;
} = {}): Promise<SessionMemoryResult> {
  const n = sessions ?? (quick ? 10_000 : 100_000);
  const figures: MemoryFigure[] = [];
  const skipped: SessionMemoryResult['skipped'] = {};
  const noSqlite = await sqliteSkipReason();
  if (noSqlite !== undefined) skipped.SqliteStore = noSqlite;
  for (const kind of ['MemoryStore', 'SqliteStore'] as const) {
    if (skipped[kind] !== undefined) continue;
    for (const version of ['TLSv1.2', 'TLSv1.3'] as const) figures.push(await measureInChild(kind, version, n));
  }
  return { name: 'session-memory', figures, skipped };
}

if (isMain(import.meta.url)) {
  const at = process.argv.indexOf('--child');
  if (at > 0) {
    const [kind, version, n] = process.argv.slice(at + 1) as [Kind, Version, string];
    process.stdout.write(`${JSON.stringify(await measureHere(kind, version, Number(n)))}\n`);
    process.exit(0);
  }
  const nAt = process.argv.indexOf('--sessions');
  const r = await run({
    quick: process.argv.includes('--quick'),
    ...(nAt > 0 ? { sessions: Number(process.argv[nAt + 1]) } : {}),
  });
  for (const f of r.figures) {
    console.log(
      `${f.store} ${f.version}: ${f.bytesPerSession.toFixed(0)} heap bytes per session over ${f.sessions} (DER ${f.derBytes} bytes, ${(f.bytesPerSession / f.derBytes).toFixed(2)}x)`,
    );
  }
  for (const [k, why] of Object.entries(r.skipped)) console.log(`${k}: skipped (${why})`);
}
