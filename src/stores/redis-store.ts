/**
 * `tls-sessions/redis`: a {@link SessionStore} in Redis or Redis Cluster, shared by a fleet of
 * processes. Needs the optional peer dependency `ioredis`.
 */
import { createHash } from 'node:crypto';
import type { Cluster, ClusterOptions, Redis, RedisOptions } from 'ioredis';
import { BudgetClock, withBudget } from '../util/budget.js';
import { OptionChecks } from '../util/options.js';
import { loadPeer } from './load-peer.js';
import { sharedReadConnector } from './redis-shared-read.js';
import type { SessionStore } from './session-store.js';
import { messageOf, SessionStoreError } from './store-error.js';
import { STORE_TRAITS, type StoreTraits } from './store-traits.js';
import { bufferView } from '../util/bytes.js';

export type { SessionStore } from './session-store.js';
export { SessionStoreError, type SessionStoreErrorCode } from './store-error.js';

/** A Redis Cluster node to start from. */
export interface RedisNode {
  host: string;
  port: number;
}

/** Options of {@link RedisStore}. Give `url`, `cluster` or `client`. */
export interface RedisStoreOptions {
  /** `redis://[[user]:password@]host[:port][/db]` or `rediss://…`. Default `redis://127.0.0.1:6379`. */
  url?: string;
  /** Nodes of a Redis Cluster to discover it from; the store then speaks cluster. */
  cluster?: readonly RedisNode[];
  /**
   * An ioredis client (`Redis` or `Cluster`) you made and keep: the store does not change its
   * options, does not close it, and only uses it. Give it `enableOfflineQueue: false` and a
   * `commandTimeout`, or a stopped Redis can hold calls until it comes back.
   */
  client?: Redis | Cluster;
  /** Prepended to every Redis key. Default `tls-sessions:`. */
  prefix?: string;
  /** Longest wait for a connection, in milliseconds. Default 1000. */
  connectTimeoutMs?: number;
  /**
   * Longest wait for a reply, in milliseconds: the command then rejects. A call (which a
   * cluster may redirect once or twice) settles within twice this. Default 500.
   */
  commandTimeoutMs?: number;
  /** Longest pause between reconnection attempts, in milliseconds; it never stops trying. Default 500. */
  reconnectMaxDelayMs?: number;
  /** Further ioredis options (password, tls, db, …); this store's own bounds win over them. */
  redisOptions?: RedisOptions;
  /** Told of connection errors (refused, reset, timeouts); they are not logged otherwise. */
  onError?: (err: SessionStoreError) => void;
}

type Client = Redis | Cluster;
type IoRedis = typeof import('ioredis');

const check = new OptionChecks('RedisStore', (message) => new SessionStoreError('ERR_STORE_OPTION', message));

/** Largest database number a URL may name; the server's `databases` setting bounds it further. */
const MAX_DB = 2 ** 31 - 1;

/** How long close() lets a socket end cleanly before destroying it. */
const DISCONNECT_TIMEOUT_MS = 50;

/** Connection errors that waiting does not cure: a missing or refused password. */
const AUTH_ERROR = /NOAUTH|WRONGPASS|invalid password|invalid username-password|ERR AUTH/i;

interface Script {
  src: string;
  sha: string;
}

function script(src: string): Script {
  return { src, sha: createHash('sha1').update(src).digest('hex') };
}

// Stack entries carry their own expiry, Redis server time in ms as 8 big-endian bytes, so
// that every member of a fleet agrees on it. Integers stay exact in Lua's doubles (< 2^53).
const LUA_TIME = `
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
local function dec(s)
  local n = 0
  for i = 1, 8 do n = n * 256 + string.byte(s, i) end
  return n
end
`;

