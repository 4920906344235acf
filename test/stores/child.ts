/**
 * Child processes for multi-process store tests: a TypeScript fixture run with tsx, its stdout
 * read line by line, killed at process exit if still running.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { createInterface } from 'node:readline';
import { onProcessExit } from '../helpers/exit-hooks.js';

/** A running fixture process. */
export interface Child {
  proc: ChildProcess;
  /** Every stdout line so far. */
  lines: string[];
  /** Settles with the exit code (null when killed by a signal). */
  exited: Promise<number | null>;
  /** Resolves once a line satisfies `until` (at once if one already did), or when the child exits. */
  waitFor(until: (line: string) => boolean): Promise<void>;
  /** Writes one line to stdin. */
  send(line: string): void;
  /** Closes stdin and waits for exit, SIGKILL after `ms`. */
  stop(ms?: number): Promise<number | null>;
  /** The last stderr output, for failure messages. */
  stderr(): string;
}

/** Starts `node --import tsx <script> ...args`. */
export function startChild(script: string | URL, args: readonly string[], env?: NodeJS.ProcessEnv): Child {
  const path = typeof script === 'string' ? script : script.pathname;
  const proc = spawn(process.execPath, ['--import', 'tsx', path, ...args], {
    stdio: ['pipe', 'pipe', 'pipe'],
    env: { ...process.env, ...env },
  });
  const unhook = onProcessExit(() => proc.kill('SIGKILL'));
  const lines: string[] = [];
  const waiters: Array<{ until: (l: string) => boolean; resolve: () => void }> = [];
  let stderr = '';
  proc.stderr?.on('data', (d: Buffer) => {
    stderr = (stderr + d.toString()).slice(-4000);
  });
  proc.stdin?.on('error', () => {});
  createInterface({ input: proc.stdout! }).on('line', (line) => {
    lines.push(line);
    for (const w of [...waiters]) {
      if (w.until(line)) {
        waiters.splice(waiters.indexOf(w), 1);
        w.resolve();
      }
    }
  });
  const exited = new Promise<number | null>((resolve) =>
    proc.once('exit', (code) => {
      unhook();
      for (const w of waiters.splice(0)) w.resolve();
      resolve(code);
    }),
  );
  return {
    proc,
    lines,
    exited,
    waitFor: (until) =>
      lines.some(until) || proc.exitCode !== null
        ? Promise.resolve()
        : new Promise((resolve) => waiters.push({ until, resolve })),
    send: (line) => {
      proc.stdin?.write(`${line}\n`);
    },
    async stop(ms = 3000) {
      proc.stdin?.end();
      const timer = setTimeout(() => proc.kill('SIGKILL'), ms);
      const code = await exited;
      clearTimeout(timer);
      return code;
    },
    stderr: () => stderr,
  };
}

/** `p`, or a rejection naming `what` after `ms`. */
export async function within<T>(p: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const limit = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`${what}: not within ${ms} ms`)), ms);
  });
  try {
    return await Promise.race([p, limit]);
  } finally {
    clearTimeout(timer);
  }
}
