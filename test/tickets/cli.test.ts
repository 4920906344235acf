/**
 * `tls-sessions keys` against a real redis-server, with a Node server whose ring syncs through
 * the same Redis: generate, list (no material without --reveal), rotate (old tickets still
 * resume), rotate --revoke (they do not), usage and store errors.
 */
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { PassThrough, Readable } from 'node:stream';
import { describe, test } from 'node:test';
import { main } from '../../src/cli/main.js';
import { RedisStore } from '../../src/stores/redis-store.js';
import { type TicketKeyInfo, TicketKeyRing } from '../../src/tickets/index.js';
import { sharedPki, skipUnlessPeer, startNodeServer, tmpDir } from '../helpers/index.js';
import { redisSkipReason, startRedisServer } from '../helpers-redis/redis-server.js';
import { handshake, ticketKeyName } from './kit.js';

const skip = skipUnlessPeer(redisSkipReason());

async function run(args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  const out = new PassThrough();
  const err = new PassThrough();
  let stdout = '';
  let stderr = '';
  out.on('data', (c: Buffer) => {
    stdout += c.toString();
  });
  err.on('data', (c: Buffer) => {
    stderr += c.toString();
  });
  const code = await main(['keys', ...args], { stdin: Readable.from([]), stdout: out, stderr: err });
  return { code, stdout, stderr };
}

interface Listing {
  rotateEvery: number;
  grace: number;
  keys: TicketKeyInfo[];
}

