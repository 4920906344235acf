import { duration } from './findings.js';
import type { ProbeReport, ProbeTiming, ProbeSeverity, Tls12Report, Tls13Report } from './report.js';

/** Options of {@link formatProbeReport}. */
export interface ProbeFormatOptions {
  /** ANSI colours (for a terminal). Default false. */
  color?: boolean;
  /** Wrap finding messages at this many columns. Default 100. */
  width?: number;
}

type Style = 'bold' | 'dim' | 'red' | 'green' | 'yellow' | 'cyan';
const CODES: Record<Style, [number, number]> = {
  bold: [1, 22],
  dim: [2, 22],
  red: [31, 39],
  green: [32, 39],
  yellow: [33, 39],
  cyan: [36, 39],
};
const SEVERITY_STYLE: Record<ProbeSeverity, Style> = { high: 'red', medium: 'yellow', low: 'cyan', info: 'dim' };
const LABEL_WIDTH = 36;

/** The report as a readable table, the way `tls-sessions probe` prints it. */
export function formatProbeReport(report: ProbeReport, options: ProbeFormatOptions = {}): string {
  const paint = (style: Style, text: string) => {
    if (!options.color) return text;
    const [on, off] = CODES[style];
    return `\u001b[${on}m${text}\u001b[${off}m`;
  };
  const row = (label: string, value: string) =>
    `  ${label.length < LABEL_WIDTH ? label.padEnd(LABEL_WIDTH) : `${label}  `}${value}`;
  const ratio = (resumed: number, attempts: number) => {
    const text = `${resumed}/${attempts} resumed`;
    return paint(resumed === attempts ? 'green' : resumed === 0 ? 'red' : 'yellow', text);
  };
  const yesNo = (value: boolean | null, bad: boolean, unknown: string) =>
    value === null ? paint('dim', unknown) : paint(value === bad ? 'yellow' : 'green', value ? 'yes' : 'no');

  const lines: string[] = [];
  const sni = report.servername === null ? 'no SNI' : `SNI ${report.servername}`;
  lines.push(
    `${paint('bold', `tls-sessions probe ${report.target}`)}  ${sni}, ${plural(report.attempts, 'attempt')}, ${plural(report.connections, 'connection')} in ${Math.round(report.durationMs)} ms`,
    '',
  );

  const heading = (name: string, detail: string) => `${paint('bold', name.padEnd(LABEL_WIDTH + 2))}${detail}`;
  const timing = (t: ProbeTiming) => row('handshake time, median', `full ${ms(t.fullMs)}, resumed ${ms(t.resumedMs)}`);

  const tls13 = (r: Tls13Report) => {
    const t = r.tickets;
    lines.push(heading('TLS 1.3', withAlpn(r.cipher, r.alpn)));
    lines.push(
      row(
        'ticket resumption (fresh tickets)',
        t.attempts > 0
          ? ratio(t.resumed, t.attempts)
          : unchecked('TLSv1.3 ticket resumption')
            ? paint('yellow', 'not checked (see below)')
            : paint('red', 'no ticket issued'),
      ),
      row('tickets per full handshake', String(t.perFullHandshake)),
      row(
        'tickets per resumed handshake',
        t.perResumedHandshake === null ? paint('dim', 'n/a (nothing resumed)') : String(t.perResumedHandshake),
      ),
      row('ticket lifetime hint', t.lifetimeHint === null ? paint('dim', 'n/a') : duration(t.lifetimeHint)),
      row('same ticket accepted twice', yesNo(r.ticketReuseAccepted, true, 'n/a (nothing resumed)')),
      row(
        'ticket storage (a guess)',
        t.storageGuess === null ? paint('dim', 'n/a') : `${t.storageGuess} (${t.identityLength}-byte ticket)`,
      ),
      row('0-RTT early data', r.maxEarlyData > 0 ? paint('yellow', `up to ${r.maxEarlyData} bytes`) : 'off'),
      timing(r.timing),
      '',
    );
  };
  const unchecked = (check: string) => report.notRun.some((n) => n.check === check);
  const tls12 = (r: Tls12Report) => {
    const none = (check: string, what: string) =>
      unchecked(check) ? paint('yellow', 'not checked (see below)') : paint('red', `no ${what} issued`);
    lines.push(heading('TLS 1.2', withAlpn(r.cipher, r.alpn)));
    lines.push(
      row(
        'session id resumption',
        r.sessionId.issued
          ? ratio(r.sessionId.resumed, r.sessionId.attempts)
          : none('TLSv1.2 session id resumption', 'session id'),
      ),
      row(
        'ticket resumption',
        r.ticket.issued ? ratio(r.ticket.resumed, r.ticket.attempts) : none('TLSv1.2 ticket resumption', 'ticket'),
      ),
    );
    if (r.ticket.issued) {
      lines.push(
        row(
          'ticket lifetime hint',
          r.ticket.lifetimeHint === 0 ? 'unspecified (0)' : duration(r.ticket.lifetimeHint ?? 0),
        ),
        row('new ticket on resumption', yesNo(r.ticket.renewedOnResumption, false, 'n/a (nothing resumed)')),
      );
    }
    lines.push(timing(r.timing), '');
  };
  const absent = (name: string, why: string | undefined) => {
    lines.push(
      heading(name, paint('dim', why === 'not probed' ? 'not probed' : `not spoken (${why ?? 'no handshake'})`)),
      '',
    );
  };

  if (report.tls13) tls13(report.tls13);
  else absent('TLS 1.3', report.notSpoken['TLSv1.3']);
  if (report.tls12) tls12(report.tls12);
  else absent('TLS 1.2', report.notSpoken['TLSv1.2']);

  if (report.crossHost) {
    const c = report.crossHost;
    lines.push(heading('Cross-virtual-host', `${c.servername ?? '(no SNI)'} -> ${c.otherServername}`));
    if (c.certificateCoversOther !== null) {
      lines.push(row(`certificate valid for ${c.otherServername}`, c.certificateCoversOther ? 'yes' : 'no'));
    }
    for (const check of c.checks) {
      const label = `${check.protocol.replace('TLSv', 'TLS ')} ${check.kind === 'ticket' ? 'ticket' : 'session id'}`;
      const value =
        check.resumed === null
          ? paint('yellow', `not checked: ${check.notRun ?? 'unknown reason'}`)
          : check.resumed
            ? paint('red', 'resumed under the other name')
            : paint('green', 'not resumed');
      lines.push(row(label, value));
    }
    lines.push('');
  }

  const crossNames = new Set([
    'cross-host TLSv1.2 session id',
    'cross-host TLSv1.2 ticket',
    'cross-host TLSv1.3 ticket',
  ]);
  const notRun = report.notRun.filter((n) => !crossNames.has(n.check));
  if (notRun.length > 0) {
    lines.push(paint('bold', 'Not checked'));
    for (const n of notRun) lines.push(row(n.check, paint('yellow', n.reason)));
    lines.push('');
  }

  lines.push(paint('bold', 'Findings'));
  if (report.findings.length === 0) lines.push(`  ${paint('green', 'none')}`);
  const width = options.width ?? 100;
  for (const f of report.findings) {
    const tag = f.severity.toUpperCase().padEnd(7);
    const head = `  ${paint(SEVERITY_STYLE[f.severity], tag)} ${f.id}`;
    lines.push(head);
    for (const line of wrap(f.message, width - 10)) lines.push(`          ${line}`);
  }
  return `${lines.join('\n')}\n`;
}

function withAlpn(cipher: string, alpn: string | null): string {
  return alpn === null ? cipher : `${cipher}, ALPN ${alpn}`;
}

function ms(value: number | null): string {
  return value === null ? 'n/a' : `${value.toFixed(1)} ms`;
}

/** `text` in lines of at most `width` characters, broken at spaces. */
export function wrap(text: string, width: number): string[] {
  const out: string[] = [];
  let line = '';
  for (const word of text.split(/\s+/)) {
    if (line !== '' && line.length + 1 + word.length > width) {
      out.push(line);
      line = word;
    } else {
      line = line === '' ? word : `${line} ${word}`;
    }
  }
  if (line !== '') out.push(line);
  return out;
}

function plural(n: number, word: string): string {
  return `${n} ${word}${n === 1 ? '' : 's'}`;
}
