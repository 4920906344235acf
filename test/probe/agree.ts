/** Checks that a probe report and the s_client reference peer tell the same story. */
import assert from 'node:assert/strict';
import type { ProbeReport } from '../../src/probe/index.js';
import type { ReferenceVerdict } from './reference.js';

/** Fails with a message naming the first disagreement. */
export function assertAgrees(report: ProbeReport, ref: ReferenceVerdict, label: string): void {
  assert.equal(report.tls13 === null, ref.tls13 === null, `${label}: TLS 1.3 spoken`);
  if (report.tls13 && ref.tls13) {
    const t = report.tls13.tickets;
    assert.equal(t.attempts > 0, ref.tls13.issued, `${label}: TLS 1.3 tickets issued`);
    assert.equal(t.resumed > 0, ref.tls13.resumed, `${label}: TLS 1.3 resumption`);
    assert.equal(t.perFullHandshake, ref.tls13.ticketsPerFullHandshake, `${label}: TLS 1.3 tickets per full handshake`);
    assert.equal(
      t.perResumedHandshake,
      ref.tls13.ticketsPerResumedHandshake,
      `${label}: TLS 1.3 tickets per resumed handshake`,
    );
    assert.equal(report.tls13.ticketReuseAccepted, ref.tls13.reuseAccepted, `${label}: TLS 1.3 ticket reuse`);
  }
  assert.equal(report.tls12 === null, ref.tls12 === null, `${label}: TLS 1.2 spoken`);
  if (report.tls12 && ref.tls12) {
    const { sessionId, ticket } = report.tls12;
    assert.equal(sessionId.issued, ref.tls12.sessionId.issued, `${label}: TLS 1.2 session id issued`);
    assert.equal(sessionId.resumed > 0, ref.tls12.sessionId.resumed, `${label}: TLS 1.2 session id resumption`);
    assert.equal(ticket.issued, ref.tls12.ticket.issued, `${label}: TLS 1.2 ticket issued`);
    assert.equal(ticket.resumed > 0, ref.tls12.ticket.resumed, `${label}: TLS 1.2 ticket resumption`);
  }
}

/** The finding ids of a report, sorted. */
export function findingIds(report: ProbeReport): string[] {
  return report.findings.map((f) => f.id).sort();
}
