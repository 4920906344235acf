import type { ProbeVersion } from './connection.js';

/** Medians over the handshakes of a probe, in milliseconds (`null` when none was made). */
export interface ProbeTiming {
  /** Full handshakes (no session offered, or an offered session not resumed). */
  fullMs: number | null;
  /** Resumed handshakes. */
  resumedMs: number | null;
}

/** TLS 1.2 session id resumption (tickets left out of the ClientHello). */
export interface SessionIdResult {
  /** The server's ServerHello carried a session id to resume. */
  issued: boolean;
  /** Resumption attempts made: each a full handshake, then one offering its session. */
  attempts: number;
  resumed: number;
}

/** TLS 1.2 ticket resumption (RFC 5077). */
export interface Tls12TicketResult {
  /** The server sent a NewSessionTicket. */
  issued: boolean;
  attempts: number;
  resumed: number;
  /** Lifetime hint of the ticket, in seconds (0: unspecified); `null` when none was issued. */
  lifetimeHint: number | null;
  /** A resumed connection received a new ticket; `null` when nothing resumed. */
  renewedOnResumption: boolean | null;
}

/** What the server does with sessions under TLS 1.2. */
export interface Tls12Report {
  protocol: 'TLSv1.2';
  /** Cipher suite of the first full handshake (IANA name). */
  cipher: string;
  /** ALPN protocol the server chose, or `null`. */
  alpn: string | null;
  sessionId: SessionIdResult;
  ticket: Tls12TicketResult;
  timing: ProbeTiming;
}

/** TLS 1.3 tickets (PSK resumption). */
export interface Tls13TicketsResult {
  /** Resumption attempts, each offering a ticket never offered before. */
  attempts: number;
  resumed: number;
  /** Median NewSessionTicket messages after a full handshake. */
  perFullHandshake: number;
  /** Median NewSessionTicket messages after a resumed handshake; `null` when nothing resumed. */
  perResumedHandshake: number | null;
  /** Largest lifetime hint seen, in seconds; `null` when no ticket came. */
  lifetimeHint: number | null;
  /** Length in bytes of the ticket (the PSK identity); `null` when no ticket came. */
  identityLength: number | null;
  /**
   * A guess from {@link identityLength}: 32 bytes looks like a session id kept in a server
   * cache (stateful, as OpenSSL's `SSL_OP_NO_TICKET` makes); longer looks like encrypted state
   * (stateless). Only a guess: a server may use any format.
   */
  storageGuess: 'stateful' | 'stateless' | null;
}

/** What the server does with sessions under TLS 1.3. */
export interface Tls13Report {
  protocol: 'TLSv1.3';
  cipher: string;
  alpn: string | null;
  tickets: Tls13TicketsResult;
  /**
   * The same ticket resumed on two connections (RFC 8446 advises single use, 8 and C.4);
   * `null` when the first use did not resume.
   */
  ticketReuseAccepted: boolean | null;
  /** Largest `max_early_data` advertised in a ticket (0: no 0-RTT). */
  maxEarlyData: number;
  timing: ProbeTiming;
}

/** One cross-virtual-host attempt: a session made under one name offered under the other. */
export interface CrossHostCheck {
  protocol: ProbeVersion;
  kind: 'sessionId' | 'ticket';
  /** `null` when the check could not run ({@link notRun} says why). */
  resumed: boolean | null;
  /** Why the check could not run (e.g. the server issued no session of this kind); `null` when it ran. */
  notRun: string | null;
}

/** Whether sessions made for {@link servername} resume under {@link otherServername}. */
export interface CrossHostReport {
  servername: string | null;
  otherServername: string;
  /**
   * The certificate served for {@link servername} is also valid for {@link otherServername}
   * (then a session crossing over bypasses nothing); `null` when no certificate was seen.
   */
  certificateCoversOther: boolean | null;
  checks: CrossHostCheck[];
  /** Any check resumed: a finding. */
  resumed: boolean;
}

/** How much a finding matters to the server's operator. */
export type ProbeSeverity = 'high' | 'medium' | 'low' | 'info';

/** Identifiers of findings; stable, safe to switch on. */
export type ProbeFindingId =
  | 'no-resumption'
  | 'tls12-no-resumption'
  | 'tls13-no-resumption'
  | 'partial-resumption'
  | 'tls12-session-id-not-resumed'
  | 'ticket-lifetime-over-7-days'
  | 'ticket-lifetime-over-1-day'
  | 'tls12-ticket-lifetime-unspecified'
  | 'tls12-ticket-not-renewed'
  | 'ticket-reuse-accepted'
  | 'early-data'
  | 'tls13-no-ticket-after-resumption'
  | 'cross-host-resumption'
  | 'check-not-run';

/** Checks of a probe, as named in {@link ProbeNotRun}. */
export type ProbeCheckName =
  | 'TLSv1.2 session id resumption'
  | 'TLSv1.2 ticket resumption'
  | 'TLSv1.3 ticket resumption'
  | 'cross-host TLSv1.2 session id'
  | 'cross-host TLSv1.2 ticket'
  | 'cross-host TLSv1.3 ticket';

/** A check (or some of its attempts) that could not run: reported, never left out silently. */
export interface ProbeNotRun {
  check: ProbeCheckName;
  reason: string;
}

/** Something worth telling the operator, in their words. */
export interface ProbeFinding {
  severity: ProbeSeverity;
  id: ProbeFindingId;
  message: string;
}

/** The report of {@link probe}: plain data, safe to print as JSON (no key material). */
export interface ProbeReport {
  /** `host:port` as probed. */
  target: string;
  host: string;
  port: number;
  /** SNI sent, `null` for none (an IP target without `servername`). */
  servername: string | null;
  /** Attempts per check. */
  attempts: number;
  /** `null` when the server does not speak TLS 1.2 or it was not probed. */
  tls12: Tls12Report | null;
  /** `null` when the server does not speak TLS 1.3 or it was not probed. */
  tls13: Tls13Report | null;
  /** Why a version is `null`: not probed, or the handshake error. */
  notSpoken: Partial<Record<ProbeVersion, string>>;
  /** `null` without `otherServername`. */
  crossHost: CrossHostReport | null;
  /**
   * Checks, or attempts of a check, that could not run and why (e.g. Node handed out a session
   * the probe could not read). Empty when every check ran.
   */
  notRun: ProbeNotRun[];
  /** Medians of the newest version spoken. */
  timing: ProbeTiming;
  findings: ProbeFinding[];
  /** Connections made. */
  connections: number;
  /** Wall time of the whole probe, in milliseconds. */
  durationMs: number;
}
