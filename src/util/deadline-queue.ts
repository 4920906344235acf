/**
 * Deadlines of one length, expired by one timer however many are pending: what a handshake path
 * needs, where a timer per call would cost on every connection. Node keeps a list per timeout
 * duration and drops it when it empties, so a lone timer per call creates and destroys that
 * list, and re-arms the native timer, every time. Here every deadline has the same length, so
 * deadlines come in insertion order: keys wait in a Map (insertion order), one timer armed for
 * the oldest deadline expires them, and a key that is done early only leaves the Map.
 *
 * The timer is unref'd (it never keeps a process alive by itself) unless `keepAlive` is set;
 * then it is also cleared when the queue empties, so that it holds the process only while a
 * deadline is pending. Lengths beyond what a Node timer can wait are waited for in steps of
 * {@link MAX_TIMER_MS} (Node fires a longer timer after 1 ms).
 */
import { MAX_TIMER_MS } from './options.js';

export class DeadlineQueue<K> {
  readonly #ms: number;
  readonly #expired: (key: K) => void;
  readonly #keepAlive: boolean;
  /** Pending keys and their deadlines (`performance.now()` ms), oldest first. */
  readonly #deadlines = new Map<K, number>();
  #timer: NodeJS.Timeout | undefined;

  /** `expired` is called once for each key whose `ms` ran out before it was deleted. */
  constructor(ms: number, expired: (key: K) => void, options: { keepAlive?: boolean } = {}) {
    this.#ms = ms;
    this.#expired = expired;
    this.#keepAlive = options.keepAlive === true;
  }

  /** Starts `key`'s deadline, `ms` from now. */
  add(key: K): void {
    this.#deadlines.set(key, performance.now() + this.#ms);
    this.#timer ??= this.#arm(this.#ms);
  }

  /** Whether `key` is waiting (added, neither deleted nor expired). */
  has(key: K): boolean {
    return this.#deadlines.has(key);
  }

  /** Ends `key`'s wait before its deadline; `false` when it was not waiting (expired or never added). */
  delete(key: K): boolean {
    if (!this.#deadlines.delete(key)) return false;
    if (this.#keepAlive && this.#deadlines.size === 0 && this.#timer !== undefined) {
      clearTimeout(this.#timer);
      this.#timer = undefined;
    }
    return true;
  }

  #arm(delayMs: number): NodeJS.Timeout {
    const timer = setTimeout(this.#expire, Math.min(delayMs, MAX_TIMER_MS));
    return this.#keepAlive ? timer : timer.unref();
  }

  readonly #expire = (): void => {
    this.#timer = undefined;
    const now = performance.now();
    for (const [key, deadline] of this.#deadlines) {
      if (deadline > now) {
        // The oldest key still within its time: wake up at its deadline.
        this.#timer = this.#arm(Math.max(1, Math.ceil(deadline - now)));
        return;
      }
      this.#deadlines.delete(key);
      this.#expired(key);
    }
  };
}
