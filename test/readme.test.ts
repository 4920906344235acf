/**
 * Every example in README.md runs: each ```ts block is written to a file inside the package (so
 * that `import ... from 'tls-sessions'` resolves to the built package by self-reference) and run
 * with tsx; each `$ npx tls-sessions ...` line of a ```sh block runs the built CLI. They run in a
 * temp dir holding `session.pem`, a real session written by `openssl s_client -sess_out`, and
 * `key.pem`, `cert.pem` (a server certificate for localhost) and `ca.pem` (its issuer).
 * `localhost:4433` in a command stands for an `openssl s_server` the test starts on a free
 * loopback port; a command aimed at any other host fails the test (tests talk to loopback only).
 */
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { mkdir, readFile, rm, writeFile } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { after, before, test } from 'node:test';
import { promisify } from 'node:util';
import { type SServer, sClient, sharedPki, startSServer, tmpDir, type TmpDir } from './helpers/index.js';

const run = promisify(execFile);
const ROOT = resolve(import.meta.dirname, '..');
const SCRATCH = join(ROOT, '.tmp', 'readme');

interface Example {
  lang: 'ts' | 'sh';
  line: number;
  code: string;
}

function examples(markdown: string): Example[] {
  const out: Example[] = [];
  const fence = /^```(\w+)[^\n]*\n([\s\S]*?)^```/gm;
  for (let m = fence.exec(markdown); m; m = fence.exec(markdown)) {
    const lang = m[1];
    if (lang !== 'ts' && lang !== 'sh') continue;
    out.push({ lang, line: markdown.slice(0, m.index).split('\n').length, code: m[2]! });
  }
  return out;
}

let fixture: TmpDir;
let peer: SServer;

before(async () => {
  fixture = await tmpDir('readme-');
  await mkdir(SCRATCH, { recursive: true });
  const pki = await sharedPki();
  await writeFile(join(fixture.path, 'key.pem'), pki.server.key);
  await writeFile(join(fixture.path, 'cert.pem'), pki.server.cert);
  await writeFile(join(fixture.path, 'ca.pem'), pki.ca.cert);
  peer = await startSServer({ cert: pki.server });
  await sClient({ port: peer.port, tls: '1.3', sessOut: join(fixture.path, 'session.pem') });
});

after(async () => {
  await peer.stop();
  await fixture.cleanup();
  await rm(SCRATCH, { recursive: true, force: true });
});

const readme = await readFile(join(ROOT, 'README.md'), 'utf8');
const all = examples(readme);

test('README has runnable examples', () => {
  assert.ok(all.filter((e) => e.lang === 'ts').length >= 1, 'no ts examples found');
});

for (const ex of all) {
  if (ex.lang === 'ts') {
    test(`README.md:${ex.line} (ts) runs`, { timeout: 60_000 }, async () => {
      const file = join(SCRATCH, `example-${ex.line}.mts`);
      await writeFile(file, ex.code);
      const { stderr } = await run(process.execPath, ['--import', import.meta.resolve('tsx'), file], {
        cwd: fixture.path,
        timeout: 50_000,
        env: { ...process.env, NODE_OPTIONS: '' },
      }).catch((err: { stderr?: string; message: string }) => {
        throw new Error(`example at README.md:${ex.line} failed: ${err.stderr || err.message}`);
      });
      assert.doesNotMatch(stderr, /Error/, stderr);
    });
  } else {
    const commands = ex.code
      .split('\n')
      .filter((l) => l.startsWith('$ npx tls-sessions '))
      .map((l) => l.slice('$ npx tls-sessions '.length));
    for (const cmd of commands) {
      test(`README.md:${ex.line} (sh) tls-sessions ${cmd}`, { timeout: 60_000 }, async () => {
        if (cmd.startsWith('probe ')) {
          assert.match(
            cmd,
            /^probe (localhost|127\.0\.0\.1):4433\b/,
            'README probe examples must aim at localhost:4433',
          );
        }
        const local = cmd.replaceAll('localhost:4433', `localhost:${peer.port}`);
        await run('sh', ['-c', `node ${join(ROOT, 'bin', 'tls-sessions.js')} ${local}`], {
          cwd: fixture.path,
          timeout: 50_000,
        }).catch((err: { stderr?: string; message: string }) => {
          throw new Error(`'tls-sessions ${cmd}' failed: ${err.stderr || err.message}`);
        });
      });
    }
  }
}
