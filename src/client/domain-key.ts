/**
 * The security domain of a client connection: the hash that stored sessions are filed under.
 *
 * A resumed session skips certificate verification (Node does not even call
 * `checkServerIdentity` on a resumed connection), so a session must only be offered to a
 * connection that would have accepted the original full handshake: same server (host, port,
 * SNI) and same trust and identity settings. Every option that changes what a handshake lets
 * through is part of the key; options that only tune transport (timeouts, family, lookup) are
 * not. Key material (private keys, passphrases, PFX) enters only as a digest inside the final
 * digest, so the key reveals nothing.
 */
import { createHash, randomBytes } from 'node:crypto';
import * as tls from 'node:tls';

/** Where the sessions of one security domain live in the {@link SessionStore}. */
export interface DomainKey {
  /** Hex SHA-256 of the canonical encoding: the domain's name in events and stats. */
  readonly id: string;
  /** Store key of the TLS 1.3 ticket stack. */
  readonly ticketsKey: Buffer;
  /** Store key of the TLS 1.2 (or older) reusable session. */
  readonly sessionKey: Buffer;
  /** The name the server certificate must match: servername, else host (as Node checks it). */
  readonly identity: string;
  /** True when the connection uses Node's own `tls.checkServerIdentity`. */
  readonly defaultIdentityCheck: boolean;
}

/** Store key prefixes; the version lets a later encoding live beside this one. */
const TICKETS_PREFIX = Buffer.from('tls-sessions:client:v1:tls13:', 'latin1');
const SESSION_PREFIX = Buffer.from('tls-sessions:client:v1:tls12:', 'latin1');

/** Strings hashed once and remembered (CA bundles are long and reused for every connection). */
const MAX_CACHED_STRINGS = 64;
/** Domain keys remembered by their canonical encoding. */
const MAX_CACHED_KEYS = 1024;
/** Value sets compared by identity before encoding. */
const MAX_RECENT = 4;

/**
 * Computes domain keys, remembering the digests of large or secret option values by identity
 * (objects) or by value (strings), and each domain's key by its canonical encoding, so a
 * connection to a known domain costs no hashing at all. A Buffer or array
 * changed in place after first use keeps its first digest: pass a new object instead.
 */
export class DomainKeyer {
  readonly #objects = new WeakMap<object, string>();
  readonly #strings = new Map<string, string>();
  // Canonical encoding -> key: a connection to a known domain costs no hashing at all.
  readonly #keys = new Map<string, DomainKey>();
  // The last few value sets seen, most recent first: the common case costs no encoding either.
  readonly #recent: { values: unknown[]; key: DomainKey }[] = [];

  /** The domain key of `options` as `tls.connect` would read them. */
  keyOf(options: tls.ConnectionOptions): DomainKey {
    // The raw values that decide the domain. Most connections repeat a recent set exactly
    // (same strings and objects), which is recognised by identity before any encoding.
    const values: unknown[] = [
      options.host ?? 'localhost',
      options.port,
      options.path,
      options.servername || '',
      rejectsUnauthorized(options),
      options.ca,
      options.cert,
      options.key,
      options.pfx,
      options.passphrase,
      options.crl,
      options.ciphers ?? tls.DEFAULT_CIPHERS,
      options.sigalgs,
      options.ecdhCurve,
      options.minVersion ?? tls.DEFAULT_MIN_VERSION,
      options.maxVersion ?? tls.DEFAULT_MAX_VERSION,
      options.secureProtocol,
      options.secureOptions,
      options.minDHSize,
      alpnList(options.ALPNProtocols),
      options.checkServerIdentity,
      options.pskCallback,
      options.secureContext,
      options.clientCertEngine,
      options.privateKeyEngine,
      options.privateKeyIdentifier,
    ];
    const recent = this.#recent;
    for (let i = 0; i < recent.length; i++) {
      const r = recent[i]!;
      if (sameValues(r.values, values)) {
        if (i > 0) {
          recent.splice(i, 1);
          recent.unshift(r);
        }
        return r.key;
      }
    }
    const key = this.#keyOfValues(values);
    recent.unshift({ values, key });
    if (recent.length > MAX_RECENT) recent.pop();
    return key;
  }

  #keyOfValues(v: unknown[]): DomainKey {
    const host = String(v[0]).toLowerCase();
    const servername = String(v[3]).toLowerCase();
    const str = (x: unknown) => (x === undefined || x === null ? '' : String(x));
    const parts = [
      'v1',
      host,
      str(v[1]),
      typeof v[2] === 'string' ? v[2] : '',
      servername,
      v[4] ? 1 : 0,
      this.#digest(v[5]),
      this.#digest(v[6]),
      this.#digest(v[7]),
      this.#digest(v[8]),
      this.#digest(v[9]),
      this.#digest(v[10]),
      this.#digest(v[11]),
      str(v[12]),
      str(v[13]),
      str(v[14]),
      str(v[15]),
      str(v[16]),
      v[17] ?? 0,
      v[18] ?? 1024,
      v[19],
      this.#identityCheck(v[20]),
      v[21] === undefined ? 0 : this.#objectId(v[21] as object),
      v[22] === undefined ? '' : this.#objectId(v[22] as object),
      str(v[23]),
      str(v[24]),
      str(v[25]),
    ];
    const canonical = JSON.stringify(parts);
    const known = this.#keys.get(canonical);
    if (known !== undefined) return known;
    const hash = createHash('sha256').update(canonical).digest();
    const key: DomainKey = {
      id: hash.toString('hex'),
      ticketsKey: Buffer.concat([TICKETS_PREFIX, hash]),
      sessionKey: Buffer.concat([SESSION_PREFIX, hash]),
      identity: servername || host,
      defaultIdentityCheck: v[20] === undefined || v[20] === tls.checkServerIdentity,
    };
    remember(this.#keys, canonical, key, MAX_CACHED_KEYS);
    return key;
  }

