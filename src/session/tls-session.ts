import { X509Certificate } from 'node:crypto';
import { inspect } from 'node:util';
import { decodeSession, encodeSession } from './codec.js';
import { TlsSessionError } from './errors.js';
import { SESS_FLAG_EXTMS, type TlsSessionFields } from './fields.js';
import { cipherIdHex, cipherName, groupName, protocolName, TLS1_3_VERSION } from './names.js';
import { isNodeSessionState, unwrapNodeSession, wrapNodeSession } from './node-state.js';
import { derToPem, looksLikePem, pemToDer } from './pem.js';
import { printSession } from './print.js';
import { bufferView } from '../util/bytes.js';

/** OpenSSL's timeout when a decoded session has none (d2i_SSL_SESSION). */
const DEFAULT_DECODED_TIMEOUT_S = 3;
/** The largest time a Date can hold (ECMAScript: 100 000 000 days from the epoch). */
const MAX_DATE_MS = 8.64e15;

/**
 * The form a session was read from: OpenSSL's DER or PEM, or Node's client session state (DER
 * bound to a server identity, what Node 22.23+, 24 and 26 clients hand out).
 */
export type TlsSessionForm = 'der' | 'pem' | 'node';

/** Options of {@link TlsSession.toJSON} and {@link TlsSession.toText}. */
export interface RevealOptions {
  /** Include the master key / resumption PSK. Off by default: it decrypts the connection. */
  reveal?: boolean;
}

/** Summary of the peer certificate in {@link TlsSessionJSON}. */
export interface PeerCertificateJSON {
  subject: string;
  issuer: string;
  validFrom: string;
  validTo: string;
  fingerprint256: string;
}

/** The JSON form of a session (what `tls-sessions inspect --json` prints). */
export interface TlsSessionJSON {
  protocol: string;
  protocolVersion: number;
  cipher: string;
  cipherId: string;
  sessionId: string;
  sessionIdContext: string;
  /** Present only when revealed. */
  masterKey?: string;
  startTime: number;
  timeout: number;
  expiresAt: string;
  resumable: boolean;
  hostname: string | null;
  alpn: string | null;
  ticket: string | null;
  ticketLifetimeHint: number;
  ticketAgeAdd: number;
  maxEarlyData: number;
  extendedMasterSecret: boolean;
  verifyResult: number;
  kexGroup: string | number | null;
  pskIdentity: string | null;
  pskIdentityHint: string | null;
  srpUsername: string | null;
  compressionId: number;
  maxFragmentLengthMode: number;
  ticketAppData: string | null;
  peerRpk: string | null;
  peerCertificate: PeerCertificateJSON | null;
  /** The form the session was read from. */
  form: TlsSessionForm;
  /** The server identity a Node session state is bound to; `null` for plain DER/PEM. */
  boundIdentity: string | null;
}

/**
 * An OpenSSL `SSL_SESSION`, decoded from and encoded back to its DER (`i2d_SSL_SESSION`) or PEM
 * (`SSL SESSION PARAMETERS`) form.
 *
 * Decoding then encoding an unmodified session returns the input bytes exactly; a modified session
 * encodes the way OpenSSL would. The master key is kept out of `util.inspect`, `JSON.stringify`
 * and {@link toText} unless revealed explicitly.
 *
 * @example
 * ```ts
 * const s = TlsSession.parse(await readFile('sess.pem'));
 * console.log(s.protocol, s.cipher, s.isResumable(), s.expiresAt);
 * s.timeout = 600;
 * await writeFile('sess2.pem', s.toPEM());
 * ```
 */
