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
    // The message names the module's path; its code says enough.
    const code = /ERR_[A-Z_]+/.exec(message.replace('ERR_STORE_UNAVAILABLE', ''))?.[0] ?? 'it fails to load';
    return `better-sqlite3 does not load on Node ${process.version}: ${code}`;
  }
}