// KEYS[1] stack; ARGV value, ttl ms, max entries. Newest at the head; expired entries at the
// tail are dropped; the list lives as long as its longest-lived entry.
const PUSH = script(`${LUA_TIME}
local ttl = tonumber(ARGV[2])
local n = now + ttl
local head = ''
for i = 1, 8 do head = string.char(n % 256) .. head; n = math.floor(n / 256) end
redis.call('LPUSH', KEYS[1], head .. ARGV[1])
redis.call('LTRIM', KEYS[1], 0, tonumber(ARGV[3]) - 1)
while true do
  local last = redis.call('LINDEX', KEYS[1], -1)
  if not last or dec(last) > now then break end
  redis.call('RPOP', KEYS[1])
end
if redis.call('PTTL', KEYS[1]) < ttl then redis.call('PEXPIRE', KEYS[1], ttl) end
return 1`);

// KEYS[1] stack: removes entries from the head until an unexpired one, which it returns.
const POP = script(`${LUA_TIME}
while true do
  local v = redis.call('LPOP', KEYS[1])
  if not v then return false end
  if dec(v) > now then return string.sub(v, 9) end
end`);

// For servers older than 6.2, which lack GETDEL.
const GETDEL = script(`local v = redis.call('GET', KEYS[1])
if v then redis.call('DEL', KEYS[1]) end
return v`);

/**
 * A {@link SessionStore} in Redis (6.2 or later) or Redis Cluster. Values are stored as bytes
 * with a per-entry TTL (`PX`); `take` is `GETDEL` and `pop` a Lua script, so a single-use
 * session goes to exactly one member of a fleet. Each call touches one key, so every call is
 * single-slot in a cluster.
 *
 * It never waits for a connection: with no connection a call rejects at once (no offline
 * queue), a sent command rejects after `commandTimeoutMs`, every call settles within twice
 * that whatever the client does, and the client reconnects by itself, at most
 * `reconnectMaxDelayMs` apart. Errors reject with a {@link SessionStoreError} whose
 * message carries no keys or values.
 */
export class RedisStore implements SessionStore {
  /** Entries live in Redis. */
  readonly [STORE_TRAITS]: StoreTraits = { persistent: true, sealed: false };
  readonly #client: Client;
  readonly #owned: boolean;
  readonly #single: Buffer;
  readonly #stack: Buffer;
  readonly #prefix: string;
  readonly #onError: ((err: SessionStoreError) => void) | undefined;
  /**
   * Bounds each call: on a single Redis made here, `commandTimeoutMs` from one timer for all
   * calls (an unref'd one: the connection keeps the process alive while a call waits); on a
   * cluster (redirections, its own retries) or a client made elsewhere, twice that.
   */
  readonly #bound: <T>(pending: Promise<T>) => Promise<T>;
  readonly #listener = (err: unknown): void => this.#onClientError(err);
  #getdel = true;
  #closed = false;
  /** Why the connection was refused for good (a database that cannot be selected). */
  #fatal: SessionStoreError | undefined;
  /** The last connection error, so that a timeout can say what went wrong (NOAUTH, refused, …). */
  #lastError: string | undefined;

