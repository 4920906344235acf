/**
 * The fleet sync protocol: how a ring's slots follow the store its fleet shares. Each round
 * reads the meta record and every slot still in use in one batch, adopts what the store holds
 * (its settings, its revocation, its keys), prunes what the store keeps too long, and writes the
 * current and next keys when the store lacks them. No compare-and-set is needed (see
 * fleet-store.ts): members that made the same slot at once agree by reading it back a moment
 * later. What the ring then does with its slots is decided by the key schedule, not here.
 */
import { TicketKeyError } from './errors.js';
import type { FleetStore } from './fleet-store.js';
import { decryptsUntil, epochOf, lowestLiveEpoch, primaryOf, type RingState, range } from './key-schedule.js';
import { MAX_SLOT_KEYS, type RingKey, type RingMeta, wipe } from './ticket-key.js';

/** Pause before reading back a key this member just made (see {@link FleetSync.pull}). */
const READ_BACK_MIN_MS = 100;
const READ_BACK_SPREAD_MS = 200;

/** What the sync reads and changes of its ring. */
export interface FleetMember {
  /** The ring's slots and settings, changed in place. */
  readonly state: RingState;
  now(): number;
  isClosed(): boolean;
  /** Makes a primary for each of `epochs` that lacks one; returns those made. */
  fill(t: number, epochs: readonly number[]): number[];
  /** Takes a key out of use: it is wiped once the next decision no longer refers to it. */
  discard(key: RingKey): void;
  /** Decides the roles at `t` again and applies them. */
  recompute(t: number): void;
  /** A store failure or an unreadable record, reported as an `'error'` event. */
  report(err: unknown): void;
  /** The rotation interval or grace period changed (the ticket lifetime follows the grace). */
  scheduleChanged(): void;
}

export class FleetSync {
  readonly #store: FleetStore;
  readonly #ring: FleetMember;
  /** The store settings last reported as differing from this ring's, reported once. */
  #reportedConfig = '';

  constructor(store: FleetStore, ring: FleetMember) {
    this.#store = store;
    this.#ring = ring;
  }

  /**
   * Reads the meta record and every slot still in use and adopts what the store holds; with
   * `write`, also prunes what the store keeps too long and writes the current and next keys
   * when the store lacks them. Rejects with `ERR_TICKET_STORE` when the store cannot be read.
   */
  async pull(write: boolean): Promise<void> {
    const store = this.#store;
    const ring = this.#ring;
    const state = ring.state;
    let meta: RingMeta | undefined;
    try {
      meta = await store.readMeta();
    } catch (err) {
      if (!(err instanceof TicketKeyError) || err.code !== 'ERR_TICKET_RECORD') throw err;
      ring.report(err);
      meta = undefined;
    }
    if (meta === undefined) {
      if (write)
        await store.writeMeta({
          rotateEveryMs: state.rotateEveryMs,
          graceMs: state.graceMs,
          revokedBeforeMs: state.revokedBeforeMs,
        });
    } else {
      this.#adoptMeta(meta);
      ring.recompute(ring.now());
    }
    const t = ring.now();
    const n = epochOf(t, state);
    // Every live slot in one read (the options bound their number); then one decision.
    const epochs = range(lowestLiveEpoch(t, state), n + 1);
    const records = await store.readSlots(epochs, (err) => ring.report(err));
    if (ring.isClosed()) return;
    const pruned: number[] = [];
    const missing: number[] = [];
    epochs.forEach((e, i) => {
      const stored = records[i];
      if (stored !== undefined) {
        const live = stored.filter((k) => k.createdMs >= state.revokedBeforeMs && t < decryptsUntil(e, k, state));
        for (const k of stored) if (!live.includes(k)) wipe(k);
        this.#adoptSlot(e, live, t);
        if (write && live.length !== stored.length) pruned.push(e);
      } else if (e >= n && write) {
        missing.push(e);
      }
    });
    ring.recompute(t);
    for (const e of pruned) {
      if (state.slots.has(e)) await this.writeSlot(e, t);
      else await store.deleteSlot(e);
    }
    // Missing: put back the key this member has (a store that lost its data), else make one.
    const made = ring.fill(t, missing);
    if (made.length > 0) ring.recompute(t);
    for (const e of missing) await this.writeSlot(e, t);
    if (made.length === 0 || ring.isClosed()) return;
    // Members that made the same key at the same moment: the last write wins. Reading it back a
    // moment later lets them agree now rather than at their next sync.
    await new Promise((resolve) => setTimeout(resolve, READ_BACK_MIN_MS + Math.random() * READ_BACK_SPREAD_MS));
    for (const e of made) {
      const stored = await store.readSlot(e).catch(() => undefined);
      if (stored === undefined || ring.isClosed()) continue;
      this.#adoptSlot(e, stored, ring.now());
      ring.recompute(ring.now());
    }
  }

