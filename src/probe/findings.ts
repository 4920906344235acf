import type { ProbeFinding, ProbeReport, ProbeSeverity } from './report.js';

const DAY = 86_400;
/** RFC 8446 4.6.1: a ticket lifetime is at most 7 days. */
const WEEK = 7 * DAY;
const ORDER: Record<ProbeSeverity, number> = { high: 0, medium: 1, low: 2, info: 3 };

/** The parts of a report findings are made from. */
export type ProbeFindingInput = Pick<ProbeReport, 'attempts' | 'tls12' | 'tls13' | 'crossHost'> &
  Partial<Pick<ProbeReport, 'notRun'>>;

/** Findings for a report, most severe first, in words a server operator understands. */
export function findingsFor(report: ProbeFindingInput): ProbeFinding[] {
  const { crossHost } = report;
  const notRun = report.notRun ?? [];
  // A version whose resumption checks could not run at all says nothing about the server.
  const ran = (check: string, attempts: number) => attempts > 0 || !notRun.some((n) => n.check === check);
  const tls12 =
    report.tls12 &&
    ran('TLSv1.2 session id resumption', report.tls12.sessionId.attempts) &&
    ran('TLSv1.2 ticket resumption', report.tls12.ticket.attempts)
      ? report.tls12
      : null;
  const tls13 = report.tls13 && ran('TLSv1.3 ticket resumption', report.tls13.tickets.attempts) ? report.tls13 : null;
  const out: ProbeFinding[] = [];
  const add: Add = (severity, id, message) => {
    out.push({ severity, id, message });
  };

  if (notRun.length > 0) {
    add(
      'info',
      'check-not-run',
      `Not every check could run, so this report is incomplete: ${notRun.map((n) => `${n.check}: ${n.reason}`).join('; ')}.`,
    );
  }

  const resumed12 = tls12 ? tls12.sessionId.resumed + tls12.ticket.resumed : 0;
  const resumed13 = tls13 ? tls13.tickets.resumed : 0;
  if ((tls12 || tls13) && resumed12 + resumed13 === 0) {
    add(
      'medium',
      'no-resumption',
      'No session was resumed: every connection pays a full handshake (more latency for clients, more CPU for the server). ' +
        `${whyNot12(tls12) ?? ''}${whyNot13(tls13) ?? ''}`.trim(),
    );
  } else {
    const why13 = whyNot13(tls13);
    if (tls13 && resumed13 === 0)
      add('low', 'tls13-no-resumption', `TLS 1.3 connections are never resumed. ${why13 ?? ''}`.trim());
    const why12 = whyNot12(tls12);
    if (tls12 && resumed12 === 0)
      add('low', 'tls12-no-resumption', `TLS 1.2 connections are never resumed. ${why12 ?? ''}`.trim());
  }

  const partial = (what: string, resumed: number, attempts: number) => {
    if (resumed > 0 && resumed < attempts) {
      add(
        'low',
        'partial-resumption',
        `${what} resumed only ${resumed} of ${attempts} times: typical of several servers behind one address that do not share a session cache or ticket keys, or of a cache too small for the traffic.`,
      );
    }
  };
  if (tls13) partial('TLS 1.3 tickets', tls13.tickets.resumed, tls13.tickets.attempts);
  if (tls12) {
    partial('TLS 1.2 session ids', tls12.sessionId.resumed, tls12.sessionId.attempts);
    partial('TLS 1.2 tickets', tls12.ticket.resumed, tls12.ticket.attempts);
    if (tls12.ticket.resumed > 0 && tls12.sessionId.resumed === 0) {
      add(
        'info',
        'tls12-session-id-not-resumed',
        'TLS 1.2 resumes by ticket only: clients that do not use tickets pay a full handshake every time. A server-side session cache (nginx: ssl_session_cache shared:SSL:10m) would serve them too.',
      );
    }
  }

  lifetimes(tls13?.tickets.lifetimeHint ?? null, tls12?.ticket.lifetimeHint ?? null, add);
  if (tls12?.ticket.issued && tls12.ticket.lifetimeHint === 0) {
    add(
      'info',
      'tls12-ticket-lifetime-unspecified',
      'TLS 1.2 tickets carry no lifetime hint (0 means unspecified): clients have to guess how long to keep them.',
    );
  }
  if (tls12?.ticket.renewedOnResumption === false) {
    add(
      'info',
      'tls12-ticket-not-renewed',
      'Resumed TLS 1.2 connections get no new ticket: clients keep presenting the ticket first issued, so the key that encrypted it must stay in use for the whole ticket lifetime, and the same master secret serves every resumption until then. Whoever obtains a TLS 1.2 ticket key can decrypt the recorded connections it covers: rotate ticket keys often.',
    );
  }

  if (tls13) {
    const early = tls13.maxEarlyData > 0;
    if (tls13.ticketReuseAccepted) {
      add(
        early ? 'high' : 'low',
        'ticket-reuse-accepted',
        early
          ? `The same TLS 1.3 ticket was accepted on two connections, and tickets allow ${tls13.maxEarlyData} bytes of 0-RTT early data: an attacker who records a connection can replay its early data (RFC 8446 section 8). Use single-use tickets or an anti-replay mechanism, or turn early data off.`
          : 'The same TLS 1.3 ticket was accepted on two connections. RFC 8446 (section 8, appendix C.4) recommends single-use tickets: a reused ticket lets an observer link connections to the same client, and would let early data be replayed if 0-RTT were turned on.',
      );
    }
    if (early) {
      add(
        'low',
        'early-data',
        `Tickets allow ${tls13.maxEarlyData} bytes of 0-RTT early data. Early data has no replay protection at the TLS level (RFC 8446 section 8): the application must accept only requests that are safe to repeat.`,
      );
    }
    const per = tls13.tickets.perResumedHandshake;
    if (tls13.tickets.resumed > 0 && per === 0) {
      add(
        'info',
        'tls13-no-ticket-after-resumption',
        `Resumed TLS 1.3 connections get no new ticket: clients that use each ticket once (RFC 8446 appendix C.4, as OpenSSL and rustls do) fall back to a full handshake after ${tls13.tickets.perFullHandshake} resumption${tls13.tickets.perFullHandshake === 1 ? '' : 's'}.`,
      );
    }
  }

  if (crossHost?.resumed) {
    const what = crossHost.checks
      .filter((c) => c.resumed === true)
      .map((c) => `${c.protocol} ${c.kind === 'ticket' ? 'ticket' : 'session id'}`)
      .join(', ');
    const from = crossHost.servername ?? '(no SNI)';
    if (crossHost.certificateCoversOther) {
      add(
        'low',
        'cross-host-resumption',
        `A session made for ${from} was resumed for ${crossHost.otherServername} (${what}). The certificate covers both names, so this opens nothing a full handshake would not; if the names are separate applications, give each its own session cache and ticket keys.`,
      );
    } else {
      add(
        'high',
        'cross-host-resumption',
        `A session made for ${from} was resumed for ${crossHost.otherServername} (${what}), although the certificate served for ${from} is not valid for ${crossHost.otherServername}: a client can reach one virtual host with a session that never checked a certificate for its name (origin confusion, Delignat-Lavaud and Bhargavan, 2015). Give each virtual host its own session cache and ticket keys, or a distinct session id context.`,
      );
    }
  }

  return out.sort((a, b) => ORDER[a.severity] - ORDER[b.severity]);
}