describe('tls-sessions keys: usage', () => {
  const bad: Array<[string, string[], RegExp]> = [
    ['no command', ['--redis', 'redis://127.0.0.1:1', '--kek-file', 'x'], /expected one command/],
    ['unknown command', ['burn', '--redis', 'redis://127.0.0.1:1', '--kek-file', 'x'], /unknown command 'burn'/],
    ['no --redis', ['list', '--kek-file', 'x'], /--redis URL is required/],
    ['not a redis URL', ['list', '--redis', 'http://x', '--kek-file', 'x'], /redis:\/\//],
    ['no --kek-file', ['list', '--redis', 'redis://127.0.0.1:1'], /--kek-file FILE is required/],
    [
      '--revoke with list',
      ['list', '--revoke', '--redis', 'redis://127.0.0.1:1', '--kek-file', 'x'],
      /--revoke goes with rotate/,
    ],
    [
      'bad --grace',
      ['list', '--grace', '0', '--redis', 'redis://127.0.0.1:1', '--kek-file', 'x'],
      /--grace must be a positive integer/,
    ],
    ['unknown option', ['list', '--frobnicate'], /Unknown option/],
  ];
  for (const [name, args, message] of bad) {
    test(`${name}: exit 2, one line`, async () => {
      const r = await run(args);
      assert.equal(r.code, 2);
      assert.match(r.stderr, message);
      assert.equal(r.stderr.trim().split('\n').length, 1);
    });
  }

  test('--help lists the commands and options, exit 0', async () => {
    const r = await run(['--help']);
    assert.equal(r.code, 0);
    for (const word of [
      'generate',
      'rotate',
      'list',
      '--revoke',
      '--reveal',
      '--json',
      '--kek-file',
      '--redis',
      '--prefix',
    ])
      assert.ok(r.stdout.includes(word), word);
  });
});

test('generate, list, rotate, rotate --revoke against redis-server, with a server following along', {
  skip,
  timeout: 60_000,
}, async (t) => {
  const redis = await startRedisServer({ disposeAfter: t });
  const dir = await tmpDir('keys-cli-');
  t.after(() => dir.cleanup());
  const kekHex = randomBytes(32).toString('hex');
  const kekFile = join(dir.path, 'kek');
  await writeFile(kekFile, `${kekHex}\n`, { mode: 0o600 });
  const base = ['--redis', redis.url, '--kek-file', kekFile];

  // A missing KEK file, a KEK of the wrong size: usage errors (exit 2), the content never echoed.
  assert.equal((await run(['list', '--redis', redis.url, '--kek-file', join(dir.path, 'none')])).code, 2);
  const shortKek = join(dir.path, 'short');
  await writeFile(shortKek, 'abcdef');
  const short = await run(['list', '--redis', redis.url, '--kek-file', shortKek]);
  assert.equal(short.code, 2);
  assert.doesNotMatch(short.stderr, /abcdef/);

  const empty = await run(['list', ...base, '--json']);
  assert.equal(empty.code, 0, empty.stderr);
  assert.deepEqual((JSON.parse(empty.stdout) as Listing).keys, [], 'list writes nothing');

  const gen = await run(['generate', ...base, '--rotate-every', '3600', '--grace', '7200']);
  assert.equal(gen.code, 0, gen.stderr);
  assert.match(gen.stdout, /^current {3}[0-9a-f]{32} {2}encrypts /m);
  assert.match(gen.stdout, /^next {6}[0-9a-f]{32} /m);

  const listed = JSON.parse((await run(['list', ...base, '--json'])).stdout) as Listing;
  assert.equal(listed.rotateEvery, 3600);
  assert.equal(listed.grace, 7200);
  assert.deepEqual(
    listed.keys.map((k) => k.role),
    ['current', 'next'],
  );
  assert.ok(
    listed.keys.every((k) => k.material === undefined),
    'no material without --reveal',
  );
  const revealed = JSON.parse((await run(['list', ...base, '--json', '--reveal'])).stdout) as Listing;
  assert.ok(revealed.keys.every((k) => /^[0-9a-f]{96}$/.test(k.material ?? '') && k.material!.startsWith(k.name)));
  const text = await run(['list', ...base]);
  for (const k of revealed.keys) assert.ok(!text.stdout.includes(k.material!.slice(32)), 'text output has no material');

  // A server following the store (real clock, default timing overridden by the store's).
  const pki = await sharedPki();
  const srv = await startNodeServer({ cert: pki.server });
  const store = new RedisStore({ url: redis.url });
  const ring = new TicketKeyRing({ store, kek: { id: 'kek', key: Buffer.from(kekHex, 'hex') } });
  ring.on('error', () => {});
  t.after(async () => {
    await srv.close();
    await ring.close();
    await store.close();
  });
  await store.ready();
  assert.equal(await ring.start(), true);
  ring.attach(srv.server);
  assert.equal(ring.currentName, listed.keys[0]!.name);
  assert.equal(ring.rotateEvery, 3600);
  const before = await handshake(srv.port, 'TLSv1.3');
  assert.equal(ticketKeyName(before.session!), listed.keys[0]!.name);

  const rotated = await run(['rotate', ...base, '--json']);
  assert.equal(rotated.code, 0, rotated.stderr);
  const afterRotate = JSON.parse(rotated.stdout) as Listing;
  const current = afterRotate.keys.find((k) => k.role === 'current')!;
  assert.notEqual(current.name, listed.keys[0]!.name);
  assert.equal(afterRotate.keys.find((k) => k.name === listed.keys[0]!.name)?.role, 'previous');
  await ring.sync();
  assert.equal(ring.currentName, current.name, 'the server took the new key at its sync');
  assert.equal(
    (await handshake(srv.port, 'TLSv1.3', { session: before.session })).reused,
    true,
    'the old key still decrypts',
  );

  const revoked = await run(['rotate', '--revoke', ...base, '--json']);
  assert.equal(revoked.code, 0, revoked.stderr);
  const afterRevoke = JSON.parse(revoked.stdout) as Listing;
  assert.equal(afterRevoke.keys.length, 2);
  assert.ok(!afterRevoke.keys.some((k) => afterRotate.keys.some((o) => o.name === k.name)), 'all new keys');
  await ring.sync();
  assert.equal((await handshake(srv.port, 'TLSv1.3', { session: before.session })).reused, false, 'revoked');

  // Another KEK cannot read the store; a stopped Redis: exit 1, one line.
  const otherKek = join(dir.path, 'other');
  await writeFile(otherKek, randomBytes(32));
  const foreign = await run(['list', '--redis', redis.url, '--kek-file', otherKek, '--kek-id', 'kek-2']);
  assert.equal(foreign.code, 1);
  assert.match(foreign.stderr, /kek/);
  await redis.stop();
  const down = await run(['list', ...base, '--timeout', '300']);
  assert.equal(down.code, 1);
  assert.equal(down.stderr.trim().split('\n').length, 1);
});
