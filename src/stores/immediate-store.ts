import type { SessionStore } from './session-store.js';

/**
 * The synchronous face of a store that lives in this process and so can answer at once. The
 * server cache uses it on the handshake path in place of the {@link SessionStore} promises:
 * no promise, no time budget, and the session is handed to OpenSSL inside the same callback,
 * as a bare `Map` in `'resumeSession'` does. On a TLS 1.2 resumption the promise chain and its
 * budget bookkeeping were a tenth of what the cache added to the handshake.
 *
 * Contract: each method does what the {@link SessionStore} method of the same name does, with
 * the same result, and throws where that one rejects. A store that offers it declares it under
 * {@link IMMEDIATE_STORE}; a wrapper (sealing, say) must not pass on its inner store's.
 */
export interface ImmediateStore {
  getNow(key: Uint8Array): Uint8Array | undefined;
  takeNow(key: Uint8Array): Uint8Array | undefined;
  setNow(key: Uint8Array, value: Uint8Array, ttlMs: number): void;
}

/** Property under which a store offers its {@link ImmediateStore}. */
export const IMMEDIATE_STORE: unique symbol = Symbol.for('tls-sessions.immediateStore');

interface WithImmediate {
  readonly [IMMEDIATE_STORE]?: ImmediateStore;
}

/** The store's {@link ImmediateStore}, when it offers one. */
export function immediateStore(store: SessionStore): ImmediateStore | undefined {
  return (store as SessionStore & WithImmediate)[IMMEDIATE_STORE];
}
