// The probe against `openssl s_server` configured in different ways, checked against what each
// configuration does and against `openssl s_client -sess_out/-sess_in` on the same server.
import assert from 'node:assert/strict';
import { after, describe, test } from 'node:test';
import { type ProbeReport, probe } from '../../src/probe/index.js';
import { type SServerOptions, sharedPki, sharedVhosts, startSServer, tmpDir } from '../helpers/index.js';
import { assertAgrees, assertCrossChecksAgree, findingIds } from './agree.js';
import { referenceVerdict } from './reference.js';

const pki = await sharedPki();
const dir = await tmpDir('probe-openssl-');
after(() => dir.cleanup());

/** What a configuration is known to do (OpenSSL 3.0 behaviour). */
interface Expected {
  tls13: null | {
    perFull: number;
    perResumed: number | null;
    resumed: number;
    storage: 'stateful' | 'stateless' | null;
    reuse: boolean | null;
  };
  tls12: null | { sessionId: boolean; ticket: boolean };
  findings: string[];
}

const CASES: Array<{ name: string; server: Partial<SServerOptions>; expected: Expected }> = [
  {
    name: 'defaults',
    server: {},
    expected: {
      tls13: { perFull: 2, perResumed: 1, resumed: 5, storage: 'stateless', reuse: true },
      tls12: { sessionId: true, ticket: true },
      findings: ['ticket-reuse-accepted', 'tls12-ticket-not-renewed'],
    },
  },
  {
    name: '-no_ticket (TLS 1.3 tickets become stateful, no TLS 1.2 tickets)',
    server: { noTicket: true },
    expected: {
      tls13: { perFull: 2, perResumed: 1, resumed: 5, storage: 'stateful', reuse: true },
      tls12: { sessionId: true, ticket: false },
      findings: ['ticket-reuse-accepted'],
    },
  },
  ...[0, 1, 2, 3, 4].map((n) => ({
    name: `-num_tickets ${n}`,
    server: { numTickets: n },
    expected: {
      tls13:
        n === 0
          ? { perFull: 0, perResumed: null, resumed: 0, storage: null, reuse: null }
          : { perFull: n, perResumed: 1, resumed: 5, storage: 'stateless' as const, reuse: true },
      tls12: { sessionId: true, ticket: true },
      findings:
        n === 0
          ? ['tls12-ticket-not-renewed', 'tls13-no-resumption']
          : ['ticket-reuse-accepted', 'tls12-ticket-not-renewed'],
    },
  })),
  {
    name: '-no_cache -no_ticket (nothing resumes)',
    server: { noTicket: true, args: ['-no_cache'] },
    expected: {
      tls13: { perFull: 2, perResumed: null, resumed: 0, storage: 'stateful', reuse: null },
      tls12: { sessionId: false, ticket: false },
      findings: ['no-resumption'],
    },
  },
  {
    name: '-no_cache (tickets only)',
    server: { args: ['-no_cache'] },
    expected: {
      tls13: { perFull: 2, perResumed: 1, resumed: 5, storage: 'stateless', reuse: true },
      tls12: { sessionId: false, ticket: true },
      findings: ['ticket-reuse-accepted', 'tls12-session-id-not-resumed', 'tls12-ticket-not-renewed'],
    },
  },
  {
    name: '-tls1_2 only',
    server: { tls: '1.2' },
    expected: { tls13: null, tls12: { sessionId: true, ticket: true }, findings: ['tls12-ticket-not-renewed'] },
  },
  {
    name: '-tls1_3 only',
    server: { tls: '1.3' },
    expected: {
      tls13: { perFull: 2, perResumed: 1, resumed: 5, storage: 'stateless', reuse: true },
      tls12: null,
      findings: ['ticket-reuse-accepted'],
    },
  },
];

function checkExpected(report: ProbeReport, expected: Expected): void {
  if (expected.tls13 === null) {
    assert.equal(report.tls13, null);
    assert.match(report.notSpoken['TLSv1.3'] ?? '', /TLSv1\.3 handshake failed/);
  } else {
    const r = report.tls13;
    assert.ok(r, 'TLS 1.3 spoken');
    const e = expected.tls13;
    assert.equal(r.tickets.perFullHandshake, e.perFull, 'tickets per full handshake');
    assert.equal(r.tickets.perResumedHandshake, e.perResumed, 'tickets per resumed handshake');
    assert.equal(
      r.tickets.attempts,
      e.perFull === 0 ? 0 : report.attempts,
      'one attempt per full handshake that gave a ticket',
    );
    assert.equal(r.tickets.resumed, e.resumed, 'TLS 1.3 resumed');
    assert.equal(r.tickets.storageGuess, e.storage, 'storage guess');
    assert.equal(r.tickets.identityLength === 32, e.storage === 'stateful');
    assert.equal(r.ticketReuseAccepted, e.reuse, 'ticket reuse');
    assert.equal(r.tickets.lifetimeHint, e.perFull === 0 ? null : 7200, 's_server: the default 7200 s session timeout');
    assert.equal(r.maxEarlyData, 0);
    assert.equal(r.cipher, 'TLS_AES_256_GCM_SHA384');
  }
  if (expected.tls12 === null) {
    assert.equal(report.tls12, null);
  } else {
    const r = report.tls12;
    assert.ok(r, 'TLS 1.2 spoken');
    const e = expected.tls12;
    assert.deepEqual(r.sessionId, { issued: e.sessionId, attempts: e.sessionId ? 5 : 0, resumed: e.sessionId ? 5 : 0 });
    assert.equal(r.ticket.issued, e.ticket);
    assert.equal(r.ticket.attempts, e.ticket ? 5 : 0);
    assert.equal(r.ticket.resumed, e.ticket ? 5 : 0);
    assert.equal(r.ticket.lifetimeHint, e.ticket ? 7200 : null);
    assert.equal(r.ticket.renewedOnResumption, e.ticket ? false : null, 'OpenSSL does not renew a ticket on its own');
  }
  assert.deepEqual(findingIds(report), [...expected.findings].sort());
  const newest = report.tls13 ?? report.tls12;
  assert.deepEqual(report.timing, newest?.timing);
  assert.ok((report.timing.fullMs ?? 0) > 0, 'a full handshake was timed');
  const newestResumed = report.tls13
    ? report.tls13.tickets.resumed
    : (report.tls12?.sessionId.resumed ?? 0) + (report.tls12?.ticket.resumed ?? 0);
  assert.equal(report.timing.resumedMs !== null, newestResumed > 0, 'resumed handshakes timed when there were some');
}

