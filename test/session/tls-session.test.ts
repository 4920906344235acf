import assert from 'node:assert/strict';
import { X509Certificate } from 'node:crypto';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { TlsSession, TlsSessionError } from '../../src/index.js';
import { DerWriter } from '../../src/session/der.js';
import { main } from '../../src/cli/main.js';
import { runOpensslOk, tmpDir, type TmpDir } from '../helpers/index.js';
import { type CorpusEntry, sessionCorpus } from './corpus.js';
import { runCli } from './run-cli.js';

let corpus: CorpusEntry[];
let dir: TmpDir;

before(async () => {
  corpus = await sessionCorpus();
  dir = await tmpDir('session-test-');
});
after(() => dir.cleanup());

/** What `openssl sess_id` prints or writes for a DER session. */
async function sessId(der: Buffer, args: string[]): Promise<Buffer> {
  const file = join(dir.path, `s-${Math.random().toString(36).slice(2)}.der`);
  await writeFile(file, der);
  return (await runOpensslOk(['sess_id', '-inform', 'DER', '-in', file, ...args])).stdout;
}

describe('TlsSession on real sessions', () => {
  test('the corpus covers what the codec must handle', () => {
    const names = corpus.map((c) => c.name);
    assert.ok(corpus.length >= 11, `only ${corpus.length} sessions: ${names.join(', ')}`);
    assert.ok(corpus.some((c) => c.expect.protocol === 'TLSv1.3' && c.expect.side === 'server'));
    assert.equal(corpus.filter((c) => c.name.startsWith('node-client-TLSv1.3')).length, 2, 'TLS 1.3 sends two tickets');
  });

  test('toDER() returns the input bytes exactly', () => {
    for (const c of corpus) {
      const s = TlsSession.fromDER(c.der);
      assert.ok(s.toDER().equals(c.der), `${c.name}: DER round trip`);
      assert.ok(TlsSession.parse(s.toPEM()).toDER().equals(c.der), `${c.name}: PEM round trip`);
    }
  });

  test('toPEM() is what openssl sess_id writes', async () => {
    for (const c of corpus) {
      const pem = (await sessId(c.der, ['-outform', 'PEM'])).toString('latin1');
      assert.equal(TlsSession.fromDER(c.der).toPEM(), pem, c.name);
      assert.ok(TlsSession.fromPEM(pem).toDER().equals(c.der), c.name);
    }
  });

  test('toText({ reveal: true }) equals openssl sess_id -text -noout, byte for byte', async () => {
    for (const c of corpus) {
      const expected = (await sessId(c.der, ['-text', '-noout'])).toString('latin1');
      assert.equal(TlsSession.fromDER(c.der).toText({ reveal: true }), expected, c.name);
    }
  });

  test('fields match what the handshake used', () => {
    for (const c of corpus) {
      const s = TlsSession.fromDER(c.der);
      const e = c.expect;
      assert.equal(s.protocol, e.protocol, c.name);
      assert.equal(s.protocolVersion, e.protocol === 'TLSv1.3' ? 0x0304 : 0x0303, c.name);
      if (e.cipher) assert.equal(s.cipher, e.cipher, c.name);
      assert.match(s.toJSON().cipherId, /^0x[0-9a-f]{4}$/, c.name);
      if (e.hostname) assert.equal(s.hostname, e.hostname, c.name);
      if (e.alpn) assert.equal(s.alpn, e.alpn, c.name);
      if (e.verifyResult !== undefined) assert.equal(s.verifyResult, e.verifyResult, c.name);
      if (e.ticket !== undefined) assert.equal(s.ticket !== undefined && s.ticket.length > 0, e.ticket, c.name);
      if (e.peerCert) {
        const want = new X509Certificate(e.peerCert);
        assert.equal(s.peerCertificate?.fingerprint256, want.fingerprint256, c.name);
        assert.equal(s.toJSON().peerCertificate?.subject, want.subject, c.name);
      }
      assert.ok(
        s.masterKey.length === 48 || s.masterKey.length === 32,
        `${c.name}: master key length ${s.masterKey.length}`,
      );
      assert.ok(Math.abs(s.time - Date.now() / 1000) < 600, `${c.name}: start time is recent`);
      assert.ok(s.timeout > 0, c.name);
      assert.equal(s.isResumable(), true, c.name);
      assert.equal(s.isExpired(), false, c.name);
      assert.equal(s.isExpired((s.time + s.timeout + 1) * 1000), true, c.name);
      if (e.protocol === 'TLSv1.3') {
        assert.notEqual(s.kexGroup, undefined, `${c.name}: OpenSSL 3 records the group`);
        assert.equal(typeof s.kexGroupName, 'string', c.name);
      } else {
        assert.equal(s.extendedMasterSecret, true, `${c.name}: OpenSSL 3 negotiates EMS by default`);
      }
    }
  });

  test('a modified session encodes as OpenSSL would, and openssl sess_id reads it back', async () => {
    for (const c of corpus) {
      const s = TlsSession.fromDER(c.der);
      s.timeout = 12345;
      s.hostname = 'changed.example';
      const text = (await sessId(s.toDER(), ['-text', '-noout'])).toString('latin1');
      assert.match(text, /Timeout {3}: 12345 \(sec\)/, c.name);
      // OpenSSL re-encodes what it read: our encoding is its canonical form.
      const again = await sessId(s.toDER(), ['-outform', 'DER']);
      assert.ok(again.equals(s.toDER()), `${c.name}: openssl re-encodes our DER identically`);
    }
  });

  test('dup() is deep, and wipe() zeroes only the copy', () => {
    const s = TlsSession.fromDER(corpus[0]!.der);
    const d = s.dup();
    assert.ok(d.toDER().equals(s.toDER()));
    d.wipe();
    assert.ok(d.masterKey.every((b) => b === 0));
    assert.ok(
      s.masterKey.some((b) => b !== 0),
      'original keeps its key',
    );
    d.ticket?.fill(0);
    assert.ok(!s.ticket || s.ticket.some((b) => b !== 0));
  });

  test('a TLS 1.3 session without a ticket or id is not resumable', () => {
    const s = TlsSession.fromDER(corpus[0]!.der);
    s.ticket = undefined;
    s.sessionId = Buffer.alloc(0);
    assert.equal(s.isResumable(), false);
    const t = TlsSession.fromDER(corpus[0]!.der);
    t.notResumable = true;
    assert.equal(t.isResumable(), false);
  });
});