  constructor(options: RedisStoreOptions = {}) {
    const o = check.object(options);
    const prefix = check.string(o.prefix, 'prefix', 'tls-sessions:');
    this.#prefix = prefix;
    this.#single = Buffer.from(`${prefix}s:`);
    this.#stack = Buffer.from(`${prefix}l:`);
    this.#onError = check.func(o.onError, 'onError');
    const commandTimeoutMs = check.ms(o.commandTimeoutMs, 'commandTimeoutMs', 500);
    if (o.client !== undefined) {
      if (o.client === null || typeof o.client !== 'object' || typeof o.client.on !== 'function') {
        throw check.fail('client must be an ioredis Redis or Cluster');
      }
      this.#client = o.client;
      this.#owned = false;
    } else {
      const bounds = {
        connectTimeoutMs: check.ms(o.connectTimeoutMs, 'connectTimeoutMs', 1000),
        commandTimeoutMs,
        reconnectMaxDelayMs: check.ms(o.reconnectMaxDelayMs, 'reconnectMaxDelayMs', 500),
      };
      this.#client = connect(loadPeer<IoRedis>('ioredis', 'RedisStore'), o, bounds, () => this.#closed);
      this.#owned = true;
    }
    // A single Redis made here has no offline queue and no retries of in-flight commands; its
    // calls wait for their reply under one BudgetClock rather than ioredis' commandTimeout: a
    // timer per command, whose removal (`delete`) also turns every ioredis Command object into
    // a slow dictionary, on each handshake that asks Redis.
    if (this.#owned && !isCluster(this.#client)) {
      const clock = new BudgetClock(commandTimeoutMs);
      this.#bound = (pending) => clock.run(pending, 'command');
    } else {
      const limitMs = 2 * commandTimeoutMs;
      this.#bound = (pending) => withBudget(pending, limitMs, 'command');
    }
    this.#client.on('error', this.#listener);
    if (this.#owned && isCluster(this.#client)) {
      // Node connections are lazy; with no offline queue, a call that meets one still
      // connecting fails. Connect each as soon as the cluster knows it.
      this.#client.on('+node', (node: Redis) => {
        if (node.status === 'wait') node.connect().catch(() => {});
      });
    }
  }

  /** The client's connection state (`ready` when calls can succeed). */
  get status(): string {
    return this.#client.status;
  }

  /**
   * Resolves once the client is connected and ready (for a cluster: every master too), or
   * rejects with `ERR_STORE_UNAVAILABLE` after `timeoutMs`. Calls made before then fail at once
   * (for a session cache: full handshakes), so await it at start-up when the first
   * handshakes should already resume.
   */
  async ready(timeoutMs = 5000): Promise<void> {
    check.ms(timeoutMs, 'ready: timeoutMs', 5000);
    const deadline = Date.now() + timeoutMs;
    while (!this.#up()) {
      this.#open();
      // A refused password does not get better by waiting: say so at once.
      if (this.#lastError !== undefined && AUTH_ERROR.test(this.#lastError)) {
        throw new SessionStoreError('ERR_STORE_UNAVAILABLE', `RedisStore: ${this.#lastError}`);
      }
      if (Date.now() >= deadline) {
        const why = this.#lastError === undefined ? '' : ` (last error: ${this.#lastError})`;
        throw new SessionStoreError('ERR_STORE_UNAVAILABLE', `RedisStore: not connected within ${timeoutMs} ms${why}`);
      }
      await new Promise((resolve) => setTimeout(resolve, 10));
    }
    this.#open();
  }

  #up(): boolean {
    const c = this.#client;
    if (c.status !== 'ready') return false;
    if (!isCluster(c)) return true;
    const masters = c.nodes('master');
    for (const n of masters) if (n.status === 'wait') n.connect().catch(() => {});
    return masters.length > 0 && masters.every((n) => n.status === 'ready');
  }

  get(key: Uint8Array): Promise<Uint8Array | undefined> {
    const refused = this.#refusal();
    if (refused !== undefined) return Promise.reject(refused);
    return this.#bound(this.#client.getBuffer(this.#key(this.#single, key))).then(storedValue, failed);
  }

  /** One `MGET` on a single Redis; on a cluster (keys in several slots), every `GET` at once. */
  async getMany(keys: readonly Uint8Array[]): Promise<Array<Uint8Array | undefined>> {
    if (keys.length === 0) return [];
    const client = this.#client;
    if (isCluster(client)) return Promise.all(keys.map((k) => this.get(k)));
    const values = await this.#call(() => client.mgetBuffer(...keys.map((k) => this.#key(this.#single, k))));
    return values.map((v) => v ?? undefined);
  }

  async set(key: Uint8Array, value: Uint8Array, ttlMs: number): Promise<void> {
    const k = this.#key(this.#single, key);
    if (ttlMs > 0) await this.#call(() => this.#client.set(k, bufferView(value), 'PX', Math.max(1, Math.ceil(ttlMs))));
    else await this.#call(() => this.#client.del(k));
  }

  take(key: Uint8Array): Promise<Uint8Array | undefined> {
    const refused = this.#refusal();
    if (refused !== undefined) return Promise.reject(refused);
    const k = this.#key(this.#single, key);
    if (!this.#getdel) return this.#takeByScript(k);
    return this.#bound(this.#client.getdelBuffer(k)).then(storedValue, (err: unknown) => {
      if (!/unknown command/i.test(messageOf(err))) throw unavailable(err);
      this.#getdel = false;
      return this.#takeByScript(k);
    });
  }

  /** `take` on servers older than 6.2. */
  async #takeByScript(k: Buffer): Promise<Uint8Array | undefined> {
    return (await this.#eval(GETDEL, k, [])) ?? undefined;
  }

  async delete(key: Uint8Array): Promise<boolean> {
    // Two single-key calls: the two keys may live in different cluster slots.
    const [a, b] = await Promise.all([
      this.#call(() => this.#client.del(this.#key(this.#single, key))),
      this.#call(() => this.#client.del(this.#key(this.#stack, key))),
    ]);
    return a + b > 0;
  }

  async push(key: Uint8Array, value: Uint8Array, ttlMs: number, max: number): Promise<void> {
    if (ttlMs <= 0 || max < 1) {
      this.#open();
      return;
    }
    const ttl = Math.max(1, Math.ceil(ttlMs));
    await this.#eval(PUSH, this.#key(this.#stack, key), [bufferView(value), String(ttl), String(Math.floor(max))]);
  }

  async pop(key: Uint8Array): Promise<Uint8Array | undefined> {
    return (await this.#eval(POP, this.#key(this.#stack, key), [])) ?? undefined;
  }

  /** Removes every key under this store's prefix (SCAN, then UNLINK; on each master of a cluster). */
  async clear(): Promise<void> {
    this.#open();
    const pattern = `${globEscape(this.#prefix)}*`;
    const nodes: Redis[] = isCluster(this.#client) ? this.#client.nodes('master') : [this.#client];
    for (const node of nodes) {
      let cursor = '0';
      do {
        const [next, keys] = await this.#call(() => node.scanBuffer(cursor, 'MATCH', pattern, 'COUNT', 1000));
        cursor = next.toString();
        if (keys.length > 0) await this.#call(() => node.pipeline(keys.map((k) => ['unlink', k])).exec());
      } while (cursor !== '0');
    }
  }

  /** Closes the connection (when the store made it); calls reject afterwards. */
  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    const client = this.#client;
    if (!this.#owned) {
      client.off('error', this.#listener);
      return;
    }
    try {
      if (client.status === 'ready') await withBudget(client.quit(), 1000, 'RedisStore: quit');
    } catch {
      // Closing anyway below.
    }
    // A cluster closed while it connects can finish connecting afterwards (ioredis resets its
    // closing flag then): close again whenever it comes up. The retry strategies also stop.
    const again = (): void => client.disconnect();
    client.on('connect', again);
    client.on('ready', again);
    client.disconnect();
    // ioredis may still report the closed socket; keep listening so it is not an unhandled 'error'.
  }

  #key(kind: Buffer, key: Uint8Array): Buffer {
    const k = Buffer.allocUnsafe(kind.length + key.length);
    kind.copy(k, 0);
    k.set(key, kind.length);
    return k;
  }

  async #eval(s: Script, key: Buffer, args: Array<Buffer | string>): Promise<Buffer | null> {
    try {
      return (await this.#call(() => this.#client.callBuffer('EVALSHA', s.sha, 1, key, ...args))) as Buffer | null;
    } catch (err) {
      if (!(err instanceof SessionStoreError) || !err.message.includes('NOSCRIPT')) throw err;
      return (await this.#call(() => this.#client.callBuffer('EVAL', s.src, 1, key, ...args))) as Buffer | null;
    }
  }

  async #call<T>(fn: () => Promise<T>): Promise<T> {
    this.#open();
    try {
      return await this.#bound(fn());
    } catch (err) {
      throw unavailable(err);
    }
  }

  #open(): void {
    const refused = this.#refusal();
    if (refused !== undefined) throw refused;
  }

  /** Why no call can be made (closed, or a database that cannot be selected), if so. */
  #refusal(): SessionStoreError | undefined {
    if (this.#closed) return new SessionStoreError('ERR_STORE_CLOSED', 'RedisStore: the store is closed');
    return this.#fatal;
  }

  #onClientError(err: unknown): void {
    this.#lastError = messageOf(err);
    // ioredis reports a failed SELECT and then goes on in database 0: another database's keys.
    // A store it made stops there instead.
    const command = (err as { command?: { name?: unknown; args?: unknown[] } } | null)?.command;
    if (this.#owned && this.#fatal === undefined && command?.name === 'select' && !AUTH_ERROR.test(this.#lastError)) {
      this.#fatal = new SessionStoreError(
        'ERR_STORE_OPTION',
        `RedisStore: database ${String(command.args?.[0])} cannot be selected: ${messageOf(err)}`,
      );
      this.#client.disconnect();
    }
    this.#reportError(err);
  }

  #reportError(err: unknown): void {
    if (this.#onError === undefined) return;
    try {
      this.#onError(new SessionStoreError('ERR_STORE_UNAVAILABLE', `RedisStore: ${messageOf(err)}`));
    } catch {
      // A throwing callback must not become an unhandled 'error' event.
    }
  }
}

