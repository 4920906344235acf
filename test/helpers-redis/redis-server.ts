/**
 * Real `redis-server` processes for tests: one server or a three-node cluster, on free loopback
 * ports, no persistence, in a temp dir; stop/start/pause to make faults.
 *
 * ```ts
 * const skip = skipUnlessPeer(redisSkipReason()); // skipped outside CI when missing, fails under CI
 * test('...', { skip }, async (t) => {
 *   const redis = await startRedisServer({ disposeAfter: t }); // disposed after the test
 *   const store = new RedisStore({ url: redis.url });
 *   await redis.stop();   // the store now fails fast
 *   await redis.start();  // same port; the store reconnects by itself
 * });
 *
 * const cluster = await startRedisCluster(); // 3 masters, all 16384 slots, state ok
 * t.after(() => cluster.dispose());
 * new RedisStore({ cluster: cluster.nodes });
 * ```
 *
 * Every server runs under the kit's peer launcher (test/helpers/process.ts): SIGKILLed at process
 * exit if `dispose()` was never called.
 */
import { spawnSync } from 'node:child_process';
import { connect } from 'node:net';
import { join } from 'node:path';
import { requirePeer } from '../helpers/peers.js';
import { freePort } from '../helpers/ports.js';
import { launchPeer, type Peer } from '../helpers/process.js';
import { type TmpDir, tmpDir } from '../helpers/tmp.js';
import { waitFor } from '../helpers/wait.js';

/** Binaries; `REDIS_SERVER_BIN` and `REDIS_CLI_BIN` override them. */
export const REDIS_SERVER_BIN = process.env['REDIS_SERVER_BIN'] ?? 'redis-server';
export const REDIS_CLI_BIN = process.env['REDIS_CLI_BIN'] ?? 'redis-cli';

const HOST = '127.0.0.1';
const START_TIMEOUT_MS = 5000;
const STOP_TIMEOUT_MS = 3000;

let versionCache: [number, number] | null | undefined;

/** `redis-server`'s version as [major, minor], or `null` when it cannot be run. */
export function redisVersion(): [number, number] | null {
  if (versionCache !== undefined) return versionCache;
  const r = spawnSync(REDIS_SERVER_BIN, ['--version'], { encoding: 'utf8', timeout: 5000 });
  const m = /v=(\d+)\.(\d+)/.exec(r.stdout ?? '');
  versionCache = r.status === 0 && m ? [Number(m[1]), Number(m[2])] : null;
  return versionCache;
}

/**
 * Why Redis tests cannot run on this machine, or `undefined` when they can. Tests pass it
 * through `skipUnlessPeer()` (test/helpers/peers.ts) as the `skip` option of `test()`.
 */
export function redisSkipReason(): string | undefined {
  const v = redisVersion();
  if (v === null) return `${named('redis-server', REDIS_SERVER_BIN)} is not installed (.ci/run installs redis-server)`;
  if (v[0] < 6 || (v[0] === 6 && v[1] < 2)) return `redis-server ${v.join('.')} is older than 6.2`;
  return undefined;
}

/** Why a Redis Cluster cannot be started here, or `undefined` when it can. */
export function redisClusterSkipReason(): string | undefined {
  const reason = redisSkipReason();
  if (reason !== undefined) return reason;
  const r = spawnSync(REDIS_CLI_BIN, ['--version'], { encoding: 'utf8', timeout: 5000 });
  if (r.status !== 0) return `${named('redis-cli', REDIS_CLI_BIN)} is not installed (.ci/run installs redis-tools)`;
  return undefined;
}

/** `redis-server`, or `redis-server (/path/set/in/env)`. */
function named(program: string, bin: string): string {
  return bin === program ? program : `${program} (${bin})`;
}

/** One `redis-server` on 127.0.0.1. */
export interface RedisServer {
  readonly host: string;
  readonly port: number;
  /** `redis://127.0.0.1:<port>` */
  readonly url: string;
  /** Whether the process is up (started and not stopped). */
  readonly running: boolean;
  /** Stops the server (SIGTERM, SIGKILL after 3 s) and waits for it to exit. Data is lost. */
  stop(): Promise<void>;
  /** Kills the server at once (SIGKILL) and waits for it to exit. */
  kill(): Promise<void>;
  /** Starts it again on the same port and waits until it answers PING. */
  start(): Promise<void>;
  /** Freezes the process (SIGSTOP): connections stay open, nothing answers. */
  pause(): void;
  /** Thaws a paused process (SIGCONT). */
  resume(): void;
  /** Sends one command and returns the reply as text (errors reject). */
  command(...args: Array<string | Buffer>): Promise<string>;
  /** Sends one command and returns the reply as bytes (binary keys and values). */
  commandBuffer(...args: Array<string | Buffer>): Promise<Buffer>;
  /** Stops the server and removes its directory. Safe to call twice. */
  dispose(): Promise<void>;
}

