// `tls-sessions probe` end to end: arguments, exit codes, table and JSON output, saved sessions
// that openssl s_client resumes, client certificates, against real servers on loopback.
import assert from 'node:assert/strict';
import { readFile, readdir, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { after, describe, test } from 'node:test';
import { runMain } from '../cli/run-main.js';
import { freePort, sClient, sessId, sharedPki, startSServer, tmpDir } from '../helpers/index.js';

const pki = await sharedPki();
const dir = await tmpDir('probe-cli-');
after(() => dir.cleanup());

/** `tls-sessions probe ...args`, in this process; `tty`: stderr and stdout are a terminal. */
function run(args: string[], tty = false): Promise<{ code: number; stdout: string; stderr: string }> {
  return runMain(['probe', ...args], { stdout: tty, stderr: tty });
}

/** Start of an ANSI escape sequence. */
const CSI = '\u001b[';

describe('tls-sessions probe: usage', () => {
  test('--help prints the options and exits 0', async () => {
    const r = await run(['--help']);
    assert.equal(r.code, 0);
    for (const flag of [
      '--servername',
      '--ca',
      '--insecure',
      '--cert',
      '--alpn',
      '--tls1.2',
      '--tls1.3',
      '--attempts',
      '--other-servername',
      '--timeout',
      '--save-sessions',
      '--json',
    ]) {
      assert.ok(r.stdout.includes(flag), flag);
    }
  });

  const bad: Array<[string, string[], RegExp]> = [
    ['no target', [], /expected one HOST\[:PORT\]/],
    ['two targets', ['a', 'b'], /expected one HOST\[:PORT\]/],
    ['port out of range', ['example.test:70000'], /port must be a number from 1 to 65535/],
    ['empty port', ['example.test:'], /port must be/],
    ['attempts 0', ['x.test', '--attempts', '0'], /--attempts must be an integer from 1 to 100/],
    ['attempts not a number', ['x.test', '--attempts', 'five'], /--attempts must be an integer/],
    ['timeout 0', ['x.test', '--timeout', '0'], /--timeout must be an integer/],
    ['--key alone', ['x.test', '--key', 'k.pem'], /--key needs --cert/],
    ['--ca with --insecure', ['x.test', '--ca', 'ca.pem', '--insecure'], /cannot be combined/],
    ['empty ALPN entry', ['x.test', '--alpn', 'h2,,http/1.1'], /--alpn/],
    ['unknown option', ['x.test', '--frobnicate'], /Unknown option/],
    ['empty --other-servername', ['x.test', '--other-servername', ''], /must not be empty/],
  ];
  for (const [name, args, message] of bad) {
    test(`${name}: exit 2, one line`, async () => {
      const r = await run(args);
      assert.equal(r.code, 2);
      assert.equal(r.stdout, '');
      assert.match(r.stderr, message);
      assert.equal(r.stderr.trimEnd().split('\n').length, 1, r.stderr);
    });
  }
});

describe('tls-sessions probe: failures', () => {
  test('nothing listening: exit 1 with one clear line', async () => {
    const port = await freePort();
    const r = await run([`127.0.0.1:${port}`, '--insecure']);
    assert.equal(r.code, 1);
    assert.equal(r.stdout, '');
    assert.equal(
      r.stderr,
      `tls-sessions probe: cannot connect to 127.0.0.1:${port}: connect ECONNREFUSED 127.0.0.1:${port}\n`,
    );
  });

  test('untrusted certificate: exit 1 naming --ca and --insecure; --insecure probes', {
    timeout: 30_000,
  }, async (t) => {
    const server = await startSServer({ cert: pki.server });
    t.after(() => server.stop());
    const r = await run([`127.0.0.1:${server.port}`, '--attempts', '1']);
    assert.equal(r.code, 1);
    assert.match(
      r.stderr,
      /^tls-sessions probe: 127\.0\.0\.1:\d+: certificate not accepted \(.+\); use --ca FILE .* or --insecure/,
    );
    assert.equal(r.stderr.trimEnd().split('\n').length, 1);
    const ok = await run([`127.0.0.1:${server.port}`, '--attempts', '1', '--insecure']);
    assert.equal(ok.code, 0, ok.stderr);
  });

  test('wrong name in the certificate: exit 1', { timeout: 30_000 }, async (t) => {
    const server = await startSServer({ cert: pki.server });
    t.after(() => server.stop());
    const r = await run([
      `127.0.0.1:${server.port}`,
      '--ca',
      pki.ca.certPath,
      '--servername',
      'other.test',
      '--attempts',
      '1',
    ]);
    assert.equal(r.code, 1);
    assert.match(r.stderr, /certificate not accepted/);
  });

  test('a server that speaks neither version probed: exit 1', { timeout: 30_000 }, async (t) => {
    const server = await startSServer({ cert: pki.server, tls: '1.2' });
    t.after(() => server.stop());
    const r = await run([`127.0.0.1:${server.port}`, '--ca', pki.ca.certPath, '--servername', 'localhost', '--tls1.3']);
    assert.equal(r.code, 1);
    assert.match(r.stderr, /^tls-sessions probe: 127\.0\.0\.1:\d+: TLSv1\.3 handshake failed: /);
  });
});

describe('tls-sessions probe: output', () => {
  test('--json: the documented keys, no key material', { timeout: 30_000 }, async (t) => {
    const server = await startSServer({ cert: pki.server });
    t.after(() => server.stop());
    const r = await run([
      `127.0.0.1:${server.port}`,
      '--ca',
      pki.ca.certPath,
      '--servername',
      'localhost',
      '--json',
      '--other-servername',
      'localhost',
    ]);
    assert.equal(r.code, 0, r.stderr);
    assert.equal(r.stderr, '', 'no progress line when stderr is not a terminal');
    const report = JSON.parse(r.stdout) as Record<string, unknown> & {
      tls12: Record<string, Record<string, unknown>>;
      tls13: Record<string, unknown> & { tickets: Record<string, unknown> };
      timing: Record<string, unknown>;
      findings: Array<Record<string, unknown>>;
      crossHost: Record<string, unknown>;
    };
    for (const key of ['target', 'servername', 'tls12', 'tls13', 'crossHost', 'timing', 'findings'])
      assert.ok(key in report, key);
    assert.equal(report['target'], `127.0.0.1:${server.port}`);
    assert.equal(report['servername'], 'localhost');
    for (const key of ['attempts', 'resumed'])
      assert.equal(typeof report.tls12['sessionId']?.[key], 'number', `tls12.sessionId.${key}`);
    for (const key of ['attempts', 'resumed', 'lifetimeHint'])
      assert.equal(typeof report.tls12['ticket']?.[key], 'number', `tls12.ticket.${key}`);
    for (const key of ['attempts', 'resumed', 'perFullHandshake', 'perResumedHandshake', 'lifetimeHint']) {
      assert.equal(typeof report.tls13.tickets[key], 'number', `tls13.tickets.${key}`);
    }
    assert.equal(typeof report.tls13['ticketReuseAccepted'], 'boolean');
    assert.equal(typeof report.tls13['maxEarlyData'], 'number');
    assert.equal(typeof report.timing['fullMs'], 'number');
    assert.equal(typeof report.timing['resumedMs'], 'number');
    assert.equal(report.crossHost['otherServername'], 'localhost');
    for (const f of report.findings) {
      assert.deepEqual(Object.keys(f).sort(), ['id', 'message', 'severity']);
      assert.ok(['high', 'medium', 'low', 'info'].includes(f['severity'] as string));
    }
    assert.doesNotMatch(r.stdout, /masterKey|[0-9A-Fa-f]{64}/, 'no secrets or raw session bytes');
  });

  test('table: plain when not a terminal; colour and a progress line on a terminal', { timeout: 30_000 }, async (t) => {
    const server = await startSServer({ cert: pki.server });
    t.after(() => server.stop());
    const args = [`127.0.0.1:${server.port}`, '--ca', pki.ca.certPath, '--servername', 'localhost', '--attempts', '2'];
    const plain = await run(args);
    assert.equal(plain.code, 0, plain.stderr);
    assert.ok(!plain.stdout.includes(CSI), 'no colour');
    assert.equal(plain.stderr, '');
    for (const line of [
      /^tls-sessions probe 127\.0\.0\.1:\d+ {2}SNI localhost, 2 attempts, \d+ connections in \d+ ms$/m,
      /^TLS 1\.3 +TLS_AES_256_GCM_SHA384$/m,
      /^ {2}ticket resumption \(fresh tickets\) +2\/2 resumed$/m,
      /^ {2}tickets per full handshake +2$/m,
      /^ {2}same ticket accepted twice +yes$/m,
      /^ {2}ticket storage \(a guess\) +stateless \(\d+-byte ticket\)$/m,
      /^TLS 1\.2 +TLS_ECDHE_ECDSA_WITH_AES_\d+_GCM_SHA\d+$/m,
      /^ {2}session id resumption +2\/2 resumed$/m,
      /^ {2}ticket lifetime hint +7200 s \(2 h\)$/m,
      /^ {2}handshake time, median +full \d+\.\d ms, resumed \d+\.\d ms$/m,
      /^Findings$/m,
      /^ {2}LOW {5}ticket-reuse-accepted$/m,
    ]) {
      assert.match(plain.stdout, line);
    }

    const tty = await run(args, true);
    assert.equal(tty.code, 0);
    assert.ok(tty.stdout.includes(CSI), 'colour');
    assert.ok(tty.stderr.includes(`\r${CSI}Kprobing 127.0.0.1:${server.port}: TLSv1.3: resumption 1/2`), tty.stderr);
    assert.ok(tty.stderr.endsWith(`\r${CSI}K`), 'the progress line is cleared at the end');
  });

  test('--tls1.2 probes TLS 1.2 only', { timeout: 30_000 }, async (t) => {
    const server = await startSServer({ cert: pki.server });
    t.after(() => server.stop());
    const r = await run([`127.0.0.1:${server.port}`, '--insecure', '--tls1.2', '--json', '--attempts', '1']);
    assert.equal(r.code, 0, r.stderr);
    const report = JSON.parse(r.stdout) as { tls12: unknown; tls13: unknown; notSpoken: Record<string, string> };
    assert.notEqual(report.tls12, null);
    assert.equal(report.tls13, null);
    assert.deepEqual(report.notSpoken, { 'TLSv1.3': 'not probed' });
  });

  test('client certificate and ALPN are used on every connection', { timeout: 30_000 }, async (t) => {
    const server = await startSServer({ cert: pki.server, verifyClient: true, args: ['-alpn', 'http/1.1'] });
    t.after(() => server.stop());
    const base = [
      `127.0.0.1:${server.port}`,
      '--ca',
      pki.ca.certPath,
      '--servername',
      'localhost',
      '--attempts',
      '2',
      '--json',
    ];
    const refused = await run(base);
    assert.equal(refused.code, 1);
    assert.match(
      refused.stderr,
      /^tls-sessions probe: 127\.0\.0\.1:\d+: no TLS 1\.2 or TLS 1\.3 handshake completed \(the server rejected the TLSv1\.3 handshake: tlsv13 alert certificate required \(the server wants a client certificate: --cert\/--key\); TLSv1\.2 handshake failed: (?:sslv3|ssl\/tls) alert handshake failure\)\n$/,
    );
    assert.equal(refused.stderr.trimEnd().split('\n').length, 1);
    const r = await run([...base, '--cert', pki.client.certPath, '--key', pki.client.keyPath, '--alpn', 'h2,http/1.1']);
    assert.equal(r.code, 0, r.stderr);
    const report = JSON.parse(r.stdout) as {
      tls13: { alpn: string; tickets: { resumed: number } };
      tls12: { alpn: string; ticket: { resumed: number } };
    };
    assert.equal(report.tls13.alpn, 'http/1.1');
    assert.equal(report.tls12.alpn, 'http/1.1');
    assert.equal(report.tls13.tickets.resumed, 2);
    assert.equal(report.tls12.ticket.resumed, 2);
  });

  test('--save-sessions: PEM files, private, that openssl s_client resumes', { timeout: 30_000 }, async (t) => {
    const server = await startSServer({ cert: pki.server });
    t.after(() => server.stop());
    const out = join(dir.path, 'saved');
    const r = await run([
      `127.0.0.1:${server.port}`,
      '--ca',
      pki.ca.certPath,
      '--servername',
      'localhost',
      '--attempts',
      '1',
      '--save-sessions',
      out,
    ]);
    assert.equal(r.code, 0, r.stderr);
    const files = {
      'tls13-ticket': { tls: '1.3' as const, noTicket: false },
      'tls12-session-id': { tls: '1.2' as const, noTicket: true },
      'tls12-ticket': { tls: '1.2' as const, noTicket: false },
    };
    for (const [name, how] of Object.entries(files)) {
      const file = join(out, `${name}.pem`);
      assert.ok(r.stdout.includes(file), `${file} listed`);
      assert.equal((await stat(file)).mode & 0o777, 0o600);
      // Plain OpenSSL PEM on every Node line, never Node's bound session state.
      assert.match(
        await readFile(file, 'utf8'),
        /^-----BEGIN SSL SESSION PARAMETERS-----\n[A-Za-z0-9+/=\n]+-----END SSL SESSION PARAMETERS-----\n$/,
      );
      assert.match(await sessId(file), how.tls === '1.3' ? /Protocol {2}: TLSv1\.3/ : /Protocol {2}: TLSv1\.2/);
      const resumed = await sClient({
        port: server.port,
        servername: 'localhost',
        sessIn: file,
        tls: how.tls,
        noTicket: how.noTicket,
      });
      assert.equal(resumed.reused, true, `s_client resumes ${name}`);
    }
    assert.equal((await stat(out)).mode & 0o777, 0o700);
  });

  test('--save-sessions with nothing to save: the report, then exit 1 with one line', {
    timeout: 30_000,
  }, async (t) => {
    // TLS 1.3 only, no tickets: the server issues no session at all.
    const server = await startSServer({ cert: pki.server, tls: '1.3', numTickets: 0 });
    t.after(() => server.stop());
    const out = join(dir.path, 'nothing');
    const r = await run([
      `127.0.0.1:${server.port}`,
      '--ca',
      pki.ca.certPath,
      '--servername',
      'localhost',
      '--attempts',
      '1',
      '--save-sessions',
      out,
    ]);
    assert.equal(r.code, 1);
    assert.match(r.stdout, /^TLS 1\.3 /m, 'the report is printed');
    assert.equal(
      r.stderr,
      'tls-sessions probe: --save-sessions: no session to save (the server issued no session id or ticket)\n',
    );
    assert.deepEqual(await readdir(out).catch(() => []), []);
  });
});
