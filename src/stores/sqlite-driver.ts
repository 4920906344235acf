/**
 * The SQLite binding under {@link SqliteStore}: Node's built-in `node:sqlite` or the
 * `better-sqlite3` package, behind the few calls the store makes (exec, prepare, run, get,
 * close), with SQLite's error names whichever binding raised them.
 *
 * `auto` takes `node:sqlite` where it loads without an ExperimentalWarning (Node 24.15+, 25.7+,
 * 26+, where it is a release candidate): no native addon to build or rebuild for each Node line.
 * Elsewhere (Node 20, 22, early 24) it takes `better-sqlite3`, and never loads `node:sqlite`, so
 * that the user's stderr gets no warning. Both open the same file format with the same SQL, so
 * a file written through one is read through the other.
 */
import { createRequire, isBuiltin } from 'node:module';
import { loadPeer } from './load-peer.js';
import { SessionStoreError } from './store-error.js';

const require = createRequire(import.meta.url);

/** A SQLite binding: `node:sqlite` (built into Node) or the `better-sqlite3` package. */
export type SqliteDriver = 'node:sqlite' | 'better-sqlite3';

/** A value bound to or read from a statement. */
export type SqlValue = Uint8Array | number | bigint | string | null;

/** A prepared statement; both bindings have this shape. */
export interface SqliteStatement {
  run(...params: SqlValue[]): { changes: number | bigint };
  get(...params: SqlValue[]): Record<string, unknown> | undefined;
}

/** An open database; both bindings have this shape. */
export interface SqliteConnection {
  exec(sql: string): unknown;
  prepare(sql: string): SqliteStatement;
  close(): unknown;
}

type Ctor = new (path: string, options: Record<string, unknown>) => SqliteConnection;

// The first releases where node:sqlite is a release candidate and loading it prints nothing
// (nodejs/node#61262; measured: 24.22.3 and 26.12.1 silent, 22.23.5 warns).
const SILENT_SINCE: Record<number, number> = { 24: 15, 25: 7 };

/** Whether this Node has `node:sqlite` and loads it without an ExperimentalWarning. */
export function nodeSqliteIsSilent(version: string = process.versions.node): boolean {
  const [major = 0, minor = 0] = version.split('.').map(Number);
  return major >= 26 || (SILENT_SINCE[major] !== undefined && minor >= SILENT_SINCE[major]);
}

/** The binding `auto` stands for on this Node line. */
export function autoSqliteDriver(): SqliteDriver {
  return nodeSqliteIsSilent() ? 'node:sqlite' : 'better-sqlite3';
}

/**
 * Opens `path` through `driver`, with `busyTimeoutMs` as SQLite's busy timeout. Throws
 * `ERR_STORE_DEPENDENCY` when the binding is missing or cannot run on this Node line.
 */
export function openSqlite(
  driver: SqliteDriver,
  path: string,
  busyTimeoutMs: number,
  readOnly = false,
): SqliteConnection {
  const timeout = Math.floor(busyTimeoutMs);
  if (driver === 'node:sqlite') {
    const { DatabaseSync } = loadNodeSqlite();
    const db = new DatabaseSync(path, { readOnly });
    // A pragma rather than the constructor's option, which Node 22 before 22.16 lacks.
    db.exec(`PRAGMA busy_timeout = ${timeout}`);
    return db;
  }
  const Database = loadBetterSqlite3();
  return new Database(path, { readonly: readOnly, timeout });
}

/** Runs `fn` in a `BEGIN IMMEDIATE` transaction: the write lock first, then `fn`, then commit. */
export function immediate<T>(db: SqliteConnection, fn: () => T): T {
  db.exec('BEGIN IMMEDIATE');
  try {
    const result = fn();
    db.exec('COMMIT');
    return result;
  } catch (err) {
    try {
      db.exec('ROLLBACK');
    } catch {
      // SQLite already rolled back (a failed COMMIT under some errors does)
    }
    throw err;
  }
}

/**
 * SQLite's name for the error (`SQLITE_BUSY`, `SQLITE_CANTOPEN`...), or undefined when it is
 * not SQLite's. better-sqlite3 gives it as `code`; node:sqlite gives the number as `errcode`.
 */
export function sqliteErrorName(err: unknown): string | undefined {
  const e = err as { code?: unknown; errcode?: unknown } | null;
  if (typeof e?.code === 'string' && e.code.startsWith('SQLITE_')) return e.code;
  if (typeof e?.errcode === 'number') return PRIMARY_CODES[e.errcode & 0xff] ?? `SQLITE_ERROR_${e.errcode}`;
  return undefined;
}

// sqlite3.h's primary result codes, in order from 1.
const PRIMARY_CODES = [
  'SQLITE_OK',
  ...'ERROR INTERNAL PERM ABORT BUSY LOCKED NOMEM READONLY INTERRUPT IOERR CORRUPT NOTFOUND FULL CANTOPEN PROTOCOL EMPTY SCHEMA TOOBIG CONSTRAINT MISMATCH MISUSE NOLFS AUTH FORMAT RANGE NOTADB NOTICE WARNING'
    .split(' ')
    .map((name) => `SQLITE_${name}`),
];

function loadNodeSqlite(): { DatabaseSync: Ctor } {
  try {
    return require('node:sqlite') as { DatabaseSync: Ctor };
  } catch {
    throw new SessionStoreError(
      'ERR_STORE_DEPENDENCY',
      `SqliteStore: Node ${process.versions.node} has no node:sqlite (Node 22.13 or later has it)`,
    );
  }
}

function loadBetterSqlite3(): Ctor {
  let version: string | undefined;
  try {
    version = (require('better-sqlite3/package.json') as { version?: string }).version;
  } catch {
    // missing: loadPeer below says how to install it
  }
  // better-sqlite3 13 loads on Node 20 and then crashes the process on the first open.
  if (Number(version?.split('.')[0]) >= 13 && Number(process.versions.node.split('.')[0]) < 22) {
    throw new SessionStoreError(
      'ERR_STORE_DEPENDENCY',
      `SqliteStore: better-sqlite3 ${version} needs Node 22 or later; on Node ${process.versions.node}: npm install better-sqlite3@12`,
    );
  }
  try {
    return loadPeer<Ctor>('better-sqlite3', 'SqliteStore');
  } catch (err) {
    // Node 22.13+ has node:sqlite, with a warning: say it can be chosen rather than installing.
    if (!(err instanceof SessionStoreError) || !isBuiltin('node:sqlite')) throw err;
    throw new SessionStoreError(
      err.code,
      `${err.message} (or pass driver: 'node:sqlite', experimental on Node ${process.versions.node})`,
    );
  }
}
