// The fleet probe against nginx instances on 127.0.0.2 and 127.0.0.3, one port: with one
// ssl_session_ticket_key file for both, tickets resume on either (each keeps its own session
// cache, so session ids do not); without it, each resumes only its own. Every cell is checked
// against openssl s_client -sess_out on one member and -sess_in on the other.
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { after, describe, test } from 'node:test';
import { probeFleet } from '../../src/probe/index.js';
import { freePort, sharedPki, skipUnlessPeer, tmpDir } from '../helpers/index.js';
import { FLEET_HOSTS } from './fleet-servers.js';
import { type Nginx, nginxMissing, startNginx } from './nginx.js';
import { assertFleetCellsAgree, fleetGrid } from './agree.js';

const skip = skipUnlessPeer(nginxMissing());
const pki = await sharedPki();
const dir = await tmpDir('probe-fleet-nginx-');
after(() => dir.cleanup());
const HOSTS = FLEET_HOSTS.slice(0, 2);

async function startPair(
  t: { after(fn: () => Promise<void>): void },
  extra: (i: number) => { ticketKeyFiles?: string[]; timeout?: string },
): Promise<{ port: number }> {
  const port = await freePort();
  const instances: Nginx[] = [];
  t.after(async () => {
    for (const n of instances) await n.stop();
  });
  for (const [i, host] of HOSTS.entries()) {
    instances.push(
      await startNginx({
        servers: [{ names: ['localhost'], cert: pki.server }],
        cache: 'shared:SSL:1m',
        tickets: true,
        host,
        port,
        ...extra(i),
      }),
    );
  }
  return { port };
}

describe('fleet probe against nginx', { skip }, () => {
  test('one ssl_session_ticket_key file on both: tickets resume on either, session ids only where made', {
    timeout: 120_000,
  }, async (t) => {
    const key = randomBytes(80);
    const keyFile = join(dir.path, 'ticket.key');
    await writeFile(keyFile, key, { mode: 0o600 });
    const { port } = await startPair(t, () => ({ ticketKeyFiles: [keyFile] }));
    const report = await probeFleet({ host: 'localhost', port, ca: pki.ca.cert, members: [...HOSTS] });
    assert.deepEqual(fleetGrid(report), {
      'tls13-ticket': ['yy', 'yy'],
      'tls12-session-id': ['yn', 'ny'],
      'tls12-ticket': ['yy', 'yy'],
    });
    // nginx names its tickets with the first 16 bytes of the key file.
    const name = key.subarray(0, 16).toString('hex');
    for (const m of report.members) assert.deepEqual(m.ticketKeyNames, { tls12: [name], tls13: [name] });
    assert.deepEqual(
      report.findings.map((f) => f.id),
      ['fleet-sessions-not-shared'],
    );
    assert.match(
      report.findings[0]!.message,
      /^TLS 1\.2 session ids made on one member do not resume on another .* Share the session cache/,
    );
    await assertFleetCellsAgree(report, { port, dir: dir.path, allRan: true });
  });

  test('no ticket key file, different session timeouts: the diagonal only, keys and lifetimes differ', {
    timeout: 120_000,
  }, async (t) => {
    const { port } = await startPair(t, (i) => (i === 0 ? {} : { timeout: '10m' }));
    const report = await probeFleet({ host: 'localhost', port, ca: pki.ca.cert, members: [...HOSTS] });
    assert.deepEqual(fleetGrid(report), {
      'tls13-ticket': ['yn', 'ny'],
      'tls12-session-id': ['yn', 'ny'],
      'tls12-ticket': ['yn', 'ny'],
    });
    assert.notEqual(report.members[0]!.ticketKeyNames.tls13[0], report.members[1]!.ticketKeyNames.tls13[0]);
    assert.deepEqual(
      report.members.map((m) => m.lifetimeHint),
      [
        { tls12: 300, tls13: 300 },
        { tls12: 600, tls13: 600 },
      ],
    );
    assert.deepEqual(
      report.findings.map((f) => `${f.severity} ${f.id}`),
      [
        'medium fleet-sessions-not-shared',
        'medium fleet-sessions-not-shared',
        'medium fleet-sessions-not-shared',
        'medium fleet-ticket-keys-differ',
        'medium fleet-ticket-keys-differ',
        'low fleet-lifetimes-differ',
        'low fleet-lifetimes-differ',
      ],
    );
    assert.match(
      report.findings.at(-1)!.message,
      /^Members announce different TLS 1\.2 ticket lifetimes \(300 s \(5 min\): 127\.0\.0\.2:\d+; 600 s \(10 min\): 127\.0\.0\.3:\d+\)/,
    );
    await assertFleetCellsAgree(report, { port, dir: dir.path, allRan: true });
  });
});
