/**
 * `tls-sessions/sqlite`: a {@link SessionStore} in one SQLite file, shared by the processes of
 * one machine. Runs on Node's built-in `node:sqlite` where it loads without a warning (Node
 * 24.15+, 26), else on the optional peer dependency `better-sqlite3` (see sqlite-driver.ts).
 */
import { closeSync, existsSync, openSync } from 'node:fs';
import type { SessionStore } from './session-store.js';
import {
  autoSqliteDriver,
  immediate,
  openSqlite,
  type SqliteConnection,
  type SqliteDriver,
  type SqliteStatement,
  sqliteErrorName,
} from './sqlite-driver.js';
import { messageOf, SessionStoreError } from './store-error.js';
import { STORE_TRAITS, type StoreTraits } from './store-traits.js';
import { bufferView } from '../util/bytes.js';
import { OptionChecks } from '../util/options.js';

export type { SessionStore } from './session-store.js';
export type { SqliteDriver } from './sqlite-driver.js';
export { SessionStoreError, type SessionStoreErrorCode } from './store-error.js';

/** Options of {@link SqliteStore}. */
export interface SqliteStoreOptions {
  /** Database file; created (mode `fileMode`) when missing. `':memory:'` gives a private store. */
  path: string;
  /** Table name (letters, digits, `_`); stacks go in `<table>_stacks`. Default `tls_sessions`. */
  table?: string;
  /**
   * Longest wait, in milliseconds, for another process's write lock. Queries run on the calling
   * thread, so this bounds how long one call can hold the event loop. Default 100.
   */
  busyTimeoutMs?: number;
  /**
   * `normal` (default): a commit survives the process being killed at any point, the last
   * commits may be lost on power loss. `full`: fsync on every commit, also survives power loss.
   */
  synchronous?: 'normal' | 'full';
  /** How often expired rows are deleted, in milliseconds; 0 turns it off. Default 60000. */
  purgeIntervalMs?: number;
  /** Permissions of a new database file: sessions hold secrets. Default `0o600`. */
  fileMode?: number;
  /** Clock in milliseconds, for tests. Default `Date.now`. */
  now?: () => number;
  /**
   * The SQLite binding. `auto` (default): Node's built-in `node:sqlite` where it loads without
   * an ExperimentalWarning (Node 24.15+, 25.7+, 26+), `better-sqlite3` elsewhere. Naming one
   * forces it; `node:sqlite` on Node 22 prints Node's ExperimentalWarning once.
   */
  driver?: 'auto' | SqliteDriver;
}

type Statement = SqliteStatement;

interface Row {
  value: Uint8Array;
  expires_at: number;
}

const check = new OptionChecks('SqliteStore', (message) => new SessionStoreError('ERR_STORE_OPTION', message));
const DRIVERS: ReadonlyArray<SqliteStoreOptions['driver']> = ['auto', 'node:sqlite', 'better-sqlite3', undefined];

const TABLE = /^[A-Za-z_][A-Za-z0-9_]{0,62}$/;
// Expired rows deleted per table and purge: keeps each purge short.
const PURGE_BATCH = 1000;
// Schema set-up waits longer than a handshake-time query for other processes opening the file.
const OPEN_BUSY_TIMEOUT_MS = 5000;

/**
 * A {@link SessionStore} in one SQLite file in WAL mode: several processes of one machine can
 * use the same file at once, `take` and `pop` are single atomic statements (a single-use
 * session goes to exactly one caller across processes), each write is one transaction (a
 * process killed mid-write leaves the last committed state), and expired rows are purged on a
 * timer that does not keep the process alive.
 *
 * Queries are synchronous (`node:sqlite` or better-sqlite3, see {@link SqliteStore.driver}) and
 * run in microseconds; the busy timeout bounds the wait for another process's lock. Errors
 * reject with a {@link SessionStoreError}.
 */
export class SqliteStore implements SessionStore {
  /** Entries live in a file. */
  readonly [STORE_TRAITS]: StoreTraits = { persistent: true, sealed: false };
  /** The SQLite binding this store runs on: `'node:sqlite'` or `'better-sqlite3'`. */
  readonly driver: SqliteDriver;
  readonly #db: SqliteConnection;
  readonly #now: () => number;
  readonly #q: Record<
    | 'get'
    | 'set'
    | 'del'
    | 'take'
    | 'delStack'
    | 'push'
    | 'trim'
    | 'pop'
    | 'clear'
    | 'clearStacks'
    | 'purge'
    | 'purgeStacks',
    Statement
  >;
  readonly #pushTx: (key: Uint8Array, value: Uint8Array, expiresAt: number, now: number, max: number) => void;
  readonly #deleteTx: (key: Uint8Array) => boolean;
  #timer: NodeJS.Timeout | undefined;
  #closed = false;