// Why ioredis, also for the connection the store makes itself: with the shared read
// (redis-shared-read.ts) and the store's own call bounds, a TLS 1.2 resumption over RedisStore
// costs the server 1.09 times the instructions of one over MemoryStore (Node 24, callgrind, 2000
// handshakes counted after 15 000, once V8 has optimised what a handshake runs:
// bench/results/latest.md), inside the 1/0.85 bound: about 55 000 instructions per command, a
// socket write and read, ioredis' Command object and a few promises. A leaner client of our own for the `url` form would have to bring back, and
// keep in step with ioredis for `cluster` and `client`, everything the tests hold: AUTH and
// ACL users, SELECT and its failure, `rediss://` and every `redisOptions` field, the ready
// check, reconnection with back-off, no offline queue and no resent commands, error messages
// and codes, `status`, QUIT on close. Not worth it for what is left.
function connect(
  io: IoRedis,
  options: RedisStoreOptions,
  limits: { connectTimeoutMs: number; commandTimeoutMs: number; reconnectMaxDelayMs: number },
  closed: () => boolean,
): Client {
  const connectTimeout = limits.connectTimeoutMs;
  const commandTimeout = limits.commandTimeoutMs;
  const maxDelay = limits.reconnectMaxDelayMs;
  const redisOptions = check.object(options.redisOptions, 'redisOptions');
  if (redisOptions.db !== undefined) check.integer(redisOptions.db, 'redisOptions.db', 0, 0, MAX_DB);
  // Never gives up while the store is open; gives up (null) once it is closed.
  const retry = (times: number): number | null => (closed() ? null : Math.min(maxDelay, 25 * 2 ** Math.min(times, 10)));
  const bounds = {
    connectTimeout,
    // In-flight commands fail at once when the connection drops, and are not sent again after
    // a reconnect (a resent GETDEL would consume a session nobody receives).
    maxRetriesPerRequest: 0,
    autoResendUnfulfilledCommands: false,
    lazyConnect: false,
    // ioredis waits this long for a closed socket's 'close' event, which a socket that already
    // closed (refused, reset, after QUIT) never sends again: its 2 s default kept every
    // process 2 s past close().
    disconnectTimeout: DISCONNECT_TIMEOUT_MS,
    // RESP2 whichever ioredis is installed: ioredis 6 defaults to RESP3 (HELLO 3 first, which
    // changes what a refused password reports); a session store reads nothing RESP3 adds.
    protocol: 2 as const,
  };
  if (options.cluster !== undefined) {
    if (!Array.isArray(options.cluster) || options.cluster.length === 0)
      throw check.fail('cluster needs at least one node');
    const clusterOptions: ClusterOptions = {
      enableOfflineQueue: false,
      // The ready check goes to any node, often one still connecting, and fails then (no
      // offline queue): the cluster is ready once it has the slot map.
      enableReadyCheck: false,
      clusterRetryStrategy: retry,
      slotsRefreshTimeout: connectTimeout,
      retryDelayOnFailover: 50,
      retryDelayOnClusterDown: 50,
      maxRedirections: 4,
      // Node connections are made on demand and queue while they connect (ioredis decides
      // that); commandTimeout bounds how long anything waits there.
      redisOptions: { ...redisOptions, ...bounds, commandTimeout },
    };
    return new io.Cluster(
      options.cluster.map((n) => ({ host: n.host, port: n.port })),
      clusterOptions,
    );
  }
  const url = options.url ?? 'redis://127.0.0.1:6379';
  const db = databaseOf(url);
  // Reads into a shared buffer (redis-shared-read.ts says why), unless the options choose how
  // to connect (their own Connector, or Sentinel).
  const ownConnector = redisOptions.Connector === undefined && redisOptions.sentinels === undefined;
  return new io.Redis(url, {
    ...(ownConnector ? { Connector: sharedReadConnector(io) } : {}),
    ...redisOptions,
    ...(db === undefined ? {} : { db }),
    ...bounds,
    // The store bounds each call itself (see the constructor); none of ioredis' timers per command.
    commandTimeout: undefined,
    retryStrategy: retry,
    enableOfflineQueue: false,
  });
}

