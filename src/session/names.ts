import { CIPHER_NAMES } from './cipher-names.js';

/** Protocol version numbers as they appear in a session (`ssl_version`). */
export const TLS1_VERSION = 0x0301;
export const TLS1_1_VERSION = 0x0302;
export const TLS1_2_VERSION = 0x0303;
export const TLS1_3_VERSION = 0x0304;

/** OpenSSL's default session timeout of a TLS context (tls1_default_timeout), which Node servers keep: 2 hours. */
export const OPENSSL_DEFAULT_TIMEOUT_S = 7200;

const PROTOCOLS: ReadonlyMap<number, string> = new Map([
  [0x0300, 'SSLv3'],
  [TLS1_VERSION, 'TLSv1'],
  [TLS1_1_VERSION, 'TLSv1.1'],
  [TLS1_2_VERSION, 'TLSv1.2'],
  [TLS1_3_VERSION, 'TLSv1.3'],
  [0x0100, 'DTLSv0.9'],
  [0xfeff, 'DTLSv1'],
  [0xfefd, 'DTLSv1.2'],
]);

/** OpenSSL's protocol name (`ssl_protocol_to_string`), e.g. `TLSv1.3`; `unknown` otherwise. */
export function protocolName(version: number): string {
  return PROTOCOLS.get(version) ?? 'unknown';
}

/** OpenSSL's name of a cipher suite, or `undefined` when this OpenSSL does not know it. */
export function cipherName(id: number): string | undefined {
  return CIPHER_NAMES.get(id);
}

/** `0x1302`-style id, as used in JSON output. */
export function cipherIdHex(id: number): string {
  return `0x${id.toString(16).padStart(4, '0')}`;
}

// IANA TLS Supported Groups registry names.
const GROUPS: ReadonlyMap<number, string> = new Map([
  [21, 'secp224r1'],
  [23, 'secp256r1'],
  [24, 'secp384r1'],
  [25, 'secp521r1'],
  [26, 'brainpoolP256r1'],
  [27, 'brainpoolP384r1'],
  [28, 'brainpoolP512r1'],
  [29, 'x25519'],
  [30, 'x448'],
  [31, 'brainpoolP256r1tls13'],
  [32, 'brainpoolP384r1tls13'],
  [33, 'brainpoolP512r1tls13'],
  [256, 'ffdhe2048'],
  [257, 'ffdhe3072'],
  [258, 'ffdhe4096'],
  [259, 'ffdhe6144'],
  [260, 'ffdhe8192'],
  [512, 'MLKEM512'],
  [513, 'MLKEM768'],
  [514, 'MLKEM1024'],
  [4587, 'SecP256r1MLKEM768'],
  [4588, 'X25519MLKEM768'],
  [4589, 'SecP384r1MLKEM1024'],
]);

/** IANA name of a key exchange group id, or `undefined` when unknown (0 means none recorded). */
export function groupName(id: number): string | undefined {
  return GROUPS.get(id);
}
