import { randomFillSync } from 'node:crypto';
import { EventEmitter } from 'node:events';
import { Server as TlsServer } from 'node:tls';
import { ServerSessionCache } from '../server/server-session-cache.js';
import { OPENSSL_DEFAULT_TIMEOUT_S } from '../session/names.js';
import { TicketKeyError } from './errors.js';
import { FleetStore } from './fleet-store.js';
import {
  compatibilityCallback,
  TICKET_NOT_DECRYPTABLE,
  TICKET_OK,
  TICKET_RENEW,
  type TicketContext,
  type TicketKeyAnswer,
  type TicketKeyCallback,
  type TicketServerInternals,
  ticketCallbackUnsupported,
} from './node-ticket-callback.js';
import { check, type ResolvedRingOptions, resolveRingOptions, type TicketKeyRingOptions } from './options.js';
import { generateKey, keyName, MAX_SLOT_KEYS, type RingKey, wipe } from './ticket-key.js';

/** What a key does now. */
export type TicketKeyRole =
  /** Encrypts new tickets (and decrypts). */
  | 'current'
  /** Takes over at the next rotation; already decrypts, so a fleet can switch a little unevenly. */
  | 'next'
  /** Stopped encrypting; decrypts until `decryptsUntil`. */
  | 'previous';

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

interface Binding {
  server: TicketServerInternals;
  context: TicketContext;
  sessionTimeoutS: number;
  ownSetSecureContext: unknown;
}

const kRing = Symbol('tls-sessions.TicketKeyRing');
const ZERO16 = Buffer.alloc(16);
const NOT_DECRYPTABLE: TicketKeyAnswer = [TICKET_NOT_DECRYPTABLE, ZERO16, ZERO16];
const IV_POOL_BYTES = 4096;
/** Pause before reading back a key this member just made (see #syncStore). */
const READ_BACK_MIN_MS = 100;
const READ_BACK_SPREAD_MS = 200;

