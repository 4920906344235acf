import { randomFillSync } from 'node:crypto';
import { EventEmitter } from 'node:events';
import type { Server as TlsServer } from 'node:tls';
import type { ServerSessionCache } from '../server/server-session-cache.js';
import { messageOf } from '../util/errors.js';
import { TicketKeyError } from './errors.js';
import { FleetStore } from './fleet-store.js';
import { FleetSync } from './fleet-sync.js';
import { bindTarget, ServerBinding, type TicketKeySource } from './server-binding.js';
import {
  TICKET_NOT_DECRYPTABLE,
  TICKET_OK,
  TICKET_RENEW,
  type TicketKeyAnswer,
  type TicketKeyCallback,
} from '../node/ticket-key-callback.js';
import { check, type ResolvedRingOptions, resolveRingOptions, type TicketKeyRingOptions } from './options.js';
import {
  decide,
  epochOf,
  type KeyDecision,
  missingPrimaries,
  primaryOf,
  type RingState,
  roleOf,
  type TicketKeyRole,
  timesOf,
} from './key-schedule.js';
import { generateKey, keyName, MAX_SLOT_KEYS, type RingKey, wipe } from './ticket-key.js';

export type { TicketKeyRole } from './key-schedule.js';

/** A key as the ring reports it: never its material unless asked with `reveal`. */
export interface TicketKeyInfo {
  /** The key name, 32 hex characters. Not secret: it starts every ticket the key encrypted. */
  name: string;
  role: TicketKeyRole;
  /** The rotation slot the key belongs to: `floor(time / rotateEvery)` of its turn. */
  epoch: number;
  createdAt: Date;
  /** When the key's turn to encrypt starts and ends; `null` for a key demoted by a manual rotation. */
  encryptsFrom: Date | null;
  encryptsUntil: Date | null;
  /** When the key stops decrypting (a current key kept past its turn, store unreachable, keeps going). */
  decryptsUntil: Date;
  /** The 48 bytes in hex (name, HMAC key, AES key): only with `reveal: true`. */
  material?: string;
}

/** Counters of a {@link TicketKeyRing}, since it was made. */
export interface TicketKeyRingStats {
  /** Tickets encrypted (with the current key). */
  encrypted: number;
  /** Tickets decrypted by the current key. */
  decrypted: number;
  /** Tickets decrypted by another accepted key; each is renewed under the current key. */
  renewed: number;
  /** Tickets whose key name is unknown or retired: the handshake is a full one. */
  rejected: number;
}

/** Events of {@link TicketKeyRing}. Emitted asynchronously, never from inside a handshake. */
export interface TicketKeyRingEvents {
  /** Another key became the current one. */
  rotate: [current: TicketKeyInfo];
  /** A key stopped decrypting; its material has been wiped. */
  retire: [key: TicketKeyInfo];
  /** A store call failed (the ring kept its keys), a record was unreadable, or the store's timing differs. */
  error: [error: TicketKeyError];
}

/** Options of {@link TicketKeyRing.attach}. */
export interface TicketKeyAttachOptions {
  /**
   * The session timeout the server would use without the ring, in seconds. Default: the
   * cache's `timeout` when a {@link ServerSessionCache} is given, else the server's
   * `sessionTimeout`, else 7200 (OpenSSL's, which Node servers use). The server announces
   * `min(sessionTimeout, grace)` as ticket lifetime.
   */
  sessionTimeout?: number;
}

interface Accepted {
  key: RingKey;
  answer: TicketKeyAnswer;
}

const ZERO16 = Buffer.alloc(16);
const NOT_DECRYPTABLE: TicketKeyAnswer = [TICKET_NOT_DECRYPTABLE, ZERO16, ZERO16];
const IV_POOL_BYTES = 4096;

/**
 * Rotating TLS session ticket keys for Node servers, shared by a fleet: the current key
 * encrypts, the previous keys decrypt until their grace period ends, the next key is known
 * (and decrypts) one rotation ahead. Tickets decrypted by a key other than the current one are
 * renewed under the current key. Works with `tls`, `https` and `http2` secure servers, with or
 * without a {@link ServerSessionCache} (in its default `'auto'` mode the ring encrypts TLS 1.2
 * tickets; in `'stateless'` mode, every ticket).
 *
 * @example
 * ```ts
 * const ring = new TicketKeyRing({ store: new RedisStore({ url }), kek: { id: 'kek-1', key: kekBytes } });
 * await ring.start();           // reads (or creates) the fleet's keys
 * ring.attach(server);          // tls.Server, https.Server or http2 secure server
 * // on shutdown
 * await ring.close();
 * ```
 */
