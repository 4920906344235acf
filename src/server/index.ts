export { ServerSessionCache } from './server-session-cache.js';
export type {
  MissReason,
  RemoveReason,
  ServerMissedEvent,
  ServerRemovedEvent,
  ServerResumedEvent,
  ServerSessionCacheEvents,
  ServerSessionEvent,
  SessionEventInfo,
} from './events.js';
export {
  type ClientCertificateCheck,
  type ClientCertificateCheckInfo,
  SessionCacheMode,
  type ServerSessionCacheOptions,
  type TicketMode,
} from './options.js';
export type { ServerSessionCacheStats } from './stats.js';
export { ServerSessionCacheError, type ServerSessionCacheErrorCode } from './errors.js';
