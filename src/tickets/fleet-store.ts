/**
 * The ring's view of a {@link SessionStore}: one sealed record per slot (`<prefix>slot:<epoch>`)
 * and one meta record (`<prefix>meta`). No compare-and-set is needed: slots are named by time,
 * every member re-reads them on each sync and adopts what the store holds, and the key of the
 * next slot is written a whole rotation interval before it encrypts anything.
 */
import { EncryptedStore, type SealingKey } from '../stores/encrypted-store.js';
import type { SessionStore } from '../stores/session-store.js';
import { messageOf } from '../stores/store-error.js';
import { storeTraits } from '../stores/store-traits.js';
import { withBudget } from '../util/budget.js';
import { TicketKeyError } from './errors.js';
import { decodeMeta, decodeSlot, encodeMeta, encodeSlot, type RingKey, type RingMeta } from './ticket-key.js';

/** How long the meta record lives without being rewritten (a member rewrites it when absent). */
const META_TTL_MS = 400 * 24 * 3600 * 1000;

export class FleetStore {
  readonly #store: SessionStore;
  readonly #prefix: string;
  readonly #timeoutMs: number;
  /** Values come back as fresh decrypted copies, which are ours to wipe. */
  readonly #sealed: boolean;

  constructor(store: SessionStore, kek: SealingKey | undefined, prefix: string, timeoutMs: number) {
    const sealed = kek === undefined ? store : new EncryptedStore(store, { key: kek });
    const traits = storeTraits(sealed);
    if (traits.persistent && !traits.sealed) {
      throw new TicketKeyError(
        'ERR_TICKET_OPTION',
        'TicketKeyRing: the store keeps ticket keys outside this process without sealing them; give a kek or an EncryptedStore',
      );
    }
    this.#store = sealed;
    this.#sealed = traits.sealed;
    this.#prefix = prefix;
    this.#timeoutMs = timeoutMs;
  }

  #key(suffix: string): Buffer {
    return Buffer.from(`${this.#prefix}${suffix}`, 'utf8');
  }

  async #call<T>(what: string, pending: Promise<T>): Promise<T> {
    try {
      return await withBudget(pending, this.#timeoutMs, `ticket key store ${what}`);
    } catch (err) {
      throw new TicketKeyError('ERR_TICKET_STORE', `ticket key store ${what}: ${messageOf(err)}`);
    }
  }

  async readMeta(): Promise<RingMeta | undefined> {
    const value = await this.#call('read', this.#store.get(this.#key('meta')));
    return value === undefined ? undefined : decodeMeta(value);
  }

  async writeMeta(meta: RingMeta): Promise<void> {
    await this.#call('write', this.#store.set(this.#key('meta'), encodeMeta(meta), META_TTL_MS));
  }

  /** The keys of slot `epoch` (primary first), or `undefined` when the store has none. */
  async readSlot(epoch: number): Promise<RingKey[] | undefined> {
    const value = await this.#call('read', this.#store.get(this.#key(`slot:${epoch}`)));
    return value === undefined ? undefined : decodeSlot(value, this.#sealed);
  }

  /**
   * The keys of each slot of `epochs`, read together: one `getMany` where the store has it (one
   * round trip to Redis), else every `get` at once, all within one time budget; never one
   * round trip per slot. A record that cannot be decoded is handed to `onBadRecord` and reads
   * as `undefined`.
   */
  async readSlots(
    epochs: readonly number[],
    onBadRecord: (err: TicketKeyError) => void,
  ): Promise<Array<RingKey[] | undefined>> {
    const keys = epochs.map((e) => this.#key(`slot:${e}`));
    const store = this.#store;
    const values = await this.#call(
      'read',
      store.getMany !== undefined ? store.getMany(keys) : Promise.all(keys.map((k) => store.get(k))),
    );
    return values.map((value) => {
      if (value === undefined) return undefined;
      try {
        return decodeSlot(value, this.#sealed);
      } catch (err) {
        if (!(err instanceof TicketKeyError)) throw err;
        onBadRecord(err);
        return undefined;
      }
    });
  }

  async writeSlot(epoch: number, keys: readonly RingKey[], ttlMs: number): Promise<void> {
    const value = encodeSlot(keys);
    try {
      await this.#call('write', this.#store.set(this.#key(`slot:${epoch}`), value, Math.max(1000, Math.ceil(ttlMs))));
    } finally {
      value.fill(0);
    }
  }

  async deleteSlot(epoch: number): Promise<void> {
    await this.#call('delete', this.#store.delete(this.#key(`slot:${epoch}`)));
  }
}
