import type { ProbeVersion } from './connection.js';
import type { ProbeSeverity } from './report.js';

/** The three ways a session can move between members. */
export type FleetMechanism = 'tls12-session-id' | 'tls12-ticket' | 'tls13-ticket';

/** One cell of a matrix: a session made on one member, offered to another (or the same). */
export interface FleetCell {
  /** `null` when the check could not run ({@link notRun} says why). */
  resumed: boolean | null;
  /** Why the check could not run; `null` when it ran. */
  notRun: string | null;
}

/** Who resumes whose sessions, for one mechanism. */
export interface FleetMatrix {
  mechanism: FleetMechanism;
  protocol: ProbeVersion;
  /** `cells[i][j]`: a session made on member i, offered to member j. */
  cells: FleetCell[][];
}

/** What one member issued. */
export interface FleetMemberReport {
  /** `host:port`. */
  member: string;
  host: string;
  port: number;
  /** `null` when the member answered; else why not (then every cell of its row and column is not run). */
  error: string | null;
  /** Versions it completed a handshake with. */
  protocols: ProbeVersion[];
  /**
   * Key names (first 16 bytes of a ticket, hex) of the tickets it issued, per version, in the
   * order seen. Empty when it issued none, or only stateful TLS 1.3 tickets (32 bytes: a session
   * id, not encrypted state, so its first bytes name no key).
   */
  ticketKeyNames: { tls12: string[]; tls13: string[] };
  /** Largest lifetime hint of its tickets, in seconds; `null` when none came. */
  lifetimeHint: { tls12: number | null; tls13: number | null };
  /** Length of its TLS 1.3 tickets in bytes; `null` when none came. */
  tls13TicketLength: number | null;
}

/** Identifiers of fleet findings; stable, safe to switch on. */
export type FleetFindingId =
  | 'fleet-member-unreachable'
  | 'fleet-sessions-not-shared'
  | 'fleet-member-does-not-resume'
  | 'fleet-ticket-keys-differ'
  | 'fleet-lifetimes-differ'
  | 'fleet-single-member'
  | 'check-not-run';

/** Something worth telling the fleet's operator. */
export interface FleetFinding {
  severity: ProbeSeverity;
  id: FleetFindingId;
  message: string;
}

/** The report of {@link probeFleet}: plain data, safe to print as JSON (no key material). */
export interface FleetReport {
  /** `host:port` as given. */
  target: string;
  /** SNI sent to every member, `null` for none. */
  servername: string | null;
  /** Where the member list came from: the name's addresses, or the list given. */
  source: 'resolved' | 'given';
  members: FleetMemberReport[];
  /** One per mechanism probed, in the order TLS 1.3 ticket, TLS 1.2 session id, TLS 1.2 ticket. */
  matrices: FleetMatrix[];
  findings: FleetFinding[];
  connections: number;
  durationMs: number;
}
