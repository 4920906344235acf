import type { SessionStore } from './session-store.js';
import { SessionStoreError } from './store-error.js';
import { IMMEDIATE_STORE, type ImmediateStore } from './immediate-store.js';
import { STORE_TRAITS, type StoreTraits } from './store-traits.js';
import { OptionChecks } from '../util/options.js';
import { type ArenaEntry, ByteArena } from './byte-arena.js';

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

// A full store looks for expired entries at most this often; in between it drops the least
// recently written key, so a write into a full store stays O(1).
const SWEEP_INTERVAL_MS = 1000;

/**
 * The bookkeeping a server cache that made this store asks of it in place of an index of its
 * own (see `ledgerOf`): the store already knows its keys, their expiry and their write order.
 */
export interface StoreLedger {
  /** Number of keys held, expired ones included. */
  readonly size: number;
  /**
   * Before `key` is written: when it is absent and the store is full, removes the least
   * recently written entries until there is room, and returns them.
   */
  makeRoom(key: Uint8Array): ArenaEntry[] | undefined;
  /** Removes the entry under `key`, expired or not; its expiry, or `undefined` when there was none. */
  forget(key: Uint8Array): number | undefined;
  /** Removes and returns every entry expired at `nowMs`. */
  takeExpired(nowMs: number): ArenaEntry[];
  /** Removes and returns every entry. */
  takeAll(): ArenaEntry[];
  /** The bytes before the id in the keys about to be written: kept once, not in every entry. */
  sharePrefix(prefix: Uint8Array): void;
}

let ledgerOfStore: (store: MemoryStore) => StoreLedger;