export class TicketKeyRing extends EventEmitter<TicketKeyRingEvents> {
  readonly #opts: ResolvedRingOptions;
  readonly #fleet: FleetSync | undefined;
  readonly #state: RingState;
  #accepted = new Map<string, Accepted>();
  #current: RingKey | undefined;
  #encryptAnswer: [number, Buffer, Buffer, Buffer, Buffer] | undefined;
  readonly #iv = Buffer.alloc(16);
  readonly #ivPool = Buffer.alloc(IV_POOL_BYTES);
  #ivAt = IV_POOL_BYTES;
  #nextChangeMs = 0;
  readonly #bindings = new Map<TlsServer, ServerBinding>();
  readonly #source: TicketKeySource;
  readonly #stats: TicketKeyRingStats = { encrypted: 0, decrypted: 0, renewed: 0, rejected: 0 };
  #timer: NodeJS.Timeout | undefined;
  #started = false;
  #closed = false;
  #syncing: Promise<boolean> | undefined;
  #warnedLocal = false;
  /** Keys taken out of the slots, wiped by the next `#recompute` (the callback may still use them until then). */
  readonly #discarded: RingKey[] = [];

  /** @param options see {@link TicketKeyRingOptions}; throws `ERR_TICKET_OPTION` on bad input. */
  constructor(options: TicketKeyRingOptions = {}) {
    super();
    this.#opts = resolveRingOptions(options);
    this.#source = {
      callback: this.#callback,
      currentKey: () => this.#current?.material,
      graceMs: () => this.#state.graceMs,
    };
    this.#state = {
      slots: new Map(),
      rotateEveryMs: this.#opts.rotateEveryMs,
      graceMs: this.#opts.graceMs,
      revokedBeforeMs: 0,
    };
    this.#fleet =
      this.#opts.store === undefined
        ? undefined
        : new FleetSync(
            new FleetStore(this.#opts.store, this.#opts.kek, this.#opts.prefix, this.#opts.storeTimeoutMs),
            {
              state: this.#state,
              now: () => this.#opts.now(),
              isClosed: () => this.#closed,
              fill: (t, epochs) => this.#fill(t, epochs),
              discard: (k) => this.#discard(k),
              recompute: (t) => this.#recompute(t),
              report: (err) => this.#report(err),
              scheduleChanged: () => this.#checkBindings(),
            },
          );
  }

  /** Seconds a key encrypts before the next takes over (the store's value once synced). */
  get rotateEvery(): number {
    return this.#state.rotateEveryMs / 1000;
  }

  /** Seconds a key still decrypts after its turn (the store's value once synced). */
  get grace(): number {
    return this.#state.graceMs / 1000;
  }

  /** The name (32 hex characters) of the key that encrypts now, if the ring has keys. */
  get currentName(): string | undefined {
    this.#refresh();
    return this.#current === undefined ? undefined : keyName(this.#current);
  }

  /** A snapshot of the counters. */
  stats(): TicketKeyRingStats {
    return { ...this.#stats };
  }

  /**
   * Loads the fleet's keys (creating the missing current and next ones) and starts the periodic
   * sync. Resolves `true` when the store answered (or there is no store); on `false` the ring
   * made local keys and keeps trying. Never rejects for store failures.
   */
  async start(): Promise<boolean> {
    this.#checkOpen();
    this.#started = true;
    const ok = await this.sync();
    this.#schedule();
    return ok;
  }

  /**
   * One round with the store: read the meta record and every slot still in use, adopt what the
   * store holds, write the current and next keys when the store lacks them, wipe retired keys.
   * Resolves `true` when the store answered, `false` when the ring kept its own keys (reported
   * as an `'error'` event). Without a store it only rotates and retires by the clock.
   */
  sync(): Promise<boolean> {
    if (this.#closed)
      return Promise.reject(new TicketKeyError('ERR_TICKET_CLOSED', 'TicketKeyRing: the ring is closed'));
    this.#syncing ??= this.#syncOnce().finally(() => {
      this.#syncing = undefined;
    });
    return this.#syncing;
  }

  /**
   * Reads the fleet's keys from the store without writing anything (what `tls-sessions keys
   * list` does). Rejects with `ERR_TICKET_STORE` when the store cannot be read.
   */
  async load(): Promise<void> {
    this.#checkOpen();
    if (this.#fleet === undefined) {
      this.#refresh(true);
      return;
    }
    await this.#fleet.pull(false);
    this.#recompute(this.#opts.now());
  }

  /**
   * Replaces the current key now. The replaced key keeps decrypting for the grace period, or,
   * with `revoke`, every key is dropped at once (a leaked key): all outstanding tickets then
   * cost a full handshake. With a store, the whole fleet adopts the change at its next sync.
   * Rejects with `ERR_TICKET_STORE` when the store cannot be reached (nothing changes then).
   */
  async rotate(options: { revoke?: boolean } = {}): Promise<TicketKeyInfo> {
    this.#checkOpen();
    // A revocation asked as 'yes' must not become a plain rotation that leaves a leaked key decrypting.
    const revoke = check.boolean(check.object(options).revoke, 'rotate: revoke', false);
    const fleet = this.#fleet;
    if (fleet !== undefined) await fleet.pull(true);
    const t = this.#opts.now();
    const n = epochOf(t, this.#state);
    if (revoke) {
      this.#state.revokedBeforeMs = t;
      for (const keys of this.#state.slots.values()) for (const k of keys) this.#discard(k);
      const held = [...this.#state.slots.keys()];
      this.#state.slots.clear();
      this.#fill(t);
      this.#recompute(t);
      if (fleet !== undefined) await fleet.publishRevocation(t, held);
    } else {
      const keys = this.#state.slots.get(n) ?? [];
      for (const k of keys) if (k.untilMs === 0) k.untilMs = t + this.#state.graceMs;
      const next = [generateKey(t), ...keys];
      for (const k of next.splice(MAX_SLOT_KEYS)) this.#discard(k);
      this.#state.slots.set(n, next);
      this.#recompute(t);
      if (fleet !== undefined) await fleet.writeSlot(n, t);
    }
    return this.#infoOf(this.#current!, n, t);
  }

  /**
   * The keys the ring holds, current first, then next, then previous ones newest first.
   * Key material is left out unless `reveal` is set.
   */
  list(options: { reveal?: boolean } = {}): TicketKeyInfo[] {
    const reveal = check.boolean(check.object(options).reveal, 'list: reveal', false);
    const t = this.#opts.now();
    this.#refresh();
    const out: TicketKeyInfo[] = [];
    for (const [epoch, keys] of this.#state.slots) {
      for (const k of keys) out.push(this.#infoOf(k, epoch, t, reveal));
    }
    const rank: Record<TicketKeyRole, number> = { current: 0, next: 1, previous: 2 };
    return out.sort(
      (a, b) =>
        rank[a.role] - rank[b.role] || b.epoch - a.epoch || b.decryptsUntil.getTime() - a.decryptsUntil.getTime(),
    );
  }

  /**
   * Puts the ring in charge of the tickets of `target`: a `tls.Server`, `https.Server` or http2
   * secure server, or a {@link ServerSessionCache} attached to one (attach the cache first).
   * The server's context gets the ring's ticket key callback and a session timeout of
   * `min(sessionTimeout, grace)`, so no ticket is announced to live longer than its key.
   * Starts the periodic sync if `start()` was not called.
   *
   * @throws TicketKeyError `ERR_TICKET_SERVER`, `ERR_TICKET_ATTACHED` or `ERR_TICKET_NODE`.
   */
  attach(target: TlsServer | ServerSessionCache, options: TicketKeyAttachOptions = {}): this {
    this.#checkOpen();
    const bound = bindTarget(target, options.sessionTimeout);
    this.#refresh(true);
    if (this.#current === undefined) {
      // Attached before start(): serve with local keys now, and fetch the fleet's at once.
      this.#makeLocalKeys(this.#opts.now(), false);
      if (this.#fleet !== undefined) void this.sync().catch(() => false);
    }
    this.#bindings.set(bound.server, new ServerBinding(bound, this.#source));
    this.#schedule();
    return this;
  }

  /**
   * Gives the server back Node's single-key tickets, keeping the current key so that its
   * tickets still resume; `server.setTicketKeys()` works again. Tickets of other keys no longer do.
   */
  detach(server: TlsServer): void {
    const binding = this.#bindings.get(server);
    if (binding === undefined) return;
    this.#bindings.delete(server);
    binding.release();
    if (this.#bindings.size === 0 && !this.#started) this.#stopTimer();
  }

  /** Detaches every server, stops the sync and wipes every key. The store is left open. */
  async close(): Promise<void> {
    if (this.#closed) return;
    for (const server of [...this.#bindings.keys()]) this.detach(server);
    this.#closed = true;
    this.#stopTimer();
    await this.#syncing?.catch(() => {});
    for (const keys of this.#state.slots.values()) for (const k of keys) wipe(k);
    for (const k of this.#discarded.splice(0)) wipe(k);
    this.#state.slots.clear();
    this.#accepted = new Map();
    this.#current = undefined;
    this.#encryptAnswer = undefined;
  }

  // ---- the handshake path ---------------------------------------------------------------

  /** Called by Node for every ticket: one Map lookup, no allocation but the name string. */
  readonly #callback: TicketKeyCallback = (name, _iv, encrypt) => {
    const t = this.#opts.now();
    if (t >= this.#nextChangeMs) this.#recompute(t);
    if (encrypt) {
      const answer = this.#encryptAnswer;
      // Unreachable while attached (attach makes a key); a full handshake is the safe answer.
      if (answer === undefined) return NOT_DECRYPTABLE;
      // IVs come from a random pool refilled every 256 tickets: one CSPRNG call per ticket cost
      // a few microseconds. IVs are not secret (every ticket carries its own in clear).
      if (this.#ivAt >= IV_POOL_BYTES) {
        randomFillSync(this.#ivPool);
        this.#ivAt = 0;
      }
      this.#ivPool.copy(answer[4], 0, this.#ivAt, this.#ivAt + 16);
      this.#ivAt += 16;
      this.#stats.encrypted++;
      return answer;
    }
    const hit = this.#accepted.get(name.toString('latin1'));
    if (hit === undefined) {
      this.#stats.rejected++;
      return NOT_DECRYPTABLE;
    }
    if (hit.answer[0] === TICKET_OK) this.#stats.decrypted++;
    else this.#stats.renewed++;
    return hit.answer;
  };

  // ---- roles ----------------------------------------------------------------------------

  #discard(k: RingKey): void {
    this.#discarded.push(k);
  }

  #refresh(force = false): void {
    const t = this.#opts.now();
    if (force || t >= this.#nextChangeMs) this.#recompute(t);
  }

  /** Makes a primary for each of `epochs` (default: the current and next slots) that lacks one; returns those made. */
  #fill(t: number, epochs: readonly number[] = missingPrimaries(this.#state.slots, t, this.#state)): number[] {
    const made: number[] = [];
    for (const e of epochs) {
      const keys = this.#state.slots.get(e) ?? [];
      if (primaryOf(keys) !== undefined) continue;
      this.#state.slots.set(e, [generateKey(t), ...keys]);
      made.push(e);
    }
    return made;
  }

  /** Decides the roles at `t` (see key-schedule.ts) and applies them. */
  #recompute(t: number): void {
    // A local ring makes its own keys as time goes by.
    if (this.#fleet === undefined && !this.#closed) this.#fill(t);
    this.#apply(decide(this.#state.slots, t, this.#state), t);
  }

  /**
   * The one place a decision takes effect: the callback's answers, the servers' key, the
   * `rotate` and `retire` events, wiping, and deleting emptied slots from the store.
   */
  #apply(d: KeyDecision, t: number): void {
    const current = d.current;
    const accepted = new Map<string, Accepted>();
    for (const k of d.decrypting) {
      accepted.set(k.id, {
        key: k,
        answer: [k === current ? TICKET_OK : TICKET_RENEW, k.material.subarray(16, 32), k.material.subarray(32, 48)],
      });
    }
    const rotated = current !== this.#current;
    this.#current = current;
    this.#encryptAnswer =
      current === undefined
        ? undefined
        : [
            TICKET_OK,
            current.material.subarray(16, 32),
            current.material.subarray(32, 48),
            current.material.subarray(0, 16),
            this.#iv,
          ];
    this.#accepted = accepted;
    this.#nextChangeMs = d.nextChangeMs;
    if (rotated && current !== undefined) {
      for (const b of this.#bindings.values()) b.setTicketKey(current.material);
      const info = this.#infoOf(current, d.currentEpoch ?? d.epoch, t);
      process.nextTick(() => this.emit('rotate', info));
    }
    const emptied: number[] = [];
    for (const { epoch, key } of d.retired) {
      const info = this.#infoOf(key, epoch, t);
      const keys = this.#state.slots.get(epoch)!;
      keys.splice(keys.indexOf(key), 1);
      if (keys.length === 0) {
        this.#state.slots.delete(epoch);
        emptied.push(epoch);
      }
      wipe(key);
      process.nextTick(() => this.emit('retire', info));
    }
    // Keys dropped since the last decision: nothing refers to them any more.
    for (const k of this.#discarded.splice(0)) wipe(k);
    // Not from inside a handshake: this may run in Node's ticket callback (forget defers it).
    if (emptied.length > 0) this.#fleet?.forget(emptied);
  }

  #infoOf(k: RingKey, epoch: number, t: number, reveal = false): TicketKeyInfo {
    const times = timesOf(k, epoch, this.#state);
    const info: TicketKeyInfo = {
      name: keyName(k),
      role: roleOf(k, epoch, this.#current, t, this.#state),
      epoch,
      createdAt: new Date(k.createdMs),
      encryptsFrom: times.encryptsFromMs === null ? null : new Date(times.encryptsFromMs),
      encryptsUntil: times.encryptsUntilMs === null ? null : new Date(times.encryptsUntilMs),
      decryptsUntil: new Date(times.decryptsUntilMs),
    };
    if (reveal) info.material = k.material.toString('hex');
    return info;
  }

  // ---- sync ---------------------------------------------------------------------------

  async #syncOnce(): Promise<boolean> {
    const fleet = this.#fleet;
    if (fleet === undefined) {
      this.#refresh(true);
      this.#checkBindings();
      return true;
    }
    let ok = true;
    try {
      await fleet.pull(true);
    } catch (err) {
      ok = false;
      this.#report(err);
    }
    if (this.#closed) return ok;
    const t = this.#opts.now();
    this.#recompute(t);
    if (this.#current === undefined) this.#makeLocalKeys(t);
    this.#checkBindings();
    return ok;
  }

  /** A ring with a store that has no key at all (store unreachable at start): make local ones. */
  #makeLocalKeys(t: number, warn = true): void {
    this.#fill(t);
    this.#recompute(t);
    if (warn && this.#fleet !== undefined && !this.#warnedLocal) {
      this.#warnedLocal = true;
      process.emitWarning(
        'ticket keys were made locally because the key store could not be read; they are replaced by the fleet keys once it can',
        { code: 'TLS_SESSIONS_TICKET_KEYS_LOCAL' },
      );
    }
  }

  // ---- housekeeping ---------------------------------------------------------------------

  /** Reinstalls where the application replaced a server's context, and re-applies the lifetime. */
  #checkBindings(): void {
    for (const b of this.#bindings.values()) b.install();
  }

  #schedule(): void {
    if (this.#timer !== undefined || this.#closed) return;
    this.#timer = setTimeout(() => {
      this.#timer = undefined;
      if (this.#closed) return;
      void this.sync()
        .catch(() => false)
        .then(() => {
          if (this.#started || this.#bindings.size > 0) this.#schedule();
        });
    }, this.#opts.syncIntervalMs);
    this.#timer.unref();
  }

  #stopTimer(): void {
    if (this.#timer !== undefined) clearTimeout(this.#timer);
    this.#timer = undefined;
  }

  #checkOpen(): void {
    if (this.#closed) throw new TicketKeyError('ERR_TICKET_CLOSED', 'TicketKeyRing: the ring is closed');
  }

  #report(err: unknown): void {
    const e =
      err instanceof TicketKeyError
        ? err
        : new TicketKeyError('ERR_TICKET_STORE', `ticket key store: ${messageOf(err)}`);
    if (this.listenerCount('error') > 0) process.nextTick(() => this.emit('error', e));
  }
}
