/**
 * Ticket keys and the two records a fleet keeps in its store.
 *
 * A key is Node's 48 bytes: 16 name (written in clear at the start of every ticket), 16 HMAC
 * key, 16 AES-128 key. Keys belong to a slot: the epoch `floor(time / rotateEvery)` during which
 * the slot's first key (its primary) encrypts. A slot may hold more keys, demoted by a manual
 * rotation: they only decrypt, until their own `untilMs`.
 *
 * Slot record: format 1, count, then per key: created (6 bytes, ms), until (6 bytes, ms, 0 for
 * the primary), 48 bytes of key. Meta record: format 1, rotateEvery (4 bytes, s), grace (4 bytes,
 * s), revokedBefore (6 bytes, ms). Both are sealed by the store (EncryptedStore).
 */
import { randomBytes } from 'node:crypto';
import { TicketKeyError } from './errors.js';
import { graceTurnsProblem, MAX_DURATION_S } from './options.js';
import { bufferView } from '../util/bytes.js';

export const KEY_BYTES = 48;
export const NAME_BYTES = 16;
const FORMAT = 1;
const ENTRY_BYTES = 6 + 6 + KEY_BYTES;
/** Most keys one slot record holds (a primary and the keys demoted by manual rotations). */
export const MAX_SLOT_KEYS = 16;

/** One ticket key held by the ring. */
export interface RingKey {
  /** The 48 bytes; zeroed when the key retires. */
  readonly material: Buffer;
  /** The 16-byte name as a latin1 string: the lookup key of every decryption. */
  readonly id: string;
  readonly createdMs: number;
  /** 0 for a slot's primary (its life follows from the slot); else when it stops decrypting. */
  untilMs: number;
}

/** A fresh random key. */
export function generateKey(createdMs: number): RingKey {
  return keyOf(randomBytes(KEY_BYTES), createdMs, 0);
}

export function keyOf(material: Buffer, createdMs: number, untilMs: number): RingKey {
  return { material, id: material.toString('latin1', 0, NAME_BYTES), createdMs, untilMs };
}

/** The key's name as 32 hex characters (not secret: every ticket carries it). */
export function keyName(key: RingKey): string {
  return key.material.toString('hex', 0, NAME_BYTES);
}

export function wipe(key: RingKey): void {
  key.material.fill(0);
}

function recordError(message: string): TicketKeyError {
  return new TicketKeyError('ERR_TICKET_RECORD', `ticket key record: ${message}`);
}

export function encodeSlot(keys: readonly RingKey[]): Buffer {
  const out = Buffer.alloc(2 + keys.length * ENTRY_BYTES);
  out[0] = FORMAT;
  out[1] = keys.length;
  let at = 2;
  for (const k of keys) {
    out.writeUIntBE(k.createdMs, at, 6);
    out.writeUIntBE(k.untilMs, at + 6, 6);
    k.material.copy(out, at + 12);
    at += ENTRY_BYTES;
  }
  return out;
}

/**
 * Decodes a slot record into fresh keys. With `wipeInput` the input (a decrypted copy holding
 * key material) is zeroed afterwards.
 */
export function decodeSlot(value: Uint8Array, wipeInput: boolean): RingKey[] {
  const b = bufferView(value);
  try {
    const count = b[1] ?? 0;
    if (b[0] !== FORMAT || count < 1 || count > MAX_SLOT_KEYS || b.length !== 2 + count * ENTRY_BYTES) {
      throw recordError('not a slot record');
    }
    const keys: RingKey[] = [];
    for (let i = 0, at = 2; i < count; i++, at += ENTRY_BYTES) {
      const material = Buffer.alloc(KEY_BYTES);
      b.copy(material, 0, at + 12, at + ENTRY_BYTES);
      keys.push(keyOf(material, b.readUIntBE(at, 6), b.readUIntBE(at + 6, 6)));
    }
    return keys;
  } finally {
    if (wipeInput) b.fill(0);
  }
}

/** Fleet-wide settings, written once by the first member (or `tls-sessions keys generate`). */
export interface RingMeta {
  rotateEveryMs: number;
  graceMs: number;
  /** Keys created before this instant are dropped by every member (emergency rotation). */
  revokedBeforeMs: number;
}

export function encodeMeta(meta: RingMeta): Buffer {
  const out = Buffer.alloc(15);
  out[0] = FORMAT;
  out.writeUInt32BE(Math.round(meta.rotateEveryMs / 1000), 1);
  out.writeUInt32BE(Math.round(meta.graceMs / 1000), 5);
  out.writeUIntBE(meta.revokedBeforeMs, 9, 6);
  return out;
}

export function decodeMeta(value: Uint8Array): RingMeta {
  const b = bufferView(value);
  if (b.length !== 15 || b[0] !== FORMAT) throw recordError('not a meta record');
  const rotateEveryMs = b.readUInt32BE(1) * 1000;
  const graceMs = b.readUInt32BE(5) * 1000;
  if (rotateEveryMs === 0 || graceMs === 0) throw recordError('meta record with a zero duration');
  // Another writer's settings bind this member too: the same bounds as the options.
  if (rotateEveryMs > MAX_DURATION_S * 1000 || graceMs > MAX_DURATION_S * 1000) {
    throw recordError(`meta record with a duration over ${MAX_DURATION_S} s`);
  }
  const turns = graceTurnsProblem(rotateEveryMs / 1000, graceMs / 1000);
  if (turns !== undefined) throw recordError(`meta record: ${turns}`);
  return { rotateEveryMs, graceMs, revokedBeforeMs: b.readUIntBE(9, 6) };
}