  /** Forgets every remembered digest (the store was closed). */
  clear(): void {
    this.#strings.clear();
    this.#keys.clear();
    this.#recent.length = 0;
  }

  #digest(value: unknown): string {
    if (value === undefined || value === null) return '';
    if (typeof value === 'string') {
      const known = this.#strings.get(value);
      if (known !== undefined) return known;
      const d = digestValue(value, this.#idOf);
      remember(this.#strings, value, d, MAX_CACHED_STRINGS);
      return d;
    }
    if (typeof value !== 'object') return digestValue(value, this.#idOf);
    const known = this.#objects.get(value);
    if (known !== undefined) return known;
    const d = digestValue(value, this.#idOf);
    this.#objects.set(value, d);
    return d;
  }

  /**
   * The default check is the empty string; a custom one is named by a digest of its source,
   * which stays the same across processes (a persistent store keeps working after a restart).
   */
  #identityCheck(check: unknown): string {
    if (check === undefined || check === tls.checkServerIdentity) return '';
    if (typeof check !== 'function') return 'invalid';
    const known = this.#objects.get(check);
    if (known !== undefined) return known;
    const d = 'fn:' + createHash('sha256').update(Function.prototype.toString.call(check)).digest('base64');
    this.#objects.set(check, d);
    return d;
  }

  /**
   * Objects whose content cannot be read (a SecureContext, a PSK callback) are named by a random
   * id of this process: their sessions are never shared across processes.
   */
  readonly #idOf = (value: object): string => this.#objectId(value);

  #objectId(value: object): string {
    const known = this.#objects.get(value);
    if (known !== undefined) return known;
    const id = 'obj:' + randomBytes(16).toString('base64');
    this.#objects.set(value, id);
    return id;
  }
}

function sameValues(a: readonly unknown[], b: readonly unknown[]): boolean {
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
  return true;
}

/** Sets `key` in a bounded map, dropping the oldest entry when full. */
function remember<V>(map: Map<string, V>, key: string, value: V, max: number): void {
  if (map.size >= max) {
    const oldest = map.keys().next();
    if (!oldest.done) map.delete(oldest.value);
  }
  map.set(key, value);
}

/** What `tls.connect` does with `rejectUnauthorized` and NODE_TLS_REJECT_UNAUTHORIZED. */
function rejectsUnauthorized(options: tls.ConnectionOptions): boolean {
  if (options.rejectUnauthorized !== undefined) return options.rejectUnauthorized !== false;
  if ('rejectUnauthorized' in options) return true;
  return process.env.NODE_TLS_REJECT_UNAUTHORIZED !== '0';
}

/** ALPN names in order; the wire form (length-prefixed bytes) is decoded to the same list. */
function alpnList(alpn: tls.ConnectionOptions['ALPNProtocols']): string {
  if (alpn === undefined || alpn === null) return '';
  if (Array.isArray(alpn)) {
    return alpn.map((p) => (typeof p === 'string' ? p : Buffer.from(p).toString('latin1'))).join('\0');
  }
  if (alpn instanceof Uint8Array) {
    const names: string[] = [];
    let i = 0;
    while (i < alpn.length) {
      const n = alpn[i] ?? 0;
      names.push(Buffer.from(alpn.subarray(i + 1, i + 1 + n)).toString('latin1'));
      i += 1 + n;
    }
    return names.join('\0');
  }
  return 'invalid';
}

/**
 * SHA-256 over a type-tagged walk of a string, bytes, array or plain object; any other object
 * (a KeyObject, a class instance) enters by `idOf`, since its content cannot be walked.
 */
function digestValue(value: unknown, idOf: (value: object) => string): string {
  const h = createHash('sha256');
  const walk = (v: unknown, depth: number): void => {
    if (depth > 8) {
      h.update('D');
      return;
    }
    if (v === undefined || v === null) h.update('N');
    else if (typeof v === 'string') h.update(`S${Buffer.byteLength(v)}:`).update(v);
    else if (v instanceof Uint8Array) h.update(`B${v.byteLength}:`).update(v);
    else if (ArrayBuffer.isView(v)) {
      const bytes = new Uint8Array(v.buffer, v.byteOffset, v.byteLength);
      h.update(`B${bytes.byteLength}:`).update(bytes);
    } else if (Array.isArray(v)) {
      h.update(`A${v.length}:`);
      for (const x of v) walk(x, depth + 1);
    } else if (typeof v === 'object' && !isPlainObject(v)) {
      h.update(`I${idOf(v)}`);
    } else if (typeof v === 'object') {
      const keys = Object.keys(v).sort();
      h.update(`O${keys.length}:`);
      for (const k of keys) {
        h.update(`K${Buffer.byteLength(k)}:`).update(k);
        walk((v as Record<string, unknown>)[k], depth + 1);
      }
    } else h.update(`P:${typeof v}:${String(v)}`);
  };
  walk(value, 0);
  return h.digest('base64');
}

function isPlainObject(v: object): boolean {
  const proto: unknown = Object.getPrototypeOf(v);
  return proto === Object.prototype || proto === null;
}
