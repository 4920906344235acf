/**
 * What this process knows about the sessions it put in the store: their keys and expiry, in
 * expiry order. It gives the cache OpenSSL's bookkeeping (session count, size limit with
 * eviction of the session expiring soonest, flush of expired sessions) whatever the store is.
 *
 * Compact on purpose: a cache holds up to `maxSessions` of these beside the store, so an entry
 * is the key's name (a Latin-1 string) and its expiry as a number, with no object and no typed
 * array of its own (about 100 heap bytes each). The key and id are made again from the name
 * when an entry leaves.
 */
import { bufferView } from '../util/bytes.js';

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

/** An id of another length keeps its length beside the expiry (rare: OpenSSL's ids are 32 bytes). */
interface OddEntry {
  idLength: number;
  expiresAtMs: number;
}

export class SessionIndex implements KnownSessions {
  readonly #max: number;
  // Insertion order is expiry order: every entry gets the same lifetime, and an entry whose
  // lifetime restarts is moved to the end. Values: the expiry of a 32-byte id, else an OddEntry.
  readonly #map = new Map<string, number | OddEntry>();

  /** `max` 0 means unbounded. */
  constructor(max: number) {
    this.#max = max;
  }

  get size(): number {
    return this.#map.size;
  }

  /** The entry of `key`, or `undefined`. */
  get(key: Uint8Array): IndexEntry | undefined {
    const name = nameOf(key);
    const v = this.#map.get(name);
    return v === undefined ? undefined : entryOf(name, v);
  }

  add(key: Uint8Array, idLength: number, expiresAtMs: number): IndexEntry[] | undefined {
    const name = nameOf(key);
    const had = this.#map.delete(name);
    let evicted: IndexEntry[] | undefined;
    if (!had && this.#max > 0) {
      while (this.#map.size >= this.#max) {
        const [first, v] = this.#map.entries().next().value as [string, number | OddEntry];
        this.#map.delete(first);
        evicted ??= [];
        evicted.push(entryOf(first, v));
      }
    }
    this.#map.set(name, idLength === USUAL_ID_LENGTH ? expiresAtMs : { idLength, expiresAtMs });
    return evicted;
  }

  delete(key: Uint8Array): number | undefined {
    const name = nameOf(key);
    const v = this.#map.get(name);
    if (v === undefined) return undefined;
    this.#map.delete(name);
    return expiryOf(v);
  }

  takeExpired(nowMs: number): IndexEntry[] {
    const out: IndexEntry[] = [];
    // A full scan, not a walk to the first live entry: a clock step back must not hide entries.
    for (const [name, v] of this.#map) {
      if (expiryOf(v) <= nowMs) {
        this.#map.delete(name);
        out.push(entryOf(name, v));
      }
    }
    return out;
  }

  takeAll(): IndexEntry[] {
    const out: IndexEntry[] = [];
    for (const [name, v] of this.#map) out.push(entryOf(name, v));
    this.#map.clear();
    return out;
  }
}

/** The key in Latin-1: a string is the cheapest Map key for bytes. */
function nameOf(key: Uint8Array): string {
  return bufferView(key).toString('latin1');
}

function expiryOf(v: number | OddEntry): number {
  return typeof v === 'number' ? v : v.expiresAtMs;
}

function entryOf(name: string, v: number | OddEntry): IndexEntry {
  const key = Buffer.from(name, 'latin1');
  const idLength = typeof v === 'number' ? USUAL_ID_LENGTH : v.idLength;
  return { key, id: key.subarray(key.length - idLength), expiresAtMs: expiryOf(v) };
}
