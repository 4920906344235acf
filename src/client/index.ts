export { ClientSessionStore } from './client-session-store.js';
export { ClientSessionStoreError, type ClientSessionStoreErrorCode } from './errors.js';
export type {
  ClientSessionStoreEvents,
  ClientSessionStoreOptions,
  ClientSessionStoreStats,
  DropEvent,
  EvictionEvent,
  EvictionReason,
  IgnoredEvent,
  IgnoredReason,
  OfferEvent,
  SessionEvent,
  SessionProtocol,
} from './types.js';
export type {
  UndiciConnectCallback,
  UndiciConnectOptions,
  UndiciConnectParams,
  UndiciConnector,
} from './undici-connect.js';
