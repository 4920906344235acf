import { TlsSessionsError } from '../util/errors.js';

/** Codes carried by {@link ClientSessionStoreError}; stable, safe to switch on. */
export type ClientSessionStoreErrorCode =
  | 'ERR_CLIENT_STORE_OPTIONS'
  | 'ERR_CLIENT_STORE_CLOSED'
  | 'ERR_CLIENT_STORE_CONNECT_TIMEOUT'
  /** A store passed in failed with an error of its own; its message line, name and code are the cause. */
  | 'ERR_CLIENT_STORE_BACKEND';

/** The error type of the client session store: one line, a stable `code`, never key material. */
export class ClientSessionStoreError extends TlsSessionsError<ClientSessionStoreErrorCode> {
  override readonly name = 'ClientSessionStoreError';
}
