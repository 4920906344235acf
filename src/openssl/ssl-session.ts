/**
 * SSL_SESSION: a reference-counted session, as in ssl/ssl_sess.c.
 *
 * One {@link SessionCore} per session holds the {@link TlsSession}, the reference count and the
 * cache links. Pointers to it come in two kinds:
 * - the owning pointer (`core.handle`): what SSL_SESSION_new, SSL_get1_session, d2i and the
 *   new-session callback hand out. The same object every time, so `===` compares sessions; a
 *   borrowed pointer promoted by SSL_SESSION_up_ref becomes that object when it is the first
 *   owning pointer of its session (otherwise compare with sameSession).
 * - borrowed pointers (SSL_get0_session, SSL_get_session, the remove callback's argument): they
 *   hold no reference and are tied to a {@link Lease} that the lender revokes when it lets go of
 *   the session (connection freed, session replaced, callback returned). Using a revoked pointer
 *   throws instead of reading a session that C would already have freed.
 */
import { inspect } from 'node:util';
import { TlsSession, TlsSessionError, type TlsSessionErrorCode } from '../session/index.js';
import {
  SSL_MAX_MASTER_KEY_BUFFER,
  SSL_MAX_SID_CTX_LENGTH,
  SSL_MAX_SSL_SESSION_ID_LENGTH,
  SSL_SESSION_NEW_TIMEOUT_S,
} from './constants.js';
import {
  ASN1_R_INTEGER_TOO_LARGE_FOR_LONG,
  ASN1_R_NOT_ENOUGH_DATA,
  ASN1_R_TOO_LONG,
  ASN1_R_WRONG_TAG,
  ERR_LIB_ASN1,
  ERR_LIB_PEM,
  ERR_LIB_SSL,
  ERR_R_PASSED_INVALID_ARGUMENT,
  ERR_raise,
  PEM_R_BAD_BASE64_DECODE,
  PEM_R_NO_START_LINE,
} from './err.js';
import {
  SSL_R_BAD_LENGTH,
  SSL_R_CIPHER_CODE_WRONG_LENGTH,
  SSL_R_SSL_SESSION_ID_CONTEXT_TOO_LONG,
  SSL_R_SSL_SESSION_ID_TOO_LONG,
  SSL_R_UNKNOWN_SSL_VERSION,
  SSL_R_UNSUPPORTED_SSL_VERSION,
} from './reasons.js';
import type { SSL_CTX } from './ssl-ctx.js';
import { OpenSSLUsageError } from './usage-error.js';

/** OpenSSL's timeout of a decoded session without one (d2i_SSL_SESSION). */
const DECODED_DEFAULT_TIMEOUT_S = 3;
/** TLSEXT_max_fragment_length_UNSPECIFIED, what SSL_SESSION_new sets. */
const MAX_FRAGMENT_LENGTH_UNSPECIFIED = 255;

/** The cache a session is linked into; implemented by the SSL_CTX's internal cache. */
export interface SessionOwner {
  /** The context, for {@link SSL_SESSION.owner}. */
  readonly ctx: SSL_CTX;
  /** Re-sorts a linked session after its time or timeout changed (SSL_SESSION_list_add). */
  relink(core: SessionCore): void;
}

/** Seconds since the epoch, as OpenSSL's session times count. */
export function nowSeconds(): number {
  return Math.floor(Date.now() / 1000);
}

/** The shared state behind every pointer to one session. */
export class SessionCore {
  readonly tls: TlsSession;
  refs = 1;
  released = false;
  /** The cache holding this session (OpenSSL's `owner`), with the links of its expiry list. */
  owner: SessionOwner | undefined;
  prev: SessionCore | undefined;
  next: SessionCore | undefined;
  /**
   * The server identity (Node's `servername || host || 'localhost'`) of the client connection
   * that made this session; `undefined` for sessions made otherwise (d2i, SSL_SESSION_new, a
   * server). Decides where SSL_connect may offer it on a verified connection. Not in the DER.
   */
  identity: string | undefined;
  #handle: SSL_SESSION | undefined;

  constructor(tls: TlsSession) {
    this.tls = tls;
  }