  constructor(options: SqliteStoreOptions) {
    if (options === null || typeof options !== 'object') throw check.fail('options with a path are required');
    const table = check.string(options.table, 'table', 'tls_sessions');
    if (!TABLE.test(table)) throw check.fail('table must be letters, digits and _');
    if (typeof options.path !== 'string' || options.path === '') throw check.fail('path is required');
    const busy = check.msOrZero(options.busyTimeoutMs, 'busyTimeoutMs', 100);
    const purgeEvery = check.msOrZero(options.purgeIntervalMs, 'purgeIntervalMs', 60_000);
    if (options.synchronous !== undefined && options.synchronous !== 'normal' && options.synchronous !== 'full') {
      throw check.fail("synchronous must be 'normal' or 'full'");
    }
    check.integer(options.fileMode, 'fileMode', 0o600, 0, 0o777);
    if (!DRIVERS.includes(options.driver)) throw check.fail("driver must be 'auto', 'node:sqlite' or 'better-sqlite3'");
    this.#now = check.func(options.now, 'now') ?? Date.now;
    this.driver = options.driver === undefined || options.driver === 'auto' ? autoSqliteDriver() : options.driver;
    const driver = this.driver;
    this.#db = wrap(() => open(driver, options.path, options.fileMode ?? 0o600));
    try {
      wrap(() => {
        this.#db.exec('PRAGMA journal_mode = WAL');
        this.#db.exec(`PRAGMA synchronous = ${options.synchronous === 'full' ? 'FULL' : 'NORMAL'}`);
        this.#db.exec(schema(table));
      });
      this.#db.exec(`PRAGMA busy_timeout = ${Math.floor(busy)}`);
      const s = `${table}_stacks`;
      const p = (sql: string): Statement => this.#db.prepare(sql);
      this.#q = {
        get: p(`SELECT value FROM ${table} WHERE key = ? AND expires_at > ?`),
        set: p(`INSERT OR REPLACE INTO ${table} (key, value, expires_at) VALUES (?, ?, ?)`),
        del: p(`DELETE FROM ${table} WHERE key = ?`),
        take: p(`DELETE FROM ${table} WHERE key = ? RETURNING value, expires_at`),
        delStack: p(`DELETE FROM ${s} WHERE key = ?`),
        push: p(`INSERT INTO ${s} (key, value, expires_at) VALUES (?, ?, ?)`),
        trim: p(
          `DELETE FROM ${s} WHERE key = ? AND (expires_at <= ? OR seq NOT IN ` +
            `(SELECT seq FROM ${s} WHERE key = ? ORDER BY seq DESC LIMIT ?))`,
        ),
        // One statement: the write lock is taken before the row is chosen, so two processes
        // popping at once never get the same entry.
        pop: p(
          `DELETE FROM ${s} WHERE seq = (SELECT seq FROM ${s} WHERE key = ? AND expires_at > ? ` +
            'ORDER BY seq DESC LIMIT 1) RETURNING value',
        ),
        clear: p(`DELETE FROM ${table}`),
        clearStacks: p(`DELETE FROM ${s}`),
        purge: p(
          `DELETE FROM ${table} WHERE key IN (SELECT key FROM ${table} WHERE expires_at <= ? LIMIT ${PURGE_BATCH})`,
        ),
        purgeStacks: p(
          `DELETE FROM ${s} WHERE seq IN (SELECT seq FROM ${s} WHERE expires_at <= ? LIMIT ${PURGE_BATCH})`,
        ),
      };
      const q = this.#q;
      const db = this.#db;
      this.#pushTx = (key, value, expiresAt, now, max) =>
        immediate(db, () => {
          q.push.run(key, value, expiresAt);
          q.trim.run(key, now, key, max);
        });
      this.#deleteTx = (key) =>
        immediate(db, () => Number(q.del.run(key).changes) + Number(q.delStack.run(key).changes) > 0);
    } catch (err) {
      this.#db.close();
      throw err instanceof SessionStoreError ? err : unavailable(err);
    }
    this.purgeExpired();
    if (purgeEvery > 0) {
      this.#timer = setInterval(() => this.purgeExpired(), purgeEvery);
      this.#timer.unref();
    }
  }

  async get(key: Uint8Array): Promise<Uint8Array | undefined> {
    this.#open();
    return wrap(() => this.#q.get.get(buf(key), this.#now())?.['value'] as Uint8Array | undefined);
  }

  async set(key: Uint8Array, value: Uint8Array, ttlMs: number): Promise<void> {
    this.#open();
    wrap(() => {
      if (ttlMs > 0) this.#q.set.run(buf(key), buf(value), this.#now() + ttlMs);
      else this.#q.del.run(buf(key));
    });
  }

  async take(key: Uint8Array): Promise<Uint8Array | undefined> {
    this.#open();
    const row = wrap(() => this.#q.take.get(buf(key)) as Row | undefined);
    return row !== undefined && row.expires_at > this.#now() ? row.value : undefined;
  }

  async delete(key: Uint8Array): Promise<boolean> {
    this.#open();
    return wrap(() => this.#deleteTx(buf(key)));
  }

  async push(key: Uint8Array, value: Uint8Array, ttlMs: number, max: number): Promise<void> {
    this.#open();
    if (ttlMs <= 0 || max < 1) return;
    const now = this.#now();
    wrap(() => this.#pushTx(buf(key), buf(value), now + ttlMs, now, Math.floor(max)));
  }

  async pop(key: Uint8Array): Promise<Uint8Array | undefined> {
    this.#open();
    return wrap(() => this.#q.pop.get(buf(key), this.#now())?.['value'] as Uint8Array | undefined);
  }

  async clear(): Promise<void> {
    this.#open();
    wrap(() => {
      this.#q.clear.run();
      this.#q.clearStacks.run();
    });
  }

  /**
   * Deletes up to 1000 expired rows of each table now (the timer does this every
   * `purgeIntervalMs`). Returns the number deleted; a busy database is skipped and gives 0.
   */
  purgeExpired(): number {
    if (this.#closed) return 0;
    try {
      const now = this.#now();
      return Number(this.#q.purge.run(now).changes) + Number(this.#q.purgeStacks.run(now).changes);
    } catch {
      return 0; // another process holds the lock: the next purge gets them
    }
  }

  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    clearInterval(this.#timer);
    this.#db.close();
  }

  #open(): void {
    if (this.#closed) throw new SessionStoreError('ERR_STORE_CLOSED', 'SqliteStore: the store is closed');
  }
}

function schema(t: string): string {
  return `
    CREATE TABLE IF NOT EXISTS ${t} (
      key BLOB PRIMARY KEY NOT NULL,
      value BLOB NOT NULL,
      expires_at INTEGER NOT NULL
    ) WITHOUT ROWID;
    CREATE INDEX IF NOT EXISTS ${t}_expiry ON ${t} (expires_at);
    CREATE TABLE IF NOT EXISTS ${t}_stacks (
      seq INTEGER PRIMARY KEY AUTOINCREMENT,
      key BLOB NOT NULL,
      value BLOB NOT NULL,
      expires_at INTEGER NOT NULL
    );
    CREATE INDEX IF NOT EXISTS ${t}_stacks_key ON ${t}_stacks (key, seq);
    CREATE INDEX IF NOT EXISTS ${t}_stacks_expiry ON ${t}_stacks (expires_at);`;
}

function open(driver: SqliteDriver, path: string, mode: number): SqliteConnection {
  // Create the file ourselves so that it (and the -wal and -shm files SQLite derives from it)
  // is not readable by other users.
  if (path !== ':memory:' && !path.startsWith('file:') && !existsSync(path)) {
    closeSync(openSync(path, 'a', mode));
  }
  return openSqlite(driver, path, OPEN_BUSY_TIMEOUT_MS);
}

function buf(b: Uint8Array): Uint8Array {
  // node:sqlite on Node 22 binds an empty array whose ArrayBuffer was ever touched (`.buffer`,
  // or a bind through better-sqlite3) as NULL rather than an empty blob: a fresh one each time.
  return b.byteLength === 0 ? new Uint8Array(0) : bufferView(b);
}

function wrap<T>(fn: () => T): T {
  try {
    return fn();
  } catch (err) {
    throw unavailable(err);
  }
}

function unavailable(err: unknown): SessionStoreError {
  if (err instanceof SessionStoreError) return err;
  const code = sqliteErrorName(err) ?? (err as { code?: unknown } | null)?.code;
  const prefix = typeof code === 'string' ? `${code}: ` : '';
  return new SessionStoreError('ERR_STORE_UNAVAILABLE', `SqliteStore: ${prefix}${messageOf(err)}`);
}
