/**
 * The ```ts examples of docs/stores.md run, and print what their comments say: against a local
 * TLS server, a redis-server and a Redis Cluster started here. `tls-sessions` and its subpaths
 * resolve to the sources; the examples read REDIS_URL, REDIS_CLUSTER_NODES and TLS_SESSION_KEY
 * from the environment, as a deployment would.
 */
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { copyFile, mkdir, readFile, rm, writeFile } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { test } from 'node:test';
import { promisify } from 'node:util';
import { codeBlocks, sharedPki, skipUnlessPeer, startNodeServer, tmpDir } from '../helpers/index.js';
import { redisClusterSkipReason, startRedisCluster, startRedisServer } from '../helpers-redis/redis-server.js';

const run = promisify(execFile);
const ROOT = resolve(import.meta.dirname, '../..');

test('every example of docs/stores.md runs and prints what its comments say', {
  skip: skipUnlessPeer(redisClusterSkipReason()),
  timeout: 90_000,
}, async (t) => {
  const pki = await sharedPki();
  const dir = await tmpDir('docs-stores-');
  t.after(() => dir.cleanup());
  await copyFile(pki.server.keyPath, join(dir.path, 'key.pem'));
  await copyFile(pki.server.certPath, join(dir.path, 'cert.pem'));
  await copyFile(pki.ca.certPath, join(dir.path, 'ca.pem'));
  const tlsServer = await startNodeServer({ cert: pki.server });
  t.after(() => tlsServer.close());
  const redis = await startRedisServer({ disposeAfter: t });
  const cluster = await startRedisCluster();
  t.after(() => cluster.dispose());
  const env = {
    ...process.env,
    REDIS_URL: redis.url,
    REDIS_CLUSTER_NODES: cluster.nodes.map((n) => `${n.host}:${n.port}`).join(','),
    TLS_SESSION_KEY: randomBytes(32).toString('hex'),
  };

  const blocks = codeBlocks(await readFile(join(ROOT, 'docs', 'stores.md'), 'utf8'), 'ts');
  const runs: Array<{ times: number; expect: RegExp[] }> = [
    // SqliteStore: run twice, as a CLI tool would be; the second process resumes.
    { times: 2, expect: [/^resumed: false\n$/, /^resumed: true\n$/] },
    { times: 1, expect: [/^member on port \d+: resumed false\nmember on port \d+: resumed true\nhits 0 \+ 1\n$/] },
    { times: 1, expect: [/^session bytes undefined\n$/] },
    { times: 1, expect: [/^master secret\nERR_STORE_UNSEAL\n$/] },
  ];
  assert.equal(blocks.length, runs.length, 'one expectation per example');
  for (const [i, block] of blocks.entries()) {
    const code = block
      .replaceAll("from 'tls-sessions/sqlite'", `from ${JSON.stringify(join(ROOT, 'src/stores/sqlite-store.ts'))}`)
      .replaceAll("from 'tls-sessions/redis'", `from ${JSON.stringify(join(ROOT, 'src/stores/redis-store.ts'))}`)
      .replaceAll("from 'tls-sessions'", `from ${JSON.stringify(join(ROOT, 'src/index.ts'))}`)
      .replaceAll('port: 8443', `port: ${tlsServer.port}`);
    // Inside the package, so that tsx treats the file as ESM and finds the dependencies.
    const file = join(ROOT, '.tmp', `docs-stores-${process.pid}-${i}.mts`);
    await mkdir(join(ROOT, '.tmp'), { recursive: true });
    await writeFile(file, code);
    t.after(() => rm(file, { force: true }));
    const { times, expect } = runs[i]!;
    for (let n = 0; n < times; n++) {
      // Run from the example's directory (key.pem, ca.pem, the database file): tsx by its URL.
      const tsx = import.meta.resolve('tsx');
      const { stdout } = await run(process.execPath, ['--import', tsx, file], { cwd: dir.path, timeout: 30_000, env });
      assert.match(stdout, expect[n]!, `example ${i + 1}, run ${n + 1}`);
    }
  }
});