describe('secrets stay hidden', () => {
  test('JSON.stringify, util.inspect and toText() redact the master key', async () => {
    const { inspect } = await import('node:util');
    for (const c of corpus) {
      const s = TlsSession.fromDER(c.der);
      const hex = s.masterKey.toString('hex');
      const HEX = hex.toUpperCase();
      for (const out of [
        JSON.stringify(s),
        inspect(s, { depth: 5, showHidden: true }),
        s.toText(),
        JSON.stringify(s.toJSON()),
      ]) {
        assert.ok(!out.includes(hex) && !out.includes(HEX), `${c.name}: secret leaked`);
      }
      assert.match(s.toText(), /(Master-Key|Resumption PSK): <redacted>/);
      assert.equal(s.toJSON({ reveal: true }).masterKey, hex);
      assert.equal('masterKey' in s.toJSON(), false);
    }
  });
});

describe('bad input', () => {
  const der = () => Buffer.from(corpus[0]!.der);
  const cases: [string, () => Uint8Array | string, string][] = [
    ['empty', () => Buffer.alloc(0), 'ERR_SESSION_TRUNCATED'],
    ['truncated', () => der().subarray(0, 40), 'ERR_SESSION_TRUNCATED'],
    ['garbage', () => Buffer.from('not a session at all'), 'ERR_SESSION_FORMAT'],
    ['trailing bytes', () => Buffer.concat([der(), Buffer.of(0)]), 'ERR_SESSION_TRAILING_DATA'],
    [
      'wrong encoding version',
      () => {
        const b = der();
        const at = b.indexOf(Buffer.of(0x02, 0x01, 0x01));
        b[at + 2] = 2;
        return b;
      },
      'ERR_SESSION_VERSION',
    ],
    [
      'unsupported protocol version',
      () => new TlsSession({ protocolVersion: 0x0404, cipherId: 0x1301 }).toDER(),
      'ERR_SESSION_PROTOCOL',
    ],
    ['over-long session id', () => withField({ sessionId: Buffer.alloc(33, 1) }), 'ERR_SESSION_FIELD'],
    ['over-long master key', () => withField({ masterKey: Buffer.alloc(65, 1) }), 'ERR_SESSION_FIELD'],
    ['over-long session id context', () => withField({ sessionIdContext: Buffer.alloc(33, 1) }), 'ERR_SESSION_FIELD'],
    ['wrong PEM label', () => '-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n', 'ERR_SESSION_PEM'],
    ['PEM without end line', () => '-----BEGIN SSL SESSION PARAMETERS-----\nAAAA\n', 'ERR_SESSION_PEM'],
    [
      'PEM with bad base64',
      () => '-----BEGIN SSL SESSION PARAMETERS-----\n!!!!\n-----END SSL SESSION PARAMETERS-----\n',
      'ERR_SESSION_PEM',
    ],
    ['indefinite length', () => Buffer.of(0x30, 0x80, 0, 0), 'ERR_SESSION_MALFORMED'],
    ['non-minimal length', () => Buffer.of(0x30, 0x81, 0x03, 0x02, 0x01, 0x01), 'ERR_SESSION_MALFORMED'],
  ];

  /**
   * A minimal session whose one field is bigger than OpenSSL allows; built by hand because the
   * encoder refuses to write it.
   */
  function withField(patch: { sessionId?: Buffer; masterKey?: Buffer; sessionIdContext?: Buffer }): Buffer {
    const w = new DerWriter();
    w.wrap(0x30, (s) => {
      s.integer(1);
      s.integer(0x0304);
      s.octets(Buffer.of(0x13, 0x02));
      s.octets(patch.sessionId ?? Buffer.alloc(32, 1));
      s.octets(patch.masterKey ?? Buffer.alloc(48, 2));
      s.wrap(0xa4, (x) => x.octets(patch.sessionIdContext ?? Buffer.alloc(0)));
    });
    return w.toBuffer();
  }

  test('the hand-built session is valid when its fields are within limits', () => {
    assert.equal(TlsSession.fromDER(withField({})).cipher, 'TLS_AES_256_GCM_SHA384');
  });

  for (const [name, make, code] of cases) {
    test(`${name} → TlsSessionError ${code}`, () => {
      assert.throws(
        () => TlsSession.parse(make()),
        (err: unknown) => {
          assert.ok(err instanceof TlsSessionError, `got ${String(err)}`);
          assert.equal(err.code, code, err.message);
          assert.ok(!err.message.includes('\n'), 'one line');
          return true;
        },
      );
    });
  }
});

