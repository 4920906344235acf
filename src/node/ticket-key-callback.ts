/**
 * Every Node.js internal the ticket key ring relies on, in one place (read from Node 20's
 * src/crypto/crypto_context.cc and lib/_tls_wrap.js; test/node/ticket-key-callback.test.ts checks
 * each against real handshakes on 20, 22, 24 and 26 and fails with a message naming the one that
 * changed; `attach()` refuses a server with {@link ticketCallbackUnsupported}):
 *
 * - A `tls.Server` (https and http2 secure servers too) keeps its `tls.SecureContext` in
 *   `server._sharedCreds`; `secureContext.context` is the native SecureContext.
 * - `context.enableTicketKeyCallback()` replaces Node's fixed-key ticket callback
 *   (`TicketCompatibilityCallback`, one 48-byte key) with `TicketKeyCallback`, which calls the
 *   JavaScript function in `context.onticketkeycallback` as `(name, iv, encrypt)` (two 16-byte
 *   Buffers and a boolean) and reads back an array indexed by the `kTicketKey*Index` constants
 *   of the SecureContext constructor: `[result, hmacKey, aesKey, name, iv]`. `result` is
 *   OpenSSL's: -1 error, 0 ticket not decryptable (full handshake), 1 decrypted, 2 decrypted
 *   and to be renewed (a new ticket is issued under the encrypting key). When encrypting, the
 *   callback fills `name` and `iv`. The HMAC key and the AES-128-CBC key must be 16 bytes,
 *   also when `result` is 0. Nothing is retained after the call returns.
 * - OpenSSL calls the callback of the context the connection was created with; Node's SNI
 *   (`SNICallback`, `addContext`) only swaps the certificate and key of the connection, so the
 *   server's own context decides every ticket, virtual hosts included.
 * - `context.setTicketKeys(48 bytes)` / `getTicketKeys()` hold the context's own key (used
 *   again once the callback falls back to it) and `context.setSessionTimeout(s)` sets the
 *   session timeout, which OpenSSL announces as the ticket lifetime.
 * - `tls.Server#setSecureContext()` replaces `_sharedCreds` with a new context.
 *
 * There is no way back to `TicketCompatibilityCallback` once the callback is enabled: on
 * detach the context gets a JavaScript callback that does exactly what Node's does.
 */
import { randomBytes } from 'node:crypto';
import type { Server as TlsServer } from 'node:tls';

/** The native SecureContext methods the ring calls. */
export interface TicketContext {
  enableTicketKeyCallback(): void;
  onticketkeycallback?: TicketKeyCallback;
  setTicketKeys(keys: Buffer): void;
  getTicketKeys(): Buffer;
  setSessionTimeout(seconds: number): void;
}

/** `[result, hmacKey, aesKey]` when decrypting; `[1, hmacKey, aesKey, name, iv]` when encrypting. */
export type TicketKeyAnswer = [number, Buffer, Buffer] | [number, Buffer, Buffer, Buffer, Buffer];

/** What Node calls for every ticket the context encrypts or decrypts. */
export type TicketKeyCallback = (this: TicketContext, name: Buffer, iv: Buffer, encrypt: boolean) => TicketKeyAnswer;

/** A `tls.Server` as Node builds it. */
export interface TicketServerInternals extends TlsServer {
  _sharedCreds?: { context: TicketContext };
  sessionTimeout?: number;
}

/** OpenSSL's results of a ticket key callback. */
export const TICKET_NOT_DECRYPTABLE = 0;
export const TICKET_OK = 1;
export const TICKET_RENEW = 2;

/** The index layout Node reads the answer with (the constants of the SecureContext constructor). */
const EXPECTED_INDEXES = {
  kTicketKeyReturnIndex: 0,
  kTicketKeyHMACIndex: 1,
  kTicketKeyAESIndex: 2,
  kTicketKeyNameIndex: 3,
  kTicketKeyIVIndex: 4,
} as const;

/**
 * Why `server` cannot take a ticket key callback on this Node.js, or `undefined` when it can.
 * Checked at attach time so that an upgrade that removes an internal fails loudly, not silently.
 */
export function ticketCallbackUnsupported(server: TicketServerInternals): string | undefined {
  const creds = server._sharedCreds;
  if (creds === undefined || creds === null || typeof creds !== 'object') {
    return 'tls.Server has no _sharedCreds secure context';
  }
  const ctx = creds.context as Partial<TicketContext> | undefined;
  if (ctx === undefined || ctx === null) return 'tls.SecureContext has no native context';
  for (const m of ['enableTicketKeyCallback', 'setTicketKeys', 'getTicketKeys', 'setSessionTimeout'] as const) {
    if (typeof ctx[m] !== 'function') return `the native SecureContext has no ${m}()`;
  }
  const ctor = (ctx as { constructor?: Record<string, unknown> }).constructor;
  for (const [name, value] of Object.entries(EXPECTED_INDEXES)) {
    if (ctor?.[name] !== value) return `SecureContext.${name} is not ${value}`;
  }
  return undefined;
}

/**
 * The callback a context keeps after the ring lets go: Node's own behaviour, one key, read
 * from the context each time so that `server.setTicketKeys()` works again.
 */
export const compatibilityCallback: TicketKeyCallback = function compatibilityCallback(name, _iv, encrypt) {
  const keys = this.getTicketKeys();
  const hmac = keys.subarray(16, 32);
  const aes = keys.subarray(32, 48);
  if (encrypt) return [TICKET_OK, hmac, aes, keys.subarray(0, 16), randomBytes(16)];
  return [keys.subarray(0, 16).equals(name) ? TICKET_OK : TICKET_NOT_DECRYPTABLE, hmac, aes];
};
