/**
 * Checks of the option objects every public class takes, so that each fails the same way: at
 * construction, with its own typed error, in one line naming the class and the option
 * ("ServerSessionCache: storeTimeoutMs must be a positive number of milliseconds …").
 */

/**
 * Longest delay a Node timer honours. From 2^31 ms on, `setTimeout` warns and fires after 1 ms,
 * so a budget of "a very long time" would become no time at all.
 */
export const MAX_TIMER_MS = 2 ** 31 - 1;

/** Makes the owner's typed error from a full one-line message. */
export type OptionErrorFactory = (message: string) => Error;

/** A short, safe description of a bad value for a message (options are never secrets here). */
export function describeValue(value: unknown): string {
  if (typeof value === 'string') return `the string '${value.length > 20 ? `${value.slice(0, 20)}…` : value}'`;
  if (typeof value === 'number' || typeof value === 'boolean' || typeof value === 'bigint') return String(value);
  if (value === null || value === undefined) return String(value);
  if (Array.isArray(value)) return 'an array';
  return typeof value === 'object' ? 'an object' : `a ${typeof value}`;
}

/** The checks of one class's options; every message starts with `owner: `. */
export class OptionChecks {
  readonly #owner: string;
  readonly #error: OptionErrorFactory;

  constructor(owner: string, error: OptionErrorFactory) {
    this.#owner = owner;
    this.#error = error;
  }

  /** The owner's typed error for `message` (one line, the owner's name first). */
  fail(message: string): Error {
    return this.#error(`${this.#owner}: ${message}`);
  }

  /** `options` itself: `undefined` gives `{}`; anything but a plain object is refused. */
  object<T extends object>(options: T | undefined, name = 'options'): T {
    if (options === undefined) return {} as T;
    if (options === null || typeof options !== 'object' || Array.isArray(options)) {
      throw this.fail(`${name} must be an object (got ${describeValue(options)})`);
    }
    return options;
  }

  /** A duration in milliseconds for a timer: a number above 0 and at most {@link MAX_TIMER_MS}. */
  ms(value: unknown, name: string, fallback: number): number {
    if (value === undefined) return fallback;
    if (typeof value !== 'number' || !(value > 0) || !(value <= MAX_TIMER_MS)) {
      throw this.fail(
        `${name} must be a positive number of milliseconds up to ${MAX_TIMER_MS} (got ${describeValue(value)})`,
      );
    }
    return value;
  }

  /** Like {@link ms}, 0 allowed (a bound that may be turned off). */
  msOrZero(value: unknown, name: string, fallback: number): number {
    if (value === undefined) return fallback;
    if (typeof value !== 'number' || !(value >= 0) || !(value <= MAX_TIMER_MS)) {
      throw this.fail(
        `${name} must be a number of milliseconds from 0 to ${MAX_TIMER_MS} (got ${describeValue(value)})`,
      );
    }
    return value;
  }

  /** An integer from `min` to `max`; `unit` (e.g. `'seconds'`) goes in the message. */
  integer(value: unknown, name: string, fallback: number, min: number, max: number, unit?: string): number {
    if (value === undefined) return fallback;
    if (typeof value !== 'number' || !Number.isInteger(value) || value < min || value > max) {
      const what = unit === undefined ? 'an integer' : `an integer number of ${unit}`;
      throw this.fail(`${name} must be ${what} from ${min} to ${max} (got ${describeValue(value)})`);
    }
    return value;
  }

  /** `true` or `false`; anything else ('yes', 1) is refused rather than read as false. */
  boolean(value: unknown, name: string, fallback: boolean): boolean {
    if (value === undefined) return fallback;
    if (typeof value !== 'boolean') throw this.fail(`${name} must be true or false (got ${describeValue(value)})`);
    return value;
  }

  /** A string of at most `maxLength` characters. */
  string(value: unknown, name: string, fallback: string, maxLength = 1024): string {
    if (value === undefined) return fallback;
    if (typeof value !== 'string' || value.length > maxLength) {
      throw this.fail(`${name} must be a string of at most ${maxLength} characters (got ${describeValue(value)})`);
    }
    return value;
  }

  /** A function, or `undefined`. */
  func<F extends (...args: never[]) => unknown>(value: F | undefined, name: string): F | undefined {
    if (value !== undefined && typeof value !== 'function') {
      throw this.fail(`${name} must be a function (got ${describeValue(value)})`);
    }
    return value;
  }
}
