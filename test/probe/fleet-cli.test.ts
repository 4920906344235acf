// `tls-sessions probe --fleet` and `--watch` end to end: usage errors, the table, JSON, and
// Ctrl-C during a watch (a real SIGINT to the built CLI) printing what was seen so far.
import assert from 'node:assert/strict';
import { resolve } from 'node:path';
import { describe, test } from 'node:test';
import { runMain } from '../cli/run-main.js';
import type { FleetReport, WatchReport } from '../../src/probe/index.js';
import { sharedPki, spawnPeer, startNodeServer } from '../helpers/index.js';
import { FLEET_HOSTS, startNodeFleet } from './fleet-servers.js';

const pki = await sharedPki();
const BIN = resolve(import.meta.dirname, '..', '..', 'bin', 'tls-sessions.js');

/** `tls-sessions probe ...args`, in this process; `tty`: stderr are a terminal. */
function run(args: string[], tty = false): Promise<{ code: number; stdout: string; stderr: string }> {
  return runMain(['probe', ...args], { stderr: tty });
}

describe('tls-sessions probe --fleet / --watch: usage', () => {
  const bad: Array<[string, string[], RegExp]> = [
    [
      '--fleet with --watch',
      ['x.test', '--fleet', 'a,b', '--watch', '10s'],
      /^--fleet cannot be combined with --watch$/,
    ],
    [
      '--fleet with --other-servername',
      ['x.test', '--fleet', 'a', '--other-servername', 'y.test'],
      /^--fleet cannot be combined with --other-servername$/,
    ],
    [
      '--fleet with --save-sessions',
      ['x.test', '--fleet', 'a', '--save-sessions', 'd'],
      /^--fleet cannot be combined with --save-sessions$/,
    ],
    ['an empty member', ['x.test', '--fleet', 'a,,b'], /^--fleet takes ADDR\[:PORT\],ADDR\[:PORT\],\.\.\. or 'dns'$/],
    [
      'a member with a bad port',
      ['x.test', '--fleet', '127.0.0.2:0'],
      /^probe: members: target '127\.0\.0\.2:0': port must be a number from 1 to 65535$/,
    ],
    ['--every without --watch', ['x.test', '--every', '1s'], /^--every needs --watch$/],
    [
      '--watch of 2^31 ms',
      ['x.test', '--watch', '2147483648ms'],
      /^--watch must be a duration such as 90s, 10m or 2h, from 1ms to 2147483647ms \(got '2147483648ms'\)$/,
    ],
    ['--watch of 25 days', ['x.test', '--watch', '600h'], /^--watch must be a duration/],
    ['--watch not a duration', ['x.test', '--watch', 'soon'], /^--watch must be a duration/],
    ['--every under 100 ms', ['x.test', '--watch', '10s', '--every', '50ms'], /^--every must be at least 100ms/],
    [
      '--every over --watch',
      ['x.test', '--watch', '10s', '--every', '1m'],
      /^--every must not be longer than --watch$/,
    ],
    [
      '--watch with --attempts',
      ['x.test', '--watch', '10s', '--attempts', '2'],
      /^--watch cannot be combined with --attempts$/,
    ],
  ];
  for (const [name, args, message] of bad) {
    test(`${name}: exit 2, one line`, async () => {
      const r = await run(args);
      assert.equal(r.code, 2);
      assert.equal(r.stdout, '');
      assert.equal(r.stderr.trimEnd().split('\n').length, 1, r.stderr);
      assert.match(r.stderr.replace(/^tls-sessions probe: /, '').trimEnd(), message);
    });
  }
});

