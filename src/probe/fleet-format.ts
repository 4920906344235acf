import { duration } from './findings.js';
import type { FleetMechanism, FleetReport } from './fleet-report.js';
import { type ProbeFormatOptions, wrap } from './format.js';

const TITLE: Record<FleetMechanism, string> = {
  'tls13-ticket': 'TLS 1.3 tickets',
  'tls12-session-id': 'TLS 1.2 session ids',
  'tls12-ticket': 'TLS 1.2 tickets',
};
const SEVERITY_CODE = { high: 31, medium: 33, low: 36, info: 2 } as const;

/**
 * A fleet report as text: members (key names, lifetimes), one matrix per mechanism (rows: the
 * member that made the session; columns: the member it was offered to), findings.
 */
export function formatFleetReport(report: FleetReport, options: ProbeFormatOptions = {}): string {
  const paint = (code: number, text: string) =>
    options.color ? `\u001b[${code}m${text}\u001b[${code === 1 || code === 2 ? 22 : 39}m` : text;
  const lines: string[] = [];
  const sni = report.servername === null ? 'no SNI' : `SNI ${report.servername}`;
  lines.push(
    `${paint(1, `tls-sessions probe ${report.target} --fleet`)}  ${sni}, ${report.members.length} member${report.members.length === 1 ? '' : 's'} (${report.source === 'resolved' ? 'every address of the name' : 'as given'}), ${report.connections} connections in ${Math.round(report.durationMs)} ms`,
    '',
  );

  const labels = report.members.map(
    (_m, i) => `${String.fromCharCode(65 + (i % 26))}${i >= 26 ? Math.floor(i / 26) : ''}`,
  );
  const width = Math.max(6, ...report.members.map((m) => m.member.length)) + 4;
  lines.push(paint(1, 'Members'));
  lines.push(
    `  ${'   '}${'member'.padEnd(width)}${'TLS 1.3 key names'.padEnd(22)}${'TLS 1.2 key names'.padEnd(22)}lifetime (1.3 / 1.2)`,
  );
  for (const [i, m] of report.members.entries()) {
    if (m.error !== null) {
      lines.push(`  ${labels[i]!.padEnd(3)}${m.member.padEnd(width)}${paint(31, `not probed: ${m.error}`)}`);
      continue;
    }
    const names = (list: string[], stateful: boolean) =>
      list.length > 0 ? list.map((n) => n.slice(0, 8)).join(' ') : stateful ? '(stateful)' : '-';
    const hint = (h: number | null) => (h === null ? '-' : duration(h).replace(/ \(.*\)$/, ''));
    lines.push(
      `  ${labels[i]!.padEnd(3)}${m.member.padEnd(width)}${names(m.ticketKeyNames.tls13, (m.tls13TicketLength ?? 0) > 0).padEnd(22)}${names(m.ticketKeyNames.tls12, false).padEnd(22)}${hint(m.lifetimeHint.tls13)} / ${hint(m.lifetimeHint.tls12)}`,
    );
  }
  lines.push('');

  for (const m of report.matrices) {
    lines.push(`${paint(1, TITLE[m.mechanism])}  made on (row), offered to (column)`);
    lines.push(`       ${labels.map((l) => l.padEnd(6)).join('')}`);
    for (const [i, row] of m.cells.entries()) {
      const cells = row.map((c, j) => {
        if (c.resumed === null) return paint(2, '-'.padEnd(6));
        if (c.resumed) return paint(32, 'yes'.padEnd(6));
        return paint(i === j ? 31 : 33, 'no'.padEnd(6));
      });
      lines.push(`  ${labels[i]!.padEnd(5)}${cells.join('')}`);
    }
    lines.push('');
  }
  if (report.matrices.length > 0)
    lines.push(paint(2, '  yes: resumed   no: full handshake   -: not checked (see findings)'), '');

  lines.push(paint(1, 'Findings'));
  if (report.findings.length === 0) lines.push(`  ${paint(32, "none: every member resumes every member's sessions")}`);
  const wrapAt = (options.width ?? 100) - 10;
  for (const f of report.findings) {
    lines.push(`  ${paint(SEVERITY_CODE[f.severity], f.severity.toUpperCase().padEnd(7))} ${f.id}`);
    for (const line of wrap(f.message, wrapAt)) lines.push(`          ${line}`);
  }
  return `${lines.join('\n')}\n`;
}
