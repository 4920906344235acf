import assert from 'node:assert/strict';
import { readFile, stat, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { connect } from 'node:tls';
import { main } from '../../src/cli/main.js';
import { nodeBindsClientSessions } from '../../src/node/index.js';
import {
  NODE_SESSION_PREFIX,
  TlsSession,
  TlsSessionError,
  unwrapNodeSession,
  wrapNodeSession,
} from '../../src/session/index.js';
import { runOpensslOk, sharedPki, startNodeServer, tmpDir, type TmpDir } from '../helpers/index.js';
import { runCli } from './run-cli.js';

let dir: TmpDir;
/** What Node's own 'session' event handed out on this line, for each protocol version. */
const raw = new Map<string, Buffer>();

before(async () => {
  dir = await tmpDir('node-state-test-');
  const pki = await sharedPki();
  const server = await startNodeServer({ cert: pki.server });
  try {
    for (const maxVersion of ['TLSv1.2', 'TLSv1.3'] as const) {
      const session = await new Promise<Buffer>((resolve, reject) => {
        let last: Buffer | undefined;
        const s = connect({
          host: '127.0.0.1',
          port: server.port,
          servername: 'localhost',
          ca: pki.ca.cert,
          maxVersion,
        });
        s.on('session', (b: Buffer) => {
          last = b;
        });
        s.on('data', () => {});
        s.once('error', reject);
        s.once('close', () => (last ? resolve(last) : reject(new Error('no session'))));
      });
      raw.set(maxVersion, session);
    }
  } finally {
    await server.close();
  }
});
after(() => dir.cleanup());

test('what Node hands out is read in its own form: bound on Node 22+, plain DER on Node 20', () => {
  for (const [version, bytes] of raw) {
    const s = TlsSession.parse(bytes);
    assert.equal(s.protocol, version);
    assert.equal(s.form, nodeBindsClientSessions() ? 'node' : 'der', version);
    assert.equal(s.boundIdentity, nodeBindsClientSessions() ? 'localhost' : undefined, version);
    assert.ok(s.toDER().equals(unwrapNodeSession(bytes).der), `${version}: toDER is the DER inside`);
    if (nodeBindsClientSessions()) assert.ok(s.toNodeSession().equals(bytes), `${version}: rebound byte for byte`);
  }
});

test('toPEM() of a Node session is what openssl sess_id reads; toNodeSession binds to the name given', async () => {
  for (const [version, bytes] of raw) {
    const s = TlsSession.fromNodeSession(bytes);
    const file = join(dir.path, `${version}.pem`);
    await writeFile(file, s.toPEM());
    const back = (await runOpensslOk(['sess_id', '-in', file, '-outform', 'DER'])).stdout;
    assert.ok(back.equals(s.toDER()), version);
    const bound = TlsSession.parse(s.toNodeSession('example.test'));
    assert.equal(bound.boundIdentity, 'example.test');
    assert.equal(bound.form, 'node');
    assert.ok(bound.toDER().equals(s.toDER()));
  }
});

test('the header: exact prefix, length big endian, UTF-8 identity; cut-short headers are typed errors', () => {
  const der = TlsSession.fromNodeSession(raw.get('TLSv1.2')!).toDER();
  const wrapped = wrapNodeSession(der, 'bücher.test');
  assert.ok(wrapped.subarray(0, NODE_SESSION_PREFIX.length).equals(Buffer.from('\0nodejs:tls:session:1\0', 'latin1')));
  assert.equal(wrapped.readUInt16BE(NODE_SESSION_PREFIX.length), Buffer.byteLength('bücher.test'));
  assert.equal(unwrapNodeSession(wrapped).identity, 'bücher.test');
  for (const cut of [NODE_SESSION_PREFIX.length + 1, NODE_SESSION_PREFIX.length + 5]) {
    assert.throws(
      () => TlsSession.parse(wrapped.subarray(0, cut)),
      (e: unknown) => e instanceof TlsSessionError && e.code === 'ERR_SESSION_TRUNCATED',
    );
  }
  assert.throws(
    () => wrapNodeSession(der, ''),
    (e: unknown) => e instanceof TlsSessionError && e.code === 'ERR_SESSION_IDENTITY',
  );
  assert.throws(() => new TlsSession().toNodeSession(), /no identity/);
});

test('inspect shows the binding (text and --json); the rest of the text is openssl sess_id -text', async () => {
  const bytes = wrapNodeSession(unwrapNodeSession(raw.get('TLSv1.3')!).der, 'localhost');
  const file = join(dir.path, 'bound.bin');
  await writeFile(file, bytes);
  const text = await runCli(main, ['inspect', '--reveal', file]);
  assert.equal(text.code, 0, text.stderr);
  const [first, ...rest] = text.stdout.toString('latin1').split('\n');
  assert.equal(first, 'Node.js session bound to: localhost');
  const derFile = join(dir.path, 'bound.der');
  await writeFile(derFile, unwrapNodeSession(bytes).der);
  const expected = (
    await runOpensslOk(['sess_id', '-inform', 'DER', '-in', derFile, '-text', '-noout'])
  ).stdout.toString('latin1');
  assert.equal(rest.join('\n'), expected);

  const json = JSON.parse((await runCli(main, ['inspect', '--json', file])).stdout.toString()) as Record<
    string,
    unknown
  >;
  assert.equal(json['form'], 'node');
  assert.equal(json['boundIdentity'], 'localhost');
  assert.equal(json['masterKey'], undefined, 'no secret without --reveal');
  const plain = JSON.parse((await runCli(main, ['inspect', '--json', derFile])).stdout.toString()) as Record<
    string,
    unknown
  >;
  assert.equal(plain['form'], 'der');
  assert.equal(plain['boundIdentity'], null);
});

test('inspect --out writes plain PEM/DER for openssl, or a Node session bound with --bind', async () => {
  const bytes = raw.get('TLSv1.2')!;
  const file = join(dir.path, 'in.bin');
  await writeFile(file, bytes);
  const pem = join(dir.path, 'out.pem');
  assert.equal((await runCli(main, ['inspect', file, '--out', pem])).code, 0);
  const der = (await runOpensslOk(['sess_id', '-in', pem, '-outform', 'DER'])).stdout;
  assert.ok(der.equals(unwrapNodeSession(bytes).der));

  const node = join(dir.path, 'out.node');
  assert.equal((await runCli(main, ['inspect', pem, '--out', node, '--outform', 'node', '--bind', 'a.test'])).code, 0);
  assert.equal(TlsSession.parse(await readFile(node)).boundIdentity, 'a.test');
  assert.equal((await stat(node)).mode & 0o777, 0o600);
  const unbound = await runCli(main, ['inspect', pem, '--out', node, '--outform', 'node']);
  assert.equal(unbound.code, 2, 'a plain session has no identity of its own');
  assert.match(unbound.stderr, /--bind/);
  assert.equal((await runCli(main, ['inspect', pem, '--bind', 'a.test'])).code, 2);
});
