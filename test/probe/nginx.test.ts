// The probe against nginx with ssl_session_cache and ssl_session_tickets on and off, checked
// against what each configuration does and against openssl s_client -sess_out/-sess_in.
import assert from 'node:assert/strict';
import { after, describe, test } from 'node:test';
import { probe } from '../../src/probe/index.js';
import { sharedPki, sharedVhosts, skipUnlessPeer, tmpDir } from '../helpers/index.js';
import { assertAgrees, assertCrossChecksAgree, findingIds } from './agree.js';
import { nginxMissing, startNginx } from './nginx.js';
import { referenceVerdict } from './reference.js';

const skip = skipUnlessPeer(nginxMissing());
const pki = await sharedPki();
const dir = await tmpDir('probe-nginx-test-');
after(() => dir.cleanup());

interface Case {
  cache: string;
  tickets: boolean;
  tls13: { storage: 'stateful' | 'stateless'; resumed: number };
  tls12: { idIssued: boolean; idResumed: number; ticket: boolean };
  findings: string[];
}

const CASES: Case[] = [
  {
    cache: 'shared:SSL:1m',
    tickets: true,
    tls13: { storage: 'stateless', resumed: 5 },
    tls12: { idIssued: true, idResumed: 5, ticket: true },
    findings: ['ticket-reuse-accepted', 'tls12-ticket-not-renewed'],
  },
  {
    cache: 'shared:SSL:1m',
    tickets: false,
    tls13: { storage: 'stateful', resumed: 5 },
    tls12: { idIssued: true, idResumed: 5, ticket: false },
    findings: ['ticket-reuse-accepted'],
  },
  {
    cache: 'off',
    tickets: true,
    tls13: { storage: 'stateless', resumed: 5 },
    tls12: { idIssued: false, idResumed: 0, ticket: true },
    findings: ['ticket-reuse-accepted', 'tls12-session-id-not-resumed', 'tls12-ticket-not-renewed'],
  },
  {
    cache: 'off',
    tickets: false,
    tls13: { storage: 'stateful', resumed: 0 },
    tls12: { idIssued: false, idResumed: 0, ticket: false },
    findings: ['no-resumption'],
  },
  {
    // nginx's default: session ids are sent but never stored.
    cache: 'none',
    tickets: false,
    tls13: { storage: 'stateful', resumed: 0 },
    tls12: { idIssued: true, idResumed: 0, ticket: false },
    findings: ['no-resumption'],
  },
];

