import { TlsSessionsError } from './errors.js';

/** Thrown (or returned) when a store call exceeds its time budget on a handshake path. */
export class BudgetExceededError extends TlsSessionsError<'ERR_STORE_TIMEOUT'> {
  override readonly name = 'BudgetExceededError';
  constructor(what: string, ms: number) {
    super('ERR_STORE_TIMEOUT', `${what}: no answer within ${ms} ms`);
  }
}

/**
 * Resolves with `promise`'s value, or rejects with {@link BudgetExceededError} after `ms`.
 * The timer is cleared either way, so nothing keeps the process alive.
 */
export function withBudget<T>(promise: Promise<T>, ms: number, what: string): Promise<T> {
  if (!Number.isFinite(ms)) return promise;
  return new Promise<T>((resolve, reject) => {
    const timer = setTimeout(() => reject(new BudgetExceededError(what, ms)), ms);
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
