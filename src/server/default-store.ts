import { MemoryStore } from '../stores/memory-store.js';

/**
 * The store a cache makes when it is given none: a {@link MemoryStore} bounded by the cache's
 * own limit, or not at all when `maxSessions` is 0. The index evicts first, so every eviction is
 * the cache's own, counted (`cacheFull`) and reported (`'removed'`); a store with a bound of its
 * own would drop sessions silently (MemoryStore's default is 20480).
 */
export function defaultStore(maxSessions: number): MemoryStore {
  return new MemoryStore({ maxEntries: maxSessions > 0 ? maxSessions : Number.MAX_SAFE_INTEGER });
}
