import type { SessionStore } from './session-store.js';
import { SessionStoreError } from './store-error.js';
import { IMMEDIATE_STORE, type ImmediateStore } from './immediate-store.js';
import { STORE_TRAITS, type StoreTraits } from './store-traits.js';
import { OptionChecks } from '../util/options.js';
import { bufferView } from '../util/bytes.js';

const check = new OptionChecks('MemoryStore', (message) => new SessionStoreError('ERR_STORE_OPTION', message));

/** Options of {@link MemoryStore}. */
export interface MemoryStoreOptions {
  /**
   * Most keys held (single values and stacks together); when full, the least recently written
   * key goes first. Default 20480, OpenSSL's default session cache size.
   */
  maxEntries?: number;
  /** Clock in milliseconds, for tests. Default `Date.now`. */
  now?: () => number;
}

/** One value of a stack (client-side: a few per key, so an object each is fine). */
interface StackEntry {
  value: Uint8Array;
  expiresAtMs: number;
}

/**
 * A single value: its bytes then its expiry (float64, little-endian), as one Latin-1 string.
 * A server cache holds many thousands of these; a string costs its bytes and a 16-byte header,
 * where an object holding a Buffer costs about 200 bytes before the value's own bytes.
 */
type Packed = string;

// A full store looks for expired entries at most this often; in between it drops the least
// recently written key, so a write into a full store stays O(1).
const SWEEP_INTERVAL_MS = 1000;

/**
 * The default {@link SessionStore}: a bounded, expiry-aware map in this process. Values are
 * copied in and out, so callers can wipe their buffers freely. No timers: expired entries are
 * dropped when met and when the store is full.
 */
export class MemoryStore implements SessionStore, ImmediateStore {
  /** Entries stay in this process. */
  readonly [STORE_TRAITS]: StoreTraits = { persistent: false, sealed: false };
  /**
   * In this process, so it answers at once: the server cache calls it without promises. Not
   * offered by a subclass that changes `get`, `take` or `set`: its answers are those methods'.
   */
  get [IMMEDIATE_STORE](): ImmediateStore | undefined {
    const own = MemoryStore.prototype;
    return this.get === own.get && this.take === own.take && this.set === own.set ? this : undefined;
  }
  readonly #max: number;
  readonly #now: () => number;
  // One Map for both kinds keeps the bound and the eviction order in one place.
  readonly #map = new Map<string, Packed | StackEntry[]>();
  #closed = false;
  #lastSweep = Number.NEGATIVE_INFINITY;

  constructor(options: MemoryStoreOptions = {}) {
    const o = check.object(options);
    this.#max = check.integer(o.maxEntries, 'maxEntries', 20480, 1, Number.MAX_SAFE_INTEGER);
    this.#now = check.func(o.now, 'now') ?? Date.now;
  }

  /** Number of keys held (expired ones included until they are met). */
  get size(): number {
    return this.#map.size;
  }

  async get(key: Uint8Array): Promise<Uint8Array | undefined> {
    return this.getNow(key);
  }

  async set(key: Uint8Array, value: Uint8Array, ttlMs: number): Promise<void> {
    this.setNow(key, value, ttlMs);
  }

  async take(key: Uint8Array): Promise<Uint8Array | undefined> {
    return this.takeNow(key);
  }

  /** {@link get}, answered at once. */
  getNow(key: Uint8Array): Uint8Array | undefined {
    const k = keyOf(key);
    const e = this.#map.get(k);
    if (typeof e !== 'string') return undefined;
    if (expiryOf(e) <= this.#now()) {
      this.#map.delete(k);
      return undefined;
    }
    return unpack(e);
  }

  /** {@link set}, done at once; throws where `set` rejects. */
  setNow(key: Uint8Array, value: Uint8Array, ttlMs: number): void {
    this.#open();
    const k = keyOf(key);
    this.#map.delete(k); // re-insert: most recent write last
    if (ttlMs <= 0) return;
    this.#map.set(k, pack(value, this.#now() + ttlMs));
    this.#bound();
  }

