/**
 * ClientHello parsing (RFC 8446 §4.1.2, RFC 5246 §7.4.1.2), strict on every length.
 *
 * The parser reads the handshake message that OpenSSL is about to read, so that a server can
 * see what Node's own ClientHello parser never exposes: the TLS 1.3 `pre_shared_key` identities.
 * Byte fields are views into the input (no copies): keep the input unchanged while using them.
 */
import { bufferView } from '../util/bytes.js';
import { ExtensionType, HANDSHAKE_CLIENT_HELLO, HANDSHAKE_HEADER_LENGTH } from './constants.js';
import { ClientHelloError } from './errors.js';

/** One extension, in wire order. `data` is a view of the extension body (no type/length). */
export interface HelloExtension {
  readonly type: number;
  readonly data: Buffer;
}

/** One offered TLS 1.3 PSK (RFC 8446 §4.2.11). */
export interface PskIdentity {
  /** The ticket (stateless) or the session id (stateful OpenSSL tickets: 32 bytes). */
  readonly identity: Buffer;
  /** Ticket age in ms plus the ticket's age_add, modulo 2^32. */
  readonly obfuscatedTicketAge: number;
}

/**
 * What a ClientHello says. Fields for extensions are `undefined` when the extension is absent
 * (and `serverName` also when server_name holds no host_name entry).
 */
export interface ClientHelloInfo {
  /** legacy_version: 0x0303 for TLS 1.2 and 1.3 clients. */
  readonly legacyVersion: number;
  /** The 32-byte client random. */
  readonly random: Buffer;
  /** legacy_session_id, 0 to 32 bytes (random in TLS 1.3 middlebox-compatibility mode). */
  readonly legacySessionId: Buffer;
  /** Offered cipher suites (IANA ids), GREASE values included, in client order. */
  readonly cipherSuites: readonly number[];
  /** legacy_compression_methods. */
  readonly compressionMethods: readonly number[];
  /** Every extension in wire order. */
  readonly extensions: readonly HelloExtension[];
  /** server_name (0): the host_name entry, bytes taken as Latin-1, case kept. */
  readonly serverName: string | undefined;
  /** application_layer_protocol_negotiation (16): protocol names, bytes taken as Latin-1. */
  readonly alpn: readonly string[] | undefined;
  /** supported_versions (43), in client order, GREASE values included. */
  readonly supportedVersions: readonly number[] | undefined;
  /** supported_groups (10). */
  readonly supportedGroups: readonly number[] | undefined;
  /** signature_algorithms (13). */
  readonly signatureAlgorithms: readonly number[] | undefined;
  /** session_ticket (35), TLS 1.2 only: the offered ticket; empty when the client asks for one. */
  readonly sessionTicket: Buffer | undefined;
  /** pre_shared_key (41) identities, in client order. */
  readonly pskIdentities: readonly PskIdentity[] | undefined;
  /** psk_key_exchange_modes (45): 0 = psk_ke, 1 = psk_dhe_ke. */
  readonly pskKeyExchangeModes: readonly number[] | undefined;
  /** early_data (42) is present: the client sends 0-RTT data after the hello. */
  readonly earlyData: boolean;
  /** extended_master_secret (23) is present. */
  readonly extendedMasterSecret: boolean;
  /**
   * The highest TLS version offered: the largest 0x03xx entry of supported_versions, or
   * `legacyVersion` when that extension is absent or offers no TLS version.
   */
  readonly highestVersion: number;
  /** Length of the ClientHello body in bytes. */
  readonly length: number;
}

// Bitmap of extension types seen in the hello being parsed (parsing is synchronous and never
// re-entered). Cleared after each parse, so duplicate detection costs no allocation.
const seenTypes = new Uint8Array(65_536 >>> 3);

function u16(b: Buffer, i: number): number {
  return (b[i]! << 8) | b[i + 1]!;
}

function u32(b: Buffer, i: number): number {
  return ((b[i]! << 24) | (b[i + 1]! << 16) | (b[i + 2]! << 8) | b[i + 3]!) >>> 0;
}

function malformed(offset: number, message: string): ClientHelloError {
  return new ClientHelloError('ERR_HELLO_MALFORMED', message, { offset });
}

