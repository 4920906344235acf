export {
  TicketKeyRing,
  type TicketKeyAttachOptions,
  type TicketKeyInfo,
  type TicketKeyRingEvents,
  type TicketKeyRingStats,
  type TicketKeyRole,
} from './key-ring.js';
export type { TicketKeyRingOptions } from './options.js';
export { TicketKeyError, type TicketKeyErrorCode } from './errors.js';
