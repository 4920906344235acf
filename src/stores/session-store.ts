/**
 * The storage contract shared by {@link ClientSessionStore} and {@link ServerSessionCache}.
 *
 * Keys and values are opaque bytes: the caller decides what a key means (a hashed security
 * domain on the client, a session id on the server) and values are serialized sessions. Every
 * method is async so that the same contract fits memory, SQLite and Redis. Modelled on rustls'
 * `StoresServerSessions` (`put/get/take`) with one addition the client side needs: a bounded,
 * newest-first stack of single-use TLS 1.3 tickets per key (`push`/`pop`).
 *
 * Implementations must make `take` and `pop` atomic: two callers racing for the same entry never
 * both receive it. Entries past their time to live are never returned.
 */
export interface SessionStore {
  /** The value stored under `key`, or `undefined` when absent or expired. */
  get(key: Uint8Array): Promise<Uint8Array | undefined>;
  /**
   * Optional: the values under several keys, in their order, in one round trip (Redis `MGET`).
   * Callers without it call {@link get} for each key at once. Same semantics as `get` per key.
   */
  getMany?(keys: readonly Uint8Array[]): Promise<Array<Uint8Array | undefined>>;
  /** Stores `value` under `key`, replacing what was there, for `ttlMs` milliseconds. */
  set(key: Uint8Array, value: Uint8Array, ttlMs: number): Promise<void>;
  /** Atomically removes and returns the value under `key` (single-use sessions). */
  take(key: Uint8Array): Promise<Uint8Array | undefined>;
  /** Removes `key` (a single value or a stack); resolves `true` when something was removed. */
  delete(key: Uint8Array): Promise<boolean>;
  /**
   * Pushes `value` on the stack under `key`, to live `ttlMs` milliseconds; the stack keeps at
   * most `max` entries, dropping the oldest.
   */
  push(key: Uint8Array, value: Uint8Array, ttlMs: number, max: number): Promise<void>;
  /** Atomically removes and returns the newest unexpired entry of the stack under `key`. */
  pop(key: Uint8Array): Promise<Uint8Array | undefined>;
  /** Removes every entry. */
  clear(): Promise<void>;
  /** Releases connections, timers and handles; the store is unusable afterwards. */
  close(): Promise<void>;
}