/** Throws unless `n` bytes from `off` lie before `end`. */
function need(off: number, n: number, end: number, what: string): void {
  if (off + n > end) {
    throw malformed(off, `${what} at offset ${off} needs ${n} bytes, only ${end - off} remain`);
  }
}

/** A uint16 list with a 2-byte length prefix that fills [s, e) exactly. */
function u16List(b: Buffer, s: number, e: number, what: string): number[] {
  need(s, 2, e, `${what} length`);
  const len = u16(b, s);
  if (len < 2 || (len & 1) !== 0 || s + 2 + len !== e) {
    throw malformed(s, `${what} length ${len} is invalid for an extension of ${e - s} bytes`);
  }
  const out: number[] = [];
  for (let i = s + 2; i < e; i += 2) out.push(u16(b, i));
  return out;
}

/** server_name (0) extension body in [s, e): its host_name, checked as OpenSSL does. */
export function parseServerName(b: Buffer, s: number, e: number): string | undefined {
  need(s, 2, e, 'server_name list length');
  const listLen = u16(b, s);
  if (listLen === 0 || s + 2 + listLen !== e) {
    throw malformed(s, `server_name list length ${listLen} is invalid for an extension of ${e - s} bytes`);
  }
  let name: string | undefined;
  let off = s + 2;
  while (off < e) {
    need(off, 3, e, 'server_name entry header');
    const nameType = b[off]!;
    const len = u16(b, off + 1);
    off += 3;
    need(off, len, e, 'server_name entry');
    if (nameType === 0) {
      if (name !== undefined) throw malformed(off, 'server_name has two host_name entries');
      // OpenSSL's limits: 1..255 bytes, no NUL (a NUL would truncate the name in C).
      if (len === 0 || len > 255) throw malformed(off, `server_name host_name length ${len} is not 1..255`);
      for (let i = off; i < off + len; i++) {
        if (b[i] === 0) throw malformed(i, 'server_name host_name contains a NUL byte');
      }
      name = b.toString('latin1', off, off + len);
    }
    off += len;
  }
  return name;
}

function parseAlpn(b: Buffer, s: number, e: number): string[] {
  need(s, 2, e, 'ALPN list length');
  const listLen = u16(b, s);
  if (listLen < 2 || s + 2 + listLen !== e) {
    throw malformed(s, `ALPN list length ${listLen} is invalid for an extension of ${e - s} bytes`);
  }
  const out: string[] = [];
  let off = s + 2;
  while (off < e) {
    const len = b[off]!;
    off += 1;
    if (len === 0) throw malformed(off - 1, 'ALPN protocol name is empty');
    need(off, len, e, 'ALPN protocol name');
    out.push(b.toString('latin1', off, off + len));
    off += len;
  }
  return out;
}

function parseSupportedVersions(b: Buffer, s: number, e: number): number[] {
  need(s, 1, e, 'supported_versions length');
  const len = b[s]!;
  if (len < 2 || (len & 1) !== 0 || s + 1 + len !== e) {
    throw malformed(s, `supported_versions length ${len} is invalid for an extension of ${e - s} bytes`);
  }
  const out: number[] = [];
  for (let i = s + 1; i < e; i += 2) out.push(u16(b, i));
  return out;
}

function parsePskKeyExchangeModes(b: Buffer, s: number, e: number): number[] {
  need(s, 1, e, 'psk_key_exchange_modes length');
  const len = b[s]!;
  if (len < 1 || s + 1 + len !== e) {
    throw malformed(s, `psk_key_exchange_modes length ${len} is invalid for an extension of ${e - s} bytes`);
  }
  const out: number[] = [];
  for (let i = s + 1; i < e; i++) out.push(b[i]!);
  return out;
}

