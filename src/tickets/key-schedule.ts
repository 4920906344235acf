/**
 * The key schedule: given the slots a ring holds, a time and the rotation settings, which key
 * encrypts, which keys still decrypt, which retired, and when that answer next changes. Pure:
 * no clock, no timer, no server, no store; nothing here changes its input (the ring applies the
 * decision, see `TicketKeyRing#recompute`).
 *
 * Time is cut into turns of `rotateEveryMs`; slot `epoch` is the turn
 * `[epoch * rotateEveryMs, (epoch + 1) * rotateEveryMs)`. A slot's primary (its first key,
 * `untilMs` 0) encrypts during that turn and decrypts from the moment it is known until
 * `graceMs` after the turn; the slot's other keys, demoted by a manual rotation, decrypt until
 * their own `untilMs`.
 */
import type { RingKey } from './ticket-key.js';

/** The rotation settings, in milliseconds. */
export interface Schedule {
  readonly rotateEveryMs: number;
  readonly graceMs: number;
}

/** Keys by slot (epoch), each slot's primary first. */
export type Slots = ReadonlyMap<number, readonly RingKey[]>;

/** What a ring holds: its slots and the settings they are read with (the store's once synced). */
export interface RingState extends Schedule {
  readonly slots: Map<number, RingKey[]>;
  rotateEveryMs: number;
  graceMs: number;
  /** Keys created before this instant are dropped (a revocation). */
  revokedBeforeMs: number;
}

/** What a key does now. */
export type TicketKeyRole =
  /** Encrypts new tickets (and decrypts). */
  | 'current'
  /** Takes over at the next rotation; already decrypts, so a fleet can switch a little unevenly. */
  | 'next'
  /** Stopped encrypting; decrypts until `decryptsUntil`. */
  | 'previous';

/** The schedule's answer for one moment. */
export interface KeyDecision {
  /** The slot whose turn it is. */
  epoch: number;
  /** The key that encrypts, with its slot; `undefined` when the ring holds no primary at all. */
  current: RingKey | undefined;
  currentEpoch: number | undefined;
  /** Every key that decrypts, `current` included, in slot order; all but `current` renew. */
  decrypting: RingKey[];
  /** Keys whose decryption period is over: to be wiped and taken out of their slot. */
  retired: Array<{ epoch: number; key: RingKey }>;
  /** The first instant at which this decision may no longer hold. */
  nextChangeMs: number;
}

/** The slot whose turn it is at `t`. */
export function epochOf(t: number, s: Schedule): number {
  return Math.floor(t / s.rotateEveryMs);
}

/** The oldest slot whose primary may still decrypt at `t`: (epoch + 1) * R + grace > t. */
export function lowestLiveEpoch(t: number, s: Schedule): number {
  return Math.floor((t - s.graceMs) / s.rotateEveryMs) - 1;
}

/** When `key` of slot `epoch` stops decrypting. */
export function decryptsUntil(epoch: number, key: RingKey, s: Schedule): number {
  return key.untilMs !== 0 ? key.untilMs : (epoch + 1) * s.rotateEveryMs + s.graceMs;
}

/** The slot's primary (its first key when that one was never demoted). */
export function primaryOf(keys: readonly RingKey[] | undefined): RingKey | undefined {
  const first = keys?.[0];
  return first !== undefined && first.untilMs === 0 ? first : undefined;
}

/** Of the current and next slots at `t`, those without a primary: the keys a ring has to make or fetch. */
export function missingPrimaries(slots: Slots, t: number, s: Schedule): number[] {
  const n = epochOf(t, s);
  return [n, n + 1].filter((e) => primaryOf(slots.get(e)) === undefined);
}

/** The epochs from `from` to `to`, both included. */
export function range(from: number, to: number): number[] {
  const out: number[] = [];
  for (let e = from; e <= to; e++) out.push(e);
  return out;
}

/**
 * Which key encrypts at `t` and which keys decrypt: the only place roles are decided. A slot
 * more than one turn ahead is not trusted to decrypt until the turn before its own.
 */
export function decide(slots: Slots, t: number, s: Schedule): KeyDecision {
  const n = epochOf(t, s);
  const currentEpoch = currentSlot(slots, n);
  const current = currentEpoch === undefined ? undefined : primaryOf(slots.get(currentEpoch));
  const decrypting: RingKey[] = [];
  const retired: Array<{ epoch: number; key: RingKey }> = [];
  let nextChangeMs = (n + 1) * s.rotateEveryMs;
  for (const [epoch, keys] of slots) {
    if (epoch > n + 1 && keys[0] !== current) {
      nextChangeMs = Math.min(nextChangeMs, (epoch - 1) * s.rotateEveryMs);
      continue;
    }
    for (const k of keys) {
      if (k === current) {
        decrypting.push(k);
        continue;
      }
      const until = decryptsUntil(epoch, k, s);
      if (t >= until) {
        retired.push({ epoch, key: k });
        continue;
      }
      nextChangeMs = Math.min(nextChangeMs, until);
      decrypting.push(k);
    }
  }
  return { epoch: n, current, currentEpoch, decrypting, retired, nextChangeMs };
}

/**
 * The slot whose primary encrypts in turn `n`: its own, else (no key for this turn: store
 * unreachable for a whole turn) the newest past one, else the oldest one ahead.
 */
function currentSlot(slots: Slots, n: number): number | undefined {
  if (primaryOf(slots.get(n)) !== undefined) return n;
  let best: number | undefined;
  for (const [e, keys] of slots)
    if (e < n && primaryOf(keys) !== undefined && (best === undefined || e > best)) best = e;
  if (best === undefined) {
    for (const [e, keys] of slots) if (primaryOf(keys) !== undefined && (best === undefined || e < best)) best = e;
  }
  return best;
}

/** The role of `key` of slot `epoch` at `t`, when `current` encrypts. */
export function roleOf(
  key: RingKey,
  epoch: number,
  current: RingKey | undefined,
  t: number,
  s: Schedule,
): TicketKeyRole {
  if (key === current) return 'current';
  return key.untilMs === 0 && epoch > epochOf(t, s) ? 'next' : 'previous';
}

/** When `key` of slot `epoch` encrypts (`null` for a demoted key) and until when it decrypts. */
export function timesOf(
  key: RingKey,
  epoch: number,
  s: Schedule,
): { encryptsFromMs: number | null; encryptsUntilMs: number | null; decryptsUntilMs: number } {
  const primary = key.untilMs === 0;
  return {
    encryptsFromMs: primary ? epoch * s.rotateEveryMs : null,
    encryptsUntilMs: primary ? (epoch + 1) * s.rotateEveryMs : null,
    decryptsUntilMs: decryptsUntil(epoch, key, s),
  };
}
