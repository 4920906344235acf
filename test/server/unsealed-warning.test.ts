import assert from 'node:assert/strict';
import { join } from 'node:path';
import { test } from 'node:test';
import { ServerSessionCache } from '../../src/server/index.js';
import { EncryptedStore } from '../../src/stores/encrypted-store.js';
import { MemoryStore } from '../../src/stores/memory-store.js';
import { SqliteStore } from '../../src/stores/sqlite-store.js';
import { tmpDir } from '../helpers/index.js';

/** Warnings emitted while `fn` runs (process 'warning' events, delivered on the next tick). */
async function warningsDuring(fn: () => void): Promise<Error[]> {
  const seen: Error[] = [];
  const onWarning = (w: Error) => seen.push(w);
  process.on('warning', onWarning);
  try {
    fn();
    await new Promise((resolve) => setImmediate(resolve));
  } finally {
    process.off('warning', onWarning);
  }
  return seen;
}

test('a cache over an unsealed persistent store warns once; sealed or in-memory stores do not', async (t) => {
  const dir = await tmpDir('unsealed-');
  const plain = new SqliteStore({ path: join(dir.path, 'plain.db') });
  const sealed = new EncryptedStore(new SqliteStore({ path: join(dir.path, 'sealed.db') }), {
    key: { id: 'k1', key: Buffer.alloc(32, 7) },
  });
  t.after(async () => {
    await plain.close();
    await sealed.close();
    await dir.cleanup();
  });

  const first = await warningsDuring(() => new ServerSessionCache({ store: plain }));
  const code = (w: Error) => (w as Error & { code?: string }).code;
  assert.deepEqual(first.map(code), ['TLS_SESSIONS_UNSEALED_STORE']);
  assert.doesNotMatch(first[0]!.message, /[0-9a-f]{32}/i, 'no key material in the warning');
  assert.deepEqual(await warningsDuring(() => new ServerSessionCache({ store: plain })), [], 'once per store');
  assert.deepEqual(await warningsDuring(() => new ServerSessionCache({ store: sealed })), []);
  assert.deepEqual(await warningsDuring(() => new ServerSessionCache({ store: new MemoryStore() })), []);
  assert.deepEqual(await warningsDuring(() => new ServerSessionCache()), []);
});
