/**
 * Raw store operations per second: `set`, `get` and `take` of MemoryStore, SqliteStore and
 * RedisStore (loopback redis-server), against the `lru-cache` package as the in-memory
 * baseline, in one run; also MemoryStore sealed by EncryptedStore, to show what sealing costs.
 *
 * lru-cache is measured behind the same SessionStore contract the stores keep (async calls,
 * byte keys, values copied in and out, a TTL per entry), so that the comparison is of the
 * stores' own work. Each round does, per store, N sets of fresh 32-byte keys with 250-byte
 * values (the size of a typical session), N gets of them, then N takes; calls are awaited one
 * by one, as on a handshake path, and timed in chunks of 250; stores alternate round by round
 * (ABBA), and each figure is the median chunk over all rounds, which a GC pause or a burst of
 * load from another process moves little.
 * Goal: MemoryStore at least as fast as lru-cache on each operation.
 *
 * Run: `npx tsx bench/stores-ops.ts [--quick]`; prints a table, then one JSON line.
 */
import { randomBytes } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { LRUCache } from 'lru-cache';
import { EncryptedStore } from '../src/stores/encrypted-store.js';
import { MemoryStore } from '../src/stores/memory-store.js';
import { RedisStore } from '../src/stores/redis-store.js';
import type { SessionStore } from '../src/stores/session-store.js';
import { SqliteStore } from '../src/stores/sqlite-store.js';
import { sqliteSkipReason } from './lib/sqlite.js';
import { redisSkipReason, startRedisServer } from '../test/helpers-redis/redis-server.js';
import { fmtRate, isMain, median } from './lib/measure.js';

export type Op = 'set' | 'get' | 'take';
const IN_MEMORY = new Set(['lru-cache', 'MemoryStore', 'MemoryStore sealed']);
const OPS: Op[] = ['set', 'get', 'take'];

export interface StoresOpsResult {
  /** Operations per second, by store then operation (median of 250-call chunks). */
  perSecond: Record<string, Record<Op, number>>;
  /** MemoryStore / lru-cache, per operation. Goal: >= 1 each. */
  memoryVsLru: Record<Op, number>;
  /** Why a store was left out (e.g. no redis-server). */
  skipped: Record<string, string>;
  opsPerRound: number;
  rounds: number;
}

/** lru-cache behind the SessionStore contract, doing what the stores must: copy bytes, honour TTLs. */
export class LruCacheStore implements SessionStore {
  readonly #lru = new LRUCache<string, Uint8Array>({ max: 20480, ttlAutopurge: false });
  async get(key: Uint8Array): Promise<Uint8Array | undefined> {
    const v = this.#lru.get(keyOf(key));
    return v === undefined ? undefined : copy(v);
  }
  async set(key: Uint8Array, value: Uint8Array, ttlMs: number): Promise<void> {
    this.#lru.set(keyOf(key), copy(value), { ttl: ttlMs });
  }
  async take(key: Uint8Array): Promise<Uint8Array | undefined> {
    const k = keyOf(key);
    const v = this.#lru.get(k);
    if (v !== undefined) this.#lru.delete(k);
    return v;
  }
  async delete(key: Uint8Array): Promise<boolean> {
    return this.#lru.delete(keyOf(key));
  }
  async push(): Promise<void> {
    throw new Error('not measured');
  }
  async pop(): Promise<Uint8Array | undefined> {
    throw new Error('not measured');
  }
  async clear(): Promise<void> {
    this.#lru.clear();
  }
  async close(): Promise<void> {
    this.#lru.clear();
  }
}

// The same key and copy code as MemoryStore's, so that only the map structures differ.
function keyOf(key: Uint8Array): string {
  const b = Buffer.isBuffer(key) ? key : Buffer.from(key.buffer, key.byteOffset, key.byteLength);
  return b.toString('latin1');
}

function copy(b: Uint8Array): Uint8Array {
  const c = Buffer.allocUnsafe(b.byteLength);
  c.set(b);
  return c;
}

const CHUNK = 250;

/**
 * One round on `store`: n sets, n gets, n takes. Each operation is timed in chunks of 250
 * calls; the round yields every chunk's rate, so that the median over all chunks of all rounds
 * stays steady when a GC pause or another process hits one chunk.
 */
