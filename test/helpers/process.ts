/**
 * One shape for every peer process a test starts (openssl s_server, nginx, redis-server, Node
 * fixtures): spawned without a shell, its output kept for failure messages, ready only once a
 * bounded check passes, and stopped one way, with a SIGKILL registered in the exit hooks in case
 * a test never stops it.
 *
 * ```ts
 * const peer = await launchPeer({
 *   name: 'nginx',
 *   command: bin,
 *   args: ['-p', dir, '-c', conf],
 *   ready: () => canConnect(port),      // polled until true, at most readyTimeoutMs
 * });
 * t.after(() => peer.stop());           // SIGTERM, SIGKILL after graceMs; resolves once exited
 * ```
 *
 * Stopping: `stopWith: 'SIGTERM'` (default) sends SIGCONT (a paused process cannot act on
 * SIGTERM) and SIGTERM; `stopWith: 'stdin'` closes stdin, for fixtures that exit when their
 * input ends. Either way SIGKILL follows after `graceMs`. A failed start stops the process and
 * rejects with its name, why, and the tail of what it printed.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { connect } from 'node:net';
import { basename } from 'node:path';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { onProcessExit } from './exit-hooks.js';
import { waitFor } from './wait.js';

/** Options of {@link launchPeer} and {@link spawnPeer}. */
export interface PeerOptions {
  /** Name in failure messages, e.g. 'openssl s_server'. */
  name: string;
  /** Program to run (no shell). */
  command?: string;
  args?: readonly string[];
  /** Spawns the process instead of `command`/`args` (the kit's openssl tracking uses it). */
  spawn?: () => ChildProcess;
  /** Merged over `process.env`. */
  env?: NodeJS.ProcessEnv;
  cwd?: string;
  /** stdin: a pipe (default) or none, as for a program that must see no input. */
  stdin?: 'pipe' | 'ignore';
  /** Where stderr goes: kept with the output (default) or passed through to the test's own. */
  stderr?: 'pipe' | 'inherit';
  /** How {@link Peer.stop} asks the process to end. Default 'SIGTERM'. */
  stopWith?: 'SIGTERM' | 'stdin';
  /** How long stop() waits before SIGKILL. Default 2000 ms. */
  graceMs?: number;
  /** Characters of output kept (the newest). Default 1 MiB. */
  keepOutput?: number;
}

/** Options of {@link launchPeer}: a {@link PeerOptions} with a readiness check. */
export interface LaunchOptions extends PeerOptions {
  /** Polled until it returns true (see waitFor); the process exiting first fails the start. */
  ready: (peer: Peer) => boolean | Promise<boolean>;
  /** Bound on readiness. Default 5000 ms. */
  readyTimeoutMs?: number;
  /** Pause between readiness checks. Default 10 ms. */
  readyIntervalMs?: number;
}

/** A running (or exited) peer process. */
export interface Peer {
  readonly name: string;
  readonly process: ChildProcess;
  /** Every complete stdout line so far, in order. */
  readonly lines: readonly string[];
  /** Whether the process has not exited yet. */
  readonly running: boolean;
  /** Settles with the exit code (null after a signal) once the process has exited. */
  readonly exited: Promise<number | null>;
  /** stdout and stderr as they came, interleaved. */
  output(): string;
  /** stdout alone. */
  stdout(): string;
  /** stderr alone. */
  stderr(): string;
  /** The last `n` non-empty lines of output joined with ' | ', for failure messages. */
  tail(n?: number): string;
  /** Writes one line to stdin. */
  send(line: string): void;
  /**
   * Resolves with the first stdout line from index `from` on that satisfies `match`; rejects
   * naming `what` when the process exits first or after `timeoutMs` (default 10 s).
   */
  line(match: (line: string) => boolean, opts: { what: string; timeoutMs?: number; from?: number }): Promise<string>;
  /** Ends the process (see the module doc) and resolves with its exit code. Safe to call twice. */
  stop(): Promise<number | null>;
  /** SIGKILL now; resolves once exited. */
  kill(): Promise<number | null>;
  /** Sends a signal (e.g. SIGSTOP to freeze it, SIGINT to interrupt it). */
  signal(signal: NodeJS.Signals): void;
}

