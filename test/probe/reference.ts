/**
 * The reference peer: what `openssl s_client -sess_out` then `-sess_in` says a server does with
 * sessions (testssl.sh's method), extended to TLS 1.3 and to a second server name.
 *
 * ```ts
 * const ref = await referenceVerdict({ port, dir: tmp.path });
 * ref.tls13?.resumed; ref.tls12?.sessionId.resumed; ref.tls12?.ticket.issued
 * ```
 *
 * Whether a session holds a session id or a ticket is read from `openssl sess_id -text`, not
 * from this project's codec, so the two sides stay independent.
 */
import { join } from 'node:path';
import { type SClientOptions, sClient, sessId } from '../helpers/index.js';

/** One mechanism as s_client saw it. */
export interface ReferenceMechanism {
  /** The session file holds what this mechanism needs (a session id, or a ticket). */
  issued: boolean;
  /** `-sess_in` with that file printed "Reused". */
  resumed: boolean;
}

/** TLS 1.3 as s_client saw it. */
export interface ReferenceTls13 extends ReferenceMechanism {
  /** NewSessionTicket messages after the full handshake. */
  ticketsPerFullHandshake: number;
  /** NewSessionTicket messages after the resumed handshake (null when not resumed). */
  ticketsPerResumedHandshake: number | null;
  /** The same file offered a second time resumed again (null when the first did not). */
  reuseAccepted: boolean | null;
}

/** Both versions; `null` when the handshake of that version failed. */
export interface ReferenceVerdict {
  tls12: { sessionId: ReferenceMechanism; ticket: ReferenceMechanism } | null;
  tls13: ReferenceTls13 | null;
}

/** Options of {@link referenceVerdict}. */
export interface ReferenceOptions {
  port: number;
  /** Where the session files go. */
  dir: string;
  servername?: string;
  caPath?: string;
  /** Versions to check. Default both. */
  versions?: Array<'1.2' | '1.3'>;
}

/** `sess_id -text` of a session file; empty when s_client wrote none. */
async function sessionText(file: string): Promise<string> {
  try {
    return await sessId(file);
  } catch {
    return '';
  }
}

async function hasSessionId(file: string): Promise<boolean> {
  return /^\s*Session-ID: [0-9A-F]+$/m.test(await sessionText(file));
}

async function hasTicket(file: string): Promise<boolean> {
  return /^\s*TLS session ticket:/m.test(await sessionText(file));
}

/** Runs the s_client sequence against a server on 127.0.0.1. */
export async function referenceVerdict(opts: ReferenceOptions): Promise<ReferenceVerdict> {
  const base: SClientOptions = { port: opts.port };
  if (opts.servername !== undefined) base.servername = opts.servername;
  if (opts.caPath !== undefined) base.caPath = opts.caPath;
  const versions = opts.versions ?? ['1.2', '1.3'];
  const verdict: ReferenceVerdict = { tls12: null, tls13: null };

  if (versions.includes('1.3')) {
    const file = join(opts.dir, `ref-${opts.port}-13.pem`);
    const full = await sClient({ ...base, tls: '1.3', sessOut: file });
    if (full.protocol === 'TLSv1.3') {
      const issued = await hasTicket(file);
      const again = issued ? await sClient({ ...base, tls: '1.3', sessIn: file }) : undefined;
      const resumed = again?.reused === true;
      const third = resumed ? await sClient({ ...base, tls: '1.3', sessIn: file }) : undefined;
      verdict.tls13 = {
        issued,
        resumed,
        ticketsPerFullHandshake: full.postHandshakeTickets,
        ticketsPerResumedHandshake: resumed ? (again?.postHandshakeTickets ?? null) : null,
        reuseAccepted: third === undefined ? null : third.reused,
      };
    }
  }

  if (versions.includes('1.2')) {
    const idFile = join(opts.dir, `ref-${opts.port}-12-id.pem`);
    const full = await sClient({ ...base, tls: '1.2', noTicket: true, sessOut: idFile });
    if (full.protocol === 'TLSv1.2') {
      const idIssued = await hasSessionId(idFile);
      const idAgain = idIssued ? await sClient({ ...base, tls: '1.2', noTicket: true, sessIn: idFile }) : undefined;
      const ticketFile = join(opts.dir, `ref-${opts.port}-12-ticket.pem`);
      await sClient({ ...base, tls: '1.2', sessOut: ticketFile });
      const ticketIssued = await hasTicket(ticketFile);
      const ticketAgain = ticketIssued ? await sClient({ ...base, tls: '1.2', sessIn: ticketFile }) : undefined;
      verdict.tls12 = {
        sessionId: { issued: idIssued, resumed: idAgain?.reused === true },
        ticket: { issued: ticketIssued, resumed: ticketAgain?.reused === true },
      };
    }
  }
  return verdict;
}

/** Whether a session made by s_client under `servername` resumes under `other`. */
export async function referenceCrossHost(opts: {
  port: number;
  dir: string;
  servername: string;
  other: string;
  tls: '1.2' | '1.3';
  noTicket?: boolean;
  caPath?: string;
}): Promise<boolean> {
  const file = join(opts.dir, `ref-${opts.port}-cross-${opts.tls}-${opts.noTicket ? 'id' : 'ticket'}.pem`);
  const common: SClientOptions = { port: opts.port, tls: opts.tls, noTicket: opts.noTicket === true };
  if (opts.caPath !== undefined) common.caPath = opts.caPath;
  await sClient({ ...common, servername: opts.servername, sessOut: file });
  const again = await sClient({ ...common, servername: opts.other, sessIn: file });
  return again.reused;
}

/**
 * Whether a session made by s_client on one fleet member resumes on another: `-sess_out` against
 * `from`, then `-sess_in` against `to`, both with the same SNI.
 */
export async function referenceFleetCell(opts: {
  port: number;
  dir: string;
  from: string;
  to: string;
  servername: string;
  tls: '1.2' | '1.3';
  noTicket?: boolean;
}): Promise<boolean> {
  const file = join(
    opts.dir,
    `ref-fleet-${opts.from}-${opts.to}-${opts.port}-${opts.tls}-${opts.noTicket ? 'id' : 'ticket'}.pem`,
  );
  const common: SClientOptions = {
    port: opts.port,
    servername: opts.servername,
    tls: opts.tls,
    noTicket: opts.noTicket === true,
  };
  await sClient({ ...common, host: opts.from, sessOut: file });
  const again = await sClient({ ...common, host: opts.to, sessIn: file });
  return again.reused;
}
