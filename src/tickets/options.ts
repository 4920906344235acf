import type { SealingKey } from '../stores/encrypted-store.js';
import type { SessionStore } from '../stores/session-store.js';
import { OptionChecks } from '../util/options.js';
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

/**
 * Most rotation intervals a grace period may span. Each interval leaves a key that still decrypts
 * through the grace period, and every sync reads the record of each: 4096 bounds that work (one
 * batched read of at most 4099 records) and the keys held, while leaving room for rotating every
 * minute with a day of grace (1440).
 */
export const MAX_GRACE_TURNS = 4096;

/** The ring's option checks, also used by the methods that take options (`rotate`, `list`). */
export const check = new OptionChecks('TicketKeyRing', (message) => new TicketKeyError('ERR_TICKET_OPTION', message));

function seconds(value: unknown, name: string, fallback: number, max = MAX_DURATION_S): number {
  return check.integer(value, name, fallback, 1, max, 'seconds');
}

/** Why `graceS` spans too many turns of `rotateEveryS`, or `undefined` when it does not. */
export function graceTurnsProblem(rotateEveryS: number, graceS: number): string | undefined {
  const turns = Math.ceil(graceS / rotateEveryS);
  if (turns <= MAX_GRACE_TURNS) return undefined;
  return `grace must be at most ${MAX_GRACE_TURNS} times rotateEvery (${graceS} s of grace over ${rotateEveryS} s turns keeps ${turns} keys live)`;
}

/** Validates `options` and fills in defaults; throws `ERR_TICKET_OPTION` on bad input. */
export function resolveRingOptions(options: TicketKeyRingOptions): ResolvedRingOptions {
  const o = check.object(options);
  const store = o.store;
  if (store !== undefined && (store === null || typeof store.get !== 'function' || typeof store.set !== 'function')) {
    throw check.fail('store must implement SessionStore');
  }
  if (o.kek !== undefined && store === undefined) throw check.fail('kek needs a store');
  const prefix = check.string(o.prefix, 'prefix', 'tk:', 200);
  const rotateEvery = seconds(o.rotateEvery, 'rotateEvery', 43_200);
  const grace = seconds(o.grace, 'grace', 86_400);
  const turns = graceTurnsProblem(rotateEvery, grace);
  if (turns !== undefined) throw check.fail(turns);
  return {
    rotateEveryMs: rotateEvery * 1000,
    graceMs: grace * 1000,
    store,
    kek: o.kek,
    prefix,
    syncIntervalMs: seconds(o.syncInterval, 'syncInterval', 60, 86_400) * 1000,
    storeTimeoutMs: check.ms(o.storeTimeoutMs, 'storeTimeoutMs', 2000),
    now: check.func(o.now, 'now') ?? Date.now,
  };
}