/** Spawns a peer and supervises it (output, exit hook, stop) without waiting for readiness. */
export function spawnPeer(opts: PeerOptions): Peer {
  const child =
    opts.spawn?.() ??
    spawn(opts.command ?? '', opts.args ?? [], {
      stdio: [opts.stdin ?? 'pipe', 'pipe', opts.stderr ?? 'pipe'],
      cwd: opts.cwd,
      env: opts.env === undefined ? process.env : { ...process.env, ...opts.env },
    });
  const keep = opts.keepOutput ?? 1 << 20;
  const graceMs = opts.graceMs ?? 2000;
  let output = '';
  let stdout = '';
  let stderr = '';
  const lines: string[] = [];
  const lineWaiters = new Set<() => void>();
  child.stdout?.setEncoding('utf8');
  child.stderr?.setEncoding('utf8');
  child.stdout?.on('data', (s: string) => {
    output = (output + s).slice(-keep);
    stdout = (stdout + s).slice(-keep);
  });
  child.stderr?.on('data', (s: string) => {
    output = (output + s).slice(-keep);
    stderr = (stderr + s).slice(-keep);
  });
  if (child.stdout) {
    createInterface({ input: child.stdout }).on('line', (l) => {
      lines.push(l);
      for (const w of [...lineWaiters]) w();
    });
  }
  // A peer that exits before reading its input must not crash the test with EPIPE.
  child.stdin?.on('error', () => {});
  const unhook = onProcessExit(() => child.kill('SIGKILL'));
  let running = child.exitCode === null && child.signalCode === null;
  const exited = new Promise<number | null>((resolve) => {
    const done = (code: number | null) => {
      running = false;
      unhook();
      for (const w of [...lineWaiters]) w();
      resolve(code);
    };
    // 'close' rather than 'exit': by then all output has been read.
    child.once('close', (code) => done(code));
    child.once('error', () => done(null));
  });

  const waitExit = async (): Promise<number | null> => {
    const timer = setTimeout(() => child.kill('SIGKILL'), graceMs);
    const code = await exited;
    clearTimeout(timer);
    return code;
  };

  const peer: Peer = {
    name: opts.name,
    process: child,
    lines,
    get running() {
      return running;
    },
    exited,
    output: () => output,
    stdout: () => stdout,
    stderr: () => stderr,
    tail: (n = 3) =>
      output
        .split('\n')
        .map((l) => l.trim())
        .filter((l) => l !== '')
        .slice(-n)
        .join(' | '),
    send(line) {
      child.stdin?.write(`${line}\n`);
    },
    line(match, { what, timeoutMs = 10_000, from = 0 }) {
      return new Promise((resolve, reject) => {
        const check = (): void => {
          const found = lines.slice(from).find(match);
          if (found !== undefined) finish(() => resolve(found));
          else if (!running) finish(() => reject(new Error(`${opts.name}: ${what}: exited first; ${peer.tail()}`)));
        };
        const timer = setTimeout(
          () => finish(() => reject(new Error(`${opts.name}: ${what}: not within ${timeoutMs} ms; ${peer.tail()}`))),
          timeoutMs,
        );
        const finish = (settle: () => void): void => {
          clearTimeout(timer);
          lineWaiters.delete(check);
          settle();
        };
        lineWaiters.add(check);
        check();
      });
    },
    async stop() {
      if (!running) return exited;
      if (opts.stopWith === 'stdin') child.stdin?.end();
      else {
        child.kill('SIGCONT');
        child.kill('SIGTERM');
      }
      return waitExit();
    },
    async kill() {
      if (running) child.kill('SIGKILL');
      return exited;
    },
    signal(signal) {
      if (running) child.kill(signal);
    },
  };
  return peer;
}

/**
 * Spawns a peer and resolves once `ready` passes; when the process exits first or readiness
 * takes longer than `readyTimeoutMs`, stops it and rejects with its last output.
 */
export async function launchPeer(opts: LaunchOptions): Promise<Peer> {
  const peer = spawnPeer(opts);
  try {
    await waitFor(() => opts.ready(peer), {
      what: `${opts.name} ready`,
      timeoutMs: opts.readyTimeoutMs ?? 5000,
      intervalMs: opts.readyIntervalMs ?? 10,
      giveUp: () => (peer.running ? undefined : 'exited during start-up'),
      detail: () => peer.tail(),
    });
  } catch (error) {
    await peer.stop();
    throw error;
  }
  return peer;
}

/** Whether a TCP connection to `host:port` is accepted (closed at once). */
export function canConnect(port: number, host = '127.0.0.1'): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = connect({ port, host });
    socket.once('connect', () => {
      socket.destroy();
      resolve(true);
    });
    socket.once('error', () => resolve(false));
  });
}

/**
 * Runs a TypeScript fixture as its own process, `node --import tsx <script> ...args`, under
 * this launcher: stdout lines in `lines`, stopped by closing its stdin (SIGKILL after 3 s).
 */
export function spawnNodeFixture(
  script: string | URL,
  args: readonly string[],
  env?: NodeJS.ProcessEnv,
  opts: Partial<PeerOptions> = {},
): Peer {
  const path = typeof script === 'string' ? script : fileURLToPath(script);
  return spawnPeer({
    name: basename(path),
    command: process.execPath,
    args: ['--import', 'tsx', path, ...args],
    env,
    stopWith: 'stdin',
    graceMs: 3000,
    ...opts,
  });
}
