import { MemoryStore, ledgerOf, type StoreLedger } from '../stores/memory-store.js';
import type { IndexEntry, KnownSessions } from './session-index.js';

/** The store a cache makes when it is given none, and the cache's bookkeeping over it. */
export interface DefaultStore {
  store: MemoryStore;
  known: KnownSessions;
}

/**
 * The store a cache makes when it is given none: a {@link MemoryStore} bounded by the cache's
 * own limit, or not at all when `maxSessions` is 0. The store's own bookkeeping stands in for
 * the cache's index: it holds the same keys, expiry and order, and a second copy would cost
 * about 50 bytes per session. Every eviction is still the cache's own, made before the write
 * (`add`), counted (`cacheFull`) and reported (`'removed'`).
 *
 * `idOffset`: where the session id starts in a store key (the cache's key prefix length);
 * `now`: the cache's clock.
 */
export function defaultStore(maxSessions: number, idOffset: number, now: () => number = Date.now): DefaultStore {
  // The cache's clock: the store's expiry is the one the cache reports ('expired', flush).
  const store = new MemoryStore({ maxEntries: maxSessions > 0 ? maxSessions : Number.MAX_SAFE_INTEGER, now });
  return { store, known: new LedgerSessions(ledgerOf(store), idOffset) };
}

/** {@link KnownSessions} read from the store's ledger: every entry of the store is a session of the cache. */
class LedgerSessions implements KnownSessions {
  readonly #ledger: StoreLedger;
  readonly #idOffset: number;

  constructor(ledger: StoreLedger, idOffset: number) {
    this.#ledger = ledger;
    this.#idOffset = idOffset;
  }

  get size(): number {
    return this.#ledger.size;
  }

  // The store write that follows adds the entry: only the room is made here.
  add(key: Uint8Array, idLength: number): IndexEntry[] | undefined {
    this.#ledger.sharePrefix(key.subarray(0, key.length - idLength));
    const evicted = this.#ledger.makeRoom(key);
    return evicted === undefined ? undefined : evicted.map((e) => this.#entry(e.key, e.expiresAtMs));
  }

  delete(key: Uint8Array): number | undefined {
    return this.#ledger.forget(key);
  }

  takeExpired(nowMs: number): IndexEntry[] {
    return this.#ledger.takeExpired(nowMs).map((e) => this.#entry(e.key, e.expiresAtMs));
  }

  takeAll(): IndexEntry[] {
    return this.#ledger.takeAll().map((e) => this.#entry(e.key, e.expiresAtMs));
  }

  #entry(key: Buffer, expiresAtMs: number): IndexEntry {
    return { key, id: key.subarray(this.#idOffset), expiresAtMs };
  }
}