  /** The owning pointer: the same object every time (made when first handed out). */
  get handle(): SSL_SESSION {
    this.#handle ??= makeHandle(this, undefined);
    return this.#handle;
  }

  /**
   * A borrowed pointer promoted by SSL_SESSION_up_ref becomes the owning pointer when none was
   * handed out yet, so that it is `===` to what SSL_get1_session returns later.
   */
  adopt(promoted: SSL_SESSION): void {
    this.#handle ??= promoted;
  }

  /** time + timeout (OpenSSL's calc_timeout), in seconds. */
  get expiresAt(): number {
    return this.tls.time + this.tls.timeout;
  }

  /** Drops one reference; at zero the master key is wiped and the session is released. */
  release(fn: string): void {
    if (this.released || this.refs <= 0) {
      throw new OpenSSLUsageError(
        'ERR_OPENSSL_DOUBLE_FREE',
        `${fn}: the session was already freed (its reference count is 0)`,
      );
    }
    if (this.refs === 1 && this.owner !== undefined) {
      throw new OpenSSLUsageError(
        'ERR_OPENSSL_DOUBLE_FREE',
        `${fn}: the last reference belongs to the session cache of its SSL_CTX; free only references you own`,
      );
    }
    this.refs -= 1;
    if (this.refs === 0) {
      this.released = true;
      this.tls.wipe();
    }
  }

  upRef(): void {
    this.refs += 1;
  }
}

/**
 * A loan of a session to a borrowed pointer. The lender (a connection, a callback) revokes it
 * when it lets go of the session; borrowed pointers check it on every use.
 */
export class Lease {
  #valid = true;
  #why = '';
  #view: SSL_SESSION | undefined;

  constructor(
    readonly core: SessionCore,
    readonly source: string,
  ) {}

  get valid(): boolean {
    return this.#valid;
  }

  get why(): string {
    return this.#why;
  }

  /** The borrowed pointer of this lease (the same object while the lease lasts). */
  view(): SSL_SESSION {
    this.#view ??= makeHandle(this.core, this);
    return this.#view;
  }

  /** Forgets `view` as the lease's pointer (it was promoted to an owning one by up_ref). */
  detach(view: SSL_SESSION): void {
    if (this.#view === view) this.#view = undefined;
  }

  revoke(why: string): void {
    this.#valid = false;
    this.#why = why;
    this.#view = undefined;
  }
}

let makeHandle: (core: SessionCore, lease: Lease | undefined) => SSL_SESSION;
let pointerOf: (s: SSL_SESSION) => { core: SessionCore; lease: Lease | undefined };
let promote: (s: SSL_SESSION) => void;

/**
 * A pointer to an OpenSSL `SSL_SESSION`. Opaque: use the `SSL_SESSION_*` functions. Pointers from
 * SSL_get0_session / SSL_get_session are borrowed: they become invalid when the connection is
 * freed or its session replaced, and using them afterwards throws {@link OpenSSLUsageError}.
 */
export class SSL_SESSION {
  readonly #core: SessionCore;
  #lease: Lease | undefined;

