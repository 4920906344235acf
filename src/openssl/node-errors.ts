/**
 * Turning Node's TLS errors into error-queue entries with OpenSSL's own codes.
 *
 * Node's errors from OpenSSL carry the packed code in their message
 * (`...:error:0A000102:SSL routines:...`) and the earlier entries of OpenSSL's queue in
 * `opensslErrorStack`; those codes are pushed as they are. Certificate checks that Node makes in
 * JavaScript (chain, host name) become SSL_R_CERTIFICATE_VERIFY_FAILED, as with SSL_VERIFY_PEER.
 */
import {
  ERR_GET_LIB,
  ERR_LIB_PROV,
  ERR_LIB_SSL,
  ERR_peek_last_error,
  ERR_R_INTERNAL_ERROR,
  ERR_raise,
  errnoOf,
  raiseSystemError,
  sslReasonOf,
} from './err.js';
import { SSL_R_CERTIFICATE_VERIFY_FAILED } from './reasons.js';

/**
 * What kind of failure it was: a TLS error of OpenSSL (an alert was sent or received), a failed
 * certificate check made by Node after the handshake, or an I/O error.
 */
export type FailureKind = 'ssl' | 'verify' | 'syscall';

const PACKED_CODE = /error:([0-9A-F]{8}):/;

interface NodeTlsError {
  code?: unknown;
  reason?: unknown;
  message?: unknown;
  opensslErrorStack?: unknown;
}

/** OpenSSL's own code in one line of Node's error text, or 0. */
function packedCode(text: string): number {
  const match = PACKED_CODE.exec(text);
  return match ? Number.parseInt(match[1]!, 16) >>> 0 : 0;
}

function pushPacked(code: number, data: string): void {
  // ERR_PACK again: keeps lib and reason exactly as OpenSSL packed them.
  ERR_raise((code >>> 23) & 0xff, code & 0x7fffff, data);
}

/** Pushes what `error` says onto the queue and tells which kind of failure it was. */
export function raiseNodeError(error: unknown): FailureKind {
  const e = (typeof error === 'object' && error !== null ? error : {}) as NodeTlsError;
  const code = typeof e.code === 'string' ? e.code : undefined;
  const message = typeof e.message === 'string' ? e.message : String(error);

  const main = packedCode(message);
  if (main !== 0 || code?.startsWith('ERR_SSL_')) {
    if (Array.isArray(e.opensslErrorStack)) {
      for (const line of e.opensslErrorStack) {
        const c = typeof line === 'string' ? packedCode(line) : 0;
        if (c !== 0) pushPacked(c, '');
      }
    }
    if (main !== 0) {
      pushPacked(main, '');
    } else {
      const reason = typeof e.reason === 'string' ? sslReasonOf(e.reason) : 0;
      ERR_raise(ERR_LIB_SSL, reason || ERR_R_INTERNAL_ERROR, reason ? '' : message);
    }
    return 'ssl';
  }

  const errno = errnoOf(code);
  if (errno !== 0) {
    raiseSystemError(errno, message);
    return 'syscall';
  }
  if (
    code !== undefined &&
    ((/^[A-Z0-9_]+$/.test(code) && !code.startsWith('ERR_')) || code === 'ERR_TLS_CERT_ALTNAME_INVALID')
  ) {
    // X509 verification codes (CERT_HAS_EXPIRED, ...) and the host name check.
    ERR_raise(ERR_LIB_SSL, SSL_R_CERTIFICATE_VERIFY_FAILED, code);
    return 'verify';
  }
  ERR_raise(ERR_LIB_SSL, ERR_R_INTERNAL_ERROR, code ?? message);
  return 'syscall';
}

/** SSL_AD_REASON_OFFSET: an alert received from the peer is queued as 1000 + its description. */
const SSL_AD_REASON_OFFSET = 1000;

/** True when Node's error reports a TLS alert received from the peer (SSL_R_SSLV3_ALERT_*, SSL_R_TLSV1_ALERT_*). */
export function isReceivedAlert(error: unknown): boolean {
  const message = typeof error === 'object' && error !== null ? (error as NodeTlsError).message : undefined;
  const code = typeof message === 'string' ? packedCode(message) : 0;
  const reason = code & 0x7fffff;
  return code >>> 23 === ERR_LIB_SSL && reason >= SSL_AD_REASON_OFFSET && reason < SSL_AD_REASON_OFFSET + 256;
}

const SSL_R_DECRYPTION_FAILED_OR_BAD_RECORD_MAC = 281;

/**
 * {@link raiseNodeError} for an error while reading records after the handshake. Node relays
 * only the oldest entry of OpenSSL's queue; for a record that does not decrypt, libssl 3.0 queues
 * the cipher provider's error and then SSL_R_DECRYPTION_FAILED_OR_BAD_RECORD_MAC (ssl3_get_record;
 * measured), so the second entry is queued here when Node relayed the first.
 */
export function raiseRecordError(error: unknown): FailureKind {
  const kind = raiseNodeError(error);
  if (kind === 'ssl' && ERR_GET_LIB(ERR_peek_last_error()) === ERR_LIB_PROV)
    ERR_raise(ERR_LIB_SSL, SSL_R_DECRYPTION_FAILED_OR_BAD_RECORD_MAC);
  return kind;
}