export class TlsSession implements TlsSessionFields {
  protocolVersion: number;
  cipherId: number;
  sessionId: Buffer;
  keyArg: Buffer | undefined;
  sessionIdContext: Buffer;
  verifyResult: number;
  hostname: string | undefined;
  pskIdentityHint: string | undefined;
  pskIdentity: string | undefined;
  ticketLifetimeHint: number;
  ticket: Buffer | undefined;
  compressionId: number;
  srpUsername: string | undefined;
  flags: number;
  ticketAgeAdd: number;
  maxEarlyData: number;
  alpnSelected: Buffer | undefined;
  maxFragmentLengthMode: number;
  ticketAppData: Buffer | undefined;
  kexGroup: number | undefined;
  peerRpk: Buffer | undefined;
  /**
   * Set when the session must not be resumed (OpenSSL's `not_resumable`): its connection failed.
   * Not part of the encoding.
   */
  notResumable = false;
  /** The form the session was read from ({@link parse}); `'der'` for a session built in code. */
  form: TlsSessionForm = 'der';
  /**
   * The server identity Node bound the session to, when it was read from Node's client session
   * state ({@link fromNodeSession}); `undefined` for plain DER or PEM. Not part of the DER.
   */
  boundIdentity: string | undefined;

  // Secret and lazily parsed state live in private fields so that util.inspect never shows them.
  #masterKey: Buffer;
  #time = 0;
  #timeout = 0;
  #peerDER: Buffer | undefined;
  #peer: X509Certificate | null | undefined;
  /** When this object was made: OpenSSL's "now" for a session without a start time. */
  readonly #createdAt: number;

  /** A session from its fields; fields left out take OpenSSL's empty values. */
  constructor(fields: Partial<TlsSessionFields> = {}) {
    this.protocolVersion = fields.protocolVersion ?? TLS1_3_VERSION;
    this.cipherId = fields.cipherId ?? 0;
    this.sessionId = fields.sessionId ?? Buffer.alloc(0);
    this.#masterKey = fields.masterKey ?? Buffer.alloc(0);
    this.keyArg = fields.keyArg;
    this.time = fields.time ?? 0;
    // Only a session without a start time needs the clock (keeps decoding cheap).
    this.#createdAt = this.time === 0 ? Math.floor(Date.now() / 1000) : 0;
    this.timeout = fields.timeout ?? 0;
    this.#peerDER = fields.peerCertificateDER;
    this.sessionIdContext = fields.sessionIdContext ?? Buffer.alloc(0);
    this.verifyResult = fields.verifyResult ?? 0;
    this.hostname = fields.hostname;
    this.pskIdentityHint = fields.pskIdentityHint;
    this.pskIdentity = fields.pskIdentity;
    this.ticketLifetimeHint = fields.ticketLifetimeHint ?? 0;
    this.ticket = fields.ticket;
    this.compressionId = fields.compressionId ?? 0;
    this.srpUsername = fields.srpUsername;
    this.flags = fields.flags ?? 0;
    this.ticketAgeAdd = fields.ticketAgeAdd ?? 0;
    this.maxEarlyData = fields.maxEarlyData ?? 0;
    this.alpnSelected = fields.alpnSelected;
    this.maxFragmentLengthMode = fields.maxFragmentLengthMode ?? 0;
    this.ticketAppData = fields.ticketAppData;
    this.kexGroup = fields.kexGroup;
    this.peerRpk = fields.peerRpk;
  }

  /**
   * Decodes DER (what Node's `getSession()`, `'session'` and `'newSession'` give). The session's
   * buffers are views into `der` when `der` owns its whole ArrayBuffer (as Node's session buffers
   * do), so {@link wipe} also clears the key in `der`; use {@link dup} for independent memory.
   * The peer certificate is parsed when first used ({@link peerCertificate}, {@link toJSON},
   * {@link toText}), which throw `ERR_SESSION_PEER_CERT` if it does not parse; d2i_SSL_SESSION
   * refuses such a session at once (call `peerCertificate` to do the same).
   */
  static fromDER(der: Uint8Array): TlsSession {
    return new TlsSession(decodeSession(der));
  }

  /** Decodes the first `SSL SESSION PARAMETERS` PEM block in `text`. */
  static fromPEM(text: string | Uint8Array): TlsSession {
    const s = typeof text === 'string' ? text : bufferView(text).toString('latin1');
    return TlsSession.fromDER(pemToDer(s));
  }