  #adoptMeta(meta: RingMeta): void {
    const ring = this.#ring;
    const state = ring.state;
    const t = ring.now();
    if (meta.rotateEveryMs !== state.rotateEveryMs || meta.graceMs !== state.graceMs) {
      const seen = `${meta.rotateEveryMs}/${meta.graceMs}`;
      if (this.#reportedConfig !== seen) {
        this.#reportedConfig = seen;
        ring.report(
          new TicketKeyError(
            'ERR_TICKET_CONFIG',
            `the store rotates every ${meta.rotateEveryMs / 1000} s with ${meta.graceMs / 1000} s of grace; this ring was given ${state.rotateEveryMs / 1000} s and ${state.graceMs / 1000} s and follows the store`,
          ),
        );
      }
      if (meta.rotateEveryMs !== state.rotateEveryMs) {
        // Slot numbers change meaning: every key held becomes decrypt-only for a grace period.
        const all = [...state.slots.values()].flat();
        for (const k of all) k.untilMs = Math.max(k.untilMs, t + meta.graceMs);
        state.slots.clear();
        state.rotateEveryMs = meta.rotateEveryMs;
        if (all.length > 0) state.slots.set(epochOf(t, state), all.slice(0, MAX_SLOT_KEYS));
        for (const k of all.slice(MAX_SLOT_KEYS)) ring.discard(k);
      }
      state.graceMs = meta.graceMs;
      ring.scheduleChanged();
    }
    if (meta.revokedBeforeMs > state.revokedBeforeMs) {
      state.revokedBeforeMs = meta.revokedBeforeMs;
      for (const [e, keys] of state.slots) {
        const kept = keys.filter((k) => k.createdMs >= meta.revokedBeforeMs);
        for (const k of keys) if (!kept.includes(k)) ring.discard(k);
        if (kept.length === 0) state.slots.delete(e);
        else state.slots.set(e, kept);
      }
    }
  }

  /**
   * The store's keys for slot `epoch` replace this member's, keeping the key objects it already
   * has (the encrypting key stays the same object). A primary this member made that lost a
   * race keeps decrypting its own tickets for a grace period if it ever encrypted.
   */
  #adoptSlot(epoch: number, stored: RingKey[], t: number): void {
    const ring = this.#ring;
    const state = ring.state;
    const local = state.slots.get(epoch) ?? [];
    const byId = new Map(local.map((k) => [k.id, k]));
    const next: RingKey[] = [];
    for (const s of stored) {
      const mine = byId.get(s.id);
      if (mine?.material.equals(s.material)) {
        mine.untilMs = s.untilMs;
        wipe(s);
        next.push(mine);
        byId.delete(s.id);
      } else {
        next.push(s);
      }
    }
    const n = epochOf(t, state);
    const storeHasPrimary = primaryOf(stored) !== undefined;
    for (const k of byId.values()) {
      if (k.untilMs !== 0) next.push(k);
      else if (!storeHasPrimary) {
        // The store dropped it as retired or revoked: so does this member (unless the store only
        // has demoted keys, which cannot stand in for a primary).
        if (stored.length === 0 || t >= decryptsUntil(epoch, k, state)) ring.discard(k);
        else next.unshift(k);
      } else if (epoch <= n && t < decryptsUntil(epoch, k, state)) {
        k.untilMs = t + state.graceMs; // lost the race for this slot after encrypting
        next.push(k);
      } else ring.discard(k);
    }
    for (const k of next.splice(MAX_SLOT_KEYS)) ring.discard(k);
    if (next.length === 0) state.slots.delete(epoch);
    else state.slots.set(epoch, next);
  }

  /** Writes slot `epoch` as this member holds it, to live as long as its longest-lived key. */
  async writeSlot(epoch: number, t: number): Promise<void> {
    const state = this.#ring.state;
    const keys = state.slots.get(epoch) ?? [];
    if (keys.length === 0) return;
    const ttl = Math.max(...keys.map((k) => decryptsUntil(epoch, k, state))) - t;
    await this.#store.writeSlot(epoch, keys, ttl);
  }

  /**
   * Publishes a revocation made at `t`: the meta record (every member drops older keys), the
   * new current and next slots, and the deletion of every older slot (`held`: those this
   * member had).
   */
  async publishRevocation(t: number, held: readonly number[]): Promise<void> {
    const state = this.#ring.state;
    const n = epochOf(t, state);
    // Every slot that may still hold a key the revocation drops.
    const lowest = lowestLiveEpoch(t, state);
    await this.#store.writeMeta({ rotateEveryMs: state.rotateEveryMs, graceMs: state.graceMs, revokedBeforeMs: t });
    await this.writeSlot(n, t);
    await this.writeSlot(n + 1, t);
    const gone = new Set([...held.filter((e) => e < n), ...range(lowest, n - 1)]);
    await Promise.all([...gone].map((e) => this.#store.deleteSlot(e)));
  }

  /** Deletes the records of slots whose keys all retired; not from inside a handshake. */
  forget(epochs: readonly number[]): void {
    setImmediate(() => {
      for (const e of epochs) this.#store.deleteSlot(e).catch((err: unknown) => this.#ring.report(err));
    });
  }
}
