/**
 * The optional adapters stay optional: nothing reachable from the root export imports
 * better-sqlite3 or ioredis, and the adapters are reachable through their subpaths.
 */
import assert from 'node:assert/strict';
import { existsSync, readFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { test } from 'node:test';
import { fileURLToPath } from 'node:url';

const root = resolve(dirname(fileURLToPath(import.meta.url)), '../..');

/** Bare module specifiers reachable from `entry` through relative imports (type-only imports left out). */
function reachableBareImports(entry: string): Map<string, string> {
  const seen = new Set<string>();
  const bare = new Map<string, string>();
  const queue = [entry];
  while (queue.length > 0) {
    const file = queue.pop()!;
    if (seen.has(file)) continue;
    seen.add(file);
    const text = readFileSync(file, 'utf8');
    for (const m of text.matchAll(/^\s*(import|export)\s+(type\s+)?[^'";]*?from\s+'([^']+)'/gm)) {
      if (m[2] !== undefined) continue;
      const spec = m[3]!;
      if (spec.startsWith('.')) queue.push(resolve(dirname(file), spec.replace(/\.js$/, '.ts')));
      else bare.set(spec, file);
    }
    for (const m of text.matchAll(/(?:require|loadPeer(?:<[^>]*>)?)\(\s*'([^']+)'/g)) bare.set(m[1]!, file);
  }
  return bare;
}

test('the root export reaches neither better-sqlite3 nor ioredis', () => {
  const bare = reachableBareImports(join(root, 'src/index.ts'));
  for (const peer of ['better-sqlite3', 'ioredis', 'node:sqlite'])
    assert.equal(bare.get(peer), undefined, `${peer} reached via ${bare.get(peer)}`);
  for (const spec of bare.keys()) assert.ok(spec.startsWith('node:'), `the root export imports ${spec}`);
});

test('the adapters load their peer through the subpath modules only', () => {
  assert.ok(reachableBareImports(join(root, 'src/stores/sqlite-store.ts')).has('better-sqlite3'));
  assert.ok(reachableBareImports(join(root, 'src/stores/redis-store.ts')).has('ioredis'));
});

test('package.json maps tls-sessions/sqlite and tls-sessions/redis to the built adapters', async (t) => {
  const pkg = JSON.parse(readFileSync(join(root, 'package.json'), 'utf8')) as {
    exports: Record<string, { import: string; types: string }>;
    peerDependenciesMeta: Record<string, { optional: boolean }>;
  };
  for (const [sub, name] of [
    ['./sqlite', 'SqliteStore'],
    ['./redis', 'RedisStore'],
  ] as const) {
    const entry = pkg.exports[sub];
    assert.ok(entry, `exports has ${sub}`);
    assert.equal(entry.import, `./dist/stores/${sub.slice(2)}-store.js`);
    assert.equal(entry.types, `./dist/stores/${sub.slice(2)}-store.d.ts`);
    if (!existsSync(join(root, entry.import))) {
      t.diagnostic(`${entry.import} not built yet: import not checked`);
      continue;
    }
    const mod = (await import(`tls-sessions/${sub.slice(2)}`)) as Record<string, unknown>;
    assert.equal(typeof mod[name], 'function');
  }
  assert.equal(pkg.peerDependenciesMeta['better-sqlite3']?.optional, true);
  assert.equal(pkg.peerDependenciesMeta['ioredis']?.optional, true);
  const rootMod = (await import('../../src/index.js')) as Record<string, unknown>;
  assert.equal(typeof rootMod['EncryptedStore'], 'function');
  assert.equal(rootMod['SqliteStore'], undefined);
  assert.equal(rootMod['RedisStore'], undefined);
});

test('a missing peer dependency is a one-line ERR_STORE_DEPENDENCY naming the package to install', async () => {
  const { loadPeer } = await import('../../src/stores/load-peer.js');
  assert.throws(() => loadPeer('tls-sessions-absent-peer', 'SqliteStore'), {
    code: 'ERR_STORE_DEPENDENCY',
    message: "SqliteStore needs the 'tls-sessions-absent-peer' package: npm install tls-sessions-absent-peer",
  });
});
