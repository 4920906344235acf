/**
 * One line of the benchmark table: a measured figure against its same-run baseline. The table
 * prints value, baseline and their ratio (value / baseline, nothing else), so a reader can
 * recompute every ratio from the row; a goal is a bound on that ratio.
 */
export interface BenchRow {
  bench: string;
  metric: string;
  /** The measured figure (a rate, instructions, bytes...); `NaN` when skipped. */
  value: number;
  /** What it is compared with, in words, and its figure, measured in the same run. */
  baseline?: { name: string; value: number };
  /** The goal, as a bound on value / baseline. */
  goal?: { max?: number; min?: number };
  /** Why this row was not measured in this run: it shows as skipped, never as met. */
  skipped?: string;
}

/** value / baseline; undefined without a baseline or when skipped. */
export function ratioOf(r: BenchRow): number | undefined {
  if (r.skipped !== undefined || r.baseline === undefined) return undefined;
  return r.value / r.baseline.value;
}

/** Whether the goal was met; undefined without a goal, and when the row was not measured. */
export function metOf(r: BenchRow): boolean | undefined {
  const ratio = ratioOf(r);
  if (r.goal === undefined || ratio === undefined || !Number.isFinite(ratio)) return undefined;
  return (r.goal.max === undefined || ratio <= r.goal.max) && (r.goal.min === undefined || ratio >= r.goal.min);
}

/** The goal in words, e.g. "ratio <= 1.05". */
export function goalText(r: BenchRow): string {
  if (r.goal === undefined) return '';
  const parts: string[] = [];
  if (r.goal.min !== undefined) parts.push(`ratio >= ${r.goal.min}`);
  if (r.goal.max !== undefined) parts.push(`ratio <= ${r.goal.max}`);
  return parts.join(' and ');
}

/** A row skipped in this run, with the reason. */
export function skippedRow(r: Omit<BenchRow, 'value' | 'skipped'>, reason: string): BenchRow {
  return { ...r, value: Number.NaN, skipped: reason };
}

/** A bar of the handshake chart: handshakes per second of one server set-up. */
export interface ChartBar {
  group: string;
  label: string;
  value: number;
}

const fmt = (n: number) => (n >= 100 ? n.toFixed(0) : n >= 1 ? n.toFixed(2) : n.toFixed(3));

/** The Markdown table of a run; `header` says what produced it (machine, Node, OpenSSL, tools). */
export function markdownTable(rows: BenchRow[], header: string): string {
  let out = `${header}

Each ratio is value / baseline, both measured in the same run.

`;
  out += '| benchmark | measure | value | baseline | ratio | goal | met |\n|---|---|---:|---|---:|---|---|\n';
  for (const r of rows) {
    if (r.skipped !== undefined) {
      out += `| ${r.bench} | ${r.metric} | skipped | ${r.baseline?.name ?? ''} | | ${goalText(r)} | skipped: ${r.skipped} |\n`;
      continue;
    }
    const base = r.baseline ? `${r.baseline.name}: ${fmt(r.baseline.value)}` : '';
    const ratio = ratioOf(r);
    const met = metOf(r);
    const ratioCell = ratio === undefined ? '' : ratio.toFixed(3);
    out += `| ${r.bench} | ${r.metric} | ${fmt(r.value)} | ${base} | ${ratioCell} | ${goalText(r)} | ${met === undefined ? '' : met ? 'yes' : 'no'} |\n`;
  }
  return out;
}

/** A horizontal bar chart (SVG) of handshakes per second, grouped. */
export function barChartSvg(bars: ChartBar[], title: string): string {
  const rowH = 22;
  const labelW = 330;
  const chartW = 420;
  const max = Math.max(1, ...bars.map((b) => b.value));
  const groups = [...new Set(bars.map((b) => b.group))];
  const palette = ['#4c78a8', '#f58518', '#54a24b', '#e45756', '#72b7b2', '#b279a2'];
  const color = new Map(groups.map((g, i) => [g, palette[i % palette.length]!]));
  const height = 40 + bars.length * rowH + 30;
  const esc = (s: string) => s.replace(/&/g, '&amp;').replace(/</g, '&lt;');
  let y = 40;
  let body = '';
  for (const b of bars) {
    const w = Math.max(1, (b.value / max) * chartW);
    body += `<text x="${labelW - 8}" y="${y + 15}" text-anchor="end">${esc(`${b.group}: ${b.label}`)}</text>`;
    body += `<rect x="${labelW}" y="${y + 3}" width="${w.toFixed(1)}" height="${rowH - 6}" fill="${color.get(b.group)}"/>`;
    body += `<text x="${(labelW + w + 6).toFixed(1)}" y="${y + 15}">${b.value.toFixed(0)}/s</text>`;
    y += rowH;
  }
  return `<svg xmlns="http://www.w3.org/2000/svg" width="${labelW + chartW + 90}" height="${height}" font-family="sans-serif" font-size="12">
<rect width="100%" height="100%" fill="white"/>
<text x="10" y="22" font-size="15" font-weight="bold">${esc(title)}</text>
${body}
</svg>
`;
}
