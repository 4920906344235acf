import { SqliteStore } from '../../src/stores/sqlite-store.js';

/**
 * Why SqliteStore cannot run in this process (better-sqlite3 missing, or built for another
 * Node ABI), or undefined when it can: a benchmark then skips it and says why.
 */
export async function sqliteSkipReason(): Promise<string | undefined> {
  try {
    await new SqliteStore({ path: ':memory:' }).close();
    return undefined;
  } catch (err) {
    const message = err instanceof Error ? err.message : String(err);
    return `better-sqlite3 does not load on Node ${process.version}: ${message.split('\n')[0]!.slice(0, 120)}`;
  }
}