describe('tls-sessions probe --fleet', () => {
  test('the table and --json for two members that share nothing', { timeout: 60_000 }, async (t) => {
    const fleet = await startNodeFleet({ hosts: FLEET_HOSTS.slice(0, 2), cert: pki.server });
    t.after(() => fleet.close());
    const args = [
      `localhost:${fleet.port}`,
      '--ca',
      pki.ca.certPath,
      '--fleet',
      `${FLEET_HOSTS[0]},${FLEET_HOSTS[1]}:${fleet.port}`,
    ];
    const text = await run(args);
    assert.equal(text.code, 0, text.stderr);
    for (const line of [
      new RegExp(
        `^tls-sessions probe localhost:${fleet.port} --fleet {2}SNI localhost, 2 members \\(as given\\), \\d+ connections in \\d+ ms$`,
        'm',
      ),
      new RegExp(`^ {2}A {2}127\\.0\\.0\\.2:${fleet.port} +[0-9a-f]{8} +[0-9a-f]{8} +300 s / 300 s$`, 'm'),
      /^TLS 1\.2 session ids {2}made on \(row\), offered to \(column\)\n {7}A {5}B {5}\n {2}A {4}yes {3}no {4}\n {2}B {4}no {4}yes {3}$/m,
      /^ {2}MEDIUM {2}fleet-ticket-keys-differ$/m,
    ]) {
      assert.match(text.stdout, line);
    }
    const json = await run([...args, '--json', '--tls1.3']);
    assert.equal(json.code, 0, json.stderr);
    const report = JSON.parse(json.stdout) as FleetReport;
    assert.deepEqual(
      report.matrices.map((m) => m.mechanism),
      ['tls13-ticket'],
    );
    assert.deepEqual(report.matrices[0]!.cells, [
      [
        { resumed: true, notRun: null },
        { resumed: false, notRun: null },
      ],
      [
        { resumed: false, notRun: null },
        { resumed: true, notRun: null },
      ],
    ]);
    assert.doesNotMatch(json.stdout, /masterKey|[0-9A-Fa-f]{64}/, 'no secrets or ticket bytes');
  });

  test('--fleet dns: every address the name resolves to (localhost: 127.0.0.1 here)', {
    timeout: 30_000,
  }, async (t) => {
    const server = await startNodeServer({ cert: pki.server });
    t.after(() => server.close());
    const r = await run([`localhost:${server.port}`, '--ca', pki.ca.certPath, '--fleet', 'dns', '--json']);
    assert.equal(r.code, 0, r.stderr);
    const report = JSON.parse(r.stdout) as FleetReport;
    assert.equal(report.source, 'resolved');
    assert.deepEqual(
      report.members.map((m) => m.member),
      [`127.0.0.1:${server.port}`],
    );
    assert.deepEqual(
      report.findings.map((f) => f.id),
      ['fleet-single-member'],
    );
  });

  test('no member answers: the table, then exit 1', { timeout: 30_000 }, async () => {
    const r = await run(['localhost:9', '--insecure', '--fleet', '127.0.0.2,127.0.0.3', '--tls1.3']);
    assert.equal(r.code, 1);
    assert.match(r.stdout, /not probed: cannot connect to 127\.0\.0\.2:9/);
    assert.match(
      r.stderr,
      /^tls-sessions probe: no member of the fleet could be probed \(cannot connect to 127\.0\.0\.2:9: connect ECONNREFUSED 127\.0\.0\.2:9\)\n$/,
    );
  });
});

describe('tls-sessions probe --watch', () => {
  test('a progress line on a terminal, cleared at the end; the report on stdout', { timeout: 30_000 }, async (t) => {
    const fleet = await startNodeFleet({ hosts: ['127.0.0.2'], cert: pki.server });
    t.after(() => fleet.close());
    const r = await run(
      [
        `127.0.0.2:${fleet.port}`,
        '--ca',
        pki.ca.certPath,
        '--servername',
        'localhost',
        '--watch',
        '1s',
        '--every',
        '250ms',
      ],
      true,
    );
    assert.equal(r.code, 0, r.stderr);
    assert.match(
      r.stderr,
      new RegExp(
        `^\\r\\u001b\\[Kwatching 127\\.0\\.0\\.2:${fleet.port}: 1 samples, key [0-9a-f]{8}, 0 changes, 1 s left`,
      ),
    );
    assert.ok(r.stderr.endsWith('\r\u001b[K'), 'cleared');
    assert.match(
      r.stdout,
      /^tls-sessions probe 127\.0\.0\.2:\d+ --watch {2}SNI localhost, TLSv1\.3 tickets, 5 samples every 250 ms over 1\.\d s\n/,
    );
    assert.match(r.stdout, /^Key changes\n {2}none in 1\.\d s$/m);
  });

  test('Ctrl-C (SIGINT) prints what was seen so far', { timeout: 60_000 }, async (t) => {
    const fleet = await startNodeFleet({ hosts: ['127.0.0.2'], cert: pki.server });
    t.after(() => fleet.close());
    const child = spawnPeer({
      name: 'tls-sessions probe --watch',
      command: process.execPath,
      args: [
        BIN,
        'probe',
        `127.0.0.2:${fleet.port}`,
        '--ca',
        pki.ca.certPath,
        '--servername',
        'localhost',
        '--watch',
        '1h',
        '--every',
        '200ms',
        '--json',
      ],
      stdin: 'ignore',
    });
    t.after(() => child.kill());
    await new Promise((resolve) => setTimeout(resolve, 1500));
    const interruptedAt = Date.now();
    child.signal('SIGINT');
    const code = await child.exited;
    assert.ok(Date.now() - interruptedAt < 3000, 'stops at once');
    assert.equal(code, 0, child.stderr());
    const report = JSON.parse(child.stdout()) as WatchReport;
    assert.equal(report.interrupted, true);
    assert.equal(report.durationMs, 3_600_000);
    assert.ok(report.samples.length >= 2, `${report.samples.length} samples`);
    assert.match(report.samples[0]!.keyName ?? '', /^[0-9a-f]{32}$/);
  });
});
