/**
 * One bounded way to wait for something that happens on its own time: a counter that moves
 * after a socket closes, a peer that starts listening, a line a child prints.
 *
 * ```ts
 * await waitFor(() => srv.cache.stats().uncleanRemovals >= 1, { what: 'the unclean removal' });
 * const port = await waitFor(() => /ACCEPT .*:(\d+)/.exec(out)?.[1], { what: 's_server ACCEPT', timeoutMs: 5000 });
 * ```
 *
 * The predicate runs at once, then every `intervalMs` until it returns a truthy value (which
 * waitFor resolves with) or `timeoutMs` has passed, when waitFor rejects with
 * {@link WaitTimeoutError} naming `what` (and `detail()`, e.g. a peer's last output). An error
 * thrown by the predicate rejects at once. `giveUp()` returning a sentence stops the wait early
 * (a peer that exited will never become ready).
 */
import { setTimeout as delay } from 'node:timers/promises';

/** Options of {@link waitFor}. */
export interface WaitForOptions {
  /** What is awaited, for the failure message: 'the server to accept'. */
  what: string;
  /** Longest wait. Default 3000 ms. */
  timeoutMs?: number;
  /** Pause between two checks. Default 10 ms. */
  intervalMs?: number;
  /** Appended to the failure message, e.g. the tail of a peer's output. */
  detail?: () => string;
  /** A reason to stop waiting at once (the wait then fails with it), or undefined to go on. */
  giveUp?: () => string | undefined;
}

/** A {@link waitFor} that did not see its condition in time (or gave up). */
export class WaitTimeoutError extends Error {
  override name = 'WaitTimeoutError';
}

type Truthy<T> = Exclude<T, false | 0 | '' | null | undefined>;

/** Resolves with the predicate's first truthy value; rejects after `timeoutMs` (see module doc). */
export async function waitFor<T>(predicate: () => T | Promise<T>, opts: WaitForOptions): Promise<Truthy<T>> {
  const timeoutMs = opts.timeoutMs ?? 3000;
  const intervalMs = opts.intervalMs ?? 10;
  const deadline = Date.now() + timeoutMs;
  const message = (why: string): string => {
    const detail = opts.detail?.().trim();
    return `${opts.what}: ${why}${detail ? `: ${detail}` : ''}`;
  };
  for (;;) {
    const value = await predicate();
    if (value) return value as Truthy<T>;
    const reason = opts.giveUp?.();
    if (reason !== undefined) throw new WaitTimeoutError(message(reason));
    if (Date.now() >= deadline) throw new WaitTimeoutError(message(`not within ${timeoutMs} ms`));
    await delay(Math.min(intervalMs, Math.max(1, deadline - Date.now())));
  }
}

/** `p`, or a rejection naming `what` after `ms` (for one promise rather than a condition). */
export async function within<T>(p: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const limit = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new WaitTimeoutError(`${what}: not within ${ms} ms`)), ms);
  });
  try {
    return await Promise.race([p, limit]);
  } finally {
    clearTimeout(timer);
  }
}
