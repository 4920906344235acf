// tls-sessions: OpenSSL's TLS session model for Node.js. The root export has no dependencies.
export * from './session/index.js';
export type { SessionStore } from './stores/session-store.js';
export { MemoryStore, type MemoryStoreOptions } from './stores/memory-store.js';
export {
  EncryptedStore,
  type EncryptedStoreOptions,
  type EncryptedStoreStats,
  type SealingKey,
} from './stores/encrypted-store.js';
export { SessionStoreError, type SessionStoreErrorCode } from './stores/store-error.js';
export { IMMEDIATE_STORE, type ImmediateStore, immediateStore } from './stores/immediate-store.js';
export { STORE_TRAITS, type StoreTraits, storeTraits, warnIfUnsealed } from './stores/store-traits.js';
export { BudgetExceededError } from './util/budget.js';
export { TlsSessionsError } from './util/errors.js';
export * from './client/index.js';
export * from './wire/index.js';
export * from './probe/index.js';
export * from './server/index.js';
export * from './tickets/index.js';
