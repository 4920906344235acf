import { lookup } from 'node:dns/promises';
import { TlsSession } from '../session/tls-session.js';
import {
  type ConnectionSettings,
  type Handshake,
  type HandshakeRequest,
  type ProbeVersion,
  handshake,
} from './connection.js';
import { ProbeError } from './errors.js';
import { fleetFindings } from './fleet-findings.js';
import type { FleetCell, FleetMatrix, FleetMechanism, FleetMemberReport, FleetReport } from './fleet-report.js';
import { type ConnectionOptionsInput, badOption, checkHost, checkPort, resolveConnectionOptions } from './options.js';
import { type ProbeTarget, formatTarget, parseProbeTarget } from './target.js';
import { messageOf } from '../util/errors.js';

/** Options of {@link probeFleet}. */
export interface FleetOptions extends Omit<ConnectionOptionsInput, 'attempts'> {
  /**
   * The members: `'ADDR'`, `'ADDR:PORT'`, `'[v6]:PORT'` or `{ host, port }` (port default: the
   * target's). Default: every address `host` resolves to, each on the target's port.
   */
  members?: ReadonlyArray<string | ProbeTarget>;
  /** How `host` is resolved when `members` is not given. Default: every address `dns.lookup` gives. */
  resolve?: (host: string) => Promise<string[]>;
  /** Told what the probe is doing, for a progress line. */
  onProgress?: (message: string) => void;
}

/** Most members of one fleet probe: the matrix makes 2 x 3 x n^2 connections. */
export const MAX_FLEET_MEMBERS = 32;

const MECHANISMS: ReadonlyArray<{ mechanism: FleetMechanism; version: ProbeVersion; noTicket: boolean }> = [
  { mechanism: 'tls13-ticket', version: 'TLSv1.3', noTicket: false },
  { mechanism: 'tls12-session-id', version: 'TLSv1.2', noTicket: true },
  { mechanism: 'tls12-ticket', version: 'TLSv1.2', noTicket: false },
];

/** Bytes of a ticket that name the key it was encrypted under (OpenSSL, Node, nginx, Go). */
const KEY_NAME_BYTES = 16;
/** A TLS 1.3 ticket this long is OpenSSL's stateful session id, not encrypted state. */
const STATEFUL_TICKET_BYTES = 32;

async function resolveAll(host: string): Promise<string[]> {
  const found = await lookup(host, { all: true, verbatim: true });
  return [...new Set(found.map((a) => a.address))];
}

/**
 * Probes a fleet: several servers behind one name. A session is made on each member and offered
 * to every member (itself included), for TLS 1.2 session ids, TLS 1.2 tickets and TLS 1.3
 * tickets; the report gives the three matrices, the ticket key names each member issues under,
 * their lifetimes, and findings (members that do not share sessions, differing ticket keys or
 * lifetimes). Every connection sends the same SNI (the target's name), as a client of the fleet
 * would. Rejects with a {@link ProbeError} for bad options or a name that does not resolve; a
 * member that cannot be reached is reported, not thrown.
 *
 * @example
 * ```ts
 * const report = await probeFleet({ host: 'shop.example', members: ['10.0.0.5', '10.0.0.6'] });
 * console.log(formatFleetReport(report));
 * ```
 */
