import { createCipheriv, createDecipheriv, createSecretKey, type KeyObject, randomBytes } from 'node:crypto';
import type { SessionStore } from './session-store.js';
import { SessionStoreError } from './store-error.js';
import { STORE_TRAITS, type StoreTraits, storeTraits } from './store-traits.js';
import { OptionChecks } from '../util/options.js';
import { bufferView } from '../util/bytes.js';

const check = new OptionChecks('EncryptedStore', (message) => new SessionStoreError('ERR_STORE_OPTION', message));
const STORE_METHODS = ['get', 'set', 'take', 'delete', 'push', 'pop', 'clear', 'close'] as const;

/** A named AES-256 key: 32 bytes of key material and the id written beside every value it seals. */
export interface SealingKey {
  /** 1 to 64 printable ASCII characters, no spaces. Not secret: it is stored in clear. */
  id: string;
  /** 32 random bytes (`openssl rand -hex 32`), or a secret `KeyObject` of that size. */
  key: Uint8Array | KeyObject;
}

/** Options of {@link EncryptedStore}. */
export interface EncryptedStoreOptions {
  /** Seals every new value, and opens values sealed under its id. */
  key: SealingKey;
  /**
   * Keys that only open values, looked up by the id stored with each value: keep a retired key
   * here until every value sealed under it has expired.
   */
  decryptOnly?: readonly SealingKey[];
}

/** Counters of an {@link EncryptedStore}. */
export interface EncryptedStoreStats {
  /** Values sealed. */
  sealed: number;
  /** Values opened. */
  opened: number;
  /** Values that did not open: altered, moved to another key, or under an unknown key id. */
  rejected: number;
}

// Sealed value: format byte, id length, id, 12-byte IV, ciphertext, 16-byte GCM tag.
const FORMAT = 1;
const IV_BYTES = 12;
const TAG_BYTES = 16;
const KEY_ID = /^[\x21-\x7e]{1,64}$/;
// Bound on entries a pop skips when they do not open, so a poisoned stack cannot spin.
const MAX_POP_SKIPS = 1024;

// The associated data tells single values from stack entries, so neither can stand in for the other.
const KIND_SINGLE = 1;
const KIND_STACK = 2;

/**
 * Wraps any {@link SessionStore} so that values are sealed with AES-256-GCM before they reach
 * it. The associated data binds the key id and the entry key: a value copied under another
 * entry key, or relabelled with another key id, fails to open. Keys rotate by moving the
 * current key to `decryptOnly` and setting a new `key`.
 *
 * A value that does not open makes `get` and `take` reject with `ERR_STORE_UNSEAL` (the caller
 * falls back to a full handshake); `pop` skips such entries. Keys never appear in errors, and
 * the key material is held only in `KeyObject`s.
 */
export class EncryptedStore implements SessionStore {
  readonly [STORE_TRAITS]: StoreTraits;
  /** Id of the key that seals new values. */
  readonly keyId: string;
  readonly #inner: SessionStore;
  readonly #header: Buffer;
  readonly #sealKey: KeyObject;
  readonly #openKeys = new Map<string, KeyObject>();
  readonly #stats: EncryptedStoreStats = { sealed: 0, opened: 0, rejected: 0 };

  constructor(inner: SessionStore, options: EncryptedStoreOptions) {
    if (inner === null || typeof inner !== 'object' || STORE_METHODS.some((m) => typeof inner[m] !== 'function')) {
      throw check.fail('the inner store must implement SessionStore');
    }
    if (options === null || typeof options !== 'object') throw check.fail('options with a key are required');
    const decryptOnly = options.decryptOnly ?? [];
    if (!Array.isArray(decryptOnly)) throw check.fail('decryptOnly must be an array of keys');
    this.#inner = inner;
    this[STORE_TRAITS] = { persistent: storeTraits(inner).persistent, sealed: true };
    const current = checkKey(options.key);
    this.keyId = options.key.id;
    this.#sealKey = current;
    this.#openKeys.set(options.key.id, current);
    for (const k of decryptOnly as readonly SealingKey[]) {
      if (this.#openKeys.has(k.id)) {
        throw check.fail(`key id '${safeId(k.id)}' is given twice`);
      }
      this.#openKeys.set(k.id, checkKey(k));
    }
    this.#header = headerOf(options.key.id);
  }