/** Options of {@link startRedisServer}. */
export interface RedisServerOptions {
  /** Extra `redis-server` arguments, e.g. `['--cluster-enabled', 'yes']`. */
  args?: readonly string[];
  /** Directory for its files; a fresh temp dir (removed by `dispose()`) by default. */
  dir?: string;
  /** Port to use; a free one by default. */
  port?: number;
  /** CPUs to run on (`taskset -c` list, e.g. `'0'`), for benchmarks; all by default. */
  cpus?: string;
  /** A test context: the server is disposed after that test (`t.after(() => redis.dispose())`). */
  disposeAfter?: { after(fn: () => Promise<void>): void };
}

/** Starts `redis-server` on a free loopback port and waits until it answers PING. */
export async function startRedisServer(options: RedisServerOptions = {}): Promise<RedisServer> {
  requirePeer(redisSkipReason());
  const own: TmpDir | undefined = options.dir === undefined ? await tmpDir('redis-') : undefined;
  const dir = options.dir ?? own!.path;
  let lastError: unknown;
  // A free port can be taken between the check and the bind: try a few.
  for (let attempt = 0; attempt < 3; attempt++) {
    const port = options.port ?? (await freePort());
    const server = new Server(port, dir, options.args ?? [], own, options.cpus);
    try {
      await server.start();
      options.disposeAfter?.after(() => server.dispose());
      return server;
    } catch (err) {
      lastError = err;
      await server.kill();
      if (options.port !== undefined) break;
    }
  }
  await own?.cleanup();
  throw lastError;
}

class Server implements RedisServer {
  readonly host = HOST;
  readonly url: string;
  #peer: Peer | undefined;

  constructor(
    readonly port: number,
    readonly dir: string,
    readonly args: readonly string[],
    readonly own: TmpDir | undefined,
    readonly cpus: string | undefined = undefined,
  ) {
    this.url = `redis://${HOST}:${port}`;
  }

  get running(): boolean {
    return this.#peer?.running ?? false;
  }

  async start(): Promise<void> {
    if (this.running) return;
    const argv = [
      '--port',
      String(this.port),
      '--bind',
      HOST,
      '--save',
      '',
      '--appendonly',
      'no',
      '--dir',
      this.dir,
      '--daemonize',
      'no',
      '--protected-mode',
      'yes',
      ...this.args,
    ];
    const pinned = this.cpus !== undefined;
    this.#peer = await launchPeer({
      name: `redis-server on port ${this.port}`,
      command: pinned ? 'taskset' : REDIS_SERVER_BIN,
      args: pinned ? ['-c', this.cpus!, REDIS_SERVER_BIN, ...argv] : argv,
      graceMs: STOP_TIMEOUT_MS,
      keepOutput: 4000,
      readyTimeoutMs: START_TIMEOUT_MS,
      readyIntervalMs: 20,
      ready: async () => {
        try {
          return (await this.command('PING')) === 'PONG';
        } catch {
          return false; // not listening yet
        }
      },
    });
  }

  async stop(): Promise<void> {
    await this.#peer?.stop();
  }

  async kill(): Promise<void> {
    await this.#peer?.kill();
  }

  pause(): void {
    this.#peer?.signal('SIGSTOP');
  }

  resume(): void {
    this.#peer?.signal('SIGCONT');
  }

  command(...args: Array<string | Buffer>): Promise<string> {
    return redisCommand(this.port, args);
  }

  commandBuffer(...args: Array<string | Buffer>): Promise<Buffer> {
    return redisCommandBuffer(this.port, args);
  }

  async dispose(): Promise<void> {
    await this.stop();
    await this.own?.cleanup();
  }
}

/** A Redis Cluster of local masters with every slot assigned. */
export interface RedisClusterHandle {
  readonly servers: readonly RedisServer[];
  /** Start-up nodes for a cluster client. */
  readonly nodes: ReadonlyArray<{ host: string; port: number }>;
  /** Stops every node and removes their directories. */
  dispose(): Promise<void>;
}

/**
 * Starts `count` (at least 3) cluster-enabled servers, joins them with
 * `redis-cli --cluster create … --cluster-replicas 0`, and waits until every node reports
 * `cluster_state:ok`.
 */