export async function probeFleet(options: FleetOptions): Promise<FleetReport> {
  const started = process.hrtime.bigint();
  const { settings, versions } = resolveConnectionOptions(options);
  const progress = (message: string) => options.onProgress?.(message);
  const members = await fleetMembers(options, settings);
  let connections = 0;
  const connect = async (member: ProbeTarget, request: HandshakeRequest): Promise<Handshake> => {
    connections += 1;
    const h = await handshake({ ...settings, host: member.host, port: member.port }, request);
    if (h.protocol !== request.version) {
      throw new ProbeError(
        'ERR_PROBE_HANDSHAKE',
        `${formatTarget(member)}: asked for ${request.version}, got ${h.protocol}`,
      );
    }
    return h;
  };

  const reports: FleetMemberReport[] = members.map((m) => ({
    member: formatTarget(m),
    host: m.host,
    port: m.port,
    error: null,
    protocols: [],
    ticketKeyNames: { tls12: [], tls13: [] },
    lifetimeHint: { tls12: null, tls13: null },
    tls13TicketLength: null,
  }));
  const noteTickets = (i: number, version: ProbeVersion, sessions: readonly TlsSession[]) => {
    const r = reports[i]!;
    const key = version === 'TLSv1.3' ? 'tls13' : 'tls12';
    for (const s of sessions) {
      const ticket = s.ticket;
      if (ticket === undefined || ticket.length === 0) continue;
      r.lifetimeHint[key] = Math.max(r.lifetimeHint[key] ?? 0, s.ticketLifetimeHint);
      if (version === 'TLSv1.3') r.tls13TicketLength = Math.max(r.tls13TicketLength ?? 0, ticket.length);
      if (version === 'TLSv1.3' && ticket.length <= STATEFUL_TICKET_BYTES) continue;
      const name = ticket.subarray(0, KEY_NAME_BYTES).toString('hex');
      if (!r.ticketKeyNames[key].includes(name)) r.ticketKeyNames[key].push(name);
    }
  };

  // Which versions each member speaks; a member that cannot be reached is out of the matrix.
  for (const [i, member] of members.entries()) {
    for (const version of versions) {
      progress(`${reports[i]!.member}: ${version}`);
      try {
        await connect(member, { version });
        reports[i]!.protocols.push(version);
      } catch (error) {
        if (!(error instanceof ProbeError)) throw error;
        if (
          error.code === 'ERR_PROBE_CONNECT' ||
          error.code === 'ERR_PROBE_TIMEOUT' ||
          error.code === 'ERR_PROBE_CERTIFICATE'
        ) {
          reports[i]!.error = error.message;
          break;
        }
      }
    }
    if (reports[i]!.error === null && reports[i]!.protocols.length === 0)
      reports[i]!.error = `${reports[i]!.member}: no TLS 1.2 or TLS 1.3 handshake completed`;
  }

  const matrices: FleetMatrix[] = [];
  for (const { mechanism, version, noTicket } of MECHANISMS) {
    if (!versions.includes(version)) continue;
    const cells: FleetCell[][] = members.map(() => members.map(() => ({ resumed: null, notRun: null })));
    for (const [i, from] of members.entries()) {
      for (const [j, to] of members.entries()) {
        const cell = cells[i]![j]!;
        const blocked = whyNot(reports[i]!, version, 'made on') ?? whyNot(reports[j]!, version, 'offered to');
        if (blocked !== undefined) {
          cell.notRun = blocked;
          continue;
        }
        progress(`${mechanism}: made on ${reports[i]!.member}, offered to ${reports[j]!.member}`);
        // A fresh session for every offer: single-use servers accept a TLS 1.3 ticket once.
        let offer: Buffer | undefined;
        try {
          const full = await connect(from, { version, noTicket });
          const ders = version === 'TLSv1.3' ? full.sessions : full.session === undefined ? [] : [full.session];
          const sessions: TlsSession[] = [];
          for (const der of ders) {
            try {
              sessions.push(TlsSession.fromDER(der));
            } catch {
              // Counted below: an unreadable session is a check not run, not "none issued".
            }
          }
          noteTickets(i, version, sessions);
          const first = sessions[0];
          const usable =
            first !== undefined &&
            (mechanism === 'tls12-session-id' ? first.sessionId.length > 0 : (first.ticket?.length ?? 0) > 0);
          if (!usable) {
            cell.notRun =
              full.unreadable.length > 0 || sessions.length < ders.length
                ? 'Node handed out a session the probe cannot read'
                : `${reports[i]!.member} issued no ${describe(mechanism)}`;
            continue;
          }
          offer = ders[0];
        } catch (error) {
          if (!(error instanceof ProbeError)) throw error;
          cell.notRun = `no session made on ${reports[i]!.member}: ${error.message}`;
          continue;
        }
        try {
          cell.resumed = (await connect(to, { version, noTicket, session: offer })).reused;
        } catch (error) {
          if (!(error instanceof ProbeError)) throw error;
          // A member that fails a handshake offering another's session did not resume it.
          if (error.code === 'ERR_PROBE_CONNECT' || error.code === 'ERR_PROBE_TIMEOUT') cell.notRun = error.message;
          else cell.resumed = false;
        }
      }
    }
    matrices.push({ mechanism, protocol: version, cells });
  }

  const partial = {
    target: formatTarget(settings),
    servername: settings.servername ?? null,
    source: options.members === undefined ? ('resolved' as const) : ('given' as const),
    members: reports,
    matrices,
  };
  return {
    ...partial,
    findings: fleetFindings(partial),
    connections,
    durationMs: Math.round(Number(process.hrtime.bigint() - started) / 1e4) / 100,
  };
}

function describe(mechanism: FleetMechanism): string {
  return mechanism === 'tls12-session-id'
    ? 'TLS 1.2 session id'
    : mechanism === 'tls12-ticket'
      ? 'TLS 1.2 ticket'
      : 'TLS 1.3 ticket';
}

function whyNot(member: FleetMemberReport, version: ProbeVersion, role: string): string | undefined {
  if (member.error !== null) return `${role} ${member.member}, which could not be probed`;
  if (!member.protocols.includes(version)) return `${role} ${member.member}, which does not speak ${version}`;
  return undefined;
}

/** The members to probe: the list given, or every address of the target's name. */
async function fleetMembers(options: FleetOptions, settings: ConnectionSettings): Promise<ProbeTarget[]> {
  let members: ProbeTarget[];
  if (options.members !== undefined) {
    if (!Array.isArray(options.members) || options.members.length === 0)
      throw badOption('members must list at least one ADDR[:PORT]');
    members = options.members.map((m) => {
      if (typeof m === 'string') {
        try {
          return parseProbeTarget(m, settings.port);
        } catch (error) {
          throw badOption(`members: ${messageOf(error)}`);
        }
      }
      if (m === null || typeof m !== 'object') throw badOption('members must be strings or { host, port }');
      return {
        host: checkHost(m.host, 'members[].host'),
        port: m.port === undefined ? settings.port : checkPort(m.port, 'members[].port'),
      };
    });
  } else {
    const resolve = options.resolve ?? resolveAll;
    let addresses: string[];
    try {
      addresses = await resolve(settings.host);
    } catch (cause) {
      throw new ProbeError('ERR_PROBE_CONNECT', `cannot resolve ${settings.host}: ${messageOf(cause)}`, { cause });
    }
    if (addresses.length === 0)
      throw new ProbeError('ERR_PROBE_CONNECT', `cannot resolve ${settings.host}: no address`);
    members = addresses.map((host) => ({ host, port: settings.port }));
  }
  const seen = new Set<string>();
  members = members.filter((m) => {
    const key = formatTarget(m);
    if (seen.has(key)) return false;
    seen.add(key);
    return true;
  });
  if (members.length > MAX_FLEET_MEMBERS)
    throw badOption(`at most ${MAX_FLEET_MEMBERS} members (got ${members.length})`);
  return members;
}
