/**
 * Whether a session may stand in for a certificate check. A resumed handshake verifies no
 * certificate (OpenSSL, and Node on every line), so a session from outside (a file, another
 * process) is offered to a verifying connection only when it carries what the full handshake
 * would have checked: a peer certificate that was verified when the session was made
 * (verify_result 0), has not expired, and names the server.
 */
import { X509Certificate } from 'node:crypto';
import { isIP } from 'node:net';
import type { TlsSession } from './tls-session.js';

/** The certificate (DER) names `name`, a DNS name or an IP address. False when it cannot be parsed. */
export function certificateNames(certificateDER: Uint8Array, name: string): boolean {
  try {
    return names(new X509Certificate(certificateDER), name);
  } catch {
    return false;
  }
}

/** The session's peer certificate was verified, is unexpired at `nowMs` and names `name`. */
export function sessionVouchesFor(session: TlsSession, name: string, nowMs: number): boolean {
  const der = session.peerCertificateDER;
  if (session.verifyResult !== 0 || der === undefined) return false;
  try {
    const cert = new X509Certificate(der);
    return Date.parse(cert.validTo) > nowMs && names(cert, name);
  } catch {
    return false;
  }
}

function names(cert: X509Certificate, name: string): boolean {
  return isIP(name) !== 0 ? cert.checkIP(name) !== undefined : cert.checkHost(name) !== undefined;
}
