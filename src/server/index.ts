export {
  ServerSessionCache,
  type ServerSessionCacheEvents,
  type SessionEventInfo,
  type RemoveReason,
  type MissReason,
} from './server-session-cache.js';
export {
  type ClientCertificateCheck,
  type ClientCertificateCheckInfo,
  SessionCacheMode,
  type ServerSessionCacheOptions,
  type TicketMode,
} from './options.js';
export type { ServerSessionCacheStats } from './stats.js';
export { ServerSessionCacheError, type ServerSessionCacheErrorCode } from './errors.js';
