import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { stat } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { test } from 'node:test';
import { promisify } from 'node:util';
import { runDemo } from '../../src/demo/run-demo.js';
import { tmpDir } from '../helpers/index.js';

const run = promisify(execFile);
const BIN = resolve(import.meta.dirname, '..', '..', 'bin', 'tls-sessions.js');

test('runDemo: one full handshake per version, then every connection resumes', async () => {
  const result = await runDemo({ connections: 20, keyType: 'ecdsa' });
  assert.deepEqual(
    result.phases.map((p) => p.protocol),
    ['TLSv1.2', 'TLSv1.3'],
  );
  for (const p of result.phases) {
    assert.equal(p.full, 1, `${p.protocol}: full handshakes`);
    assert.equal(p.resumed, 19, `${p.protocol}: resumed`);
    // TLS 1.2: Node clients ask for a ticket and tickets 'auto' gives one, so they resume
    // without a cache lookup; TLS 1.3: stateful single-use sessions from the cache.
    assert.equal(p.server.hits, p.protocol === 'TLSv1.2' ? 0 : 19, `${p.protocol}: server cache hits`);
    assert.equal(p.sessionsOffered, 19, `${p.protocol}: offers`);
    assert.ok(p.medianBaselineMs > 0 && p.medianResumedMs !== null && p.medianResumedMs > 0);
  }
  const tls12 = result.phases[0]!;
  const tls13 = result.phases[1]!;
  assert.equal(tls12.sessionsReceived, 1, 'TLS 1.2: one session, reused');
  // Two tickets after the full handshake, one fresh ticket on each resumed connection.
  assert.equal(tls13.sessionsReceived, 2 + 19);
  assert.equal(tls13.repeatedOffers, 0, 'no TLS 1.3 ticket offered twice');
  assert.equal(tls13.server.removed, 19, 'each resumed TLS 1.3 session was taken (single use)');
});

test('tls-sessions demo --json exits 0 by itself and reports the figures', { timeout: 60_000 }, async () => {
  const { stdout } = await run(process.execPath, [BIN, 'demo', '-n', '10', '--json', '--key', 'ecdsa'], {
    timeout: 50_000,
  });
  const j = JSON.parse(stdout) as {
    connections: number;
    store: string;
    phases: { protocol: string; resumed: number }[];
    server: { hits: number };
  };
  assert.equal(j.connections, 10);
  assert.equal(j.store, 'memory');
  assert.deepEqual(
    j.phases.map((p) => [p.protocol, p.resumed]),
    [
      ['TLSv1.2', 9],
      ['TLSv1.3', 9],
    ],
  );
  assert.equal(j.server.hits, 9, 'the TLS 1.3 resumptions; TLS 1.2 resumed by ticket');
});

test('tls-sessions demo prints the table and what it means', { timeout: 60_000 }, async () => {
  const { stdout } = await run(process.execPath, [BIN, 'demo', '-n', '5', '--tls1.3'], { timeout: 50_000 });
  assert.match(stdout, /resumed handshakes\s+4\n/);
  assert.match(stdout, /What it means: .*TLSv1\.3: 4 of 5 connections resumed.*no ticket was offered twice/);
  assert.doesNotMatch(stdout, /TLS 1\.2/);
});

test('tls-sessions demo --store sqlite:PATH keeps the server sessions in that file', { timeout: 60_000 }, async (t) => {
  const dir = await tmpDir('demo-sqlite-');
  t.after(() => dir.cleanup());
  const db = join(dir.path, 'sessions.db');
  const { stdout } = await run(
    process.execPath,
    [BIN, 'demo', '-n', '5', '--json', '--store', `sqlite:${db}`, '--key', 'ecdsa'],
    { timeout: 50_000 },
  );
  const j = JSON.parse(stdout) as { store: string; phases: { resumed: number }[] };
  assert.equal(j.store, `sqlite:${db}`);
  assert.deepEqual(
    j.phases.map((p) => p.resumed),
    [4, 4],
  );
  assert.ok((await stat(db)).size > 0, 'the database file holds the sessions');
});

