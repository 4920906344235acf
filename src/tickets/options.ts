import type { SealingKey } from '../stores/encrypted-store.js';
import type { SessionStore } from '../stores/session-store.js';
import { TicketKeyError } from './errors.js';

/** Options of {@link TicketKeyRing}. Durations are in seconds. */
export interface TicketKeyRingOptions {
  /**
   * How long a key encrypts new tickets before the next one takes over. Default 43200 (12 h):
   * a stolen key then reveals at most half a day of new tickets, and a fleet rotates twice a
   * day without anyone noticing.
   */
  rotateEvery?: number;
  /**
   * How long a key still decrypts after it stopped encrypting. Default 86400 (24 h): a ticket
   * issued at the last second of its key's turn stays usable for a day, longer than the
   * session timeouts servers use (Node 7200 s, nginx 300 s). It also caps the ticket lifetime
   * the server announces, so no ticket outlives its key.
   */
  grace?: number;
  /**
   * Where a fleet shares its keys. Values hold ticket keys: the store must seal them, either
   * because it is an `EncryptedStore` or because `kek` is given; a persistent store that does
   * not seal is refused. Default: none, keys live in this process only.
   */
  store?: SessionStore;
  /** Key-encryption key: the ring wraps `store` in an `EncryptedStore` sealed with it. */
  kek?: SealingKey;
  /** Prepended to the ring's store keys, so that several rings share one store. Default `'tk:'`. */
  prefix?: string;
  /** How often the ring re-reads the store (and retires keys). Default 60. */
  syncInterval?: number;
  /** Time budget of each store call, in milliseconds. Default 2000. */
  storeTimeoutMs?: number;
  /** Clock in milliseconds since the epoch. Default `Date.now`; for tests. */
  now?: () => number;
}

/** Options after validation and defaults; durations in milliseconds. */
export interface ResolvedRingOptions {
  rotateEveryMs: number;
  graceMs: number;
  store: SessionStore | undefined;
  kek: SealingKey | undefined;
  prefix: string;
  syncIntervalMs: number;
  storeTimeoutMs: number;
  now: () => number;
}

/** Longest rotation interval and grace period: 1 year, kept in 32-bit seconds on the store. */
export const MAX_DURATION_S = 366 * 24 * 3600;

function bad(message: string): TicketKeyError {
  return new TicketKeyError('ERR_TICKET_OPTION', `TicketKeyRing: ${message}`);
}

function seconds(value: unknown, name: string, fallback: number, max = MAX_DURATION_S): number {
  if (value === undefined) return fallback;
  if (typeof value !== 'number' || !Number.isInteger(value) || value < 1 || value > max) {
    throw bad(`${name} must be an integer number of seconds from 1 to ${max}`);
  }
  return value;
}

/** Validates `options` and fills in defaults; throws `ERR_TICKET_OPTION` on bad input. */
export function resolveRingOptions(options: TicketKeyRingOptions): ResolvedRingOptions {
  if (options === null || typeof options !== 'object') throw bad('options must be an object');
  const store = options.store;
  if (store !== undefined && (store === null || typeof store.get !== 'function' || typeof store.set !== 'function')) {
    throw bad('store must implement SessionStore');
  }
  if (options.kek !== undefined && store === undefined) throw bad('kek needs a store');
  const prefix = options.prefix ?? 'tk:';
  if (typeof prefix !== 'string' || prefix.length > 200) throw bad('prefix must be a string of at most 200 characters');
  if (options.now !== undefined && typeof options.now !== 'function') throw bad('now must be a function');
  const storeTimeoutMs = options.storeTimeoutMs ?? 2000;
  if (typeof storeTimeoutMs !== 'number' || !(storeTimeoutMs > 0) || !Number.isFinite(storeTimeoutMs)) {
    throw bad('storeTimeoutMs must be a positive number');
  }
  return {
    rotateEveryMs: seconds(options.rotateEvery, 'rotateEvery', 43_200) * 1000,
    graceMs: seconds(options.grace, 'grace', 86_400) * 1000,
    store,
    kek: options.kek,
    prefix,
    syncIntervalMs: seconds(options.syncInterval, 'syncInterval', 60, 86_400) * 1000,
    storeTimeoutMs,
    now: options.now ?? Date.now,
  };
}
