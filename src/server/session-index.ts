/**
 * What this process knows about the sessions it put in the store: their keys and expiry, in
 * expiry order. It gives the cache OpenSSL's bookkeeping (session count, size limit with
 * eviction of the session expiring soonest, flush of expired sessions) whatever the store is.
 */

/** One known session. */
export interface IndexEntry {
  /** The store key. */
  readonly key: Uint8Array;
  /** The session id (or TLS 1.3 PSK identity). */
  readonly id: Buffer;
  expiresMs: number;
}

export class SessionIndex {
  readonly #max: number;
  // Insertion order is expiry order: every entry gets the same lifetime, and an entry whose
  // lifetime restarts is moved to the end.
  readonly #map = new Map<string, IndexEntry>();

  /** `max` 0 means unbounded. */
  constructor(max: number) {
    this.#max = max;
  }

  get size(): number {
    return this.#map.size;
  }

  get(name: string): IndexEntry | undefined {
    return this.#map.get(name);
  }

  /**
   * Adds or refreshes an entry; returns the entries evicted to stay within the limit (the ones
   * expiring soonest), which the caller removes from the store.
   */
  add(name: string, entry: IndexEntry): IndexEntry[] | undefined {
    const had = this.#map.delete(name);
    let evicted: IndexEntry[] | undefined;
    if (!had && this.#max > 0) {
      while (this.#map.size >= this.#max) {
        const first = this.#map.entries().next().value as [string, IndexEntry];
        this.#map.delete(first[0]);
        evicted ??= [];
        evicted.push(first[1]);
      }
    }
    this.#map.set(name, entry);
    return evicted;
  }

  delete(name: string): IndexEntry | undefined {
    const e = this.#map.get(name);
    if (e !== undefined) this.#map.delete(name);
    return e;
  }

  /** Removes and returns every entry expired at `nowMs` (expires at or before it). */
  takeExpired(nowMs: number): IndexEntry[] {
    const out: IndexEntry[] = [];
    // A full scan, not a walk to the first live entry: a clock step back must not hide entries.
    for (const [name, e] of this.#map) {
      if (e.expiresMs <= nowMs) {
        this.#map.delete(name);
        out.push(e);
      }
    }
    return out;
  }

  /** Removes and returns every entry. */
  takeAll(): IndexEntry[] {
    const out = [...this.#map.values()];
    this.#map.clear();
    return out;
  }
}