  static {
    makeHandle = (core, lease) => new SSL_SESSION(core, lease);
    pointerOf = (s) => ({ core: s.#core, lease: s.#lease });
    promote = (s) => {
      s.#lease?.detach(s);
      s.#lease = undefined;
    };
  }

  private constructor(core: SessionCore, lease: Lease | undefined) {
    this.#core = core;
    this.#lease = lease;
  }

  /** The reference count (not an OpenSSL call: for tests and debugging). */
  get references(): number {
    return this.#core.refs;
  }

  /** True for a borrowed pointer (SSL_get0_session), which holds no reference. */
  get borrowed(): boolean {
    return this.#lease !== undefined;
  }

  /** The SSL_CTX whose session cache holds this session, or `null` (OpenSSL's `owner` field). */
  get owner(): SSL_CTX | null {
    return this.#core.owner?.ctx ?? null;
  }

  /** `console.log` shows the state, never the key. */
  [inspect.custom](): string {
    const core = this.#core;
    if (core.released) return 'SSL_SESSION { <freed> }';
    const kind = this.#lease === undefined ? 'owned' : this.#lease.valid ? 'borrowed' : 'borrowed, revoked';
    return `SSL_SESSION { ${kind}, refs=${core.refs}, ${inspect(core.tls)} }`;
  }
}

/** The core of a session pointer, after checking that it may be used. */
export function coreOf(s: SSL_SESSION, fn: string): SessionCore {
  if (!(s instanceof SSL_SESSION)) throw new OpenSSLUsageError('ERR_OPENSSL_BAD_HANDLE', `${fn}: not an SSL_SESSION`);
  const { core, lease } = pointerOf(s);
  if (lease !== undefined && !lease.valid) {
    throw new OpenSSLUsageError(
      'ERR_OPENSSL_USE_AFTER_FREE',
      `${fn}: borrowed session pointer (${lease.source}) used after ${lease.why}; take an owned reference with SSL_get1_session or SSL_SESSION_up_ref`,
    );
  }
  if (core.released)
    throw new OpenSSLUsageError(
      'ERR_OPENSSL_USE_AFTER_FREE',
      `${fn}: the session was freed (its reference count reached 0)`,
    );
  return core;
}

/** A core made from a decoded TlsSession, with d2i's defaults for an absent time and timeout. */
export function coreFromTls(tls: TlsSession): SessionCore {
  if (tls.time === 0) tls.time = nowSeconds();
  if (tls.timeout === 0) tls.timeout = DECODED_DEFAULT_TIMEOUT_S;
  return new SessionCore(tls);
}

/**
 * A core from a session Node handed over: plain DER (servers, Node 20 clients) or Node's client
 * session state (Node 22.23+, 24, 26), which is unwrapped so that the facade holds DER on every
 * line. `identity` is the client connection's identity where Node did not bind the session.
 * Node's bytes are always well formed; decoding errors are bugs.
 */
export function coreFromNode(bytes: Uint8Array, identity?: string): SessionCore {
  const tls = TlsSession.fromNodeSession(bytes);
  const bound = tls.boundIdentity;
  tls.form = 'der';
  tls.boundIdentity = undefined;
  const core = coreFromTls(tls);
  core.identity = bound ?? identity;
  return core;
}

/** The TlsSession of a session pointer, for reading (after the usual checks). */
export function tlsOf(s: SSL_SESSION, fn: string): TlsSession {
  return coreOf(s, fn).tls;
}

// --- SSL_SESSION_new(3) ---

/** SSL_SESSION_new: an empty session with reference count 1 (time now, timeout 304 s). */
export function SSL_SESSION_new(): SSL_SESSION {
  const tls = new TlsSession({
    protocolVersion: 0,
    time: nowSeconds(),
    timeout: SSL_SESSION_NEW_TIMEOUT_S,
    verifyResult: 1,
    maxFragmentLengthMode: MAX_FRAGMENT_LENGTH_UNSPECIFIED,
  });
  return new SessionCore(tls).handle;
}

/** SSL_SESSION_dup: a deep copy with reference count 1, in no cache. */
export function SSL_SESSION_dup(src: SSL_SESSION): SSL_SESSION | null {
  const core = coreOf(src, 'SSL_SESSION_dup');
  const copy = new SessionCore(core.tls.dup());
  copy.identity = core.identity;
  return copy.handle;
}

/**
 * SSL_SESSION_up_ref: one more reference; returns 1. Called on a borrowed pointer, it turns that
 * pointer into an owning one (the C idiom `SSL_get0_session` + `SSL_SESSION_up_ref`).
 */
export function SSL_SESSION_up_ref(s: SSL_SESSION): number {
  const core = coreOf(s, 'SSL_SESSION_up_ref');
  core.upRef();
  if (s.borrowed) {
    promote(s);
    core.adopt(s);
  }
  return 1;
}

/**
 * SSL_SESSION_free: one reference less; at 0 the master key is wiped and the session released.
 * `null` does nothing. Freeing past zero or freeing a borrowed pointer throws.
 */
export function SSL_SESSION_free(s: SSL_SESSION | null | undefined): void {
  if (s === null || s === undefined) return;
  if (!(s instanceof SSL_SESSION))
    throw new OpenSSLUsageError('ERR_OPENSSL_BAD_HANDLE', 'SSL_SESSION_free: not an SSL_SESSION');
  const { core, lease } = pointerOf(s);
  if (lease !== undefined) {
    if (!lease.valid) coreOf(s, 'SSL_SESSION_free');
    throw new OpenSSLUsageError(
      'ERR_OPENSSL_FREE_BORROWED',
      `SSL_SESSION_free: this pointer is borrowed (${lease.source}) and holds no reference; free only what SSL_get1_session, SSL_SESSION_new, SSL_SESSION_dup, SSL_SESSION_up_ref or d2i gave you`,
    );
  }
  core.release('SSL_SESSION_free');
}

/** SSL_SESSION_is_resumable: 1 when not marked non-resumable and it has a session id or a ticket. */
export function SSL_SESSION_is_resumable(s: SSL_SESSION): number {
  return tlsOf(s, 'SSL_SESSION_is_resumable').isResumable() ? 1 : 0;
}

// --- times ---

/** SSL_SESSION_get_time: the start time in seconds since the epoch. */
export function SSL_SESSION_get_time(s: SSL_SESSION): number {
  return tlsOf(s, 'SSL_SESSION_get_time').time;
}

/** C's `long` range, the type of OpenSSL's session times. */
const LONG_MAX = 2n ** 63n - 1n;
const LONG_MIN = -(2n ** 63n);

/**
 * A time in seconds as the session keeps it: any C `long` (as a bigint, or a number: the literal
 * 9223372036854775807 reads as 2^63 in JavaScript and stands for LONG_MAX), held within
 * +-Number.MAX_SAFE_INTEGER (285 million years: no expiry is ever reached either way).
 * `undefined` for what is not an integer of that range.
 */
function longSeconds(t: number | bigint): number | undefined {
  let v: bigint;
  if (typeof t === 'bigint') v = t;
  else if (Number.isInteger(t)) v = t === 2 ** 63 ? LONG_MAX : BigInt(t);
  else return undefined;
  if (v > LONG_MAX || v < LONG_MIN) return undefined;
  const max = BigInt(Number.MAX_SAFE_INTEGER);
  return Number(v > max ? max : v < -max ? -max : v);
}

/**
 * SSL_SESSION_set_time: sets the start time (any C `long`); a cached session moves in the
 * expiry order. Returns `t`, as a number; 0 for what is not an integer of C's `long` range.
 */
export function SSL_SESSION_set_time(s: SSL_SESSION, t: number | bigint): number {
  const core = coreOf(s, 'SSL_SESSION_set_time');
  const seconds = longSeconds(t);
  if (seconds === undefined) return 0;
  core.tls.time = seconds;
  core.owner?.relink(core);
  return Number(t);
}

/** SSL_SESSION_get_timeout: the lifetime in seconds. */
export function SSL_SESSION_get_timeout(s: SSL_SESSION): number {
  return tlsOf(s, 'SSL_SESSION_get_timeout').timeout;
}

/**
 * SSL_SESSION_set_timeout: sets the lifetime in seconds, up to LONG_MAX (sessions of
 * sslapitest's session_cache_overflow never expire); 1 on success, 0 for a negative value (nothing
 * queued, as in libssl). A cached session moves in the expiry order.
 */
export function SSL_SESSION_set_timeout(s: SSL_SESSION, t: number | bigint): number {
  const core = coreOf(s, 'SSL_SESSION_set_timeout');
  const seconds = longSeconds(t);
  if (seconds === undefined || seconds < 0) return 0;
  core.tls.timeout = seconds;
  core.owner?.relink(core);
  return 1;
}

// --- fields ---

/** SSL_SESSION_get_id: a copy of the session id (0 to 32 bytes). */
export function SSL_SESSION_get_id(s: SSL_SESSION): Buffer {
  return Buffer.from(tlsOf(s, 'SSL_SESSION_get_id').sessionId);
}

/**
 * SSL_SESSION_set1_id: sets the session id; 0 and SSL_R_SSL_SESSION_ID_TOO_LONG above 32 bytes.
 * Changing the id of a cached session (it is the cache key; C corrupts the cache) throws.
 */
export function SSL_SESSION_set1_id(s: SSL_SESSION, id: Uint8Array): number {
  const core = coreOf(s, 'SSL_SESSION_set1_id');
  if (core.owner !== undefined) {
    throw new OpenSSLUsageError(
      'ERR_OPENSSL_BAD_STATE',
      'SSL_SESSION_set1_id: the session is in a session cache, whose key is its id; remove it first',
    );
  }
  if (id.length > SSL_MAX_SSL_SESSION_ID_LENGTH) {
    ERR_raise(ERR_LIB_SSL, SSL_R_SSL_SESSION_ID_TOO_LONG);
    return 0;
  }
  core.tls.sessionId = Buffer.from(id);
  return 1;
}

/** SSL_SESSION_get0_id_context: a copy of the session id context. */
export function SSL_SESSION_get0_id_context(s: SSL_SESSION): Buffer {
  return Buffer.from(tlsOf(s, 'SSL_SESSION_get0_id_context').sessionIdContext);
}

/** SSL_SESSION_set1_id_context: 0 and SSL_R_SSL_SESSION_ID_CONTEXT_TOO_LONG above 32 bytes. */
export function SSL_SESSION_set1_id_context(s: SSL_SESSION, sidCtx: Uint8Array): number {
  const core = coreOf(s, 'SSL_SESSION_set1_id_context');
  if (sidCtx.length > SSL_MAX_SID_CTX_LENGTH) {
    ERR_raise(ERR_LIB_SSL, SSL_R_SSL_SESSION_ID_CONTEXT_TOO_LONG);
    return 0;
  }
  core.tls.sessionIdContext = Buffer.from(sidCtx);
  return 1;
}

/** SSL_SESSION_get_protocol_version: e.g. TLS1_3_VERSION (0x0304); 0 for a new empty session. */
export function SSL_SESSION_get_protocol_version(s: SSL_SESSION): number {
  return tlsOf(s, 'SSL_SESSION_get_protocol_version').protocolVersion;
}

/** SSL_SESSION_get0_hostname: the SNI name of the session, or `null`. */
export function SSL_SESSION_get0_hostname(s: SSL_SESSION): string | null {
  return tlsOf(s, 'SSL_SESSION_get0_hostname').hostname ?? null;
}

/** SSL_SESSION_has_ticket: 1 when the session carries a ticket. */
export function SSL_SESSION_has_ticket(s: SSL_SESSION): number {
  return (tlsOf(s, 'SSL_SESSION_has_ticket').ticket?.length ?? 0) > 0 ? 1 : 0;
}

/** SSL_SESSION_get_ticket_lifetime_hint: the server's lifetime hint in seconds. */
export function SSL_SESSION_get_ticket_lifetime_hint(s: SSL_SESSION): number {
  return tlsOf(s, 'SSL_SESSION_get_ticket_lifetime_hint').ticketLifetimeHint;
}

/** SSL_SESSION_get_master_key: a copy of the master secret / resumption PSK. A secret. */
export function SSL_SESSION_get_master_key(s: SSL_SESSION): Buffer {
  return Buffer.from(tlsOf(s, 'SSL_SESSION_get_master_key').masterKey);
}

/** SSL_SESSION_set1_master_key: 0 (and ERR_R_PASSED_INVALID_ARGUMENT) above 64 bytes. */
export function SSL_SESSION_set1_master_key(s: SSL_SESSION, key: Uint8Array): number {
  const core = coreOf(s, 'SSL_SESSION_set1_master_key');
  if (key.length > SSL_MAX_MASTER_KEY_BUFFER) {
    ERR_raise(ERR_LIB_SSL, ERR_R_PASSED_INVALID_ARGUMENT, 'master key longer than 64 bytes');
    return 0;
  }
  core.tls.masterKey = Buffer.from(key);
  return 1;
}

/** SSL_SESSION_print: `openssl sess_id -text` output; the key is redacted unless `reveal`. */
export function SSL_SESSION_print(s: SSL_SESSION, options: { reveal?: boolean } = {}): string {
  return tlsOf(s, 'SSL_SESSION_print').toText(options);
}

// --- encodings ---

/** i2d_SSL_SESSION: the DER encoding, or `null` (with an error queued) when it cannot be encoded. */
export function i2d_SSL_SESSION(s: SSL_SESSION): Buffer | null {
  const tls = tlsOf(s, 'i2d_SSL_SESSION');
  try {
    return tls.toDER();
  } catch (error) {
    raiseCodecError(error);
    return null;
  }
}

/** d2i_SSL_SESSION: a new session (reference count 1) from DER, or `null` with an error queued. */
export function d2i_SSL_SESSION(der: Uint8Array): SSL_SESSION | null {
  try {
    // Copy: the caller keeps its buffer, and freeing must not wipe it.
    return coreFromTls(TlsSession.fromDER(Uint8Array.prototype.slice.call(der))).handle;
  } catch (error) {
    raiseCodecError(error);
    return null;
  }
}

/** PEM_read_SSL_SESSION: a new session from the first `SSL SESSION PARAMETERS` block, or `null`. */
export function PEM_read_SSL_SESSION(pem: string | Uint8Array): SSL_SESSION | null {
  try {
    return coreFromTls(TlsSession.fromPEM(pem)).handle;
  } catch (error) {
    raiseCodecError(error);
    return null;
  }
}

/** PEM_write_SSL_SESSION: the PEM text, or `null` with an error queued. */
export function PEM_write_SSL_SESSION(s: SSL_SESSION): string | null {
  const tls = tlsOf(s, 'PEM_write_SSL_SESSION');
  try {
    return tls.toPEM();
  } catch (error) {
    raiseCodecError(error);
    return null;
  }
}

/** What d2i_SSL_SESSION / PEM_read report for each codec failure (ssl_asn1.c, tasn_dec.c, pem_lib.c). */
const CODEC_ERRORS: Record<TlsSessionErrorCode, [lib: number, reason: number]> = {
  ERR_SESSION_TRUNCATED: [ERR_LIB_ASN1, ASN1_R_NOT_ENOUGH_DATA],
  ERR_SESSION_MALFORMED: [ERR_LIB_ASN1, ASN1_R_WRONG_TAG],
  ERR_SESSION_TRAILING_DATA: [ERR_LIB_ASN1, ASN1_R_TOO_LONG],
  ERR_SESSION_VERSION: [ERR_LIB_SSL, SSL_R_UNKNOWN_SSL_VERSION],
  ERR_SESSION_PROTOCOL: [ERR_LIB_SSL, SSL_R_UNSUPPORTED_SSL_VERSION],
  ERR_SESSION_FIELD: [ERR_LIB_SSL, SSL_R_BAD_LENGTH],
  ERR_SESSION_INTEGER_RANGE: [ERR_LIB_ASN1, ASN1_R_INTEGER_TOO_LARGE_FOR_LONG],
  ERR_SESSION_PEM: [ERR_LIB_PEM, PEM_R_BAD_BASE64_DECODE],
  ERR_SESSION_FORMAT: [ERR_LIB_PEM, PEM_R_NO_START_LINE],
  ERR_SESSION_IDENTITY: [ERR_LIB_SSL, SSL_R_BAD_LENGTH],
  ERR_SESSION_PEER_CERT: [ERR_LIB_ASN1, ASN1_R_WRONG_TAG],
};

function raiseCodecError(error: unknown): void {
  if (!(error instanceof TlsSessionError)) throw error;
  let [lib, reason] = CODEC_ERRORS[error.code];
  if (error.code === 'ERR_SESSION_FIELD' && error.message.startsWith('cipher:'))
    reason = SSL_R_CIPHER_CODE_WRONG_LENGTH;
  if (error.code === 'ERR_SESSION_PEM' && /no "/.test(error.message))
    [lib, reason] = [ERR_LIB_PEM, PEM_R_NO_START_LINE];
  ERR_raise(lib, reason, error.message);
}
