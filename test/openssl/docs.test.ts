/**
 * The TypeScript example of docs/openssl.md runs against the built package (`tls-sessions/openssl`
 * by self-reference, so the file is written inside the package), in a directory holding the
 * server.pem, server.key and ca.pem it reads.
 */
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { mkdir, readFile, rm, writeFile } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { after, test } from 'node:test';
import { promisify } from 'node:util';
import { codeBlocks, sharedPki, tmpDir } from '../helpers/index.js';

const run = promisify(execFile);
const ROOT = resolve(import.meta.dirname, '..', '..');
const SCRATCH = join(ROOT, '.tmp', 'openssl-docs');

const doc = await readFile(join(ROOT, 'docs', 'openssl.md'), 'utf8');
const blocks = codeBlocks(doc, 'ts');

after(() => rm(SCRATCH, { recursive: true, force: true }));

test('docs/openssl.md has one TypeScript example and a C one beside it', () => {
  assert.equal(blocks.length, 1);
  assert.match(doc, /^```c\n/m);
});

test('the TypeScript example of docs/openssl.md runs and resumes', { timeout: 60_000 }, async () => {
  const pki = await sharedPki();
  const dir = await tmpDir('openssl-docs-');
  try {
    await writeFile(join(dir.path, 'server.pem'), pki.server.cert);
    await writeFile(join(dir.path, 'server.key'), pki.server.key);
    await writeFile(join(dir.path, 'ca.pem'), pki.ca.cert);
    await mkdir(SCRATCH, { recursive: true });
    const file = join(SCRATCH, 'example.mts');
    await writeFile(file, blocks[0]!);
    const { stdout, stderr } = await run(process.execPath, ['--import', import.meta.resolve('tsx'), file], {
      cwd: dir.path,
      timeout: 50_000,
      env: { ...process.env, NODE_OPTIONS: '' },
    }).catch((err: { stderr?: string; message: string }) => {
      throw new Error(`docs/openssl.md example failed: ${err.stderr || err.message}`);
    });
    assert.match(stdout, /reused: \[ 0, 1 \]/);
    assert.doesNotMatch(stderr, /Error/, stderr);
  } finally {
    await dir.cleanup();
  }
});
