/** One line of the benchmark table: a measured figure against its same-run baseline. */
export interface BenchRow {
  bench: string;
  metric: string;
  /** The measured rate (per second) or figure. */
  value: number;
  /** What it is compared with, in words, and its figure. */
  baseline?: { name: string; value: number };
  /** value / baseline (or the ratio the benchmark defines). */
  ratio?: number;
  /** The goal as words, e.g. ">= 100x" or "overhead < 3%". */
  goal?: string;
  /** Whether this run met the goal. */
  met?: boolean;
}

/** A bar of the handshake chart: handshakes per second of one server set-up. */
export interface ChartBar {
  group: string;
  label: string;
  value: number;
}

const fmt = (n: number) => (n >= 10_000 ? n.toFixed(0) : n >= 100 ? n.toFixed(0) : n >= 1 ? n.toFixed(2) : n.toFixed(3));

/** The Markdown table of a run. */
export function markdownTable(rows: BenchRow[], machine: string): string {
  let out = `Measured on ${machine}. Ratios compare figures measured in the same run.\n\n`;
  out += '| benchmark | measure | value | baseline | ratio | goal | met |\n|---|---|---:|---|---:|---|---|\n';
  for (const r of rows) {
    const base = r.baseline ? `${r.baseline.name}: ${fmt(r.baseline.value)}` : '';
    const ratio = r.ratio === undefined ? '' : r.ratio.toFixed(3);
    const met = r.met === undefined ? '' : r.met ? 'yes' : 'no';
    out += `| ${r.bench} | ${r.metric} | ${fmt(r.value)} | ${base} | ${ratio} | ${r.goal ?? ''} | ${met} |\n`;
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