  /**
   * Decodes what a Node client hands out (`'session'`, `getSession()`): Node's session state
   * (DER bound to a server identity, Node 22.23+, 24, 26), whose identity becomes
   * {@link boundIdentity}, or plain DER (older lines, and every server's `'newSession'`).
   */
  static fromNodeSession(bytes: Uint8Array): TlsSession {
    const { identity, der } = unwrapNodeSession(bytes);
    const session = TlsSession.fromDER(der);
    if (identity !== undefined) {
      session.form = 'node';
      session.boundIdentity = identity;
    }
    return session;
  }

  /** Decodes DER, PEM or Node's client session state, telling them apart by their first bytes; {@link form} says which. */
  static parse(input: Uint8Array | string): TlsSession {
    if (typeof input === 'string') return withForm(TlsSession.fromPEM(input), 'pem');
    if (!(input instanceof Uint8Array)) {
      throw new TlsSessionError('ERR_SESSION_FORMAT', 'session: expected a Buffer, Uint8Array or PEM string');
    }
    if (isNodeSessionState(input)) return TlsSession.fromNodeSession(input);
    if (looksLikePem(input)) return withForm(TlsSession.fromPEM(input), 'pem');
    if (input.length > 0 && input[0] !== 0x30) {
      throw new TlsSessionError(
        'ERR_SESSION_FORMAT',
        'session: input is neither DER (a SEQUENCE), a Node session state nor PEM',
      );
    }
    return TlsSession.fromDER(input);
  }

  /** The DER encoding, as i2d_SSL_SESSION writes it. */
  toDER(): Buffer {
    return encodeSession(this);
  }

  /** The PEM encoding, as PEM_write_SSL_SESSION writes it. */
  toPEM(): string {
    return derToPem(this.toDER());
  }

  /**
   * Node's client session state: the DER bound to `identity` (default: {@link boundIdentity}),
   * the form `tls.connect({ session })` offers on Node 22.23+, 24 and 26 to a connection whose
   * `servername || host || 'localhost'` is that identity. Bind a session only to the server it
   * came from: a resumed session skips certificate checks.
   */
  toNodeSession(identity: string | undefined = this.boundIdentity): Buffer {
    if (identity === undefined) {
      throw new TlsSessionError('ERR_SESSION_IDENTITY', 'session: no identity to bind the session to');
    }
    return wrapNodeSession(this.toDER(), identity);
  }

  /** Start time, seconds since the epoch; 0 when absent. An integer: anything else is refused. */
  get time(): number {
    return this.#time;
  }

  set time(value: number) {
    this.#time = seconds(value, 'time');
  }

  /** Lifetime in seconds; 0 when absent (OpenSSL then uses 3 s). An integer: anything else is refused. */
  get timeout(): number {
    return this.#timeout;
  }

  set timeout(value: number) {
    this.#timeout = seconds(value, 'timeout');
  }

  /** Master secret (TLS <= 1.2) or resumption PSK (TLS 1.3). A secret: handle with care. */
  get masterKey(): Buffer {
    return this.#masterKey;
  }

  set masterKey(value: Buffer) {
    this.#masterKey = value;
  }

  /** DER of the peer's leaf certificate, if the session recorded one. */
  get peerCertificateDER(): Buffer | undefined {
    return this.#peerDER;
  }

  set peerCertificateDER(value: Buffer | undefined) {
    this.#peerDER = value;
    this.#peer = undefined;
  }

  /** The peer certificate, parsed on first use; `null` when the session has none. */
  get peerCertificate(): X509Certificate | null {
    if (this.#peer === undefined) {
      if (!this.#peerDER) {
        this.#peer = null;
      } else {
        try {
          this.#peer = new X509Certificate(this.#peerDER);
        } catch (cause) {
          throw new TlsSessionError('ERR_SESSION_PEER_CERT', 'peer: the certificate in the session cannot be parsed', {
            cause,
          });
        }
      }
    }
    return this.#peer;
  }

  /** OpenSSL's protocol name, e.g. `TLSv1.3`. */
  get protocol(): string {
    return protocolName(this.protocolVersion);
  }

  /** OpenSSL's cipher name, e.g. `TLS_AES_256_GCM_SHA384`, or the hex id when unknown. */
  get cipher(): string {
    return cipherName(this.cipherId) ?? cipherIdHex(this.cipherId);
  }

