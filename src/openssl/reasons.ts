/**
 * The `SSL_R_*` reason codes, as OpenSSL's C names. Every reason of OpenSSL 3.0 is in {@link SSL_R};
 * the ones this API raises itself are also exported one by one.
 */
import { SSL_REASON_TABLE } from './ssl-reasons.js';

/** Every SSL reason code by its name without the `SSL_R_` prefix, e.g. `SSL_R.BAD_LENGTH === 271`. */
export const SSL_R: Readonly<Record<string, number>> = Object.freeze(
  Object.fromEntries(SSL_REASON_TABLE.map(([name, code]) => [name, code])),
);

export const SSL_R_ATTEMPT_TO_REUSE_SESSION_IN_DIFFERENT_CONTEXT = 272;
export const SSL_R_BAD_LENGTH = 271;
export const SSL_R_CERTIFICATE_VERIFY_FAILED = 134;
export const SSL_R_CIPHER_CODE_WRONG_LENGTH = 137;
export const SSL_R_SESSION_ID_CONTEXT_UNINITIALIZED = 277;
export const SSL_R_SSL_SESSION_ID_CONTEXT_TOO_LONG = 273;
export const SSL_R_SSL_SESSION_ID_TOO_LONG = 408;
export const SSL_R_SSL_SESSION_VERSION_MISMATCH = 210;
export const SSL_R_UNINITIALIZED = 276;
export const SSL_R_UNKNOWN_SSL_VERSION = 254;
export const SSL_R_UNSUPPORTED_SSL_VERSION = 259;
export const SSL_R_WRONG_SSL_VERSION = 266;
export const SSL_R_NO_PROTOCOLS_AVAILABLE = 191;