/**
 * The database a URL names (its path), checked here: ioredis reads `/abc` as database NaN and
 * then throws from inside its event handler, and takes `/3x` for 3. Never echoes the URL,
 * which may hold a password.
 */
function databaseOf(url: unknown): number | undefined {
  if (typeof url !== 'string') throw check.fail('url must be a string');
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch {
    throw check.fail('url is not a URL; expected redis://[[user]:password@]host[:port][/db]');
  }
  if (parsed.protocol !== 'redis:' && parsed.protocol !== 'rediss:') {
    throw check.fail(`url must start with redis:// or rediss:// (got ${parsed.protocol}//)`);
  }
  const path = parsed.pathname;
  if (path === '' || path === '/') return undefined;
  const m = /^\/(\d{1,10})$/.exec(path);
  if (m === null || Number(m[1]) > MAX_DB) {
    const shown = path.length > 24 ? `${path.slice(0, 24)}…` : path;
    throw check.fail(`the database in url must be a number from 0 to ${MAX_DB} (got '${shown}')`);
  }
  return Number(m[1]);
}

/** A reply as a store value: Redis's nil is `undefined`. */
function storedValue(reply: Buffer | null): Uint8Array | undefined {
  return reply ?? undefined;
}

/** A failed command as the store's error: the Redis message only, never the arguments ioredis attaches. */
function unavailable(err: unknown): SessionStoreError {
  return new SessionStoreError('ERR_STORE_UNAVAILABLE', `RedisStore: ${messageOf(err)}`);
}

/** Rejection handler of a command: rethrows as {@link unavailable}. */
function failed(err: unknown): never {
  throw unavailable(err);
}

function isCluster(c: Client): c is Cluster {
  return 'nodes' in c && typeof c.nodes === 'function' && 'isCluster' in c && c.isCluster === true;
}

function globEscape(s: string): string {
  return s.replace(/[*?[\]\\]/g, '\\$&');
}
