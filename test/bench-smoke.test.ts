import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { readFile } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { test } from 'node:test';
import { promisify } from 'node:util';
import { tmpDir } from './helpers/index.js';

const run = promisify(execFile);
const ROOT = resolve(import.meta.dirname, '..');

// The smoke run of `npm run bench -- --quick`: every benchmark runs and reports; no figure is
// asserted (performance is measured, not tested).
test('npm run bench -- --quick runs every benchmark and writes its reports', { timeout: 110_000 }, async (t) => {
  const out = await tmpDir('bench-');
  t.after(() => out.cleanup());
  await run(process.execPath, ['--import', 'tsx', join(ROOT, 'bench', 'run.ts'), '--quick', '--out', out.path], {
    cwd: ROOT,
    timeout: 100_000,
  });
  const latest = JSON.parse(await readFile(join(out.path, 'latest.json'), 'utf8')) as {
    quick: boolean;
    results: Record<string, unknown>;
    rows: { bench: string; value: number | null; skipped?: string }[];
  };
  assert.equal(latest.quick, true);
  for (const [name, result] of Object.entries(latest.results)) {
    assert.ok(
      !(result && typeof result === 'object' && 'error' in result),
      `${name} failed: ${JSON.stringify(result)}`,
    );
  }
  assert.ok(latest.rows.length >= 3);
  // A row not measured in this run (the quick run skips the instruction counts) says so.
  for (const row of latest.rows) {
    if (row.skipped !== undefined) assert.equal(row.value, null, row.bench);
    else assert.ok(row.value !== null && Number.isFinite(row.value) && row.value > 0, `${row.bench}: ${row.value}`);
  }
  const md = await readFile(join(out.path, 'latest.md'), 'utf8');
  assert.match(md, /\| benchmark \| measure \|/);
  assert.match(md, /\| skipped \|/);
  assert.doesNotMatch(md, /\| skipped \|[^\n]*\| yes \|/);
});