/**
 * The default {@link SessionStore}: a bounded, expiry-aware map in this process. Values are
 * copied in and out, so callers can wipe their buffers freely. No timers: expired entries are
 * dropped when met and when the store is full.
 *
 * Entries are records in a few large buffers, not objects: an entry costs its key and value
 * bytes and about 13 more (a server session of 177 DER bytes: about 250 heap bytes in the store
 * a `ServerSessionCache` makes for itself).
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
  // Single values and stacks (a stack is one value: see packStack) in one arena, which keeps
  // the bound and the eviction order in one place.
  readonly #arena = new ByteArena();
  #closed = false;
  #lastSweep = Number.NEGATIVE_INFINITY;
  /** Set by a ledger: expired entries stay until the ledger's owner forgets them (it reports them). */
  #keepExpired = false;

  constructor(options: MemoryStoreOptions = {}) {
    const o = check.object(options);
    this.#max = check.integer(o.maxEntries, 'maxEntries', 20480, 1, Number.MAX_SAFE_INTEGER);
    this.#now = check.func(o.now, 'now') ?? Date.now;
  }

  /** Number of keys held (expired ones included until they are met). */
  get size(): number {
    return this.#arena.size;
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
    const a = this.#arena;
    const slot = a.slotOf(key);
    if (slot < 0) return undefined;
    const value = a.liveValueAt(slot, this.#now());
    if (value === null) {
      if (!this.#keepExpired) a.removeAt(slot);
      return undefined;
    }
    return value;
  }

  /** {@link set}, done at once; throws where `set` rejects. */
  setNow(key: Uint8Array, value: Uint8Array, ttlMs: number): void {
    this.#open();
    if (!(ttlMs > 0)) {
      this.#arena.delete(key);
      return;
    }
    this.#arena.set(key, value, this.#now() + ttlMs);
    this.#bound();
  }

  /** {@link take}, answered at once. */
  takeNow(key: Uint8Array): Uint8Array | undefined {
    const a = this.#arena;
    const slot = a.slotOf(key);
    if (slot < 0) return undefined;
    const value = a.liveValueAt(slot, this.#now());
    if (value === undefined) return undefined;
    // Expired: gone either way, unless a ledger's owner is to report it.
    if (value !== null || !this.#keepExpired) a.removeAt(slot);
    return value ?? undefined;
  }

  async delete(key: Uint8Array): Promise<boolean> {
    return this.#arena.delete(key);
  }

  async push(key: Uint8Array, value: Uint8Array, ttlMs: number, max: number): Promise<void> {
    this.#open();
    if (!(ttlMs > 0) || max < 1) return;
    const a = this.#arena;
    const now = this.#now();
    const slot = a.slotOf(key);
    const old = slot >= 0 && a.isStackAt(slot) ? a.viewAt(slot) : undefined;
    const expiresAtMs = now + ttlMs;
    const packed = packStack(old, now, value, expiresAtMs, max);
    a.set(key, packed.bytes, packed.expiresAtMs, true);
    this.#bound();
  }

  async pop(key: Uint8Array): Promise<Uint8Array | undefined> {
    const a = this.#arena;
    const slot = a.slotOf(key);
    if (slot < 0 || !a.isStackAt(slot)) return undefined;
    const stack = a.viewAt(slot);
    const starts = stackStarts(stack);
    const now = this.#now();
    let found: Buffer | undefined;
    let end = starts.length;
    // Newest first; expired ones on the way are dropped with it.
    while (end > 0 && found === undefined) {
      const at = starts[--end]!;
      if (stack.readDoubleLE(at) > now)
        found = Buffer.from(stack.subarray(at + STACK_ENTRY_HEADER, entryEnd(stack, at)));
    }
    if (end === 0) a.removeAt(slot);
    else {
      // Shrunk in place: a pop is not a write, so the stack keeps its place in the write order.
      stack.writeUInt32LE(starts[end]!, 0);
      let latest = Number.NEGATIVE_INFINITY;
      for (let i = 0; i < end; i++) latest = Math.max(latest, stack.readDoubleLE(starts[i]!));
      a.setExpiryAt(slot, latest);
    }
    return found;
  }

  async clear(): Promise<void> {
    this.#arena.clear();
  }

  async close(): Promise<void> {
    this.#arena.clear();
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
    const a = this.#arena;
    if (a.size <= this.#max) return;
    const now = this.#now();
    if (now - this.#lastSweep >= SWEEP_INTERVAL_MS) {
      this.#lastSweep = now;
      a.takeExpired(now);
    }
    while (a.size > this.#max) a.removeAt(a.oldestSlot());
  }

  static {
    ledgerOfStore = (store) => {
      store.#keepExpired = true;
      const a = store.#arena;
      return {
        get size() {
          return a.size;
        },
        makeRoom(key) {
          if (a.size < store.#max || a.slotOf(key) >= 0) return undefined;
          const out: ArenaEntry[] = [];
          while (a.size >= store.#max) out.push(a.takeOldest()!);
          return out;
        },
        forget(key) {
          const slot = a.slotOf(key);
          if (slot < 0) return undefined;
          const expiresAtMs = a.expiryAt(slot);
          a.removeAt(slot);
          return expiresAtMs;
        },
        takeExpired: (nowMs) => a.takeExpired(nowMs),
        takeAll: () => a.takeAll(),
        sharePrefix: (prefix) => a.sharePrefix(prefix),
      };
    };
  }
}

/**
 * The bookkeeping of `store` for the server cache that made it (not part of the public API).
 * From then on expired entries stay in the store until the ledger forgets or takes them, so that
 * the cache can tell an expired session from an absent one and report it.
 */
export function ledgerOf(store: MemoryStore): StoreLedger {
  return ledgerOfStore(store);
}

/**
 * A stack as one value: `[uint32 bytes used]` then its entries oldest first, each
 * `[float64 expiry][uint32 length][bytes]`. A pop lowers the bytes used in place.
 */
const STACK_ENTRY_HEADER = 12;

function entryEnd(stack: Buffer, at: number): number {
  return at + STACK_ENTRY_HEADER + stack.readUInt32LE(at + 8);
}

/** Offsets of a stack's entries, oldest first (a few: the client keeps a handful of tickets). */
function stackStarts(stack: Buffer): number[] {
  const used = stack.readUInt32LE(0);
  const out: number[] = [];
  for (let at = 4; at < used; at = entryEnd(stack, at)) out.push(at);
  return out;
}

/** `old`'s live entries and the new one, at most `max` (the newest); the latest expiry among them. */
function packStack(
  old: Buffer | undefined,
  now: number,
  value: Uint8Array,
  expiresAtMs: number,
  max: number,
): { bytes: Buffer; expiresAtMs: number } {
  const kept = old === undefined ? [] : stackStarts(old).filter((at) => old.readDoubleLE(at) > now);
  if (kept.length > max - 1) kept.splice(0, kept.length - (max - 1));
  let size = 4 + STACK_ENTRY_HEADER + value.length;
  for (const at of kept) size += entryEnd(old!, at) - at;
  const bytes = Buffer.allocUnsafe(size);
  let p = 4;
  let latest = expiresAtMs;
  for (const at of kept) {
    const end = entryEnd(old!, at);
    old!.copy(bytes, p, at, end);
    p += end - at;
    latest = Math.max(latest, old!.readDoubleLE(at));
  }
  bytes.writeDoubleLE(expiresAtMs, p);
  bytes.writeUInt32LE(value.length, p + 8);
  bytes.set(value, p + STACK_ENTRY_HEADER);
  bytes.writeUInt32LE(size, 0);
  return { bytes, expiresAtMs: latest };
}
