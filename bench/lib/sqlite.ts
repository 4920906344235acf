import { autoSqliteDriver } from '../../src/stores/sqlite-driver.js';
import { SqliteStore } from '../../src/stores/sqlite-store.js';

/**
 * Why SqliteStore cannot run in this process, or undefined when it can: a benchmark then skips
 * it and says why. The store takes `node:sqlite` where it loads silently (Node 24.15+, 26) and
 * `better-sqlite3` elsewhere, which may be missing, too new for this Node line or built for
 * another Node ABI.
 */
export async function sqliteSkipReason(): Promise<string | undefined> {
  const driver = autoSqliteDriver();
  try {
    await new SqliteStore({ path: ':memory:' }).close();
    return undefined;
  } catch (err) {
    const message = err instanceof Error ? err.message : String(err);
    const code = (err as { code?: unknown }).code;
    // The message may name the module's path: paths are left out, the code and reason kept.
    const reason = message.replace(/^SqliteStore: /, '').replace(/\/\S+/g, '(path)');
    return `${driver} does not load on Node ${process.version}: ${typeof code === 'string' ? `${code}, ` : ''}${reason}`;
  }
}
