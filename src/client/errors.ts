/** Codes carried by {@link ClientSessionStoreError}; stable, safe to switch on. */
export type ClientSessionStoreErrorCode =
  | 'ERR_CLIENT_STORE_OPTIONS'
  | 'ERR_CLIENT_STORE_CLOSED'
  | 'ERR_CLIENT_STORE_CONNECT_TIMEOUT';

/** The error type of the client session store: one line, a stable `code`, never key material. */
export class ClientSessionStoreError extends Error {
  override readonly name = 'ClientSessionStoreError';
  readonly code: ClientSessionStoreErrorCode;

  constructor(code: ClientSessionStoreErrorCode, message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.code = code;
  }
}
