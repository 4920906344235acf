// The fleet probe against Node servers on 127.0.0.2-4, one port: sharing a RedisStore (session
// cache) and a TicketKeyRing (ticket keys), every member resumes every member's sessions; each
// with its own cache and ring, only its own. Every cell is checked against openssl s_client
// -sess_out on one member and -sess_in on the other.
import assert from 'node:assert/strict';
import { after, describe, test } from 'node:test';
import { formatFleetReport, probeFleet } from '../../src/probe/index.js';
import { sharedPki, startNodeServer, tmpDir } from '../helpers/index.js';
import { redisSkipReason, startRedisServer } from '../helpers-redis/redis-server.js';
import { FLEET_HOSTS, startNodeFleet } from './fleet-servers.js';
import { assertFleetCellsAgree, fleetGrid } from './agree.js';

const pki = await sharedPki();
const dir = await tmpDir('probe-fleet-');
after(() => dir.cleanup());
const skip = redisSkipReason();

describe('fleet probe against Node servers', () => {
  test('three members sharing a RedisStore and a TicketKeyRing: the full matrix', {
    skip,
    timeout: 120_000,
  }, async (t) => {
    const redis = await startRedisServer({ disposeAfter: t });
    const fleet = await startNodeFleet({ hosts: FLEET_HOSTS, cert: pki.server, redisUrl: redis.url });
    t.after(() => fleet.close());
    // No member list: the name's addresses, as a resolver gives them.
    const report = await probeFleet({
      host: 'localhost',
      port: fleet.port,
      ca: pki.ca.cert,
      resolve: async () => [...FLEET_HOSTS],
    });
    assert.equal(report.source, 'resolved');
    assert.deepEqual(
      report.members.map((m) => m.member),
      FLEET_HOSTS.map((h) => `${h}:${fleet.port}`),
    );
    assert.deepEqual(fleetGrid(report), {
      'tls13-ticket': ['yyy', 'yyy', 'yyy'],
      'tls12-session-id': ['yyy', 'yyy', 'yyy'],
      'tls12-ticket': ['yyy', 'yyy', 'yyy'],
    });
    const names = report.members.map((m) => m.ticketKeyNames.tls13.join());
    assert.equal(new Set(names).size, 1, `one key name on every member: ${names.join(' | ')}`);
    assert.match(names[0]!, /^[0-9a-f]{32}$/);
    assert.deepEqual(
      report.members.map((m) => m.ticketKeyNames.tls12.join()),
      names,
    );
    assert.deepEqual(
      report.members.map((m) => m.lifetimeHint),
      FLEET_HOSTS.map(() => ({ tls12: 300, tls13: 300 })),
    );
    assert.deepEqual(report.findings, []);
    await assertFleetCellsAgree(report, { port: fleet.port, dir: dir.path, allRan: false });
    const text = formatFleetReport(report);
    assert.match(
      text,
      /^TLS 1\.3 tickets {2}made on \(row\), offered to \(column\)\n {7}A {5}B {5}C {5}\n {2}A {4}yes {3}yes {3}yes {3}$/m,
    );
    assert.match(text, /none: every member resumes every member's sessions/);
  });

  test('three members, each with its own cache and ring: the diagonal only', { timeout: 120_000 }, async (t) => {
    const fleet = await startNodeFleet({ hosts: FLEET_HOSTS, cert: pki.server });
    t.after(() => fleet.close());
    const report = await probeFleet({
      host: 'localhost',
      port: fleet.port,
      ca: pki.ca.cert,
      members: [...FLEET_HOSTS],
    });
    assert.equal(report.source, 'given');
    const diagonal = ['ynn', 'nyn', 'nny'];
    assert.deepEqual(fleetGrid(report), {
      'tls13-ticket': diagonal,
      'tls12-session-id': diagonal,
      'tls12-ticket': diagonal,
    });
    const names = report.members.map((m) => m.ticketKeyNames.tls13[0]);
    assert.equal(new Set(names).size, 3, 'three key names');
    assert.deepEqual(
      report.findings.map((f) => `${f.severity} ${f.id}`),
      [
        'medium fleet-sessions-not-shared',
        'medium fleet-sessions-not-shared',
        'medium fleet-sessions-not-shared',
        'medium fleet-ticket-keys-differ',
        'medium fleet-ticket-keys-differ',
      ],
    );
    assert.match(
      report.findings[0]!.message,
      /^TLS 1\.3 tickets made on one member do not resume on another \(127\.0\.0\.2:\d+ -> 127\.0\.0\.3:\d+, .*about 33% of the time \(3 of 9 pairs\)/,
    );
    await assertFleetCellsAgree(report, { port: fleet.port, dir: dir.path, allRan: false });
  });

  test('a member that does not answer is reported, its cells not run; the name really resolved', {
    timeout: 60_000,
  }, async (t) => {
    const server = await startNodeServer({ cert: pki.server });
    t.after(() => server.close());
    // localhost resolves to 127.0.0.1 here: a fleet of one, found through the resolver.
    const single = await probeFleet({ host: 'localhost', port: server.port, ca: pki.ca.cert });
    assert.deepEqual(
      single.members.map((m) => m.host),
      ['127.0.0.1'],
    );
    assert.deepEqual(
      single.findings.map((f) => f.id),
      ['fleet-single-member'],
    );
    assert.deepEqual(fleetGrid(single), { 'tls13-ticket': ['y'], 'tls12-session-id': ['n'], 'tls12-ticket': ['y'] });

    const report = await probeFleet({
      host: 'localhost',
      port: server.port,
      ca: pki.ca.cert,
      members: ['127.0.0.1', '127.0.0.9'],
      versions: ['TLSv1.3'],
    });
    assert.match(report.members[1]!.error ?? '', /^cannot connect to 127\.0\.0\.9:\d+: connect ECONNREFUSED/);
    assert.deepEqual(fleetGrid(report), { 'tls13-ticket': ['y-', '--'] });
    assert.equal(
      report.matrices[0]!.cells[0]![1]!.notRun,
      `offered to 127.0.0.9:${server.port}, which could not be probed`,
    );
    assert.equal(report.findings[0]?.id, 'fleet-member-unreachable');
    assert.equal(report.findings[0]?.severity, 'high');
  });
});
