/**
 * A fleet member in its own process for the ticket key tests: `node --import tsx` runs the
 * fixture; the test sends it one command per stdin line and reads one JSON line per answer.
 * Killed at process exit if a test forgot to stop it.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { createInterface } from 'node:readline';
import { onProcessExit } from '../helpers/exit-hooks.js';

export interface Member {
  proc: ChildProcess;
  /** Sends `command` and resolves with the next JSON line (bounded by `ms`). */
  ask<T = Record<string, unknown>>(command: string, ms?: number): Promise<T>;
  /** Closes stdin, waits for exit, SIGKILL after 3 s. */
  stop(): Promise<void>;
  stderr(): string;
}

/** Starts the fixture and resolves with its first JSON line (its start-up report). */
export async function startMember(
  script: URL,
  args: readonly string[],
  env: NodeJS.ProcessEnv,
): Promise<{ member: Member; ready: Record<string, unknown> }> {
  const proc = spawn(process.execPath, ['--import', 'tsx', script.pathname, ...args], {
    stdio: ['pipe', 'pipe', 'pipe'],
    env: { ...process.env, ...env },
  });
  const unhook = onProcessExit(() => proc.kill('SIGKILL'));
  let stderr = '';
  proc.stderr?.on('data', (d: Buffer) => {
    stderr = (stderr + d.toString()).slice(-4000);
  });
  proc.stdin?.on('error', () => {});
  const waiting: Array<(line: string | undefined) => void> = [];
  const queued: string[] = [];
  createInterface({ input: proc.stdout! }).on('line', (line) => {
    const w = waiting.shift();
    if (w) w(line);
    else queued.push(line);
  });
  const exited = new Promise<void>((resolve) =>
    proc.once('exit', () => {
      unhook();
      for (const w of waiting.splice(0)) w(undefined);
      resolve();
    }),
  );
  const next = (ms: number, what: string): Promise<string> =>
    new Promise((resolve, reject) => {
      const q = queued.shift();
      if (q !== undefined) {
        resolve(q);
        return;
      }
      const timer = setTimeout(
        () => reject(new Error(`${what}: no answer within ${ms} ms; stderr: ${stderr.trim()}`)),
        ms,
      );
      waiting.push((line) => {
        clearTimeout(timer);
        if (line === undefined) reject(new Error(`${what}: the member exited; stderr: ${stderr.trim()}`));
        else resolve(line);
      });
    });
  const member: Member = {
    proc,
    async ask<T>(command: string, ms = 10_000): Promise<T> {
      proc.stdin?.write(`${command}\n`);
      return JSON.parse(await next(ms, command)) as T;
    },
    async stop() {
      proc.stdin?.end();
      const timer = setTimeout(() => proc.kill('SIGKILL'), 3000);
      await exited;
      clearTimeout(timer);
    },
    stderr: () => stderr,
  };
  try {
    const ready = JSON.parse(await next(20_000, 'start-up')) as Record<string, unknown>;
    return { member, ready };
  } catch (err) {
    proc.kill('SIGKILL');
    throw err;
  }
}