  /** {@link take}, answered at once. */
  takeNow(key: Uint8Array): Uint8Array | undefined {
    const k = keyOf(key);
    const e = this.#map.get(k);
    if (typeof e !== 'string') return undefined;
    this.#map.delete(k);
    return expiryOf(e) > this.#now() ? unpack(e) : undefined;
  }

  async delete(key: Uint8Array): Promise<boolean> {
    return this.#map.delete(keyOf(key));
  }

  async push(key: Uint8Array, value: Uint8Array, ttlMs: number, max: number): Promise<void> {
    this.#open();
    if (ttlMs <= 0 || max < 1) return;
    const k = keyOf(key);
    const old = this.#map.get(k);
    const now = this.#now();
    const stack = Array.isArray(old) ? old.filter((e) => e.expiresAtMs > now) : [];
    stack.push({ value: copy(value), expiresAtMs: now + ttlMs });
    if (stack.length > max) stack.splice(0, stack.length - max);
    this.#map.delete(k);
    this.#map.set(k, stack);
    this.#bound();
  }

  async pop(key: Uint8Array): Promise<Uint8Array | undefined> {
    const k = keyOf(key);
    const stack = this.#map.get(k);
    if (!Array.isArray(stack)) return undefined;
    const now = this.#now();
    let found: Uint8Array | undefined;
    while (stack.length > 0 && found === undefined) {
      const e = stack.pop()!;
      if (e.expiresAtMs > now) found = e.value;
    }
    if (stack.length === 0) this.#map.delete(k);
    return found;
  }

  async clear(): Promise<void> {
    this.#map.clear();
  }

  async close(): Promise<void> {
    this.#map.clear();
    this.#closed = true;
  }

  #open(): void {
    if (this.#closed) throw new SessionStoreError('ERR_STORE_CLOSED', 'MemoryStore: the store is closed');
  }

  /**
   * Drops expired entries first (a sweep at most every second), then the least recently
   * written, until within bounds.
   */
  #bound(): void {
    if (this.#map.size <= this.#max) return;
    const now = this.#now();
    if (now - this.#lastSweep >= SWEEP_INTERVAL_MS) {
      this.#lastSweep = now;
      for (const [k, e] of this.#map) {
        const live = typeof e === 'string' ? expiryOf(e) > now : e.some((x) => x.expiresAtMs > now);
        if (!live) this.#map.delete(k);
      }
    }
    for (const k of this.#map.keys()) {
      if (this.#map.size <= this.#max) return;
      this.#map.delete(k);
    }
  }
}

function keyOf(key: Uint8Array): string {
  const b = bufferView(key);
  return b.toString('latin1');
}

// A Buffer copy: about three times faster than Uint8Array.prototype.slice, whose species
// lookup dominates the cost of a get.
function copy(b: Uint8Array): Uint8Array {
  const c = Buffer.allocUnsafe(b.byteLength);
  c.set(b);
  return c;
}

const EXPIRY_BYTES = 8;
// Scratch for packing and for reading an expiry back; a store runs on one thread.
let scratch = Buffer.allocUnsafeSlow(512);
const expiryBytes = new Uint8Array(EXPIRY_BYTES);
const expiryView = new DataView(expiryBytes.buffer);

function pack(value: Uint8Array, expiresAtMs: number): Packed {
  const n = value.byteLength;
  if (scratch.length < n + EXPIRY_BYTES) scratch = Buffer.allocUnsafeSlow(n + EXPIRY_BYTES);
  scratch.set(value);
  scratch.writeDoubleLE(expiresAtMs, n);
  return scratch.toString('latin1', 0, n + EXPIRY_BYTES);
}

function expiryOf(p: Packed): number {
  const at = p.length - EXPIRY_BYTES;
  for (let i = 0; i < EXPIRY_BYTES; i++) expiryBytes[i] = p.charCodeAt(at + i);
  return expiryView.getFloat64(0, true);
}

/** A fresh Buffer with the value's bytes: the caller owns it. */
function unpack(p: Packed): Buffer {
  const n = p.length - EXPIRY_BYTES;
  const out = Buffer.allocUnsafe(n);
  out.write(p, 0, n, 'latin1');
  return out;
}
