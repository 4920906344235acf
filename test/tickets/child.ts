/**
 * A fleet member in its own process for the ticket key tests, run by the kit's launcher
 * (`spawnNodeFixture`): the test sends it one command per stdin line and reads one JSON line
 * per answer.
 */
import type { ChildProcess } from 'node:child_process';
import { spawnNodeFixture } from '../helpers/process.js';

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
  const peer = spawnNodeFixture(script, args, env);
  // Answers come one line each, in order: the n-th call reads the n-th line.
  let read = 0;
  const next = (ms: number, what: string): Promise<string> => {
    const at = read++;
    return peer.line(() => true, { what, timeoutMs: ms, from: at });
  };
  const member: Member = {
    proc: peer.process,
    async ask<T>(command: string, ms = 10_000): Promise<T> {
      peer.send(command);
      return JSON.parse(await next(ms, command)) as T;
    },
    async stop() {
      await peer.stop();
    },
    stderr: () => peer.stderr(),
  };
  try {
    const ready = JSON.parse(await next(20_000, 'start-up')) as Record<string, unknown>;
    return { member, ready };
  } catch (err) {
    await peer.kill();
    throw err;
  }
}
