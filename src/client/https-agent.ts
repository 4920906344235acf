import type { Duplex } from 'node:stream';
import { Agent, type AgentOptions, type RequestOptions } from 'node:https';
import type { ConnectionOptions } from 'node:tls';
import type { ClientSessionStore } from './client-session-store.js';

type Callback = (err: Error | null, stream?: Duplex) => void;

/**
 * An `https.Agent` that opens its TLS connections through a {@link ClientSessionStore}.
 *
 * Overriding `_getSession`/`_cacheSession` cannot work: Node calls them synchronously and keeps
 * one session per agent key. `createConnection(options, callback)` can hand the socket over
 * later: `http.Agent#createSocket` passes a callback and uses it when nothing is returned.
 */
class StoreAgent extends Agent {
  readonly #sessions: ClientSessionStore;

  constructor(sessions: ClientSessionStore, options: AgentOptions) {
    // Node's own cache would offer the last ticket to every connection: off.
    super({ ...options, maxCachedSessions: 0 });
    this.#sessions = sessions;
  }

  override createConnection(
    options: RequestOptions,
    callback?: (err: Error | null, stream: Duplex) => void,
  ): Duplex | null | undefined {
    const done = callback as Callback | undefined;
    // The request's own options hold `agent`, `path` (the URL path) and Node's `_agentKey`;
    // tls.connect ignores them, as it does for Node's own createConnection.
    this.#sessions.connect(options as ConnectionOptions).then(
      (socket) => done?.(null, socket),
      (error: unknown) => done?.(error instanceof Error ? error : new Error(String(error))),
    );
    return undefined;
  }
}

export function createStoreAgent(sessions: ClientSessionStore, options: AgentOptions): Agent {
  return new StoreAgent(sessions, options);
}
