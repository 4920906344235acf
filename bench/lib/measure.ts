/**
 * Shared benchmark plumbing. Every benchmark reports ratios against a baseline measured in the
 * same run, alternating rounds of each contender so that machine noise hits both alike.
 */

export interface Rate {
  /** Operations per second, the median over rounds. */
  perSecond: number;
  rounds: number[];
}

/** Median of numbers. */
export function median(xs: readonly number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 ? s[m]! : (s[m - 1]! + s[m]!) / 2;
}

/**
 * Runs each contender for `roundMs` per round, interleaved, `rounds` times; returns the median
 * rate of each. `fn` runs `batch` operations per call (sync or async).
 */
export async function compareRates(
  contenders: Record<string, (batch: number) => unknown>,
  opts: { rounds?: number; roundMs?: number; batch?: number } = {},
): Promise<Record<string, Rate>> {
  const { rounds = 5, roundMs = 300, batch = 100 } = opts;
  const samples: Record<string, number[]> = Object.fromEntries(Object.keys(contenders).map((k) => [k, []]));
  for (let r = 0; r < rounds; r++) {
    for (const [name, fn] of Object.entries(contenders)) {
      let ops = 0;
      const start = process.hrtime.bigint();
      const limit = start + BigInt(roundMs) * 1_000_000n;
      let now = start;
      while (now < limit) {
        await fn(batch);
        ops += batch;
        now = process.hrtime.bigint();
      }
      samples[name]!.push((ops * 1e9) / Number(now - start));
    }
  }
  return Object.fromEntries(Object.entries(samples).map(([k, v]) => [k, { perSecond: median(v), rounds: v }]));
}

/** Formats a rate for tables. */
export function fmtRate(n: number): string {
  return n >= 100_000 ? `${(n / 1000).toFixed(0)}k` : n >= 1000 ? `${(n / 1000).toFixed(1)}k` : n.toFixed(0);
}

/** True when this module is the script node was started with. */
export function isMain(importMetaUrl: string): boolean {
  const entry = process.argv[1];
  return entry !== undefined && importMetaUrl === new URL(`file://${entry}`).href;
}
