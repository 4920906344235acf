/** Checks that a probe report (single target or fleet) and the s_client reference peer tell the same story. */
import assert from 'node:assert/strict';
import type { CrossHostCheck, FleetReport, ProbeReport } from '../../src/probe/index.js';
import { type ReferenceVerdict, referenceCrossHost, referenceFleetCell } from './reference.js';

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

/** Each matrix of a fleet report as rows of 'y' (resumed), 'n' (not) and '-' (not run). */
export function fleetGrid(report: FleetReport): Record<string, string[]> {
  return Object.fromEntries(
    report.matrices.map((m) => [
      m.mechanism,
      m.cells.map((row) => row.map((c) => (c.resumed === null ? '-' : c.resumed ? 'y' : 'n')).join('')),
    ]),
  );
}

/**
 * Every cell of a fleet report agrees with s_client run from the same member to the same
 * member (sessions in `dir`). With `allRan`, a cell that did not run fails; else it is passed over.
 */
export async function assertFleetCellsAgree(
  report: FleetReport,
  opts: { port: number; dir: string; allRan: boolean },
): Promise<void> {
  for (const m of report.matrices) {
    for (const [i, row] of m.cells.entries()) {
      for (const [j, cell] of row.entries()) {
        if (opts.allRan) assert.notEqual(cell.resumed, null, `${m.mechanism} ${i} -> ${j} ran`);
        else if (cell.resumed === null) continue;
        const ref = await referenceFleetCell({
          port: opts.port,
          dir: opts.dir,
          from: report.members[i]!.host,
          to: report.members[j]!.host,
          servername: 'localhost',
          tls: m.protocol === 'TLSv1.3' ? '1.3' : '1.2',
          noTicket: m.mechanism === 'tls12-session-id',
        });
        assert.equal(
          cell.resumed,
          ref,
          `${m.mechanism} ${report.members[i]!.member} -> ${report.members[j]!.member} agrees with s_client`,
        );
      }
    }
  }
}

/**
 * Each cross-host check agrees with s_client offering, under `other`, a session made for
 * `servername` (sessions in `dir`). Resolves with `'<protocol> <kind> <s_client's verdict>'` per check.
 */
export async function assertCrossChecksAgree(
  checks: readonly CrossHostCheck[],
  opts: { port: number; dir: string; servername: string; other: string },
): Promise<string[]> {
  const verdicts: string[] = [];
  for (const check of checks) {
    const ref = await referenceCrossHost({
      ...opts,
      tls: check.protocol === 'TLSv1.3' ? '1.3' : '1.2',
      noTicket: check.kind === 'sessionId',
    });
    verdicts.push(`${check.protocol} ${check.kind} ${ref}`);
    assert.equal(
      check.resumed,
      ref,
      `${opts.servername} -> ${opts.other}: ${check.protocol} ${check.kind} agrees with s_client`,
    );
  }
  return verdicts;
}
