/**
 * The one place that learns when what a TLS server's secure context is derived from changes,
 * for everything in the package that configures that context (the session cache and the ticket
 * key ring). Node changes it through two methods of `tls.Server`:
 *
 * - `setSecureContext(options)` replaces `server._sharedCreds` with a new context (and sets
 *   `requestCert`, `rejectUnauthorized` and the `SNICallback` anew);
 * - `addContext(host, options)` adds a virtual host to `server._contexts`.
 *
 * Both are wrapped once per server, at the first subscription, and given back when the last
 * subscriber leaves, so nothing is checked per connection. Subscribers run in phase order: the
 * cache's set-up (session id context, session timeout, options) before the ring's tickets
 * (callback, key and a ticket lifetime of `min(timeout, grace)`), so that the ring's lifetime
 * is the one that stays, whichever was attached first.
 */
import type { Server as TlsServer } from 'node:tls';

/** Order in which subscribers run after a change. */
export const ContextPhase = {
  /** Session id context, session timeout, options (the session cache). */
  setup: 0,
  /** Ticket key callback, key and ticket lifetime (the ticket key ring): last, it caps the timeout. */
  tickets: 1,
} as const;
export type ContextPhase = (typeof ContextPhase)[keyof typeof ContextPhase];

interface Subscriber {
  readonly phase: ContextPhase;
  readonly changed: () => void;
}

type Methods = Pick<TlsServer, 'setSecureContext' | 'addContext'>;

interface Watch {
  /** Sorted by phase, then by subscription order. */
  subscribers: Subscriber[];
  /** The methods the application had set on the server itself, put back when the watch ends. */
  own: Partial<Methods>;
}

// A WeakMap, not a property: the server object's shape changes only by the two wrapped methods.
const watches = new WeakMap<TlsServer, Watch>();

const WRAPPED = ['setSecureContext', 'addContext'] as const;

/**
 * Calls `changed` after every `setSecureContext()` and `addContext()` of `server`, after the
 * subscribers of earlier phases. The same function subscribes once.
 */
export function watchSecureContext(server: TlsServer, phase: ContextPhase, changed: () => void): void {
  let watch = watches.get(server);
  if (watch === undefined) {
    watch = { subscribers: [], own: {} };
    watches.set(server, watch);
    wrap(server, watch);
  }
  if (watch.subscribers.some((s) => s.changed === changed)) return;
  const at = watch.subscribers.findIndex((s) => s.phase > phase);
  watch.subscribers.splice(at === -1 ? watch.subscribers.length : at, 0, { phase, changed });
}

/** Stops calling `changed`; the last subscriber to leave gives the server its methods back. */
export function unwatchSecureContext(server: TlsServer, changed: () => void): void {
  const watch = watches.get(server);
  if (watch === undefined) return;
  watch.subscribers = watch.subscribers.filter((s) => s.changed !== changed);
  if (watch.subscribers.length > 0) return;
  watches.delete(server);
  const target = server as Partial<Methods>;
  for (const name of WRAPPED) {
    const own = watch.own[name];
    if (own === undefined) delete target[name];
    else (target as Record<string, unknown>)[name] = own;
  }
}

/**
 * Tells the subscribers of phases after `phase` that a subscriber of `phase` configured the
 * context: the cache at attach and detach (the ring's ticket lifetime is set again on top), the
 * ring on detach with `-1` (a cache still attached sets its own timeout again).
 */
export function secureContextConfigured(server: TlsServer, phase: ContextPhase | -1): void {
  const watch = watches.get(server);
  if (watch === undefined) return;
  for (const s of [...watch.subscribers]) if (s.phase > phase) s.changed();
}

function wrap(server: TlsServer, watch: Watch): void {
  const target = server as unknown as Record<string, unknown>;
  for (const name of WRAPPED) {
    if (Object.hasOwn(server, name)) (watch.own as Record<string, unknown>)[name] = target[name];
    const base = target[name] as (...args: unknown[]) => unknown;
    target[name] = function (this: TlsServer, ...args: unknown[]) {
      const result = base.apply(this, args);
      // A copy: a subscriber may leave while being told.
      for (const s of [...watch.subscribers]) s.changed();
      return result;
    };
  }
}
