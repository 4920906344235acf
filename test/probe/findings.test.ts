// Findings for what the loopback servers in the other tests cannot be made to do (a TLS 1.2
// lifetime hint of 0, ticket renewal, TLS 1.3 lifetimes over 7 days, reuse with 0-RTT).
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { type ProbeFindingInput, type Tls12Report, type Tls13Report, findingsFor } from '../../src/index.js';

function tls12(ticket: Partial<Tls12Report['ticket']> = {}): Tls12Report {
  return {
    protocol: 'TLSv1.2',
    cipher: 'TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256',
    alpn: null,
    sessionId: { issued: true, attempts: 5, resumed: 5 },
    ticket: { issued: true, attempts: 5, resumed: 5, lifetimeHint: 3600, renewedOnResumption: true, ...ticket },
    timing: { fullMs: 2, resumedMs: 1 },
  };
}

function tls13(change: Partial<Tls13Report> = {}, tickets: Partial<Tls13Report['tickets']> = {}): Tls13Report {
  return {
    protocol: 'TLSv1.3',
    cipher: 'TLS_AES_256_GCM_SHA384',
    alpn: null,
    tickets: {
      attempts: 5,
      resumed: 5,
      perFullHandshake: 2,
      perResumedHandshake: 1,
      lifetimeHint: 3600,
      identityLength: 32,
      storageGuess: 'stateful',
      ...tickets,
    },
    ticketReuseAccepted: false,
    maxEarlyData: 0,
    timing: { fullMs: 2, resumedMs: 1 },
    ...change,
  };
}

function ids(input: ProbeFindingInput): string[] {
  return findingsFor(input).map((f) => `${f.severity} ${f.id}`);
}

describe('findingsFor', () => {
  test('a server that does everything right has no findings', () => {
    assert.deepEqual(ids({ attempts: 5, tls12: tls12(), tls13: tls13(), crossHost: null }), []);
  });

  test('TLS 1.2 lifetime hint 0 is unspecified; no renewal is reported only when nothing was renewed', () => {
    assert.deepEqual(
      ids({ attempts: 5, tls12: tls12({ lifetimeHint: 0, renewedOnResumption: false }), tls13: null, crossHost: null }),
      ['info tls12-ticket-lifetime-unspecified', 'info tls12-ticket-not-renewed'],
    );
  });

  test('a TLS 1.3 lifetime over 7 days is high, and differing hints give one finding per version', () => {
    const found = findingsFor({
      attempts: 5,
      tls12: tls12({ lifetimeHint: 90_000 }),
      tls13: tls13({}, { lifetimeHint: 700_000 }),
      crossHost: null,
    });
    assert.deepEqual(
      found.map((f) => `${f.severity} ${f.id}`),
      ['high ticket-lifetime-over-7-days', 'low ticket-lifetime-over-1-day'],
    );
    assert.match(found[0]!.message, /^TLS 1\.3 tickets claim a lifetime of 700000 s \(8\.1 d\)/);
    assert.match(found[1]!.message, /^TLS 1\.2 tickets claim a lifetime of 90000 s \(1 d\)/);
  });

  test('exactly 1 day and exactly 7 days are within the limits', () => {
    assert.deepEqual(
      ids({
        attempts: 5,
        tls12: tls12({ lifetimeHint: 604_800 }),
        tls13: tls13({}, { lifetimeHint: 86_400 }),
        crossHost: null,
      }),
      ['low ticket-lifetime-over-1-day'],
    );
  });

  test('reuse with 0-RTT is high, and comes first', () => {
    assert.deepEqual(
      ids({
        attempts: 5,
        tls12: null,
        tls13: tls13({ ticketReuseAccepted: true, maxEarlyData: 16384 }),
        crossHost: null,
      }),
      ['high ticket-reuse-accepted', 'low early-data'],
    );
  });

  test('TLS 1.3 issued but never accepted, TLS 1.2 fine: a low finding for TLS 1.3 that says so', () => {
    const found = findingsFor({
      attempts: 5,
      tls12: tls12(),
      tls13: tls13({}, { resumed: 0, perResumedHandshake: null }),
      crossHost: null,
    });
    assert.deepEqual(
      found.map((f) => f.id),
      ['tls13-no-resumption'],
    );
    assert.match(found[0]!.message, /tickets are issued but none was accepted back \(0 of 5\)/);
  });
});

describe('findings: checks that could not run', () => {
  test('a check not run is a finding, and no "not issued" claim rests on it', () => {
    const report: ProbeFindingInput = {
      attempts: 5,
      tls12: tls12({ issued: false, attempts: 0, resumed: 0, lifetimeHint: null, renewedOnResumption: null }),
      tls13: null,
      crossHost: null,
      notRun: [{ check: 'TLSv1.2 ticket resumption', reason: 'Node handed out a session the probe cannot read (x)' }],
    };
    const findings = findingsFor(report);
    assert.deepEqual(
      findings.map((f) => f.id),
      ['check-not-run'],
    );
    assert.match(
      findings[0]?.message ?? '',
      /^Not every check could run, so this report is incomplete: TLSv1\.2 ticket resumption: Node handed out/,
    );
  });
});
