import { duration } from './findings.js';
import type { ProbeFormatOptions } from './format.js';
import type { WatchReport } from './watch.js';

/** Seconds with one decimal, e.g. `12.5 s`. */
function at(ms: number): string {
  return `${(ms / 1000).toFixed(1)} s`;
}

/** A watch report as text: key names over time, changes and their grace, lifetime hints. */
export function formatWatchReport(report: WatchReport, options: ProbeFormatOptions = {}): string {
  const bold = (text: string) => (options.color ? `\u001b[1m${text}\u001b[22m` : text);
  const lines: string[] = [];
  const sni = report.servername === null ? 'no SNI' : `SNI ${report.servername}`;
  const last = report.samples.at(-1)?.atMs ?? 0;
  lines.push(
    `${bold(`tls-sessions probe ${report.target} --watch`)}  ${sni}, ${report.protocol} tickets, ${report.samples.length} samples every ${report.everyMs < 1000 ? `${report.everyMs} ms` : at(report.everyMs)} over ${at(last)}${report.interrupted ? ' (interrupted)' : ''}`,
    '',
  );

  lines.push(bold('Ticket key names'));
  // One line per run of samples under the same key name.
  let run: { from: number; to: number; name: string | null; hint: number | null; count: number } | undefined;
  const flush = () => {
    if (!run) return;
    const name = run.name ?? 'no ticket';
    const hint = run.hint === null ? '' : `, lifetime hint ${duration(run.hint)}`;
    lines.push(
      `  ${at(run.from).padStart(9)} - ${at(run.to).padEnd(9)}  ${name}  (${run.count} sample${run.count === 1 ? '' : 's'}${hint})`,
    );
  };
  for (const s of report.samples) {
    if (run && run.name === s.keyName && run.hint === s.lifetimeHint) {
      run.to = s.atMs;
      run.count += 1;
    } else {
      flush();
      run = { from: s.atMs, to: s.atMs, name: s.keyName, hint: s.lifetimeHint, count: 1 };
    }
  }
  flush();
  const failed = report.samples.filter((s) => s.error !== null);
  if (failed.length > 0)
    lines.push(`  ${failed.length} sample${failed.length === 1 ? '' : 's'} failed: ${failed[0]!.error}`);
  lines.push('');

  lines.push(bold('Key changes'));
  if (report.changes.length === 0) lines.push(`  none in ${at(last)}`);
  for (const c of report.changes) {
    lines.push(`  between ${at(c.lastOldMs)} and ${at(c.firstNewMs)}: ${c.from.slice(0, 8)} -> ${c.to.slice(0, 8)}`);
    const { min, max } = c.graceMs;
    let grace: string;
    if (c.oldResumedUntilMs === null && c.oldRefusedFromMs === null)
      grace = 'old tickets not tried (no spare ticket of the old key)';
    else if (max === null)
      grace = `old tickets still resumed at ${at(c.oldResumedUntilMs ?? 0)}: grace at least ${at(min ?? 0)}`;
    else if (min === null)
      grace = `old tickets refused from ${at(c.oldRefusedFromMs ?? 0)}: no grace seen (at most ${at(max)})`;
    else
      grace = `old tickets resumed until ${at(c.oldResumedUntilMs ?? 0)}, refused from ${at(c.oldRefusedFromMs ?? 0)}: grace ${at(min)} to ${at(max)}`;
    lines.push(`    ${grace}`);
    if (c.refusedPastLifetime)
      lines.push('    (the refused ticket had outlived its lifetime hint: refused for its age, perhaps not its key)');
  }
  lines.push('');

  lines.push(bold('Lifetime hints'));
  if (report.lifetimeHints.length === 0) lines.push('  no ticket seen');
  else if (report.lifetimeHints.length === 1)
    lines.push(`  ${duration(report.lifetimeHints[0]!.lifetimeHint)} throughout`);
  else for (const h of report.lifetimeHints) lines.push(`  from ${at(h.firstSeenMs)}: ${duration(h.lifetimeHint)}`);
  return `${lines.join('\n')}\n`;
}