export async function startRedisCluster(count = 3): Promise<RedisClusterHandle> {
  requirePeer(redisClusterSkipReason());
  const dir = await tmpDir('redis-cluster-');
  const servers: RedisServer[] = [];
  const dispose = async (): Promise<void> => {
    await Promise.all(servers.map((s) => s.stop()));
    await dir.cleanup();
  };
  try {
    const v = redisVersion();
    const hasClusterPort = v !== null && v[0] >= 7;
    for (let i = 0; i < count; i++) {
      let port = await freePort();
      // Without --cluster-port the bus listens on port + 10000, which must exist.
      while (!hasClusterPort && port > 55535) port = await freePort();
      const args = [
        '--cluster-enabled',
        'yes',
        '--cluster-config-file',
        join(dir.path, `nodes-${port}.conf`),
        '--cluster-node-timeout',
        '2000',
      ];
      if (hasClusterPort) args.push('--cluster-port', String(await freePort()));
      servers.push(await startRedisServer({ port, dir: dir.path, args }));
    }
    const create = spawnSync(
      REDIS_CLI_BIN,
      ['--cluster', 'create', ...servers.map((s) => `${HOST}:${s.port}`), '--cluster-replicas', '0', '--cluster-yes'],
      { encoding: 'utf8', timeout: 30_000 },
    );
    if (create.status !== 0) {
      const out = `${create.stdout ?? ''}${create.stderr ?? ''}`.trim().split('\n').slice(-3).join(' | ');
      throw new Error(`redis-cli --cluster create failed: ${out}`);
    }
    const deadline = Date.now() + 15_000;
    for (const s of servers) {
      await waitFor(async () => (await s.command('CLUSTER', 'INFO')).includes('cluster_state:ok'), {
        what: `cluster node ${s.port} to reach cluster_state:ok`,
        timeoutMs: Math.max(0, deadline - Date.now()),
        intervalMs: 50,
      });
    }
    return { servers, nodes: servers.map((s) => ({ host: HOST, port: s.port })), dispose };
  } catch (err) {
    await dispose();
    throw err;
  }
}

/**
 * Sends one command to 127.0.0.1:`port` over a fresh connection and resolves with the reply as
 * text: simple strings, integers and bulk strings (arrays are not parsed). A Redis error reply
 * rejects. Bounded by `timeoutMs`.
 */
export async function redisCommand(
  port: number,
  args: ReadonlyArray<string | Buffer>,
  timeoutMs = 2000,
): Promise<string> {
  return (await redisCommandBuffer(port, args, timeoutMs)).toString('utf8');
}

/** {@link redisCommand}, with the reply as bytes. */
export function redisCommandBuffer(
  port: number,
  args: ReadonlyArray<string | Buffer>,
  timeoutMs = 2000,
): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const socket = connect({ host: HOST, port });
    let data = Buffer.alloc(0);
    const finish = (err: Error | null, value?: Buffer): void => {
      clearTimeout(timer);
      socket.destroy();
      if (err) reject(err);
      else resolve(value ?? Buffer.alloc(0));
    };
    const timer = setTimeout(() => finish(new Error(`redis ${port}: no reply within ${timeoutMs} ms`)), timeoutMs);
    socket.once('error', (err) => finish(err));
    socket.once('close', () => finish(new Error(`redis ${port}: connection closed`)));
    socket.on('data', (chunk: Buffer) => {
      data = Buffer.concat([data, chunk]);
      const eol = data.indexOf('\r\n');
      if (eol < 0) return;
      const head = data.toString('latin1', 0, eol);
      const kind = head[0];
      if (kind === '+' || kind === ':') finish(null, data.subarray(1, eol));
      else if (kind === '-') finish(new Error(head.slice(1)));
      else if (kind === '$') {
        const len = Number(head.slice(1));
        if (len < 0) finish(null, Buffer.alloc(0));
        else if (data.length >= eol + 2 + len + 2) finish(null, data.subarray(eol + 2, eol + 2 + len));
      } else finish(new Error(`redis ${port}: unexpected reply '${head.slice(0, 20)}'`));
    });
    const parts: Buffer[] = [Buffer.from(`*${args.length}\r\n`)];
    for (const a of args) {
      const b = typeof a === 'string' ? Buffer.from(a) : a;
      parts.push(Buffer.from(`$${b.length}\r\n`), b, Buffer.from('\r\n'));
    }
    socket.write(Buffer.concat(parts));
  });
}
