/** TLS record content type of handshake records. */
export const CONTENT_TYPE_HANDSHAKE = 22;
/** Handshake message type of ClientHello. */
export const HANDSHAKE_CLIENT_HELLO = 1;
/** Bytes in a TLS record header: type(1) version(2) length(2). */
export const RECORD_HEADER_LENGTH = 5;
/** Bytes in a handshake message header: type(1) length(3). */
export const HANDSHAKE_HEADER_LENGTH = 4;
/** Largest TLSPlaintext fragment (RFC 8446 §5.1): 2^14. */
export const MAX_RECORD_PAYLOAD = 16_384;
/**
 * Default bound on the bytes of the records that carry one ClientHello, headers included.
 * Real hellos are 200 B to 2 KiB (post-quantum key shares included); 16 KiB leaves room for
 * large tickets while bounding what an idle peer can make a server hold.
 */
export const DEFAULT_MAX_HELLO_BYTES = 16_384;

/** Extension types the parser decodes (IANA TLS ExtensionType registry). */
export const ExtensionType = {
  serverName: 0,
  supportedGroups: 10,
  signatureAlgorithms: 13,
  alpn: 16,
  extendedMasterSecret: 23,
  sessionTicket: 35,
  preSharedKey: 41,
  earlyData: 42,
  supportedVersions: 43,
  pskKeyExchangeModes: 45,
} as const;

/** PskKeyExchangeMode values (RFC 8446 §4.2.9). */
export const PSK_KE = 0;
export const PSK_DHE_KE = 1;
