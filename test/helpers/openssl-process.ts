/**
 * Running the `openssl` CLI from tests: one bounded, shell-free way to start it.
 *
 * ```ts
 * const { stdout, stderr, code } = await runOpenssl(['version']);
 * const r = await runOpenssl(['sess_id', '-noout', '-text'], { input: pem });
 * ```
 *
 * Every process started here is tracked: `liveOpensslProcesses()` lists the ones still running,
 * and any left at process exit are killed with SIGKILL.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { onProcessExit } from './exit-hooks.js';

/** Path or name of the OpenSSL CLI; `OPENSSL_BIN` overrides it. */
export const OPENSSL_BIN = process.env['OPENSSL_BIN'] ?? 'openssl';

/** Default bound for one short `openssl` command. */
export const DEFAULT_OPENSSL_TIMEOUT_MS = 10_000;

const live = new Set<ChildProcess>();
let exitHookInstalled = false;

function killLive(): void {
  for (const child of live) child.kill('SIGKILL');
}

/** `openssl` processes started by the test kit that have not exited yet. */
export function liveOpensslProcesses(): ReadonlySet<ChildProcess> {
  return live;
}

/**
 * Spawns `openssl` with `args` (no shell) and tracks it until it exits. Stdio is piped; the
 * caller owns stdin.
 */
export function spawnOpenssl(args: readonly string[], cwd?: string): ChildProcess {
  const child = spawn(OPENSSL_BIN, args, { stdio: ['pipe', 'pipe', 'pipe'], cwd });
  live.add(child);
  if (!exitHookInstalled) {
    exitHookInstalled = true;
    onProcessExit(killLive);
  }
  const forget = () => {
    live.delete(child);
  };
  child.once('exit', forget);
  child.once('error', forget);
  // A peer that exits before reading its input must not crash the test with EPIPE.
  child.stdin?.on('error', () => {});
  return child;
}

/** Raised when an `openssl` command outlives its time limit (it is killed first). */
export class OpensslTimeoutError extends Error {
  readonly code = 'ETIMEDOUT';
  constructor(
    readonly args: readonly string[],
    readonly timeoutMs: number,
    readonly stdout: string,
    readonly stderr: string,
  ) {
    super(`openssl ${args[0] ?? ''} did not exit within ${timeoutMs} ms`);
    this.name = 'OpensslTimeoutError';
  }
}

/** Output of a finished `openssl` command. */
export interface RunOpensslResult {
  stdout: Buffer;
  stderr: string;
  /** Exit status; -1 when the process ended on a signal. */
  code: number;
}

/** Options for {@link runOpenssl}. */
export interface RunOpensslOptions {
  /** Bytes written to stdin before it is closed (stdin is closed at once when absent). */
  input?: string | Buffer;
  /** Kill the process and reject with {@link OpensslTimeoutError} after this long. Default 10 s. */
  timeoutMs?: number;
  /** Working directory. */
  cwd?: string;
}

/**
 * Runs `openssl ...args` to completion. Resolves with whatever exit code it had (check `code`);
 * rejects only when it cannot start or exceeds `timeoutMs`.
 */
export function runOpenssl(args: readonly string[], opts: RunOpensslOptions = {}): Promise<RunOpensslResult> {
  const timeoutMs = opts.timeoutMs ?? DEFAULT_OPENSSL_TIMEOUT_MS;
  return new Promise((resolve, reject) => {
    const child = spawnOpenssl(args, opts.cwd);
    const out: Buffer[] = [];
    const err: Buffer[] = [];
    let timedOut = false;
    child.stdout?.on('data', (chunk: Buffer) => out.push(chunk));
    child.stderr?.on('data', (chunk: Buffer) => err.push(chunk));
    const timer = setTimeout(() => {
      timedOut = true;
      child.kill('SIGKILL');
    }, timeoutMs);
    child.once('error', (error) => {
      clearTimeout(timer);
      reject(error);
    });
    child.once('close', (code) => {
      clearTimeout(timer);
      const stdout = Buffer.concat(out);
      const stderr = Buffer.concat(err).toString('utf8');
      if (timedOut) {
        reject(new OpensslTimeoutError(args, timeoutMs, stdout.toString('utf8'), stderr));
      } else {
        resolve({ stdout, stderr, code: code ?? -1 });
      }
    });
    if (opts.input !== undefined) child.stdin?.end(opts.input);
    else child.stdin?.end();
  });
}

/** Like {@link runOpenssl} but rejects when the exit code is not 0, quoting stderr. */
export async function runOpensslOk(args: readonly string[], opts: RunOpensslOptions = {}): Promise<RunOpensslResult> {
  const result = await runOpenssl(args, opts);
  if (result.code !== 0) {
    const detail = result.stderr.trim().split('\n').slice(-3).join(' | ');
    throw new Error(`openssl ${args.join(' ')} exited with ${result.code}: ${detail}`);
  }
  return result;
}