  /** The negotiated ALPN protocol as text. */
  get alpn(): string | undefined {
    return this.alpnSelected?.toString('latin1');
  }

  /** True when the handshake used the extended master secret (RFC 7627). */
  get extendedMasterSecret(): boolean {
    return (this.flags & SESS_FLAG_EXTMS) !== 0;
  }

  /** IANA name of the key exchange group, when known. */
  get kexGroupName(): string | undefined {
    return this.kexGroup === undefined ? undefined : groupName(this.kexGroup);
  }

  /** Start time in seconds as OpenSSL uses it (an absent time means "when decoded"). */
  get effectiveTime(): number {
    return this.time !== 0 ? this.time : this.#createdAt || Math.floor(Date.now() / 1000);
  }

  /** Timeout in seconds as OpenSSL uses it (an absent timeout means 3 s). */
  get effectiveTimeout(): number {
    return this.timeout !== 0 ? this.timeout : DEFAULT_DECODED_TIMEOUT_S;
  }

  /** When OpenSSL considers the session expired: start time + timeout. */
  get expiresAt(): Date {
    // Clamped to the Date range: a hostile session may carry absurd times.
    const ms = (this.effectiveTime + this.effectiveTimeout) * 1000;
    return new Date(Math.max(-MAX_DATE_MS, Math.min(MAX_DATE_MS, ms)));
  }

  /**
   * OpenSSL's SSL_SESSION_is_resumable: not marked non-resumable, and a session id or a ticket
   * to offer. A TLS 1.3 client session taken before a ticket arrived is not resumable.
   */
  isResumable(): boolean {
    return !this.notResumable && (this.sessionId.length > 0 || (this.ticket?.length ?? 0) > 0);
  }

  /** True when `now` (default: the current time) is past {@link expiresAt}, as OpenSSL compares. */
  isExpired(now: Date | number = Date.now()): boolean {
    const ms = typeof now === 'number' ? now : now.getTime();
    return ms > this.expiresAt.getTime();
  }

