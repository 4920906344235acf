/**
 * Runs the built `tls-sessions` binary (bin/tls-sessions.js, from dist/: `npm run build`) as a
 * subprocess and reports what a hostile input costs: exit code, output, wall time and peak
 * memory (the child's own maxRSS, written at exit by report-rss.mjs).
 */
import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { onProcessExit, requirePeer } from '../helpers/index.js';

const ROOT = resolve(import.meta.dirname, '..', '..');
export const BIN = join(ROOT, 'bin', 'tls-sessions.js');
const PRELOAD = join(import.meta.dirname, 'report-rss.mjs');

/** Why the binary cannot be run (dist/ not built), or `undefined`. */
export function binSkipReason(): string | undefined {
  return existsSync(join(ROOT, 'dist', 'cli', 'main.js'))
    ? undefined
    : 'dist/ is not built (npm run build; npm test builds it first)';
}

export interface BinResult {
  code: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
  elapsedMs: number;
  /** Peak resident set size of the child, in MiB (NaN when it died before reporting). */
  peakRssMiB: number;
}

export interface BinOptions {
  /** A file or device the child reads as its standard input (e.g. /dev/zero). */
  stdinFile?: string;
  /** Killed (SIGKILL) after this long. Default 30 s. */
  timeoutMs?: number;
}

/** Runs `tls-sessions ...args`; never rejects on a failing exit, only when the child cannot start. */
export async function runBin(args: readonly string[], options: BinOptions = {}): Promise<BinResult> {
  requirePeer(binSkipReason());
  const rssFile = join(tmpdir(), `tls-sessions-rss-${process.pid}-${Math.random().toString(36).slice(2)}`);
  const { open } = await import('node:fs/promises');
  const stdin = options.stdinFile === undefined ? undefined : await open(options.stdinFile, 'r');
  const started = performance.now();
  const child = spawn(process.execPath, ['--import', PRELOAD, BIN, ...args], {
    stdio: [stdin === undefined ? 'ignore' : stdin.fd, 'pipe', 'pipe'],
    env: { ...process.env, TLS_SESSIONS_RSS_FILE: rssFile },
  });
  const unhook = onProcessExit(() => child.kill('SIGKILL'));
  const timer = setTimeout(() => child.kill('SIGKILL'), options.timeoutMs ?? 30_000);
  let stdout = '';
  let stderr = '';
  child.stdout?.on('data', (d: Buffer) => {
    stdout += d.toString();
  });
  child.stderr?.on('data', (d: Buffer) => {
    stderr += d.toString();
  });
  const [code, signal] = await new Promise<[number | null, NodeJS.Signals | null]>((res, rej) => {
    child.once('error', rej);
    child.once('close', (c, s) => res([c, s]));
  });
  const elapsedMs = performance.now() - started;
  clearTimeout(timer);
  unhook();
  await stdin?.close();
  const kb = Number(await readFile(rssFile, 'utf8').catch(() => 'NaN'));
  await rm(rssFile, { force: true });
  return { code, signal, stdout, stderr, elapsedMs, peakRssMiB: kb / 1024 };
}