describe('probe against openssl s_server', () => {
  for (const c of CASES) {
    test(c.name, { timeout: 60_000 }, async (t) => {
      const server = await startSServer({ cert: pki.server, ...c.server });
      t.after(() => server.stop());
      const report = await probe({ host: '127.0.0.1', port: server.port, servername: 'localhost', ca: pki.ca.cert });
      checkExpected(report, c.expected);
      assert.equal(report.target, `127.0.0.1:${server.port}`);
      assert.equal(report.servername, 'localhost');
      const ref = await referenceVerdict({ port: server.port, dir: dir.path, servername: 'localhost' });
      assertAgrees(report, ref, c.name);
    });
  }

  test('0-RTT with anti-replay: stateful single-use tickets, early data advertised', { timeout: 30_000 }, async (t) => {
    // -early_data cannot be combined with -www; the echo mode serves one connection at a time.
    const server = await startSServer({ cert: pki.server, tls: '1.3', www: false, args: ['-early_data'] });
    t.after(() => server.stop());
    const report = await probe({ host: '127.0.0.1', port: server.port, servername: 'localhost', ca: pki.ca.cert });
    assert.equal(report.tls13?.maxEarlyData, 16384);
    assert.equal(report.tls13?.tickets.storageGuess, 'stateful');
    assert.equal(report.tls13?.tickets.resumed, 5);
    assert.equal(report.tls13?.ticketReuseAccepted, false);
    assert.deepEqual(findingIds(report), ['early-data']);
  });

  test('0-RTT without anti-replay: reuse accepted is a high finding', { timeout: 30_000 }, async (t) => {
    const server = await startSServer({
      cert: pki.server,
      tls: '1.3',
      www: false,
      args: ['-early_data', '-no_anti_replay'],
    });
    t.after(() => server.stop());
    const report = await probe({ host: '127.0.0.1', port: server.port, servername: 'localhost', ca: pki.ca.cert });
    assert.equal(report.tls13?.ticketReuseAccepted, true);
    const reuse = report.findings.find((f) => f.id === 'ticket-reuse-accepted');
    assert.equal(reuse?.severity, 'high');
    assert.match(reuse?.message ?? '', /replay/);
    assert.equal(report.findings[0]?.id, 'ticket-reuse-accepted', 'most severe first');
  });

  test('two virtual hosts (-servername/-cert2): sessions cross, as s_client sees too', {
    timeout: 60_000,
  }, async (t) => {
    const { a, b } = await sharedVhosts();
    const server = await startSServer({
      cert: a,
      args: ['-servername', 'b.test', '-cert2', b.certPath, '-key2', b.keyPath],
    });
    t.after(() => server.stop());
    const report = await probe({
      host: '127.0.0.1',
      port: server.port,
      servername: 'a.test',
      otherServername: 'b.test',
      ca: pki.ca.cert,
    });
    const cross = report.crossHost;
    assert.ok(cross);
    assert.equal(cross.servername, 'a.test');
    assert.equal(cross.otherServername, 'b.test');
    assert.equal(cross.certificateCoversOther, false);
    await assertCrossChecksAgree(cross.checks, {
      port: server.port,
      dir: dir.path,
      servername: 'a.test',
      other: 'b.test',
    });
    assert.deepEqual(
      cross.checks.map((c) => `${c.protocol} ${c.kind}`),
      ['TLSv1.3 ticket', 'TLSv1.2 sessionId', 'TLSv1.2 ticket'],
    );
    assert.equal(cross.resumed, true);
    const finding = report.findings[0];
    assert.equal(finding?.id, 'cross-host-resumption');
    assert.equal(finding?.severity, 'high');
    assert.match(finding?.message ?? '', /certificate served for a\.test is not valid for b\.test/);
  });

  test('one certificate for both names: sessions cross, a low finding', { timeout: 30_000 }, async (t) => {
    const both = await pki.issue({ cn: 'a.test', altNames: ['a.test', 'b.test'] });
    const server = await startSServer({ cert: both });
    t.after(() => server.stop());
    const report = await probe({
      host: '127.0.0.1',
      port: server.port,
      servername: 'a.test',
      otherServername: 'b.test',
      ca: pki.ca.cert,
      attempts: 1,
    });
    assert.equal(report.crossHost?.certificateCoversOther, true);
    assert.equal(report.crossHost?.resumed, true);
    const finding = report.findings.find((f) => f.id === 'cross-host-resumption');
    assert.equal(finding?.severity, 'low');
    assert.match(finding?.message ?? '', /The certificate covers both names/);
  });
});
