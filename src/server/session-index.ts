/**
 * What this process knows about the sessions it put in the store: their keys and expiry, in
 * expiry order. It gives the cache OpenSSL's bookkeeping (session count, size limit with
 * eviction of the session expiring soonest, flush of expired sessions) whatever the store is.
 *
 * Compact on purpose: a cache holds up to `maxSessions` of these beside the store, so entries
 * are records in a {@link ByteArena} (the id, with the key prefix shared, and the expiry: about
 * 45 heap bytes each), not objects or strings.
 */
import { type ArenaEntry, ByteArena } from '../stores/byte-arena.js';

/**
 * What the cache asks of its bookkeeping, whoever keeps it: a {@link SessionIndex} beside any
 * store, or the ledger of the MemoryStore the cache made (src/server/default-store.ts), which
 * knows the same things already and so costs no memory of its own.
 */
export interface KnownSessions {
  readonly size: number;
  /**
   * Adds or refreshes the entry of `key` (whose last `idLength` bytes are the id), before the
   * store is written; returns the entries evicted to stay within the limit (the ones expiring
   * soonest), which the caller reports and removes from the store.
   */
  add(key: Uint8Array, idLength: number, expiresAtMs: number): IndexEntry[] | undefined;
  /** Forgets the entry of `key`; its expiry, or `undefined` when it was not known. */
  delete(key: Uint8Array): number | undefined;
  /** Removes and returns every entry expired at `nowMs` (expires at or before it). */
  takeExpired(nowMs: number): IndexEntry[];
  /** Removes and returns every entry. */
  takeAll(): IndexEntry[];
}

/** One known session. */
export interface IndexEntry {
  /** The store key. */
  readonly key: Buffer;
  /** The session id (or TLS 1.3 PSK identity): the key's last bytes. */
  readonly id: Buffer;
  expiresAtMs: number;
}

/** OpenSSL's session ids and stateful TLS 1.3 PSK identities are 32 bytes. */
const USUAL_ID_LENGTH = 32;
const NO_BYTES = Buffer.alloc(0);

export class SessionIndex implements KnownSessions {
  readonly #max: number;
  // Write order is expiry order: every entry gets the same lifetime, and an entry whose lifetime
  // restarts is written again, last. Values: nothing for a 32-byte id, else its length (rare).
  readonly #arena = new ByteArena();

  /** `max` 0 means unbounded. */
  constructor(max: number) {
    this.#max = max;
  }

  get size(): number {
    return this.#arena.size;
  }

  /** The entry of `key`, or `undefined`. */
  get(key: Uint8Array): IndexEntry | undefined {
    const a = this.#arena;
    const slot = a.slotOf(key);
    return slot < 0
      ? undefined
      : entryOf({ key: Buffer.from(key), expiresAtMs: a.expiryAt(slot), value: a.copyAt(slot) });
  }

  add(key: Uint8Array, idLength: number, expiresAtMs: number): IndexEntry[] | undefined {
    const a = this.#arena;
    a.sharePrefix(key.subarray(0, key.length - idLength));
    let evicted: IndexEntry[] | undefined;
    if (this.#max > 0 && a.slotOf(key) < 0) {
      while (a.size >= this.#max) {
        evicted ??= [];
        evicted.push(entryOf(a.takeOldest(true)!));
      }
    }
    a.set(key, idLength === USUAL_ID_LENGTH ? NO_BYTES : lengthBytes(idLength), expiresAtMs);
    return evicted;
  }

  delete(key: Uint8Array): number | undefined {
    const a = this.#arena;
    const slot = a.slotOf(key);
    if (slot < 0) return undefined;
    const expiresAtMs = a.expiryAt(slot);
    a.removeAt(slot);
    return expiresAtMs;
  }

  takeExpired(nowMs: number): IndexEntry[] {
    return this.#arena.takeExpired(nowMs, true).map(entryOf);
  }

  takeAll(): IndexEntry[] {
    return this.#arena.takeAll(true).map(entryOf);
  }
}

function lengthBytes(n: number): Buffer {
  const b = Buffer.allocUnsafe(4);
  b.writeUInt32LE(n, 0);
  return b;
}

function entryOf(e: ArenaEntry): IndexEntry {
  const idLength = e.value === undefined || e.value.length === 0 ? USUAL_ID_LENGTH : e.value.readUInt32LE(0);
  return { key: e.key, id: e.key.subarray(e.key.length - idLength), expiresAtMs: e.expiresAtMs };
}