type RingServer = TicketServerInternals & { [kRing]?: TicketKeyRing };

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
  readonly #fleet: FleetStore | undefined;
  #rotateEveryMs: number;
  #graceMs: number;
  #revokedBeforeMs = 0;
  readonly #slots = new Map<number, RingKey[]>();
  #accepted = new Map<string, Accepted>();
  #current: RingKey | undefined;
  #encryptAnswer: [number, Buffer, Buffer, Buffer, Buffer] | undefined;
  readonly #iv = Buffer.alloc(16);
  readonly #ivPool = Buffer.alloc(IV_POOL_BYTES);
  #ivAt = IV_POOL_BYTES;
  #nextChangeMs = 0;
  readonly #bindings = new Map<TicketServerInternals, Binding>();
  readonly #stats: TicketKeyRingStats = { encrypted: 0, decrypted: 0, renewed: 0, rejected: 0 };
  #timer: NodeJS.Timeout | undefined;
  #started = false;
  #closed = false;
  #syncing: Promise<boolean> | undefined;
  #warnedLocal = false;
  /** Keys taken out of the slots, wiped by the next `#recompute` (the callback may still use them until then). */
  readonly #discarded: RingKey[] = [];
  #reportedConfig = '';

  /** @param options see {@link TicketKeyRingOptions}; throws `ERR_TICKET_OPTION` on bad input. */
  constructor(options: TicketKeyRingOptions = {}) {
    super();
    this.#opts = resolveRingOptions(options);
    this.#rotateEveryMs = this.#opts.rotateEveryMs;
    this.#graceMs = this.#opts.graceMs;
    this.#fleet =
      this.#opts.store === undefined
        ? undefined
        : new FleetStore(this.#opts.store, this.#opts.kek, this.#opts.prefix, this.#opts.storeTimeoutMs);
  }

  /** Seconds a key encrypts before the next takes over (the store's value once synced). */
  get rotateEvery(): number {
    return this.#rotateEveryMs / 1000;
  }

  /** Seconds a key still decrypts after its turn (the store's value once synced). */
  get grace(): number {
    return this.#graceMs / 1000;
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
    if (this.#closed) return Promise.reject(new TicketKeyError('ERR_TICKET_CLOSED', 'TicketKeyRing: the ring is closed'));
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
    await this.#syncStore(this.#fleet, false);
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
    if (fleet !== undefined) await this.#syncStore(fleet, true);
    const t = this.#opts.now();
    const n = this.#epochOf(t);
    if (revoke) {
      this.#revokedBeforeMs = t;
      for (const keys of this.#slots.values()) for (const k of keys) this.#discard(k);
      const lowest = this.#lowestLiveEpoch(t);
      const old = [...this.#slots.keys()];
      this.#slots.clear();
      this.#slots.set(n, [generateKey(t)]);
      this.#slots.set(n + 1, [generateKey(t)]);
      this.#recompute(t);
      if (fleet !== undefined) {
        await fleet.writeMeta({ rotateEveryMs: this.#rotateEveryMs, graceMs: this.#graceMs, revokedBeforeMs: t });
        await this.#writeSlot(fleet, n, t);
        await this.#writeSlot(fleet, n + 1, t);
        const gone = new Set([...old.filter((e) => e < n), ...range(lowest, n - 1)]);
        await Promise.all([...gone].map((e) => fleet.deleteSlot(e)));
      }
    } else {
      const keys = this.#slots.get(n) ?? [];
      for (const k of keys) if (k.untilMs === 0) k.untilMs = t + this.#graceMs;
      const next = [generateKey(t), ...keys];
      for (const k of next.splice(MAX_SLOT_KEYS)) this.#discard(k);
      this.#slots.set(n, next);
      this.#recompute(t);
      if (fleet !== undefined) await this.#writeSlot(fleet, n, t);
    }
    this.#recompute(t);
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
    for (const [epoch, keys] of this.#slots) {
      for (const k of keys) out.push(this.#infoOf(k, epoch, t, reveal));
    }
    const rank: Record<TicketKeyRole, number> = { current: 0, next: 1, previous: 2 };
    return out.sort((a, b) => rank[a.role] - rank[b.role] || b.epoch - a.epoch || b.decryptsUntil.getTime() - a.decryptsUntil.getTime());
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
    let server: RingServer;
    let timeout: number | undefined = options.sessionTimeout;
    if (target instanceof ServerSessionCache) {
      if (target.server === undefined) {
        throw new TicketKeyError('ERR_TICKET_SERVER', 'attach: the ServerSessionCache is not attached to a server');
      }
      server = target.server as RingServer;
      timeout ??= target.timeout;
    } else if (target instanceof TlsServer) {
      server = target as RingServer;
    } else {
      throw new TicketKeyError('ERR_TICKET_SERVER', 'attach: expected a tls.Server, https.Server, http2 secure server or ServerSessionCache');
    }
    if (timeout !== undefined && (!Number.isInteger(timeout) || timeout < 1 || timeout > 0x7fffffff)) {
      throw new TicketKeyError('ERR_TICKET_OPTION', 'attach: sessionTimeout must be a positive integer number of seconds');
    }
    if (server[kRing] !== undefined) {
      throw new TicketKeyError('ERR_TICKET_ATTACHED', 'attach: the server already has a ticket key ring');
    }
    const unsupported = ticketCallbackUnsupported(server);
    if (unsupported !== undefined) {
      throw new TicketKeyError('ERR_TICKET_NODE', `attach: Node.js ${process.version} changed: ${unsupported}`);
    }
    this.#refresh(true);
    if (this.#current === undefined) {
      // Attached before start(): serve with local keys now, and fetch the fleet's at once.
      this.#makeLocalKeys(this.#opts.now(), false);
      if (this.#fleet !== undefined) void this.sync().catch(() => false);
    }
    const binding: Binding = {
      server,
      context: server._sharedCreds!.context,
      sessionTimeoutS: timeout ?? (server.sessionTimeout || OPENSSL_DEFAULT_TIMEOUT_S),
      ownSetSecureContext: Object.hasOwn(server, 'setSecureContext') ? server.setSecureContext : undefined,
    };
    const ring = this;
    const base = server.setSecureContext;
    server.setSecureContext = function setSecureContext(this: TlsServer, ...args: Parameters<TlsServer['setSecureContext']>) {
      base.apply(this, args);
      ring.#install(binding);
    };
    server[kRing] = this;
    this.#bindings.set(server, binding);
    this.#install(binding);
    this.#schedule();
    return this;
  }

  /**
   * Gives the server back Node's single-key tickets, keeping the current key so that its
   * tickets still resume; `server.setTicketKeys()` works again. Tickets of other keys no longer do.
   */
  detach(server: TlsServer): void {
    const binding = this.#bindings.get(server as TicketServerInternals);
    if (binding === undefined) return;
    this.#bindings.delete(binding.server);
    const s = binding.server as RingServer;
    if (binding.ownSetSecureContext === undefined) delete (s as Partial<TlsServer>).setSecureContext;
    else s.setSecureContext = binding.ownSetSecureContext as TlsServer['setSecureContext'];
    delete s[kRing];
    const contexts = new Set([binding.context, s._sharedCreds?.context]);
    for (const ctx of contexts) {
      if (ctx === undefined) continue;
      if (this.#current !== undefined) ctx.setTicketKeys(this.#current.material);
      ctx.onticketkeycallback = compatibilityCallback;
      ctx.setSessionTimeout(binding.sessionTimeoutS);
    }
    if (this.#bindings.size === 0 && !this.#started) this.#stopTimer();
  }

  /** Detaches every server, stops the sync and wipes every key. The store is left open. */
  async close(): Promise<void> {
    if (this.#closed) return;
    for (const server of [...this.#bindings.keys()]) this.detach(server);
    this.#closed = true;
    this.#stopTimer();
    await this.#syncing?.catch(() => {});
    for (const keys of this.#slots.values()) for (const k of keys) wipe(k);
    for (const k of this.#discarded.splice(0)) wipe(k);
    this.#slots.clear();
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

  #install(binding: Binding): void {
    const ctx = binding.server._sharedCreds?.context;
    if (ctx === undefined) return;
    if (ctx !== binding.context) {
      binding.context.onticketkeycallback = compatibilityCallback;
      binding.context = ctx;
    }
    ctx.enableTicketKeyCallback();
    ctx.onticketkeycallback = this.#callback;
    if (this.#current !== undefined) ctx.setTicketKeys(this.#current.material);
    ctx.setSessionTimeout(Math.max(1, Math.min(binding.sessionTimeoutS, Math.floor(this.#graceMs / 1000))));
  }

  // ---- roles ----------------------------------------------------------------------------

  #discard(k: RingKey): void {
    this.#discarded.push(k);
  }

  #epochOf(t: number): number {
    return Math.floor(t / this.#rotateEveryMs);
  }

  /** The oldest slot whose primary may still decrypt at `t`: (epoch + 1) * R + grace > t. */
  #lowestLiveEpoch(t: number): number {
    return Math.floor((t - this.#graceMs) / this.#rotateEveryMs) - 1;
  }

  #decryptsUntil(epoch: number, k: RingKey): number {
    return k.untilMs !== 0 ? k.untilMs : (epoch + 1) * this.#rotateEveryMs + this.#graceMs;
  }

  #refresh(force = false): void {
    const t = this.#opts.now();
    if (force || t >= this.#nextChangeMs) this.#recompute(t);
  }

  /**
   * Decides, for time `t`, which key encrypts and which keys decrypt; wipes the keys that
   * retired. The only place roles are decided.
   */
  #recompute(t: number): void {
    const n = this.#epochOf(t);
    if (this.#fleet === undefined && !this.#closed) {
      // A local ring makes its own keys as time goes by.
      for (const e of [n, n + 1]) if (primaryOf(this.#slots.get(e)) === undefined) this.#slots.set(e, [generateKey(t), ...(this.#slots.get(e) ?? [])]);
    }
    const current = this.#pickCurrent(n);
    const accepted = new Map<string, Accepted>();
    const retired: Array<{ epoch: number; key: RingKey }> = [];
    let nextChange = (n + 1) * this.#rotateEveryMs;
    for (const [epoch, keys] of this.#slots) {
      if (epoch > n + 1 && keys[0] !== current) {
        nextChange = Math.min(nextChange, (epoch - 1) * this.#rotateEveryMs);
        continue;
      }
      for (const k of keys) {
        if (k === current) {
          accepted.set(k.id, { key: k, answer: [TICKET_OK, k.material.subarray(16, 32), k.material.subarray(32, 48)] });
          continue;
        }
        const until = this.#decryptsUntil(epoch, k);
        if (t >= until) {
          retired.push({ epoch, key: k });
          continue;
        }
        nextChange = Math.min(nextChange, until);
        accepted.set(k.id, { key: k, answer: [TICKET_RENEW, k.material.subarray(16, 32), k.material.subarray(32, 48)] });
      }
    }
    const rotated = current !== this.#current;
    this.#current = current;
    this.#encryptAnswer =
      current === undefined
        ? undefined
        : [TICKET_OK, current.material.subarray(16, 32), current.material.subarray(32, 48), current.material.subarray(0, 16), this.#iv];
    this.#accepted = accepted;
    this.#nextChangeMs = nextChange;
    if (rotated && current !== undefined) {
      for (const b of this.#bindings.values()) b.context.setTicketKeys(current.material);
      const info = this.#infoOf(current, this.#epochOfKey(current) ?? n, t);
      process.nextTick(() => this.emit('rotate', info));
    }
    const emptied: number[] = [];
    for (const { epoch, key } of retired) {
      const info = this.#infoOf(key, epoch, t);
      const keys = this.#slots.get(epoch)!;
      keys.splice(keys.indexOf(key), 1);
      if (keys.length === 0) {
        this.#slots.delete(epoch);
        emptied.push(epoch);
      }
      wipe(key);
      process.nextTick(() => this.emit('retire', info));
    }
    // Keys dropped since the last decision: nothing refers to them any more.
    for (const k of this.#discarded.splice(0)) wipe(k);
    const fleet = this.#fleet;
    if (fleet !== undefined && emptied.length > 0) {
      // Not from inside a handshake: this may run in Node's ticket callback.
      setImmediate(() => {
        for (const e of emptied) fleet.deleteSlot(e).catch((err: unknown) => this.#report(err));
      });
    }
  }

  #pickCurrent(n: number): RingKey | undefined {
    const own = primaryOf(this.#slots.get(n));
    if (own !== undefined) return own;
    // No key for this turn (store unreachable for a whole turn): keep the newest past primary.
    let best: number | undefined;
    for (const [e, keys] of this.#slots) if (e < n && primaryOf(keys) !== undefined && (best === undefined || e > best)) best = e;
    if (best === undefined) {
      for (const [e, keys] of this.#slots) if (primaryOf(keys) !== undefined && (best === undefined || e < best)) best = e;
    }
    return best === undefined ? undefined : primaryOf(this.#slots.get(best));
  }

  #epochOfKey(key: RingKey): number | undefined {
    for (const [e, keys] of this.#slots) if (keys.includes(key)) return e;
    return undefined;
  }

  #infoOf(k: RingKey, epoch: number, t: number, reveal = false): TicketKeyInfo {
    const primary = k.untilMs === 0;
    const n = this.#epochOf(t);
    const role: TicketKeyRole = k === this.#current ? 'current' : primary && epoch > n ? 'next' : 'previous';
    const info: TicketKeyInfo = {
      name: keyName(k),
      role,
      epoch,
      createdAt: new Date(k.createdMs),
      encryptsFrom: primary ? new Date(epoch * this.#rotateEveryMs) : null,
      encryptsUntil: primary ? new Date((epoch + 1) * this.#rotateEveryMs) : null,
      decryptsUntil: new Date(this.#decryptsUntil(epoch, k)),
    };
    if (reveal) info.material = k.material.toString('hex');
    return info;
  }

  // ---- the store ------------------------------------------------------------------------

  async #syncOnce(): Promise<boolean> {
    const fleet = this.#fleet;
    if (fleet === undefined) {
      this.#refresh(true);
      this.#checkBindings();
      return true;
    }
    let ok = true;
    try {
      await this.#syncStore(fleet, true);
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

  async #syncStore(fleet: FleetStore, write: boolean): Promise<void> {
    let meta: Awaited<ReturnType<FleetStore['readMeta']>>;
    try {
      meta = await fleet.readMeta();
    } catch (err) {
      if (!(err instanceof TicketKeyError) || err.code !== 'ERR_TICKET_RECORD') throw err;
      this.#report(err);
      meta = undefined;
    }
    if (meta === undefined) {
      if (write) await fleet.writeMeta({ rotateEveryMs: this.#rotateEveryMs, graceMs: this.#graceMs, revokedBeforeMs: this.#revokedBeforeMs });
    } else {
      this.#adoptMeta(meta);
      this.#recompute(this.#opts.now());
    }
    const t = this.#opts.now();
    const n = this.#epochOf(t);
    // Every live slot in one read (the options bound their number); then one decision.
    const epochs = range(this.#lowestLiveEpoch(t), n + 1);
    const records = await fleet.readSlots(epochs, (err) => this.#report(err));
    if (this.#closed) return;
    const pruned: number[] = [];
    const missing: number[] = [];
    epochs.forEach((e, i) => {
      const stored = records[i];
      if (stored !== undefined) {
        const live = stored.filter((k) => k.createdMs >= this.#revokedBeforeMs && t < this.#decryptsUntil(e, k));
        for (const k of stored) if (!live.includes(k)) wipe(k);
        this.#adoptSlot(e, live, t);
        if (write && live.length !== stored.length) pruned.push(e);
      } else if (e >= n && write) {
        missing.push(e);
      }
    });
    this.#recompute(t);
    for (const e of pruned) {
      if (this.#slots.has(e)) await this.#writeSlot(fleet, e, t);
      else await fleet.deleteSlot(e);
    }
    const made: number[] = [];
    for (const e of missing) {
      // Missing: put back the key this member has (a store that lost its data), else make one.
      if (primaryOf(this.#slots.get(e)) === undefined) {
        this.#slots.set(e, [generateKey(t), ...(this.#slots.get(e) ?? [])]);
        this.#recompute(t);
        made.push(e);
      }
      await this.#writeSlot(fleet, e, t);
    }
    if (made.length === 0 || this.#closed) return;
    // Members that made the same key at the same moment: the last write wins. Reading it back a
    // moment later lets them agree now rather than at their next sync.
    await new Promise((resolve) => setTimeout(resolve, READ_BACK_MIN_MS + Math.random() * READ_BACK_SPREAD_MS));
    for (const e of made) {
      const stored = await fleet.readSlot(e).catch(() => undefined);
      if (stored === undefined || this.#closed) continue;
      this.#adoptSlot(e, stored, this.#opts.now());
      this.#recompute(this.#opts.now());
    }
  }

  #adoptMeta(meta: { rotateEveryMs: number; graceMs: number; revokedBeforeMs: number }): void {
    const t = this.#opts.now();
    if (meta.rotateEveryMs !== this.#rotateEveryMs || meta.graceMs !== this.#graceMs) {
      const seen = `${meta.rotateEveryMs}/${meta.graceMs}`;
      if (this.#reportedConfig !== seen) {
        this.#reportedConfig = seen;
        this.#report(
          new TicketKeyError(
            'ERR_TICKET_CONFIG',
            `the store rotates every ${meta.rotateEveryMs / 1000} s with ${meta.graceMs / 1000} s of grace; this ring was given ${this.#rotateEveryMs / 1000} s and ${this.#graceMs / 1000} s and follows the store`,
          ),
        );
      }
      if (meta.rotateEveryMs !== this.#rotateEveryMs) {
        // Slot numbers change meaning: every key held becomes decrypt-only for a grace period.
        const all = [...this.#slots.values()].flat();
        for (const k of all) k.untilMs = Math.max(k.untilMs, t + meta.graceMs);
        this.#slots.clear();
        this.#rotateEveryMs = meta.rotateEveryMs;
        if (all.length > 0) this.#slots.set(this.#epochOf(t), all.slice(0, MAX_SLOT_KEYS));
        for (const k of all.slice(MAX_SLOT_KEYS)) this.#discard(k);
      }
      this.#graceMs = meta.graceMs;
      for (const b of this.#bindings.values()) this.#install(b);
    }
    if (meta.revokedBeforeMs > this.#revokedBeforeMs) {
      this.#revokedBeforeMs = meta.revokedBeforeMs;
      for (const [e, keys] of this.#slots) {
        const kept = keys.filter((k) => k.createdMs >= meta.revokedBeforeMs);
        for (const k of keys) if (!kept.includes(k)) this.#discard(k);
        if (kept.length === 0) this.#slots.delete(e);
        else this.#slots.set(e, kept);
      }
    }
  }

  /**
   * The store's keys for slot `epoch` replace this member's, keeping the key objects it already
   * has (the encrypting key stays the same object). A primary this member made that lost a
   * race keeps decrypting its own tickets for a grace period if it ever encrypted.
   */
  #adoptSlot(epoch: number, stored: RingKey[], t: number): void {
    const local = this.#slots.get(epoch) ?? [];
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
    const n = this.#epochOf(t);
    const storeHasPrimary = primaryOf(stored) !== undefined;
    for (const k of byId.values()) {
      if (k.untilMs !== 0) next.push(k);
      else if (!storeHasPrimary) {
        // The store dropped it as retired or revoked: so does this member (unless the store only
        // has demoted keys, which cannot stand in for a primary).
        if (stored.length === 0 || t >= this.#decryptsUntil(epoch, k)) this.#discard(k);
        else next.unshift(k);
      } else if (epoch <= n && t < this.#decryptsUntil(epoch, k)) {
        k.untilMs = t + this.#graceMs; // lost the race for this slot after encrypting
        next.push(k);
      } else this.#discard(k);
    }
    for (const k of next.splice(MAX_SLOT_KEYS)) this.#discard(k);
    if (next.length === 0) this.#slots.delete(epoch);
    else this.#slots.set(epoch, next);
  }

  async #writeSlot(fleet: FleetStore, epoch: number, t: number): Promise<void> {
    const keys = this.#slots.get(epoch) ?? [];
    if (keys.length === 0) return;
    const ttl = Math.max(...keys.map((k) => this.#decryptsUntil(epoch, k))) - t;
    await fleet.writeSlot(epoch, keys, ttl);
  }

  /** A ring with a store that has no key at all (store unreachable at start): make local ones. */
  #makeLocalKeys(t: number, warn = true): void {
    const n = this.#epochOf(t);
    for (const e of [n, n + 1]) if (primaryOf(this.#slots.get(e)) === undefined) this.#slots.set(e, [generateKey(t), ...(this.#slots.get(e) ?? [])]);
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
    for (const b of this.#bindings.values()) this.#install(b);
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
        : new TicketKeyError('ERR_TICKET_STORE', `ticket key store: ${err instanceof Error ? err.message.split('\n')[0] : String(err)}`);
    if (this.listenerCount('error') > 0) process.nextTick(() => this.emit('error', e));
  }
}

function primaryOf(keys: readonly RingKey[] | undefined): RingKey | undefined {
  const first = keys?.[0];
  return first !== undefined && first.untilMs === 0 ? first : undefined;
}

function range(from: number, to: number): number[] {
  const out: number[] = [];
  for (let e = from; e <= to; e++) out.push(e);
  return out;
}