/** OfferedPsks: identities<7..2^16-1>, binders<33..2^16-1>, one binder per identity. */
function parsePreSharedKey(b: Buffer, s: number, e: number): PskIdentity[] {
  need(s, 2, e, 'pre_shared_key identities length');
  const idsLen = u16(b, s);
  if (idsLen < 7) throw malformed(s, `pre_shared_key identities length ${idsLen} is below 7`);
  const idsEnd = s + 2 + idsLen;
  need(s + 2, idsLen, e, 'pre_shared_key identities');
  const ids: PskIdentity[] = [];
  let off = s + 2;
  while (off < idsEnd) {
    need(off, 2, idsEnd, 'PSK identity length');
    const len = u16(b, off);
    if (len === 0) throw malformed(off, 'PSK identity is empty');
    off += 2;
    need(off, len + 4, idsEnd, 'PSK identity and ticket age');
    ids.push({ identity: b.subarray(off, off + len), obfuscatedTicketAge: u32(b, off + len) });
    off += len + 4;
  }
  need(off, 2, e, 'pre_shared_key binders length');
  const bindersLen = u16(b, off);
  if (bindersLen < 33 || off + 2 + bindersLen !== e) {
    throw malformed(off, `pre_shared_key binders length ${bindersLen} is invalid for ${e - off - 2} remaining bytes`);
  }
  off += 2;
  let binders = 0;
  while (off < e) {
    const len = b[off]!;
    if (len < 32) throw malformed(off, `PSK binder length ${len} is below 32`);
    off += 1;
    need(off, len, e, 'PSK binder');
    off += len;
    binders += 1;
  }
  if (binders !== ids.length) {
    throw malformed(s, `pre_shared_key has ${ids.length} identities but ${binders} binders`);
  }
  return ids;
}

function highestOf(legacyVersion: number, supported: readonly number[] | undefined): number {
  let best = -1;
  if (supported !== undefined) {
    // GREASE (0x?a?a) and DTLS (0xfexx) entries are not TLS versions.
    for (const v of supported) if (v >>> 8 === 3 && v > best) best = v;
  }
  return best === -1 ? legacyVersion : best;
}

/**
 * Parses a ClientHello body: the handshake message without its 4-byte header.
 *
 * @param body the `ClientHello` structure, exactly (no trailing bytes)
 * @throws {ClientHelloError} `ERR_HELLO_MALFORMED` when any length is inconsistent, a
 *   session id is longer than 32 bytes, an extension appears twice, `pre_shared_key` is not the
 *   last extension, or a decoded extension breaks its own grammar. Nothing else is thrown.
 */