describe('probe against nginx', { skip }, () => {
  for (const c of CASES) {
    test(`ssl_session_cache ${c.cache}; ssl_session_tickets ${c.tickets ? 'on' : 'off'}`, {
      timeout: 60_000,
    }, async (t) => {
      const ng = await startNginx({
        servers: [{ names: ['localhost'], cert: pki.server }],
        cache: c.cache,
        tickets: c.tickets,
      });
      t.after(() => ng.stop());
      const report = await probe({ host: '127.0.0.1', port: ng.port, servername: 'localhost', ca: pki.ca.cert });
      const t13 = report.tls13;
      assert.ok(t13);
      assert.equal(t13.tickets.perFullHandshake, 2);
      assert.equal(t13.tickets.storageGuess, c.tls13.storage);
      assert.equal(t13.tickets.resumed, c.tls13.resumed);
      assert.equal(t13.tickets.perResumedHandshake, c.tls13.resumed > 0 ? 1 : null);
      assert.equal(t13.tickets.lifetimeHint, 300, 'nginx default ssl_session_timeout 5m');
      const t12 = report.tls12;
      assert.ok(t12);
      assert.equal(t12.sessionId.issued, c.tls12.idIssued);
      assert.equal(t12.sessionId.resumed, c.tls12.idResumed);
      assert.equal(t12.ticket.issued, c.tls12.ticket);
      assert.equal(t12.ticket.resumed, c.tls12.ticket ? 5 : 0);
      assert.equal(t12.ticket.lifetimeHint, c.tls12.ticket ? 300 : null);
      assert.deepEqual(findingIds(report), [...c.findings].sort());

      const ref = await referenceVerdict({ port: ng.port, dir: dir.path, servername: 'localhost' });
      assertAgrees(report, ref, `nginx ${c.cache} tickets ${c.tickets}`);
    });
  }

  test('ssl_session_timeout 2d: lifetime over a day; 8d: over the 7-day limit', { timeout: 60_000 }, async (t) => {
    const twoDays = await startNginx({
      servers: [{ names: ['localhost'], cert: pki.server }],
      cache: 'shared:SSL:1m',
      tickets: true,
      timeout: '2d',
    });
    t.after(() => twoDays.stop());
    const r2 = await probe({
      host: '127.0.0.1',
      port: twoDays.port,
      servername: 'localhost',
      ca: pki.ca.cert,
      attempts: 1,
    });
    assert.equal(r2.tls12?.ticket.lifetimeHint, 172800);
    assert.equal(r2.tls13?.tickets.lifetimeHint, 172800);
    assert.deepEqual(
      r2.findings.filter((f) => f.id.startsWith('ticket-lifetime')).map((f) => [f.id, f.severity]),
      [['ticket-lifetime-over-1-day', 'low']],
    );
    assert.match(
      r2.findings.find((f) => f.id === 'ticket-lifetime-over-1-day')?.message ?? '',
      /^TLS 1\.3 and TLS 1\.2 tickets claim a lifetime of 172800 s \(2 d\)/,
    );

    const eightDays = await startNginx({
      servers: [{ names: ['localhost'], cert: pki.server }],
      cache: 'shared:SSL:1m',
      tickets: true,
      timeout: '8d',
    });
    t.after(() => eightDays.stop());
    const r8 = await probe({
      host: '127.0.0.1',
      port: eightDays.port,
      servername: 'localhost',
      ca: pki.ca.cert,
      attempts: 1,
    });
    assert.equal(r8.tls12?.ticket.lifetimeHint, 691200);
    // OpenSSL caps what it announces under TLS 1.3 at the RFC 8446 limit.
    assert.equal(r8.tls13?.tickets.lifetimeHint, 604800);
    const over = r8.findings.filter((f) => f.id === 'ticket-lifetime-over-7-days');
    assert.deepEqual(
      over.map((f) => f.severity),
      ['medium'],
    );
    assert.match(over[0]?.message ?? '', /TLS 1\.2 .*691200 s \(8 d\)/);
  });

  test('two server blocks on one port: sessions cross virtual hosts, as s_client sees too', {
    timeout: 60_000,
  }, async (t) => {
    // Measured with nginx 1.22 / OpenSSL 3.0: OpenSSL looks sessions up (and decrypts tickets)
    // in the context the connection started in, before the SNI callback switches server blocks.
    const { a, b } = await sharedVhosts();
    const ng = await startNginx({
      servers: [
        { names: ['a.test'], cert: a },
        { names: ['b.test'], cert: b },
      ],
      cache: 'shared:SSL:1m',
      tickets: true,
    });
    t.after(() => ng.stop());
    for (const [from, to] of [
      ['a.test', 'b.test'],
      ['b.test', 'a.test'],
    ] as const) {
      const report = await probe({
        host: '127.0.0.1',
        port: ng.port,
        servername: from,
        otherServername: to,
        ca: pki.ca.cert,
      });
      const cross = report.crossHost;
      assert.ok(cross);
      assert.deepEqual(
        cross.checks.map((c) => `${c.protocol} ${c.kind}`),
        ['TLSv1.3 ticket', 'TLSv1.2 sessionId', 'TLSv1.2 ticket'],
      );
      await assertCrossChecksAgree(cross.checks, { port: ng.port, dir: dir.path, servername: from, other: to });
      assert.equal(cross.resumed, true, `${from} -> ${to}`);
      const finding = report.findings.find((f) => f.id === 'cross-host-resumption');
      assert.equal(finding?.severity, 'high');
      assert.ok(finding?.message.includes(`made for ${from} was resumed for ${to}`));
    }
  });
});