  /** Counters since the store was made (a copy). */
  get stats(): EncryptedStoreStats {
    return { ...this.#stats };
  }

  async get(key: Uint8Array): Promise<Uint8Array | undefined> {
    const sealed = await this.#inner.get(key);
    return sealed === undefined ? undefined : this.#open(sealed, key, KIND_SINGLE);
  }

  /** The inner store's `getMany` when it has one (one round trip), else every `get` at once. */
  async getMany(keys: readonly Uint8Array[]): Promise<Array<Uint8Array | undefined>> {
    const inner = this.#inner;
    const sealed =
      inner.getMany !== undefined ? await inner.getMany(keys) : await Promise.all(keys.map((k) => inner.get(k)));
    return sealed.map((v, i) => (v === undefined ? undefined : this.#open(v, keys[i]!, KIND_SINGLE)));
  }

  async set(key: Uint8Array, value: Uint8Array, ttlMs: number): Promise<void> {
    await this.#inner.set(key, this.#seal(value, key, KIND_SINGLE), ttlMs);
  }

  async take(key: Uint8Array): Promise<Uint8Array | undefined> {
    const sealed = await this.#inner.take(key);
    return sealed === undefined ? undefined : this.#open(sealed, key, KIND_SINGLE);
  }

  delete(key: Uint8Array): Promise<boolean> {
    return this.#inner.delete(key);
  }

  async push(key: Uint8Array, value: Uint8Array, ttlMs: number, max: number): Promise<void> {
    await this.#inner.push(key, this.#seal(value, key, KIND_STACK), ttlMs, max);
  }

  async pop(key: Uint8Array): Promise<Uint8Array | undefined> {
    let firstError: unknown;
    for (let i = 0; i < MAX_POP_SKIPS; i++) {
      const sealed = await this.#inner.pop(key);
      if (sealed === undefined) break;
      try {
        return this.#open(sealed, key, KIND_STACK);
      } catch (err) {
        firstError ??= err;
      }
    }
    if (firstError !== undefined) throw firstError;
    return undefined;
  }

  clear(): Promise<void> {
    return this.#inner.clear();
  }

  close(): Promise<void> {
    return this.#inner.close();
  }

  #seal(value: Uint8Array, key: Uint8Array, kind: number): Buffer {
    const iv = randomBytes(IV_BYTES);
    const cipher = createCipheriv('aes-256-gcm', this.#sealKey, iv);
    cipher.setAAD(aadOf(this.#header, kind, key));
    const body = cipher.update(value);
    const last = cipher.final();
    this.#stats.sealed++;
    return Buffer.concat([this.#header, iv, body, last, cipher.getAuthTag()]);
  }

  #open(sealed: Uint8Array, key: Uint8Array, kind: number): Uint8Array {
    const b = bufferView(sealed);
    const idLen = b[1] ?? 0;
    const bodyAt = 2 + idLen + IV_BYTES;
    if (b[0] !== FORMAT || idLen === 0 || b.length < bodyAt + TAG_BYTES) {
      return this.#reject('EncryptedStore: the stored value is not a sealed value');
    }
    const id = b.toString('latin1', 2, 2 + idLen);
    const k = this.#openKeys.get(id);
    if (k === undefined) {
      return this.#reject(
        `EncryptedStore: the value is sealed under key '${safeId(id)}', which this store does not hold`,
      );
    }
    const decipher = createDecipheriv('aes-256-gcm', k, b.subarray(2 + idLen, bodyAt));
    decipher.setAAD(aadOf(b.subarray(0, 2 + idLen), kind, key));
    decipher.setAuthTag(b.subarray(b.length - TAG_BYTES));
    const body = decipher.update(b.subarray(bodyAt, b.length - TAG_BYTES));
    try {
      const last = decipher.final();
      this.#stats.opened++;
      return last.length === 0 ? body : Buffer.concat([body, last]);
    } catch {
      body.fill(0);
      return this.#reject(`EncryptedStore: a value sealed under key '${safeId(id)}' failed authentication`);
    }
  }

  #reject(message: string): never {
    this.#stats.rejected++;
    throw new SessionStoreError('ERR_STORE_UNSEAL', message);
  }
}

function checkKey(k: SealingKey): KeyObject {
  if (typeof k?.id !== 'string' || !KEY_ID.test(k.id)) {
    throw check.fail('a key id must be 1 to 64 printable ASCII characters');
  }
  if (k.key instanceof Uint8Array) {
    if (k.key.byteLength !== 32) {
      throw check.fail(`key '${k.id}' must be 32 bytes`);
    }
    return createSecretKey(Buffer.from(k.key));
  }
  if (k.key?.type === 'secret' && k.key.symmetricKeySize === 32) return k.key;
  throw check.fail(`key '${k.id}' must be 32 bytes or a 32-byte secret KeyObject`);
}

function headerOf(id: string): Buffer {
  const idBytes = Buffer.from(id, 'latin1');
  return Buffer.concat([Buffer.from([FORMAT, idBytes.length]), idBytes]);
}

// Header (format, key id) then the kind, then the entry key: the header has its own length, so
// the encoding is unambiguous.
function aadOf(header: Uint8Array, kind: number, key: Uint8Array): Buffer {
  return Buffer.concat([header, Buffer.from([kind]), key]);
}

// A key id read from storage may be anything: show it only if it looks like one.
function safeId(id: string): string {
  return KEY_ID.test(id) ? id : '?';
}
