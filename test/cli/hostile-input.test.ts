/**
 * The CLI run as a subprocess on hostile input: endless devices, oversized files, a session
 * whose peer certificate is not one, an --out file that already exists. Each answer is one
 * line with the documented exit code, within a bound on time and on the child's peak memory.
 */
import assert from 'node:assert/strict';
import { stat, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { TlsSession } from '../../src/index.js';
import { runOpenssl, skipUnlessPeer, tmpDir, type TmpDir } from '../helpers/index.js';
import { sessionCorpus } from '../session/corpus.js';
import { binSkipReason, runBin } from './run-bin.js';

const skip = skipUnlessPeer(binSkipReason());
// A CLI process is about 50-70 MiB; reading a whole 100 MB input would take several times that.
const MAX_RSS_MIB = 160;
const MAX_MS = 10_000;

let dir: TmpDir;
before(async () => {
  dir = await tmpDir('cli-hostile-');
});
after(() => dir.cleanup());

function oneLine(stderr: string): void {
  assert.equal(stderr.trim().split('\n').length, 1, stderr);
}

test('inspect /dev/zero: refused after 1 MiB, exit 1, bounded time and memory', { skip }, async () => {
  const r = await runBin(['inspect', '/dev/zero']);
  assert.equal(r.code, 1, r.stderr);
  assert.match(r.stderr, /^tls-sessions inspect: \/dev\/zero is larger than 1048576 bytes\n$/);
  assert.ok(r.elapsedMs < MAX_MS, `${r.elapsedMs} ms`);
  assert.ok(r.peakRssMiB < MAX_RSS_MIB, `peak RSS ${r.peakRssMiB} MiB`);
});

test('inspect - with /dev/zero as standard input: refused after 1 MiB, exit 1', { skip }, async () => {
  const r = await runBin(['inspect', '-'], { stdinFile: '/dev/zero' });
  assert.equal(r.code, 1, r.stderr);
  assert.match(r.stderr, /^tls-sessions inspect: standard input is larger than 1048576 bytes\n$/);
  assert.ok(r.elapsedMs < MAX_MS, `${r.elapsedMs} ms`);
  assert.ok(r.peakRssMiB < MAX_RSS_MIB, `peak RSS ${r.peakRssMiB} MiB`);
});

test('inspect of a 104 MB PEM file: refused before reading it, exit 1', { skip }, async () => {
  const corpus = await sessionCorpus();
  const pem = corpus[0]!.der.length > 0 ? TlsSession.fromDER(corpus[0]!.der).toPEM() : '';
  const file = join(dir.path, 'huge.pem');
  // One real session, then 104 MB of base64 lines inside the block.
  const line = `${'A'.repeat(64)}\n`;
  await writeFile(file, pem.replace('-----END', `${line.repeat(Math.ceil(104e6 / line.length))}-----END`));
  assert.ok((await stat(file)).size > 104e6);
  const r = await runBin(['inspect', file]);
  assert.equal(r.code, 1, r.stderr);
  assert.match(r.stderr, /huge\.pem is larger than 1048576 bytes\n$/);
  oneLine(r.stderr);
  assert.ok(r.elapsedMs < MAX_MS, `${r.elapsedMs} ms`);
  assert.ok(r.peakRssMiB < MAX_RSS_MIB, `peak RSS ${r.peakRssMiB} MiB`);
});

test('keys --kek-file /dev/zero: a usage error (exit 2) at once, before any connection', { skip }, async () => {
  const r = await runBin(['keys', 'list', '--redis', 'redis://127.0.0.1:1', '--kek-file', '/dev/zero']);
  assert.equal(r.code, 2, r.stderr);
  assert.match(r.stderr, /^tls-sessions keys: --kek-file \/dev\/zero is larger than 1024 bytes\n$/);
  assert.ok(r.elapsedMs < MAX_MS, `${r.elapsedMs} ms`);
  assert.ok(r.peakRssMiB < MAX_RSS_MIB, `peak RSS ${r.peakRssMiB} MiB`);
});

test('inspect --out onto an existing 0644 file leaves it 0600', { skip }, async () => {
  const corpus = await sessionCorpus();
  const input = join(dir.path, 'in.der');
  await writeFile(input, corpus[1]!.der);
  for (const outform of ['pem', 'der']) {
    const out = join(dir.path, `existing.${outform}`);
    await writeFile(out, 'public data\n', { mode: 0o644 });
    assert.equal((await stat(out)).mode & 0o777, 0o644);
    const r = await runBin(['inspect', input, '--out', out, '--outform', outform]);
    assert.equal(r.code, 0, r.stderr);
    assert.equal((await stat(out)).mode & 0o777, 0o600, `${outform}: the file holds the master key`);
    const fresh = join(dir.path, `fresh.${outform}`);
    assert.equal((await runBin(['inspect', input, '--out', fresh, '--outform', outform])).code, 0);
    assert.equal((await stat(fresh)).mode & 0o777, 0o600);
  }
});

test('a session whose peer certificate is not a certificate: text, --json and openssl sess_id all refuse it', {
  skip,
}, async () => {
  const corpus = await sessionCorpus();
  const withPeer = corpus.find((c) => c.expect.side === 'client' && c.expect.peerCert !== undefined)!;
  const session = TlsSession.fromDER(withPeer.der);
  // A SEQUENCE holding one INTEGER: well-formed DER, not an X.509 certificate.
  session.peerCertificateDER = Buffer.from([0x30, 0x03, 0x02, 0x01, 0x01]);
  const file = join(dir.path, 'bad-peer.der');
  await writeFile(file, session.toDER());

  const openssl = await runOpenssl(['sess_id', '-inform', 'DER', '-in', file, '-noout', '-text']);
  assert.notEqual(openssl.code, 0, 'openssl sess_id refuses it');
  for (const args of [
    ['inspect', file],
    ['inspect', '--json', file],
    ['inspect', file, '--out', join(dir.path, 'copy.pem')],
  ]) {
    const r = await runBin(args);
    assert.equal(r.code, 1, `${args.join(' ')}: ${r.stderr}`);
    assert.equal(r.stdout, '');
    assert.match(r.stderr, /^tls-sessions inspect: peer: the certificate in the session cannot be parsed\n$/);
  }
  // The real certificate still reads, in both forms.
  const good = join(dir.path, 'good-peer.der');
  await writeFile(good, withPeer.der);
  assert.equal((await runBin(['inspect', good])).code, 0);
  assert.equal((await runBin(['inspect', '--json', good])).code, 0);
});
