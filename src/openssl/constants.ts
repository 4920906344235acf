import { OPENSSL_DEFAULT_TIMEOUT_S } from '../session/names.js';

/**
 * OpenSSL's constants, with their C names and values (include/openssl/ssl.h, tls1.h).
 */
import { constants as cryptoConstants } from 'node:crypto';

// Session cache modes (SSL_CTX_set_session_cache_mode).
export const SSL_SESS_CACHE_OFF = 0x0000;
export const SSL_SESS_CACHE_CLIENT = 0x0001;
export const SSL_SESS_CACHE_SERVER = 0x0002;
export const SSL_SESS_CACHE_BOTH = SSL_SESS_CACHE_CLIENT | SSL_SESS_CACHE_SERVER;
export const SSL_SESS_CACHE_NO_AUTO_CLEAR = 0x0080;
export const SSL_SESS_CACHE_NO_INTERNAL_LOOKUP = 0x0100;
export const SSL_SESS_CACHE_NO_INTERNAL_STORE = 0x0200;
export const SSL_SESS_CACHE_NO_INTERNAL = SSL_SESS_CACHE_NO_INTERNAL_LOOKUP | SSL_SESS_CACHE_NO_INTERNAL_STORE;
export const SSL_SESS_CACHE_UPDATE_TIME = 0x0400;

/** Every bit `SSL_CTX_set_session_cache_mode` knows. */
export const SESS_CACHE_MODE_MASK =
  SSL_SESS_CACHE_BOTH | SSL_SESS_CACHE_NO_AUTO_CLEAR | SSL_SESS_CACHE_NO_INTERNAL | SSL_SESS_CACHE_UPDATE_TIME;

/** `SSL_SESSION_CACHE_MAX_SIZE_DEFAULT`: 1024 * 20. */
export const SSL_SESSION_CACHE_MAX_SIZE_DEFAULT = 20480;

// Protocol versions: the session layer's, which names them for printing.
export { TLS1_1_VERSION, TLS1_2_VERSION, TLS1_3_VERSION, TLS1_VERSION } from '../session/names.js';

// Maximum lengths (ssl.h).
export const SSL_MAX_SSL_SESSION_ID_LENGTH = 32;
export const SSL_MAX_SID_CTX_LENGTH = 32;
export const SSL_MAX_MASTER_KEY_LENGTH = 48;
/** TLS 1.3 resumption PSKs can be as long as a SHA-384 output; OpenSSL's buffer is 64 bytes. */
export const SSL_MAX_MASTER_KEY_BUFFER = 64;

// SSL_get_error results.
export const SSL_ERROR_NONE = 0;
export const SSL_ERROR_SSL = 1;
export const SSL_ERROR_WANT_READ = 2;
export const SSL_ERROR_WANT_WRITE = 3;
export const SSL_ERROR_SYSCALL = 5;
export const SSL_ERROR_ZERO_RETURN = 6;

// Verify modes (SSL_CTX_set_verify).
export const SSL_VERIFY_NONE = 0x00;
export const SSL_VERIFY_PEER = 0x01;
export const SSL_VERIFY_FAIL_IF_NO_PEER_CERT = 0x02;

// Shutdown state (SSL_get_shutdown).
export const SSL_SENT_SHUTDOWN = 1;
export const SSL_RECEIVED_SHUTDOWN = 2;

// Options (SSL_CTX_set_options): the values of the OpenSSL that Node is built with.
export const SSL_OP_NO_TICKET: number = cryptoConstants.SSL_OP_NO_TICKET;
export const SSL_OP_NO_TLSv1_2: number = cryptoConstants.SSL_OP_NO_TLSv1_2;
export const SSL_OP_NO_TLSv1_3: number = cryptoConstants.SSL_OP_NO_TLSv1_3;
export const SSL_OP_CIPHER_SERVER_PREFERENCE: number = cryptoConstants.SSL_OP_CIPHER_SERVER_PREFERENCE;
/** OpenSSL 3's SSL_OP_IGNORE_UNEXPECTED_EOF (bit 7): a TCP close without close_notify reads as close_notify. */
export const SSL_OP_IGNORE_UNEXPECTED_EOF = 1 << 7;
/** OpenSSL 3's SSL_OP_DISABLE_TLSEXT_CA_NAMES (bit 9): a server sends no certificate_authorities extension. */
export const SSL_OP_DISABLE_TLSEXT_CA_NAMES = 1 << 9;
/** OpenSSL 3's SSL_OP_NO_ANTI_REPLAY (bit 24); Node's crypto.constants does not list it. */
export const SSL_OP_NO_ANTI_REPLAY = 1 << 24;

/** OpenSSL's default number of TLS 1.3 tickets after a full handshake (the only one Node sends). */
export const DEFAULT_NUM_TICKETS = 2;
/** OpenSSL's default session timeout of a TLS context (tls1_default_timeout): 2 hours. */
export const DEFAULT_SESSION_TIMEOUT_S = OPENSSL_DEFAULT_TIMEOUT_S;
/** SSL_SESSION_new's timeout: "5 minute timeout by default" plus 4 s (ssl_sess.c). */
export const SSL_SESSION_NEW_TIMEOUT_S = 304;
