/**
 * `tls-sessions probe` against a server whose tickets come from a ring: the lifetimes it
 * reports (TLS 1.2 hint, TLS 1.3 ticket lifetime) fit in what the current key has left to
 * decrypt, even at the last second of the key's turn, and tickets resume.
 */
import assert from 'node:assert/strict';
import { PassThrough, Readable } from 'node:stream';
import { test } from 'node:test';
import { main } from '../../src/cli/main.js';
import type { ProbeReport } from '../../src/probe/index.js';
import { TicketKeyRing } from '../../src/tickets/index.js';
import { sharedPki, startNodeServer } from '../helpers/index.js';
import { HOUR } from './kit.js';

async function probeJson(port: number, caPath: string): Promise<ProbeReport> {
  const out = new PassThrough();
  const err = new PassThrough();
  let text = '';
  let errText = '';
  out.on('data', (c: Buffer) => {
    text += c.toString();
  });
  err.on('data', (c: Buffer) => {
    errText += c.toString();
  });
  const code = await main(
    ['probe', `127.0.0.1:${port}`, '--ca', caPath, '--servername', 'localhost', '--attempts', '2', '--json'],
    {
      stdin: Readable.from([]),
      stdout: out,
      stderr: err,
    },
  );
  assert.equal(code, 0, errText);
  return JSON.parse(text) as ProbeReport;
}

for (const moment of ['start', 'last second'] as const) {
  test(`probe at the ${moment} of the key's turn: lifetimes within the key's remaining life`, {
    timeout: 60_000,
  }, async (t) => {
    const pki = await sharedPki();
    // Asked for 3 days; the ring allows its grace (2 h) at most.
    const srv = await startNodeServer({ cert: pki.server, tlsOptions: { sessionTimeout: 72 * HOUR } });
    const slotStart = Math.floor(Date.now() / 3_600_000) * 3_600_000;
    const now = moment === 'start' ? slotStart : slotStart + 3_600_000 - 1000;
    const ring = new TicketKeyRing({ rotateEvery: HOUR, grace: 2 * HOUR, now: () => now }).attach(srv.server);
    t.after(async () => {
      await srv.close();
      await ring.close();
    });
    const current = ring.list().find((k) => k.role === 'current')!;
    const remaining = (current.decryptsUntil.getTime() - now) / 1000;

    const report = await probeJson(srv.port, pki.ca.certPath);
    const tls12 = report.tls12?.ticket;
    const tls13 = report.tls13?.tickets;
    assert.ok(tls12?.issued, 'TLS 1.2 ticket issued');
    assert.equal(tls12.resumed, tls12.attempts, 'TLS 1.2 tickets resume');
    assert.equal(tls13?.resumed, tls13?.attempts, 'TLS 1.3 tickets resume');
    for (const [what, lifetime] of [
      ['TLS 1.2 hint', tls12.lifetimeHint],
      ['TLS 1.3 lifetime', tls13?.lifetimeHint],
    ] as const) {
      assert.equal(lifetime, 2 * HOUR, what);
      assert.ok(
        lifetime !== null && lifetime !== undefined && lifetime <= remaining,
        `${what} ${lifetime} s > ${remaining} s left`,
      );
    }
  });
}
