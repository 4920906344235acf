import { TlsSessionsError } from './errors.js';
import { MAX_TIMER_MS } from './options.js';

/** Thrown (or returned) when a store call exceeds its time budget on a handshake path. */
export class BudgetExceededError extends TlsSessionsError<'ERR_STORE_TIMEOUT'> {
  override readonly name = 'BudgetExceededError';
  constructor(what: string, ms: number) {
    super('ERR_STORE_TIMEOUT', `${what}: no answer within ${ms} ms`);
  }
}

/**
 * Resolves with `promise`'s value, or rejects with {@link BudgetExceededError} after `ms`.
 * The timer is cleared either way, so nothing keeps the process alive. `Infinity` means no
 * budget; anything longer than a Node timer can wait is capped at {@link MAX_TIMER_MS}.
 */
export function withBudget<T>(promise: Promise<T>, ms: number, what: string): Promise<T> {
  if (ms === Number.POSITIVE_INFINITY) return promise;
  // Node fires a timer of 2^31 ms or more after 1 ms: a budget that long is capped, not lost.
  const delayMs = Math.min(ms, MAX_TIMER_MS);
  return new Promise<T>((resolve, reject) => {
    const timer = setTimeout(() => reject(new BudgetExceededError(what, ms)), delayMs);
    promise.then(
      (v) => {
        clearTimeout(timer);
        resolve(v);
      },
      (e: unknown) => {
        clearTimeout(timer);
        reject(e);
      },
    );
  });
}
