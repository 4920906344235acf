/**
 * The ```ts examples of docs/client.md run against a local HTTPS server: `example.com` becomes
 * `localhost` and port 443 the server's port, the test CA is trusted through
 * NODE_EXTRA_CA_CERTS, and `tls-sessions` resolves to the sources.
 */
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { mkdir, readFile, rm, writeFile } from 'node:fs/promises';
import * as https from 'node:https';
import type { AddressInfo } from 'node:net';
import { join, resolve } from 'node:path';
import { test } from 'node:test';
import { promisify } from 'node:util';
import { codeBlocks, sharedPki } from '../helpers/index.js';

const run = promisify(execFile);
const ROOT = resolve(import.meta.dirname, '../..');

/** What each example must print, in order. */
const EXPECTED: RegExp[][] = [
  [/resumed: false\nresumed: true\nresumed: true\n/, /offered: 2,\s+resumed: 2/],
  [/200 false\n200 true\n200 true\n/],
  [/200\n200\n200\n2\n/],
];

test('every example of docs/client.md runs and prints what its comments say', async (t) => {
  const pki = await sharedPki();
  const server = https.createServer({ key: pki.server.key, cert: pki.server.cert }, (_req, res) => {
    res.setHeader('connection', 'close');
    res.end('ok\n');
  });
  await new Promise<void>((done) => server.listen(0, '127.0.0.1', () => done()));
  t.after(() => {
    server.closeAllConnections();
    server.close();
  });
  const port = (server.address() as AddressInfo).port;
  const dir = join(ROOT, '.tmp', `docs-client-${process.pid}`);
  await mkdir(dir, { recursive: true });
  t.after(() => rm(dir, { recursive: true, force: true }));

  const blocks = codeBlocks(await readFile(join(ROOT, 'docs', 'client.md'), 'utf8'), 'ts');
  assert.equal(blocks.length, EXPECTED.length);
  for (const [i, block] of blocks.entries()) {
    const code = block
      .replaceAll("from 'tls-sessions'", `from ${JSON.stringify(join(ROOT, 'src', 'index.ts'))}`)
      .replaceAll('example.com/', `localhost:${port}/`)
      .replaceAll('port: 443', `port: ${port}`)
      .replaceAll('example.com', 'localhost');
    const file = join(dir, `example-${i}.mts`);
    await writeFile(file, code);
    const { stdout } = await run(process.execPath, ['--import', 'tsx', file], {
      cwd: ROOT,
      timeout: 20_000,
      env: { ...process.env, NODE_EXTRA_CA_CERTS: pki.ca.certPath },
    });
    for (const pattern of EXPECTED[i] ?? []) assert.match(stdout, pattern, `example ${i + 1}`);
  }
});
