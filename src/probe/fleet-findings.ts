import { duration } from './findings.js';
import type { FleetFinding, FleetMatrix, FleetMechanism, FleetReport } from './fleet-report.js';
import type { ProbeSeverity } from './report.js';

const ORDER: Record<ProbeSeverity, number> = { high: 0, medium: 1, low: 2, info: 3 };
const WHAT: Record<FleetMechanism, string> = {
  'tls13-ticket': 'TLS 1.3 tickets',
  'tls12-session-id': 'TLS 1.2 session ids',
  'tls12-ticket': 'TLS 1.2 tickets',
};

/** The parts of a fleet report findings are made from. */
export type FleetFindingInput = Pick<FleetReport, 'members' | 'matrices'>;

/** Findings for a fleet, most severe first, in words a fleet's operator understands. */
export function fleetFindings(report: FleetFindingInput): FleetFinding[] {
  const { members, matrices } = report;
  const out: FleetFinding[] = [];
  const add = (severity: ProbeSeverity, id: FleetFinding['id'], message: string) => out.push({ severity, id, message });
  const name = (i: number) => members[i]?.member ?? String(i);

  const down = members.filter((m) => m.error !== null);
  if (down.length > 0) {
    add(
      'high',
      'fleet-member-unreachable',
      `${down.length} of ${members.length} members could not be probed: ${down.map((m) => m.error).join('; ')}.`,
    );
  }
  const live = members.filter((m) => m.error === null).length;
  if (members.length === 1) {
    add(
      'info',
      'fleet-single-member',
      `Only one member (${name(0)}): there is nothing to share sessions with. Give the other members' addresses with --fleet ADDR,ADDR,...`,
    );
  }

  for (const m of matrices) {
    const own = m.cells.map((row, i) => row[i]?.resumed ?? null);
    const selfless = own.flatMap((r, i) => (r === false ? [name(i)] : []));
    if (selfless.length > 0 && selfless.length < live) {
      add(
        'medium',
        'fleet-member-does-not-resume',
        `${WHAT[m.mechanism]}: ${selfless.join(', ')} do${selfless.length === 1 ? 'es' : ''} not resume even ${selfless.length === 1 ? 'its' : 'their'} own sessions, while other members do.`,
      );
    }
    const missing = notShared(m);
    if (missing.length > 0) {
      const pairs = missing.map(([i, j]) => `${name(i)} -> ${name(j)}`);
      const shown =
        pairs.length > 6 ? `${pairs.slice(0, 6).join(', ')} and ${pairs.length - 6} more` : pairs.join(', ');
      const ran = m.cells.flat().filter((c) => c.resumed !== null);
      const ok = ran.filter((c) => c.resumed).length;
      add(
        'medium',
        'fleet-sessions-not-shared',
        `${WHAT[m.mechanism]} made on one member do not resume on another (${shown}): a client sent to another member pays a full handshake. A client sent to a member at random resumes about ${Math.round((100 * ok) / ran.length)}% of the time (${ok} of ${ran.length} pairs). ${advice(m.mechanism)}`,
      );
    }
  }

  for (const [key, label] of [
    ['tls13', 'TLS 1.3'],
    ['tls12', 'TLS 1.2'],
  ] as const) {
    const named = members.map((m, i) => ({ i, names: m.ticketKeyNames[key] })).filter((m) => m.names.length > 0);
    const groups: Array<{ names: Set<string>; members: number[] }> = [];
    for (const m of named) {
      const group = groups.find((g) => m.names.some((n) => g.names.has(n)));
      if (group) {
        for (const n of m.names) group.names.add(n);
        group.members.push(m.i);
      } else {
        groups.push({ names: new Set(m.names), members: [m.i] });
      }
    }
    if (groups.length > 1) {
      add(
        'medium',
        'fleet-ticket-keys-differ',
        `Members issue ${label} tickets under different ticket keys (${groups.map((g) => `${g.members.map(name).join(', ')}: ${[...g.names].map((n) => n.slice(0, 8)).join('/')}`).join('; ')}): a ticket from one cannot be decrypted by another. Give every member the same ticket keys (nginx: the same ssl_session_ticket_key files; Node: one TicketKeyRing store).`,
      );
    }
    const hints = members
      .map((m, i) => ({ i, hint: m.lifetimeHint[key] }))
      .filter((m): m is { i: number; hint: number } => m.hint !== null);
    const distinct = [...new Set(hints.map((h) => h.hint))];
    if (distinct.length > 1) {
      add(
        'low',
        'fleet-lifetimes-differ',
        `Members announce different ${label} ticket lifetimes (${distinct
          .map(
            (d) =>
              `${duration(d)}: ${hints
                .filter((h) => h.hint === d)
                .map((h) => name(h.i))
                .join(', ')}`,
          )
          .join(
            '; ',
          )}): the members are not configured alike, and clients keep tickets as long as the member that issued them says.`,
      );
    }
  }

  const notRun = matrices.flatMap((m) =>
    m.cells.flatMap((row, i) =>
      row.flatMap((c, j) =>
        c.notRun !== null && members[i]?.error === null && members[j]?.error === null
          ? [`${WHAT[m.mechanism]} ${name(i)} -> ${name(j)}: ${c.notRun}`]
          : [],
      ),
    ),
  );
  if (notRun.length > 0) {
    const shown =
      notRun.length > 4 ? `${notRun.slice(0, 4).join('; ')}; and ${notRun.length - 4} more` : notRun.join('; ');
    add('info', 'check-not-run', `Not every check could run: ${shown}.`);
  }
  return out.sort((a, b) => ORDER[a.severity] - ORDER[b.severity]);
}

/** Ordered pairs (i, j), i != j, where j resumes its own sessions but not i's. */
function notShared(m: FleetMatrix): Array<[number, number]> {
  const pairs: Array<[number, number]> = [];
  for (const [i, row] of m.cells.entries()) {
    for (const [j, cell] of row.entries()) {
      if (i !== j && cell.resumed === false && m.cells[i]?.[i]?.resumed === true) pairs.push([i, j]);
    }
  }
  return pairs;
}

function advice(mechanism: FleetMechanism): string {
  return mechanism === 'tls12-session-id'
    ? 'Share the session cache (nginx keeps one per instance; Node: a ServerSessionCache on one RedisStore), or rely on tickets.'
    : 'Share the ticket keys (nginx: the same ssl_session_ticket_key files on every member; Node: one TicketKeyRing store).';
}