export async function round(store: SessionStore, n: number): Promise<Record<Op, number[]>> {
  const keys = Array.from({ length: n }, () => randomBytes(32));
  const value = randomBytes(250);
  const rates = async (fn: (k: Buffer) => Promise<unknown>): Promise<number[]> => {
    const out: number[] = [];
    for (let at = 0; at < n; at += CHUNK) {
      const chunk = keys.slice(at, at + CHUNK);
      const start = process.hrtime.bigint();
      for (const k of chunk) await fn(k);
      out.push((chunk.length * 1e9) / Number(process.hrtime.bigint() - start));
    }
    return out;
  };
  const set = await rates((k) => store.set(k, value, 300_000));
  const get = await rates(async (k) => {
    if ((await store.get(k)) === undefined) throw new Error('bench: a stored value is missing');
  });
  const take = await rates(async (k) => {
    if ((await store.take(k)) === undefined) throw new Error('bench: a stored value is missing');
  });
  return { set, get, take };
}

export async function run({ quick = false }: { quick?: boolean } = {}): Promise<StoresOpsResult> {
  const n = quick ? 1000 : 5000;
  const rounds = quick ? 2 : 9;
  const dir = await mkdtemp(join(tmpdir(), 'bench-stores-'));
  const skipped: Record<string, string> = {};
  const stores: Record<string, SessionStore> = {
    'lru-cache': new LruCacheStore(),
    MemoryStore: new MemoryStore(),
    'MemoryStore sealed': new EncryptedStore(new MemoryStore(), { key: { id: 'bench', key: randomBytes(32) } }),
  };
  const noSqlite = await sqliteSkipReason();
  if (noSqlite === undefined) stores['SqliteStore'] = new SqliteStore({ path: join(dir, 'sessions.db') });
  else skipped['SqliteStore'] = noSqlite;
  const noRedis = redisSkipReason();
  const redis = noRedis === undefined ? await startRedisServer() : undefined;
  try {
    if (redis !== undefined) {
      const store = new RedisStore({ url: redis.url, prefix: 'bench:' });
      await store.ready();
      stores['RedisStore'] = store;
    } else skipped['RedisStore'] = noRedis!;
    const samples: Record<string, Record<Op, number[]>> = {};
    for (const name of Object.keys(stores)) samples[name] = { set: [], get: [], take: [] };
    for (const s of Object.values(stores)) await round(s, 1000); // warm-up
    const names = Object.keys(stores);
    for (let r = 0; r < rounds; r++) {
      // ABBA: the order flips every round, so that drift and GC debts fall on all alike.
      for (const name of r % 2 ? [...names].reverse() : names) {
        // The in-memory stores are fast enough for larger rounds, which steadies their figures.
        const got = await round(stores[name]!, IN_MEMORY.has(name) ? n * 4 : n);
        for (const op of OPS) samples[name]![op].push(...got[op]);
      }
    }
    const perSecond: Record<string, Record<Op, number>> = {};
    for (const [name, s] of Object.entries(samples)) {
      perSecond[name] = { set: median(s.set), get: median(s.get), take: median(s.take) };
    }
    const lru = perSecond['lru-cache']!;
    const mem = perSecond['MemoryStore']!;
    const memoryVsLru = { set: mem.set / lru.set, get: mem.get / lru.get, take: mem.take / lru.take };
    return { perSecond, memoryVsLru, skipped, opsPerRound: n, rounds };
  } finally {
    await Promise.all(Object.values(stores).map((s) => s.close()));
    await redis?.dispose();
    await rm(dir, { recursive: true, force: true });
  }
}

if (isMain(import.meta.url)) {
  const r = await run({ quick: process.argv.includes('--quick') });
  console.log(
    `store operations/s, awaited one by one (${r.opsPerRound} per op and round, median of 250-call chunks over ${r.rounds} rounds)`,
  );
  console.log(`  ${'store'.padEnd(19)} ${OPS.map((o) => o.padStart(8)).join(' ')}`);
  for (const [name, rates] of Object.entries(r.perSecond)) {
    console.log(`  ${name.padEnd(19)} ${OPS.map((o) => fmtRate(rates[o]).padStart(8)).join(' ')}`);
  }
  for (const [name, why] of Object.entries(r.skipped)) console.log(`  ${name}: skipped (${why})`);
  console.log(
    `  MemoryStore / lru-cache: ${OPS.map((o) => `${o} ${r.memoryVsLru[o].toFixed(2)}x`).join(', ')} (goal: >= 1)`,
  );
  console.log(JSON.stringify(r));
}
