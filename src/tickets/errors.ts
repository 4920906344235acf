import { TlsSessionsError } from '../util/errors.js';

/** Codes carried by {@link TicketKeyError}; stable, safe to switch on. */
export type TicketKeyErrorCode =
  /** An option has a wrong type or is out of range. */
  | 'ERR_TICKET_OPTION'
  /** `attach()` was given something that is not a Node TLS server, or a cache not attached to one. */
  | 'ERR_TICKET_SERVER'
  /** The server already has a ticket key ring. */
  | 'ERR_TICKET_ATTACHED'
  /** This Node.js version lacks an internal the ring relies on (see docs/tickets.md). */
  | 'ERR_TICKET_NODE'
  /** The key store failed or timed out; the ring kept the keys it had. */
  | 'ERR_TICKET_STORE'
  /** A stored key record could not be read; it was ignored. */
  | 'ERR_TICKET_RECORD'
  /** The store holds another rotation interval or grace period than this ring's; the store's were adopted. */
  | 'ERR_TICKET_CONFIG'
  /** The ring was closed. */
  | 'ERR_TICKET_CLOSED';

/**
 * The one error type of the ticket key ring. Messages are one line and never contain key
 * material.
 */
export class TicketKeyError extends TlsSessionsError<TicketKeyErrorCode> {
  override readonly name = 'TicketKeyError';
}