  /** A deep copy (SSL_SESSION_dup): no buffer is shared with this session. */
  dup(): TlsSession {
    const copy = (b: Buffer | undefined) => (b === undefined ? undefined : Buffer.from(b));
    const s = new TlsSession({
      ...this.fields(),
      sessionId: Buffer.from(this.sessionId),
      masterKey: Buffer.from(this.#masterKey),
      sessionIdContext: Buffer.from(this.sessionIdContext),
      keyArg: copy(this.keyArg),
      peerCertificateDER: copy(this.#peerDER),
      ticket: copy(this.ticket),
      alpnSelected: copy(this.alpnSelected),
      ticketAppData: copy(this.ticketAppData),
      peerRpk: copy(this.peerRpk),
    });
    s.notResumable = this.notResumable;
    s.form = this.form;
    s.boundIdentity = this.boundIdentity;
    return s;
  }

  /** Overwrites the master key with zeros (what SSL_SESSION_free does when the count hits 0). */
  wipe(): void {
    this.#masterKey.fill(0);
  }

  /** Every field as a plain object (buffers shared, not copied). */
  fields(): TlsSessionFields {
    return {
      protocolVersion: this.protocolVersion,
      cipherId: this.cipherId,
      sessionId: this.sessionId,
      masterKey: this.#masterKey,
      keyArg: this.keyArg,
      time: this.time,
      timeout: this.timeout,
      peerCertificateDER: this.#peerDER,
      sessionIdContext: this.sessionIdContext,
      verifyResult: this.verifyResult,
      hostname: this.hostname,
      pskIdentityHint: this.pskIdentityHint,
      pskIdentity: this.pskIdentity,
      ticketLifetimeHint: this.ticketLifetimeHint,
      ticket: this.ticket,
      compressionId: this.compressionId,
      srpUsername: this.srpUsername,
      flags: this.flags,
      ticketAgeAdd: this.ticketAgeAdd,
      maxEarlyData: this.maxEarlyData,
      alpnSelected: this.alpnSelected,
      maxFragmentLengthMode: this.maxFragmentLengthMode,
      ticketAppData: this.ticketAppData,
      kexGroup: this.kexGroup,
      peerRpk: this.peerRpk,
    };
  }

  /**
   * The text `openssl sess_id -text -noout` prints; the secret is redacted unless revealed.
   * Throws `ERR_SESSION_PEER_CERT`, as {@link toJSON} does, for a peer certificate that does
   * not parse: openssl cannot load such a session at all.
   */
  toText(options: RevealOptions = {}): string {
    this.peerCertificate; // parses the certificate (once), throwing if it is not one
    return printSession(this, options.reveal === true);
  }

  /**
   * A JSON-ready summary. `JSON.stringify(session)` calls this without options, so the secret
   * is never included by accident.
   */
  toJSON(options?: RevealOptions | string): TlsSessionJSON {
    const reveal = typeof options === 'object' && options.reveal === true;
    const hex = (b: Buffer | undefined) => (b === undefined ? null : b.toString('hex'));
    const peer = this.peerCertificate;
    const json: TlsSessionJSON = {
      protocol: this.protocol,
      protocolVersion: this.protocolVersion,
      cipher: this.cipher,
      cipherId: cipherIdHex(this.cipherId),
      sessionId: this.sessionId.toString('hex'),
      sessionIdContext: this.sessionIdContext.toString('hex'),
      startTime: this.time,
      timeout: this.timeout,
      expiresAt: this.expiresAt.toISOString(),
      resumable: this.isResumable(),
      hostname: this.hostname ?? null,
      alpn: this.alpn ?? null,
      ticket: hex(this.ticket),
      ticketLifetimeHint: this.ticketLifetimeHint,
      ticketAgeAdd: this.ticketAgeAdd,
      maxEarlyData: this.maxEarlyData,
      extendedMasterSecret: this.extendedMasterSecret,
      verifyResult: this.verifyResult,
      kexGroup: this.kexGroup === undefined ? null : (this.kexGroupName ?? this.kexGroup),
      pskIdentity: this.pskIdentity ?? null,
      pskIdentityHint: this.pskIdentityHint ?? null,
      srpUsername: this.srpUsername ?? null,
      compressionId: this.compressionId,
      maxFragmentLengthMode: this.maxFragmentLengthMode,
      ticketAppData: hex(this.ticketAppData),
      peerRpk: hex(this.peerRpk),
      peerCertificate: peer && {
        subject: peer.subject,
        issuer: peer.issuer,
        validFrom: isoDate(peer.validFrom),
        validTo: isoDate(peer.validTo),
        fingerprint256: peer.fingerprint256,
      },
      form: this.form,
      boundIdentity: this.boundIdentity ?? null,
    };
    if (reveal) json.masterKey = this.#masterKey.toString('hex');
    return json;
  }

  /** `console.log(session)` shows a redacted summary. */
  [inspect.custom](): string {
    const id = this.sessionId.toString('hex');
    return `TlsSession { ${this.protocol} ${this.cipher} id=${id || '-'} ticket=${this.ticket?.length ?? 0}B masterKey=<redacted> expires=${this.expiresAt.toISOString()} }`;
  }
}

/**
 * A time field's value: an integer within the encoding's signed 64 bits that a double holds
 * exactly. NaN, Infinity or 1.5 would print as Invalid Date, throw from toJSON and never expire.
 */
function seconds(value: number, field: 'time' | 'timeout'): number {
  if (!Number.isSafeInteger(value)) {
    throw new TlsSessionError(
      'ERR_SESSION_FIELD',
      `${field}: must be an integer number of seconds (got ${String(value).slice(0, 24)})`,
    );
  }
  return value;
}

function withForm(session: TlsSession, form: TlsSessionForm): TlsSession {
  session.form = form;
  return session;
}

/** ISO 8601 form of an X509Certificate date string; the string as is when Date cannot read it. */
function isoDate(text: string): string {
  const d = new Date(text);
  return Number.isNaN(d.getTime()) ? text : d.toISOString();
}
