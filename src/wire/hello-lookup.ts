/**
 * What a server session cache needs from a ClientHello to look a session up, read with the
 * same strictness as {@link parseClientHello} but without building what it does not need (no
 * lists of suites, groups, algorithms or extensions, no views, no strings but the server name):
 * on a server's resumption path, every allocation is paid again by the garbage collector.
 *
 * It accepts exactly the hellos `parseClientHello` accepts (the wire fuzz test checks both on
 * the same mutated inputs) and agrees with it on every field it returns.
 */
import { bufferView } from '../util/bytes.js';
import { type ClientHelloInfo, parseServerName } from './client-hello.js';
import { ExtensionType, HANDSHAKE_HEADER_LENGTH, RECORD_HEADER_LENGTH } from './constants.js';
import { ClientHelloError } from './errors.js';
import { singleRecordHelloLength } from './hello-frame.js';
import { parseClientHelloRecords } from './record-reader.js';

/** The lookup facts of a ClientHello. */
export interface HelloLookup {
  /** server_name's host_name as `parseClientHello` gives it (case kept), `undefined` without one. */
  readonly serverName: string | undefined;
  /** As `ClientHelloInfo.highestVersion`. */
  readonly highestVersion: number;
  /** A copy of the first pre_shared_key identity of the requested length, if any. */
  readonly pskIdentity: Buffer | undefined;
}

// Extension types seen in the hello being read: a stamp per type, so that nothing needs
// clearing between hellos (reading is synchronous and never re-entered).
const seen = new Uint32Array(65_536);
let stamp = 0;

function u16(b: Uint8Array, i: number): number {
  return (b[i]! << 8) | b[i + 1]!;
}

function malformed(offset: number, message: string): ClientHelloError {
  return new ClientHelloError('ERR_HELLO_MALFORMED', message, { offset });
}

function need(off: number, n: number, end: number, what: string): void {
  if (off + n > end) throw malformed(off, `${what} at offset ${off} needs ${n} bytes, only ${end - off} remain`);
}

function checkU16List(b: Uint8Array, s: number, e: number, what: string): void {
  need(s, 2, e, `${what} length`);
  const len = u16(b, s);
  if (len < 2 || (len & 1) !== 0 || s + 2 + len !== e) throw malformed(s, `${what} length ${len} is invalid`);
}

function checkAlpn(b: Uint8Array, s: number, e: number): void {
  need(s, 2, e, 'ALPN list length');
  const listLen = u16(b, s);
  if (listLen < 2 || s + 2 + listLen !== e) throw malformed(s, `ALPN list length ${listLen} is invalid`);
  let off = s + 2;
  while (off < e) {
    const len = b[off]!;
    off += 1;
    if (len === 0) throw malformed(off - 1, 'ALPN protocol name is empty');
    need(off, len, e, 'ALPN protocol name');
    off += len;
  }
}

/** Validates supported_versions; returns its highest 0x03xx entry, or -1. */
function highestSupported(b: Uint8Array, s: number, e: number): number {
  need(s, 1, e, 'supported_versions length');
  const len = b[s]!;
  if (len < 2 || (len & 1) !== 0 || s + 1 + len !== e)
    throw malformed(s, `supported_versions length ${len} is invalid`);
  let best = -1;
  for (let i = s + 1; i < e; i += 2) {
    const v = u16(b, i);
    // GREASE (0x?a?a) and DTLS (0xfexx) entries are not TLS versions.
    if (v >>> 8 === 3 && v > best) best = v;
  }
  return best;
}

function checkPskModes(b: Uint8Array, s: number, e: number): void {
  need(s, 1, e, 'psk_key_exchange_modes length');
  const len = b[s]!;
  if (len < 1 || s + 1 + len !== e) throw malformed(s, `psk_key_exchange_modes length ${len} is invalid`);
}

/** Validates pre_shared_key as `parseClientHello` does; returns the wanted identity's offset, or -1. */
function pskIdentityAt(b: Uint8Array, s: number, e: number, identityLength: number): number {
  need(s, 2, e, 'pre_shared_key identities length');
  const idsLen = u16(b, s);
  if (idsLen < 7) throw malformed(s, `pre_shared_key identities length ${idsLen} is below 7`);
  const idsEnd = s + 2 + idsLen;
  need(s + 2, idsLen, e, 'pre_shared_key identities');
  let found = -1;
  let ids = 0;
  let off = s + 2;
  while (off < idsEnd) {
    need(off, 2, idsEnd, 'PSK identity length');
    const len = u16(b, off);
    if (len === 0) throw malformed(off, 'PSK identity is empty');
    off += 2;
    need(off, len + 4, idsEnd, 'PSK identity and ticket age');
    if (found < 0 && len === identityLength) found = off;
    off += len + 4;
    ids += 1;
  }
  need(off, 2, e, 'pre_shared_key binders length');
  const bindersLen = u16(b, off);
  if (bindersLen < 33 || off + 2 + bindersLen !== e)
    throw malformed(off, `pre_shared_key binders length ${bindersLen} is invalid`);
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
  if (binders !== ids) throw malformed(s, `pre_shared_key has ${ids} identities but ${binders} binders`);
  return found;
}

