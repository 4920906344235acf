import { DeadlineQueue } from './deadline-queue.js';
import { TlsSessionsError } from './errors.js';

/** Thrown (or returned) when a store call exceeds its time budget on a handshake path. */
export class BudgetExceededError extends TlsSessionsError<'ERR_STORE_TIMEOUT'> {
  override readonly name = 'BudgetExceededError';
  constructor(what: string, ms: number) {
    super('ERR_STORE_TIMEOUT', `${what}: no answer within ${ms} ms`);
  }
}

interface Pending {
  reject: (err: Error) => void;
  what: string;
}

/**
 * Time budgets of one length for store calls, without a timer per call: the calls wait in a
 * {@link DeadlineQueue}, which one timer expires in call order. The server's handshake path
 * makes one per cache (its timer is unref'd: a listening server keeps the process alive).
 */
export class BudgetClock {
  readonly #queue: DeadlineQueue<Pending>;

  /** `keepAlive`: the timer holds the process while a call is pending (see {@link withBudget}). */
  constructor(ms: number, options: { keepAlive?: boolean } = {}) {
    this.#queue = new DeadlineQueue<Pending>(ms, (p) => p.reject(new BudgetExceededError(p.what, ms)), options);
  }

  /** Resolves with `promise`'s value, or rejects with BudgetExceededError once the budget is spent. */
  run<T>(promise: Promise<T>, what: string): Promise<T> {
    return new Promise<T>((resolve, reject) => {
      const pending: Pending = { reject, what };
      this.#queue.add(pending);
      promise.then(
        (v) => {
          if (this.#queue.delete(pending)) resolve(v);
        },
        (e: unknown) => {
          if (this.#queue.delete(pending)) reject(e);
        },
      );
    });
  }
}

// One clock per budget length: callers use a few lengths (the options they were given).
const clocks = new Map<number, BudgetClock>();

/**
 * Resolves with `promise`'s value, or rejects with {@link BudgetExceededError} after `ms`.
 * `Infinity` means no budget; a budget longer than a Node timer can wait is waited for in steps.
 * Calls of the same length share one timer, which keeps the process alive only while one of
 * them is pending (like a timer per call, cleared when the call settles).
 */
export function withBudget<T>(promise: Promise<T>, ms: number, what: string): Promise<T> {
  if (ms === Number.POSITIVE_INFINITY) return promise;
  let clock = clocks.get(ms);
  if (clock === undefined) {
    clock = new BudgetClock(ms, { keepAlive: true });
    clocks.set(ms, clock);
  }
  return clock.run(promise, what);
}