type Add = (severity: ProbeSeverity, id: ProbeFinding['id'], message: string) => void;

/** Lifetime findings; one for both versions when their hints agree. */
function lifetimes(hint13: number | null, hint12: number | null, add: Add): void {
  const groups: Array<{ versions: string[]; hint: number; tls13: boolean }> = [];
  if (hint13 !== null) groups.push({ versions: ['TLS 1.3'], hint: hint13, tls13: true });
  if (hint12 !== null) {
    const same = groups.find((g) => g.hint === hint12);
    if (same) same.versions.push('TLS 1.2');
    else groups.push({ versions: ['TLS 1.2'], hint: hint12, tls13: false });
  }
  for (const { versions, hint, tls13 } of groups) {
    const who = `${versions.join(' and ')} tickets`;
    if (hint > WEEK) {
      add(
        tls13 ? 'high' : 'medium',
        'ticket-lifetime-over-7-days',
        tls13
          ? `${who} claim a lifetime of ${duration(hint)}, over the 7 days RFC 8446 (4.6.1) allows for TLS 1.3: clients cap it, and sessions stay resumable (and their keys worth stealing) far too long.`
          : `${who} claim a lifetime of ${duration(hint)}, over 7 days (the limit RFC 8446 sets for TLS 1.3): a session, and the ticket key protecting it, stay usable that long.`,
      );
    } else if (hint > DAY) {
      add(
        'low',
        'ticket-lifetime-over-1-day',
        `${who} claim a lifetime of ${duration(hint)}, over 1 day: for forward secrecy, keep sessions (and the ticket keys that protect them) shorter than a day.`,
      );
    }
  }
}

function whyNot13(tls13: ProbeFindingInput['tls13']): string | undefined {
  if (!tls13 || tls13.tickets.resumed > 0) return undefined;
  return tls13.tickets.perFullHandshake === 0 && tls13.tickets.attempts === 0
    ? 'TLS 1.3: the server sends no session ticket. '
    : `TLS 1.3: tickets are issued but none was accepted back (0 of ${tls13.tickets.attempts}). `;
}

function whyNot12(tls12: ProbeFindingInput['tls12']): string | undefined {
  if (!tls12 || tls12.sessionId.resumed + tls12.ticket.resumed > 0) return undefined;
  const parts = [
    tls12.sessionId.issued ? `session ids resumed 0 of ${tls12.sessionId.attempts}` : 'no session id issued',
    tls12.ticket.issued ? `tickets resumed 0 of ${tls12.ticket.attempts}` : 'no ticket issued',
  ];
  return `TLS 1.2: ${parts.join(', ')}. `;
}

/** Seconds as the largest whole unit that fits, e.g. `7200 s (2 h)`. */
export function duration(seconds: number): string {
  if (seconds >= DAY) return `${seconds} s (${round1(seconds / DAY)} d)`;
  if (seconds >= 3600) return `${seconds} s (${round1(seconds / 3600)} h)`;
  if (seconds >= 60) return `${seconds} s (${round1(seconds / 60)} min)`;
  return `${seconds} s`;
}

function round1(n: number): string {
  return String(Math.round(n * 10) / 10);
}