describe('tls-sessions inspect', () => {
  test('--reveal equals openssl sess_id -text -noout for every session; default redacts', async () => {
    for (const c of corpus) {
      const file = join(dir.path, `${c.name}.der`);
      await writeFile(file, c.der);
      const expected = (await sessId(c.der, ['-text', '-noout'])).toString('latin1');
      const revealed = await runCli(main, ['inspect', '--reveal', file]);
      assert.equal(revealed.code, 0);
      assert.equal(revealed.stdout.toString('latin1'), expected, c.name);
      const plain = await runCli(main, ['inspect', file]);
      const key = TlsSession.fromDER(c.der).masterKey.toString('hex').toUpperCase();
      assert.ok(!plain.stdout.toString('latin1').includes(key), `${c.name}: secret printed without --reveal`);
      assert.equal(plain.stdout.toString('latin1'), expected.replace(key, '<redacted>'), c.name);
    }
  });

  test('reads PEM from stdin and DER with --inform der', async () => {
    const c = corpus[0]!;
    const pem = TlsSession.fromDER(c.der).toPEM();
    const fromStdin = await runCli(main, ['inspect', '-'], pem);
    assert.equal(fromStdin.code, 0);
    assert.match(fromStdin.stdout.toString(), /^SSL-Session:/);
    const fromDer = await runCli(main, ['inspect', '--inform', 'der'], c.der);
    assert.equal(fromDer.stdout.toString(), fromStdin.stdout.toString());
    const wrongForm = await runCli(main, ['inspect', '--inform', 'der'], pem);
    assert.equal(wrongForm.code, 1);
  });

  test('--json has the documented keys, and the secret only with --reveal', async () => {
    for (const c of corpus) {
      const file = join(dir.path, `${c.name}.der`);
      await writeFile(file, c.der);
      const res = await runCli(main, ['inspect', '--json', file]);
      assert.equal(res.code, 0);
      const j = JSON.parse(res.stdout.toString()) as Record<string, unknown>;
      for (const k of [
        'protocol',
        'cipher',
        'cipherId',
        'sessionId',
        'sessionIdContext',
        'startTime',
        'timeout',
        'expiresAt',
        'resumable',
        'hostname',
        'alpn',
        'ticket',
        'ticketLifetimeHint',
        'ticketAgeAdd',
        'maxEarlyData',
        'extendedMasterSecret',
        'verifyResult',
        'kexGroup',
        'peerCertificate',
      ]) {
        assert.ok(k in j, `${c.name}: missing ${k}`);
      }
      assert.equal('masterKey' in j, false);
      assert.equal(
        j['expiresAt'],
        new Date(((j['startTime'] as number) + (j['timeout'] as number)) * 1000).toISOString(),
      );
      const revealed = JSON.parse(
        (await runCli(main, ['inspect', '--json', '--reveal', file])).stdout.toString(),
      ) as Record<string, unknown>;
      assert.equal(revealed['masterKey'], TlsSession.fromDER(c.der).masterKey.toString('hex'));
    }
  });

  test('--out converts, and openssl sess_id reads the result', async () => {
    for (const outform of ['der', 'pem'] as const) {
      const c = corpus[1]!;
      const inFile = join(dir.path, 'in.der');
      const outFile = join(dir.path, `out.${outform}`);
      await writeFile(inFile, c.der);
      const res = await runCli(main, ['inspect', inFile, '--out', outFile, '--outform', outform]);
      assert.equal(res.code, 0);
      const back = (
        await runOpensslOk(['sess_id', '-inform', outform.toUpperCase(), '-in', outFile, '-outform', 'DER'])
      ).stdout;
      assert.ok(back.equals(c.der));
    }
  });

  test('exit codes: 1 on bad input with one line on stderr, 2 on usage', async () => {
    const bad = await runCli(main, ['inspect', '-'], Buffer.from('garbage'));
    assert.equal(bad.code, 1);
    assert.equal(bad.stderr.trim().split('\n').length, 1);
    assert.match(bad.stderr, /neither DER .*PEM/);
    const missing = await runCli(main, ['inspect', join(dir.path, 'nope.pem')]);
    assert.equal(missing.code, 1);
    assert.equal((await runCli(main, ['inspect', '--bogus'])).code, 2);
    assert.equal((await runCli(main, ['inspect', '--inform', 'xml'])).code, 2);
    assert.equal((await runCli(main, ['inspect', 'a', 'b'])).code, 2);
  });
});
