/**
 * Every field of OpenSSL's serialized `SSL_SESSION` (ssl/ssl_asn1.c), named for TypeScript.
 * Optional fields are `undefined` when absent from the encoding; integer fields that OpenSSL
 * omits when zero are `0` when absent.
 */
export interface TlsSessionFields {
  /** `ssl_version`: 0x0303 for TLS 1.2, 0x0304 for TLS 1.3, 0xFEFD for DTLS 1.2... */
  protocolVersion: number;
  /** IANA cipher suite id (the 2-byte `cipher` field), e.g. 0x1302. */
  cipherId: number;
  /** Session id: up to 32 bytes; for a TLS 1.3 stateful server session, the PSK identity. */
  sessionId: Buffer;
  /** TLS <= 1.2 master secret or TLS 1.3 resumption PSK (up to 64 bytes). A secret. */
  masterKey: Buffer;
  /** `[0] key_arg`: obsolete, never written by OpenSSL, kept only to re-encode what was read. */
  keyArg: Buffer | undefined;
  /** Start time, seconds since the epoch (0 when absent: OpenSSL then uses "now"). */
  time: number;
  /** Lifetime in seconds (0 when absent: OpenSSL then uses 3 s). */
  timeout: number;
  /** DER of the peer's leaf certificate. */
  peerCertificateDER: Buffer | undefined;
  /** Session id context (up to 32 bytes); always encoded, possibly empty. */
  sessionIdContext: Buffer;
  /** X509 verification result (0 = ok). */
  verifyResult: number;
  /** SNI host name sent (client) or received (server). */
  hostname: string | undefined;
  pskIdentityHint: string | undefined;
  pskIdentity: string | undefined;
  /** Ticket lifetime hint in seconds sent by the server (0 = none). */
  ticketLifetimeHint: number;
  /** Session ticket (client side). */
  ticket: Buffer | undefined;
  /** Compression method id (0 = none, the only value modern peers use). */
  compressionId: number;
  srpUsername: string | undefined;
  /** Session flags; bit 0x1 is the extended master secret. */
  flags: number;
  /** TLS 1.3 `ticket_age_add` obfuscation value. */
  ticketAgeAdd: number;
  /** TLS 1.3 max early data the ticket allows (0 = none). */
  maxEarlyData: number;
  /** Raw ALPN protocol chosen for the connection. */
  alpnSelected: Buffer | undefined;
  maxFragmentLengthMode: number;
  /** Application data bound into the ticket by the server. */
  ticketAppData: Buffer | undefined;
  /** Key exchange group id; `undefined` in sessions written before OpenSSL 3.0. */
  kexGroup: number | undefined;
  /** Peer raw public key (RFC 7250), DER SubjectPublicKeyInfo. */
  peerRpk: Buffer | undefined;
}

/** Session flag: the handshake used the extended master secret (RFC 7627). */
export const SESS_FLAG_EXTMS = 0x1;