test('tls-sessions demo: usage errors exit 2 with one line', async () => {
  for (const args of [['-n', '0'], ['--store', 'bogus'], ['--key', 'dsa'], ['extra']]) {
    const err = await run(process.execPath, [BIN, 'demo', ...args]).then(
      () => assert.fail(`demo ${args.join(' ')} succeeded`),
      (e: { code: number; stderr: string }) => e,
    );
    assert.equal(err.code, 2, args.join(' '));
    assert.equal(err.stderr.trim().split('\n').length, 1, err.stderr);
  }
});

test('tls-sessions demo with an unreachable Redis store says what resumed (TLS 1.2 tickets), what did not, and why', {
  timeout: 60_000,
}, async () => {
  const { stdout } = await run(
    process.execPath,
    [BIN, 'demo', '-n', '10', '--store', 'redis://127.0.0.1:1', '--key', 'ecdsa'],
    { timeout: 50_000 },
  );
  // TLS 1.2 tickets need no store; TLS 1.3 stateful sessions do.
  assert.match(stdout, /resumed handshakes\s+9\s+0\n/);
  const sentence = stdout.trim().split('\n').at(-1)!;
  assert.match(
    sentence,
    /^What it means: clients resumed some of their sessions \(TLSv1\.2: 9 of 10 connections resumed, in [\d.]+% of a full handshake's time; TLSv1\.3: none of 10 connections resumed\)\. TLS 1\.2 resumed 9 times by stateless tickets \(the server's ticket key, no store\) and 0 times by session id from the server cache\. The server cache's store \(redis:\/\/127\.0\.0\.1:1\) failed \d+ calls \(\d+ of them timed out\); a lookup that fails costs a full handshake\.$/,
  );
  assert.doesNotMatch(sentence, /clients resumed their sessions/);
});

test('tls-sessions demo --store with a Redis database that is not a number: usage error, exit 2', async () => {
  const err = await run(process.execPath, [BIN, 'demo', '--store', 'redis://127.0.0.1:1/abc']).then(
    () => assert.fail('demo succeeded'),
    (e: { code: number; stderr: string }) => e,
  );
  assert.equal(err.code, 2);
  assert.match(
    err.stderr,
    /^tls-sessions demo: --store: RedisStore: the database in url must be a number from 0 to 2147483647 \(got '\/abc'\)\n$/,
  );
});

test("demo's closing sentence: a run where some connections resumed claims no more than that", async () => {
  const { meaning } = await import('../../src/cli/demo.js');
  const phase = (resumed: number) => ({
    protocol: 'TLSv1.2' as const,
    connections: 10,
    full: 10 - resumed,
    resumed,
    resumptionRate: resumed / 10,
    medianFullMs: 2,
    medianBaselineMs: 2,
    medianResumedMs: resumed > 0 ? 1 : null,
    sessionsReceived: 1,
    sessionsOffered: 9,
    repeatedOffers: 0,
    server: { storeErrors: 0, storeTimeouts: 0, hits: 1 } as never,
  });
  const stats = { storeErrors: 3, storeTimeouts: 1 } as never;
  assert.equal(
    meaning({ phases: [phase(4)], server: stats }, 'memory'),
    "What it means: clients resumed some of their sessions (TLSv1.2: 4 of 10 connections resumed, in 50.0% of a full handshake's time). TLS 1.2 resumed 3 times by stateless tickets (the server's ticket key, no store) and once by session id from the server cache. The server cache's store (memory) failed 4 calls (1 of them timed out); a lookup that fails costs a full handshake.",
  );
  assert.match(
    meaning({ phases: [phase(9)], server: { storeErrors: 0, storeTimeouts: 0 } as never }, 'memory'),
    /^What it means: after one full handshake, clients resumed their sessions \(TLSv1\.2: 9 of 10/,
  );
});
