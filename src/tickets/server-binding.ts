/**
 * A ring bound to one Node TLS server: which server an `attach()` target means, the checks made
 * before touching it, installing the ring's callback, key and ticket lifetime on the server's
 * context, following `setSecureContext()` (which replaces that context), and giving the server
 * back Node's single-key tickets on detach. The Node internals used here are listed in
 * src/node/ticket-key-callback.ts; a replaced context is learnt of through
 * src/node/secure-context-watch.ts, which the session cache uses too.
 */
import { Server as TlsServer } from 'node:tls';
import {
  compatibilityCallback,
  type TicketContext,
  type TicketKeyCallback,
  type TicketServerInternals,
  ticketCallbackUnsupported,
} from '../node/ticket-key-callback.js';
import {
  ContextPhase,
  secureContextConfigured,
  unwatchSecureContext,
  watchSecureContext,
} from '../node/secure-context-watch.js';
import { ServerSessionCache } from '../server/server-session-cache.js';
import { OPENSSL_DEFAULT_TIMEOUT_S } from '../session/names.js';
import { TicketKeyError } from './errors.js';

const kBinding = Symbol('tls-sessions.TicketKeyRing');

type BoundServer = TicketServerInternals & { [kBinding]?: ServerBinding };

/** What a binding asks of its ring. */
export interface TicketKeySource {
  /** Called by Node for every ticket the server encrypts or decrypts. */
  readonly callback: TicketKeyCallback;
  /** The 48 bytes of the key that encrypts now, if the ring has one. */
  currentKey(): Buffer | undefined;
  /** How long a key still decrypts after its turn, in ms: no ticket is announced to live longer. */
  graceMs(): number;
}

/** A server that passed the checks of {@link bindTarget}, not yet touched. */
export interface BindTarget {
  readonly server: TicketServerInternals;
  /** The session timeout asked for, in seconds, if any. */
  readonly sessionTimeoutS: number | undefined;
}

/**
 * The server `target` stands for (a `tls.Server`, `https.Server`, http2 secure server, or a
 * {@link ServerSessionCache} attached to one), checked before anything is changed.
 *
 * @throws TicketKeyError `ERR_TICKET_SERVER`, `ERR_TICKET_OPTION`, `ERR_TICKET_ATTACHED` or
 *   `ERR_TICKET_NODE` (this Node.js lacks an internal; the message names it).
 */
export function bindTarget(target: TlsServer | ServerSessionCache, sessionTimeout: number | undefined): BindTarget {
  let server: BoundServer;
  let timeout = sessionTimeout;
  if (target instanceof ServerSessionCache) {
    if (target.server === undefined) {
      throw new TicketKeyError('ERR_TICKET_SERVER', 'attach: the ServerSessionCache is not attached to a server');
    }
    server = target.server as BoundServer;
    timeout ??= target.timeout;
  } else if (target instanceof TlsServer) {
    server = target as BoundServer;
  } else {
    throw new TicketKeyError(
      'ERR_TICKET_SERVER',
      'attach: expected a tls.Server, https.Server, http2 secure server or ServerSessionCache',
    );
  }
  if (timeout !== undefined && (!Number.isInteger(timeout) || timeout < 1 || timeout > 0x7fffffff)) {
    throw new TicketKeyError(
      'ERR_TICKET_OPTION',
      'attach: sessionTimeout must be a positive integer number of seconds',
    );
  }
  if (server[kBinding] !== undefined) {
    throw new TicketKeyError('ERR_TICKET_ATTACHED', 'attach: the server already has a ticket key ring');
  }
  const unsupported = ticketCallbackUnsupported(server);
  if (unsupported !== undefined) {
    throw new TicketKeyError('ERR_TICKET_NODE', `attach: Node.js ${process.version} changed: ${unsupported}`);
  }
  return { server, sessionTimeoutS: timeout };
}

export class ServerBinding {
  readonly server: TicketServerInternals;
  readonly #source: TicketKeySource;
  /** The context the ring's callback was last installed on. */
  #context: TicketContext;
  /** The session timeout the server would use without the ring, in seconds. */
  readonly #sessionTimeoutS: number;

  /** Takes charge of the tickets of `target.server` at once. */
  constructor(target: BindTarget, source: TicketKeySource) {
    const server = target.server as BoundServer;
    this.server = server;
    this.#source = source;
    this.#context = server._sharedCreds!.context;
    this.#sessionTimeoutS = target.sessionTimeoutS ?? (server.sessionTimeout || OPENSSL_DEFAULT_TIMEOUT_S);
    // setSecureContext replaces the context: the new one gets the callback before any handshake
    // uses it, and the ticket lifetime after a session cache has set its timeout on it.
    watchSecureContext(server, ContextPhase.tickets, this.#changed);
    server[kBinding] = this;
    this.install();
  }

  /**
   * (Re)installs the callback, the current key and the ticket lifetime `min(sessionTimeout,
   * grace)` on the server's context; a context the application replaced gets Node's behaviour back.
   */
  install(): void {
    const ctx = this.server._sharedCreds?.context;
    if (ctx === undefined) return;
    if (ctx !== this.#context) {
      this.#context.onticketkeycallback = compatibilityCallback;
      this.#context = ctx;
    }
    ctx.enableTicketKeyCallback();
    ctx.onticketkeycallback = this.#source.callback;
    const key = this.#source.currentKey();
    if (key !== undefined) ctx.setTicketKeys(key);
    ctx.setSessionTimeout(Math.max(1, Math.min(this.#sessionTimeoutS, Math.floor(this.#source.graceMs() / 1000))));
  }

  readonly #changed = (): void => this.install();

  /** The context's own key follows the current key (Node falls back to it after a release). */
  setTicketKey(key: Buffer): void {
    this.#context.setTicketKeys(key);
  }

  /**
   * Gives the server back Node's single-key tickets, keeping the current key so that its
   * tickets still resume; `server.setTicketKeys()` works again.
   */
  release(): void {
    const s = this.server as BoundServer;
    unwatchSecureContext(s, this.#changed);
    delete s[kBinding];
    const key = this.#source.currentKey();
    for (const ctx of new Set([this.#context, s._sharedCreds?.context])) {
      if (ctx === undefined) continue;
      if (key !== undefined) ctx.setTicketKeys(key);
      ctx.onticketkeycallback = compatibilityCallback;
      ctx.setSessionTimeout(this.#sessionTimeoutS);
    }
    // A session cache still attached puts its own timeout back.
    secureContextConfigured(s, -1);
  }
}