export function parseClientHello(body: Uint8Array): ClientHelloInfo {
  const b = bufferView(body);
  const end = b.length;
  need(0, 35, end, 'legacy_version, random and legacy_session_id length');
  const legacyVersion = u16(b, 0);
  const random = b.subarray(2, 34);
  const sidLen = b[34]!;
  if (sidLen > 32) throw malformed(34, `legacy_session_id length ${sidLen} exceeds 32`);
  let off = 35;
  need(off, sidLen, end, 'legacy_session_id');
  const legacySessionId = b.subarray(off, off + sidLen);
  off += sidLen;

  need(off, 2, end, 'cipher_suites length');
  const suitesLen = u16(b, off);
  if (suitesLen < 2 || (suitesLen & 1) !== 0) {
    throw malformed(off, `cipher_suites length ${suitesLen} is not a positive even number`);
  }
  off += 2;
  need(off, suitesLen, end, 'cipher_suites');
  const cipherSuites: number[] = [];
  for (let i = off; i < off + suitesLen; i += 2) cipherSuites.push(u16(b, i));
  off += suitesLen;

  need(off, 1, end, 'legacy_compression_methods length');
  const compLen = b[off]!;
  if (compLen === 0) throw malformed(off, 'legacy_compression_methods is empty');
  off += 1;
  need(off, compLen, end, 'legacy_compression_methods');
  const compressionMethods: number[] = [];
  for (let i = off; i < off + compLen; i++) compressionMethods.push(b[i]!);
  off += compLen;

  const extensions: HelloExtension[] = [];
  let serverName: string | undefined;
  let alpn: string[] | undefined;
  let supportedVersions: number[] | undefined;
  let supportedGroups: number[] | undefined;
  let signatureAlgorithms: number[] | undefined;
  let sessionTicket: Buffer | undefined;
  let pskIdentities: PskIdentity[] | undefined;
  let pskKeyExchangeModes: number[] | undefined;
  let earlyData = false;
  let extendedMasterSecret = false;

  // A TLS 1.2 hello may end right after the compression methods (RFC 5246 §7.4.1.2).
  if (off < end) {
    need(off, 2, end, 'extensions length');
    const extLen = u16(b, off);
    if (off + 2 + extLen !== end) {
      throw malformed(
        off,
        off + 2 + extLen > end
          ? `extensions length ${extLen} runs past the end of the ClientHello`
          : `${end - off - 2 - extLen} bytes follow the extensions`,
      );
    }
    off += 2;
    try {
      while (off < end) {
        if (pskIdentities !== undefined) {
          throw malformed(off, 'pre_shared_key (41) is not the last extension');
        }
        need(off, 4, end, 'extension header');
        const type = u16(b, off);
        const len = u16(b, off + 2);
        off += 4;
        need(off, len, end, `extension ${type}`);
        const bit = 1 << (type & 7);
        if ((seenTypes[type >>> 3]! & bit) !== 0) {
          throw malformed(off - 4, `extension ${type} appears twice`);
        }
        extensions.push({ type, data: b.subarray(off, off + len) });
        seenTypes[type >>> 3]! |= bit;
        const e = off + len;
        switch (type) {
          case ExtensionType.serverName:
            serverName = parseServerName(b, off, e);
            break;
          case ExtensionType.alpn:
            alpn = parseAlpn(b, off, e);
            break;
          case ExtensionType.supportedVersions:
            supportedVersions = parseSupportedVersions(b, off, e);
            break;
          case ExtensionType.supportedGroups:
            supportedGroups = u16List(b, off, e, 'supported_groups');
            break;
          case ExtensionType.signatureAlgorithms:
            signatureAlgorithms = u16List(b, off, e, 'signature_algorithms');
            break;
          case ExtensionType.sessionTicket:
            sessionTicket = b.subarray(off, e);
            break;
          case ExtensionType.preSharedKey:
            pskIdentities = parsePreSharedKey(b, off, e);
            break;
          case ExtensionType.pskKeyExchangeModes:
            pskKeyExchangeModes = parsePskKeyExchangeModes(b, off, e);
            break;
          case ExtensionType.earlyData:
            if (len !== 0) throw malformed(off, `early_data extension has ${len} bytes, expected 0`);
            earlyData = true;
            break;
          case ExtensionType.extendedMasterSecret:
            if (len !== 0) throw malformed(off, `extended_master_secret extension has ${len} bytes, expected 0`);
            extendedMasterSecret = true;
            break;
        }
        off = e;
      }
    } finally {
      for (const ext of extensions) seenTypes[ext.type >>> 3] = 0;
    }
  }

  return {
    legacyVersion,
    random,
    legacySessionId,
    cipherSuites,
    compressionMethods,
    extensions,
    serverName,
    alpn,
    supportedVersions,
    supportedGroups,
    signatureAlgorithms,
    sessionTicket,
    pskIdentities,
    pskKeyExchangeModes,
    earlyData,
    extendedMasterSecret,
    highestVersion: highestOf(legacyVersion, supportedVersions),
    length: end,
  };
}

/**
 * Parses a whole handshake message: the 4-byte header (type 1, 24-bit length) and the
 * ClientHello body it announces. Bytes after the message are not allowed here.
 *
 * @throws {ClientHelloError} `ERR_HELLO_TRUNCATED` when the message is shorter than its
 *   header says, `ERR_HELLO_MALFORMED` when it is not a ClientHello, is followed by extra
 *   bytes, or its body is malformed.
 */
export function parseClientHelloMessage(message: Uint8Array): ClientHelloInfo {
  const m = bufferView(message);
  if (m.length < HANDSHAKE_HEADER_LENGTH) {
    throw new ClientHelloError('ERR_HELLO_TRUNCATED', `handshake header needs 4 bytes, got ${m.length}`, {
      offset: m.length,
    });
  }
  if (m[0] !== HANDSHAKE_CLIENT_HELLO) {
    throw malformed(0, `handshake message type ${m[0]} is not client_hello (1)`);
  }
  const len = (m[1]! << 16) | (m[2]! << 8) | m[3]!;
  const total = HANDSHAKE_HEADER_LENGTH + len;
  if (m.length < total) {
    throw new ClientHelloError(
      'ERR_HELLO_TRUNCATED',
      `ClientHello announces ${len} bytes, only ${m.length - HANDSHAKE_HEADER_LENGTH} present`,
      { offset: m.length },
    );
  }
  if (m.length > total) throw malformed(total, `${m.length - total} bytes follow the ClientHello message`);
  return parseClientHello(m.subarray(HANDSHAKE_HEADER_LENGTH));
}
