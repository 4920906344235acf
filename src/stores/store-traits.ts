import type { SessionStore } from './session-store.js';

/**
 * What a store does with the bytes it is given: whether they leave this process (a file, a
 * server) and whether they are sealed first. Read by {@link storeTraits}; stores of this package
 * declare theirs, and a custom store can too by defining the {@link STORE_TRAITS} property.
 */
export interface StoreTraits {
  /** Entries outlive the process or are seen by other processes (file, network). */
  readonly persistent: boolean;
  /** Values are sealed (authenticated encryption) before they reach the backend. */
  readonly sealed: boolean;
}

/** Property under which a store declares its {@link StoreTraits}. */
export const STORE_TRAITS: unique symbol = Symbol.for('tls-sessions.storeTraits');

interface WithTraits {
  readonly [STORE_TRAITS]?: StoreTraits;
}

/**
 * The {@link StoreTraits} a store declares. A store that declares none is taken as persistent
 * and unsealed: nothing is known of where its bytes go.
 */
export function storeTraits(store: SessionStore): StoreTraits {
  const declared = (store as SessionStore & WithTraits)[STORE_TRAITS];
  return declared ?? { persistent: true, sealed: false };
}

const warned = new WeakSet<SessionStore>();

/**
 * Warns once per store when `store` keeps values outside this process without sealing them.
 * Meant for whoever puts server sessions, which hold master secrets, in a store, at start-up.
 * The warning goes to `warn` (default: a process warning with code
 * `TLS_SESSIONS_UNSEALED_STORE`). Returns `true` when it warned now.
 */
export function warnIfUnsealed(
  store: SessionStore,
  what = 'server sessions',
  warn: (message: string, code: string) => void = (message, code) => process.emitWarning(message, { code }),
): boolean {
  const traits = storeTraits(store);
  if (!traits.persistent || traits.sealed || warned.has(store)) return false;
  warned.add(store);
  warn(
    `${what} are kept outside this process without encryption: anyone who reads the store can decrypt recorded connections; wrap the store in EncryptedStore`,
    'TLS_SESSIONS_UNSEALED_STORE',
  );
  return true;
}
