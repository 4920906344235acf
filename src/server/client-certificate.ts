/**
 * Whether the client certificate kept in a session may still vouch for a resumption. A resumed
 * handshake verifies no certificate, so without this a client whose certificate expired, or that
 * the application revoked, would resume until its session times out. The full handshake that
 * follows a refusal verifies the certificate anew.
 */
import type { X509Certificate } from 'node:crypto';
import { TlsSession } from '../session/index.js';
import type { BudgetClock } from '../util/budget.js';
import { ServerSessionCacheError } from './errors.js';
import type { ClientCertificateCheck } from './options.js';
import { messageOf } from '../util/errors.js';

/** Why a session's client certificate was refused, or `undefined` when it may resume. */
export type CertificateRefusal =
  /** Outside its validity period at `nowMs`, or unreadable. */
  | 'validity'
  /** The application's check said no. */
  | 'check'
  /** The application's check threw, rejected or ran out of time (the error is given). */
  | ServerSessionCacheError;

/**
 * Checks the certificate in `der` (a server-side session): validity at `nowMs`, then `check`,
 * run within `budget`. A session without a client certificate passes.
 */
export async function refuseClientCertificate(
  der: Uint8Array,
  info: { protocol: 'TLSv1.2' | 'TLSv1.3'; serverName: string | undefined },
  nowMs: number,
  check: ClientCertificateCheck | undefined,
  budget: BudgetClock,
): Promise<CertificateRefusal | undefined> {
  let cert: X509Certificate | null;
  try {
    const session = TlsSession.fromDER(der);
    cert = session.peerCertificate;
    session.wipe();
  } catch {
    return 'validity'; // a certificate that cannot be read cannot vouch for its client
  }
  if (cert === null) return undefined;
  if (!(Date.parse(cert.validTo) > nowMs && Date.parse(cert.validFrom) <= nowMs)) return 'validity';
  if (check === undefined) return undefined;
  try {
    const verdict = check(cert, info);
    return (await budget.run(Promise.resolve(verdict), 'client certificate check')) === true ? undefined : 'check';
  } catch (err) {
    return new ServerSessionCacheError('ERR_CACHE_CLIENT_CHECK', `client certificate check: ${messageOf(err)}`, {
      cause: err,
    });
  }
}
