import assert from 'node:assert/strict';
import { test } from 'node:test';
import { ServerSessionCache } from '../../src/server/index.js';
import { EncryptedStore } from '../../src/stores/encrypted-store.js';
import { MemoryStore } from '../../src/stores/memory-store.js';
import { StoreDouble } from '../helpers/index.js';
import { warningsDuring } from '../helpers/warnings.js';

/**
 * A store that says it keeps sessions outside the process (as SqliteStore and RedisStore do),
 * without a native module: the warning depends on the traits, not on the backend.
 */
const persistentStore = () => new StoreDouble({ traits: { persistent: true, sealed: false } });

test('a cache over an unsealed persistent store warns once; sealed or in-memory stores do not', async (t) => {
  const plain = persistentStore();
  const sealed = new EncryptedStore(persistentStore(), {
    key: { id: 'k1', key: Buffer.alloc(32, 7) },
  });
  t.after(async () => {
    await plain.close();
    await sealed.close();
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
