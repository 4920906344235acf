/**
 * The runnable examples of docs/server.md (```ts blocks that import and listen) run to the end:
 * each is written to a temp dir holding key.pem, cert.pem and ca.pem, with `tls-sessions`
 * pointing at the sources, and run with tsx.
 */
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { readFile, writeFile } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { test } from 'node:test';
import { promisify } from 'node:util';
import { codeBlocksAt, sharedPki, tmpDir } from '../helpers/index.js';

const run = promisify(execFile);
const ROOT = resolve(import.meta.dirname, '..', '..');

const markdown = await readFile(join(ROOT, 'docs', 'server.md'), 'utf8');
const blocks = codeBlocksAt(markdown, 'ts').filter(
  (b) => b.code.includes("from 'tls-sessions'") && b.code.includes('.listen('),
);

test('docs/server.md has runnable tls, https and http2 examples', () => {
  const kinds = blocks.map((b) => /from 'node:(https|http2|tls)'/.exec(b.code)?.[1]);
  for (const kind of ['tls', 'https', 'http2']) assert.ok(kinds.includes(kind), `no ${kind} example`);
});

for (const block of blocks) {
  test(`docs/server.md example at line ${block.line} runs and resumes`, async (t) => {
    const dir = await tmpDir('ssc-docs-');
    t.after(() => dir.cleanup());
    const pki = await sharedPki();
    await writeFile(join(dir.path, 'key.pem'), pki.server.key);
    await writeFile(join(dir.path, 'cert.pem'), pki.server.cert);
    await writeFile(join(dir.path, 'ca.pem'), pki.ca.cert);
    const source = block.code.replace("from 'tls-sessions'", `from '${join(ROOT, 'src', 'index.ts')}'`);
    const file = join(dir.path, 'example.mts');
    await writeFile(file, source);
    // The temp dir has no node_modules: load tsx by the URL it resolves to from here.
    const tsx = import.meta.resolve('tsx');
    const { stdout } = await run(process.execPath, ['--import', tsx, file], { cwd: dir.path, timeout: 20_000 });
    // Every example prints the cache's hits, directly or in its stats: at least one resumption.
    const hits = /hits: (\d+)/.exec(stdout)?.[1] ?? /^(\d+)\s*$/m.exec(stdout)?.[1];
    assert.ok(Number(hits) >= 1, `no resumption in: ${stdout}`);
    if (block.code.includes("'resumed'")) assert.match(stdout, /^TLSv1\.3 resumed$/m);
  });
}
