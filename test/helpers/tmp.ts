/**
 * Fresh temporary directories for tests.
 *
 * ```ts
 * const dir = await tmpDir('sess-');
 * t.after(() => dir.cleanup());
 * const file = join(dir.path, 'a.pem');
 * ```
 *
 * The directory is also removed when the process exits, if `cleanup()` was never called.
 */
import { rmSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { onProcessExit } from './exit-hooks.js';

/** A temporary directory and the way to remove it. */
export interface TmpDir {
  /** Absolute path of the new, empty directory. */
  path: string;
  /** Removes the directory and everything in it. Safe to call twice. */
  cleanup(): Promise<void>;
}

/** Creates an empty directory under `os.tmpdir()` (or `parent`) named `<prefix>XXXXXX`. */
export async function tmpDir(prefix = 'tls-sessions-', parent: string = tmpdir()): Promise<TmpDir> {
  const path = await mkdtemp(join(parent, prefix));
  const unregister = onProcessExit(() => rmSync(path, { recursive: true, force: true }));
  return {
    path,
    async cleanup() {
      unregister();
      await rm(path, { recursive: true, force: true });
    },
  };
}
