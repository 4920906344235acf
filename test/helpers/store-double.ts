/**
 * One configurable SessionStore double for tests of what the library does with a store that is
 * down, slow, never answers or returns garbage: a real MemoryStore inside, with failures,
 * hangs, wrong answers and delays set per method, and every call recorded.
 *
 * ```ts
 * const store = new StoreDouble();
 * store.fail('store is down');                  // every data call rejects with that message
 * store.fail(() => new Error('READONLY'), ['set']); // only set
 * store.hang(['take']);                         // take never settles
 * store.answer({ get: Uint8Array.of(1, 2) });   // get resolves with garbage
 * store.delay(150, ['take']);                   // take does its work, then answers 150 ms later
 * store.heal();                                 // every method back to the MemoryStore's answer
 * store.callsOf('set')                          // the arguments of each set, copied
 * ```
 *
 * `clear()` and `close()` always go straight to the MemoryStore. By default the double declares
 * the MemoryStore's traits (in this process, unsealed) and has no `getMany`, as MemoryStore;
 * `traits: null` declares none (a custom store nothing is known of: persistent, unsealed) and
 * `getMany: true` adds a batched read, which the rules above govern like the others.
 */
import { MemoryStore } from '../../src/stores/memory-store.js';
import type { SessionStore } from '../../src/stores/session-store.js';
import { STORE_TRAITS, type StoreTraits } from '../../src/stores/store-traits.js';

/** The data methods a rule can apply to. */
export type StoreMethod = 'get' | 'getMany' | 'set' | 'take' | 'delete' | 'push' | 'pop';

const ALL: readonly StoreMethod[] = ['get', 'getMany', 'set', 'take', 'delete', 'push', 'pop'];

/** Options of {@link StoreDouble}. */
export interface StoreDoubleOptions {
  /** Traits to declare; `null` declares none. Default: MemoryStore's. */
  traits?: StoreTraits | null;
  /** Whether the double has `getMany`. Default false (MemoryStore has none). */
  getMany?: boolean;
}

/** One recorded call: the method and its arguments (byte arrays copied when called). */
export interface StoreCall {
  method: StoreMethod;
  args: unknown[];
}

type Rule =
  | { kind: 'fail'; error: (...args: unknown[]) => Error }
  | { kind: 'hang' }
  | { kind: 'answer'; value: unknown };

function copy(arg: unknown): unknown {
  if (arg instanceof Uint8Array) return Uint8Array.prototype.slice.call(arg);
  if (Array.isArray(arg)) return arg.map(copy);
  return arg;
}

export class StoreDouble implements SessionStore {
  readonly inner = new MemoryStore();
  /** Every data call, in order. */
  readonly calls: StoreCall[] = [];
  /** Delayed calls not yet answered, and the most there were at once. */
  inFlight = 0;
  maxInFlight = 0;
  readonly #rules = new Map<StoreMethod, Rule>();
  readonly #delays = new Map<StoreMethod, number>();
  /** Present only with `getMany: true`. */
  readonly getMany?: (keys: readonly Uint8Array[]) => Promise<Array<Uint8Array | undefined>>;

  constructor(options: StoreDoubleOptions = {}) {
    const traits = options.traits === undefined ? this.inner[STORE_TRAITS] : options.traits;
    if (traits !== null) Object.defineProperty(this, STORE_TRAITS, { value: traits, enumerable: false });
    if (options.getMany) {
      this.getMany = (keys) => this.#call('getMany', [keys], () => Promise.all(keys.map((k) => this.inner.get(k))));
    }
  }

  /** Calls of `method` reject with `error` (a message, or made from the call's arguments). */
  fail(error: string | ((...args: unknown[]) => Error), methods: readonly StoreMethod[] = ALL): this {
    const make = typeof error === 'string' ? () => new Error(error) : error;
    for (const m of methods) this.#rules.set(m, { kind: 'fail', error: make });
    return this;
  }

  /** Calls of `methods` never settle. */
  hang(methods: readonly StoreMethod[] = ALL): this {
    for (const m of methods) this.#rules.set(m, { kind: 'hang' });
    return this;
  }

  /** Each listed method resolves with the given value instead of asking the MemoryStore. */
  answer(values: Partial<Record<StoreMethod, unknown>>): this {
    for (const [m, value] of Object.entries(values)) this.#rules.set(m as StoreMethod, { kind: 'answer', value });
    return this;
  }

  /** Calls of `methods` do their work at once and answer `ms` later (0: at once again). */
  delay(ms: number, methods: readonly StoreMethod[] = ALL): this {
    for (const m of methods) this.#delays.set(m, ms);
    return this;
  }

  /** Drops every rule and delay of `methods`: they answer as the MemoryStore does. */
  heal(methods: readonly StoreMethod[] = ALL): this {
    for (const m of methods) {
      this.#rules.delete(m);
      this.#delays.delete(m);
    }
    return this;
  }

  /** The arguments of each call of `method`, in order. */
  callsOf(method: StoreMethod): unknown[][] {
    return this.calls.filter((c) => c.method === method).map((c) => c.args);
  }

  async #call<T>(method: StoreMethod, args: unknown[], run: () => Promise<T>): Promise<T> {
    this.calls.push({ method, args: args.map(copy) });
    const rule = this.#rules.get(method);
    if (rule?.kind === 'fail') throw rule.error(...args);
    if (rule?.kind === 'hang') return new Promise<T>(() => {});
    // A fresh copy each time: the caller may wipe what it was given.
    const answered = rule?.kind === 'answer' ? Promise.resolve(copy(rule.value) as T) : run();
    const ms = this.#delays.get(method) ?? 0;
    if (ms <= 0) return answered;
    this.inFlight++;
    this.maxInFlight = Math.max(this.maxInFlight, this.inFlight);
    try {
      const value = await answered;
      await new Promise((resolve) => setTimeout(resolve, ms));
      return value;
    } finally {
      this.inFlight--;
    }
  }

  get(key: Uint8Array): Promise<Uint8Array | undefined> {
    return this.#call('get', [key], () => this.inner.get(key));
  }
  set(key: Uint8Array, value: Uint8Array, ttlMs: number): Promise<void> {
    return this.#call('set', [key, value, ttlMs], () => this.inner.set(key, value, ttlMs));
  }
  take(key: Uint8Array): Promise<Uint8Array | undefined> {
    return this.#call('take', [key], () => this.inner.take(key));
  }
  delete(key: Uint8Array): Promise<boolean> {
    return this.#call('delete', [key], () => this.inner.delete(key));
  }
  push(key: Uint8Array, value: Uint8Array, ttlMs: number, max: number): Promise<void> {
    return this.#call('push', [key, value, ttlMs, max], () => this.inner.push(key, value, ttlMs, max));
  }
  pop(key: Uint8Array): Promise<Uint8Array | undefined> {
    return this.#call('pop', [key], () => this.inner.pop(key));
  }
  clear(): Promise<void> {
    return this.inner.clear();
  }
  close(): Promise<void> {
    return this.inner.close();
  }
}
