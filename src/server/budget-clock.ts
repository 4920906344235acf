/**
 * Time budgets for store calls on the handshake path, without a timer per call.
 *
 * `withBudget()` (src/util/budget.ts) arms and clears one timer per call. Node keeps a list per
 * timeout duration and drops it when it empties, so a lone 50 ms timer per handshake creates and
 * destroys that list, and re-arms the native timer, every time. Every budget here has the same
 * length, so deadlines come in call order: pending calls wait in insertion order and one timer,
 * armed for the oldest deadline, expires them; a call that settles only leaves the map. The
 * timer is unref'd: it never keeps a process alive by itself (a listening server does).
 */
import { BudgetExceededError } from '../util/budget.js';

interface Pending {
  deadline: number;
  reject: (err: Error) => void;
  what: string;
}

export class BudgetClock {
  readonly #ms: number;
  readonly #pending = new Map<number, Pending>();
  #next = 0;
  #timer: NodeJS.Timeout | undefined;

  constructor(ms: number) {
    this.#ms = ms;
  }

  /** Resolves with `promise`'s value, or rejects with BudgetExceededError once the budget is spent. */
  run<T>(promise: Promise<T>, what: string): Promise<T> {
    return new Promise<T>((resolve, reject) => {
      const id = this.#next++;
      this.#pending.set(id, { deadline: performance.now() + this.#ms, reject, what });
      this.#timer ??= setTimeout(this.#expire, this.#ms).unref();
      promise.then(
        (v) => {
          if (this.#pending.delete(id)) resolve(v);
        },
        (e: unknown) => {
          if (this.#pending.delete(id)) reject(e);
        },
      );
    });
  }

  readonly #expire = (): void => {
    this.#timer = undefined;
    const now = performance.now();
    for (const [id, p] of this.#pending) {
      if (p.deadline > now) {
        // The oldest call still within budget: wake up at its deadline.
        this.#timer = setTimeout(this.#expire, Math.max(1, Math.ceil(p.deadline - now))).unref();
        return;
      }
      this.#pending.delete(id);
      p.reject(new BudgetExceededError(p.what, this.#ms));
    }
  };
}