/** Reads the lookup facts from a ClientHello body (the handshake message without its header). */
function lookupFromBody(b: Buffer, start: number, end: number, identityLength: number): HelloLookup {
  need(start, 35, end, 'legacy_version, random and legacy_session_id length');
  const legacyVersion = u16(b, start);
  const sidLen = b[start + 34]!;
  if (sidLen > 32) throw malformed(34, `legacy_session_id length ${sidLen} exceeds 32`);
  let off = start + 35;
  need(off, sidLen, end, 'legacy_session_id');
  off += sidLen;
  need(off, 2, end, 'cipher_suites length');
  const suitesLen = u16(b, off);
  if (suitesLen < 2 || (suitesLen & 1) !== 0) throw malformed(off, `cipher_suites length ${suitesLen} is invalid`);
  off += 2;
  need(off, suitesLen, end, 'cipher_suites');
  off += suitesLen;
  need(off, 1, end, 'legacy_compression_methods length');
  const compLen = b[off]!;
  if (compLen === 0) throw malformed(off, 'legacy_compression_methods is empty');
  off += 1;
  need(off, compLen, end, 'legacy_compression_methods');
  off += compLen;

  let serverName: string | undefined;
  let highest = -1;
  let psk = -1;
  let pskSeen = false;
  if (off < end) {
    need(off, 2, end, 'extensions length');
    const extLen = u16(b, off);
    if (off + 2 + extLen !== end) throw malformed(off, `extensions length ${extLen} does not end the ClientHello`);
    off += 2;
    stamp = (stamp + 1) >>> 0;
    if (stamp === 0) {
      seen.fill(0);
      stamp = 1;
    }
    while (off < end) {
      if (pskSeen) throw malformed(off, 'pre_shared_key (41) is not the last extension');
      need(off, 4, end, 'extension header');
      const type = u16(b, off);
      const len = u16(b, off + 2);
      off += 4;
      need(off, len, end, `extension ${type}`);
      if (seen[type] === stamp) throw malformed(off - 4, `extension ${type} appears twice`);
      seen[type] = stamp;
      const e = off + len;
      switch (type) {
        case ExtensionType.serverName:
          serverName = parseServerName(b, off, e);
          break;
        case ExtensionType.alpn:
          checkAlpn(b, off, e);
          break;
        case ExtensionType.supportedVersions:
          highest = highestSupported(b, off, e);
          break;
        case ExtensionType.supportedGroups:
          checkU16List(b, off, e, 'supported_groups');
          break;
        case ExtensionType.signatureAlgorithms:
          checkU16List(b, off, e, 'signature_algorithms');
          break;
        case ExtensionType.preSharedKey:
          psk = pskIdentityAt(b, off, e, identityLength);
          pskSeen = true;
          break;
        case ExtensionType.pskKeyExchangeModes:
          checkPskModes(b, off, e);
          break;
        case ExtensionType.earlyData:
        case ExtensionType.extendedMasterSecret:
          if (len !== 0) throw malformed(off, `extension ${type} has ${len} bytes, expected 0`);
          break;
      }
      off = e;
    }
  }
  return {
    serverName,
    highestVersion: highest === -1 ? legacyVersion : highest,
    pskIdentity: psk < 0 ? undefined : Buffer.from(b.subarray(psk, psk + identityLength)),
  };
}

function fromInfo(hello: ClientHelloInfo, identityLength: number): HelloLookup {
  const p = hello.pskIdentities?.find((x) => x.identity.length === identityLength);
  return {
    serverName: hello.serverName,
    highestVersion: hello.highestVersion,
    pskIdentity: p === undefined ? undefined : Buffer.from(p.identity),
  };
}

/**
 * Reads the lookup facts of the ClientHello at the start of `bytes`: raw stream bytes, as for
 * {@link parseClientHelloRecords} (default limits).
 *
 * @param identityLength the length of the PSK identity wanted (OpenSSL's stateful TLS 1.3
 *   tickets: 32, the session id)
 * @throws {ClientHelloError} on exactly the inputs `parseClientHelloRecords` rejects
 */
export function readHelloLookup(bytes: Uint8Array, identityLength: number): HelloLookup {
  const bodyLength = singleRecordHelloLength(bytes);
  if (bodyLength >= 0) {
    const start = RECORD_HEADER_LENGTH + HANDSHAKE_HEADER_LENGTH;
    return lookupFromBody(bufferView(bytes), start, start + bodyLength, identityLength);
  }
  // Split over records: rare enough to take the full path.
  return fromInfo(parseClientHelloRecords(bytes), identityLength);
}

/** The same facts from a ClientHello body (the handshake message without its 4-byte header). */
export function helloLookupOfBody(body: Uint8Array, identityLength: number): HelloLookup {
  return lookupFromBody(bufferView(body), 0, body.length, identityLength);
}
