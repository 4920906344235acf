// --watch against a Node server whose TicketKeyRing rotates every 2 s and keeps old keys 2 s:
// the watch must see each change of key name, and old tickets resuming for about the grace.
// openssl s_client checks it independently: the key name of its own ticket, and how long that
// ticket, taken just before a change, keeps resuming after it.
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { after, describe, test } from 'node:test';
import { setTimeout as delay } from 'node:timers/promises';
import { ProbeError, watchTickets } from '../../src/probe/index.js';
import { sClient, sessId, sharedPki, tmpDir } from '../helpers/index.js';
import { startNodeFleet } from './fleet-servers.js';

const pki = await sharedPki();
const dir = await tmpDir('probe-watch-');
after(() => dir.cleanup());
const ROTATE_S = 2;
const GRACE_S = 2;

/** The key name (first 16 bytes, hex) of the ticket in a session file, read by openssl sess_id. */
async function ticketKeyName(file: string): Promise<string> {
  const text = await sessId(file);
  const m = /TLS session ticket:\n\s*0000 - ((?:[0-9a-f]{2}[ -]){16})/.exec(text);
  assert.ok(m, text);
  return m[1]!.replace(/[ -]/g, '');
}

describe('probe --watch: ticket key rotation', () => {
  test('a ring rotating every 2 s with 2 s of grace: changes, grace and lifetimes as s_client sees them', {
    timeout: 60_000,
  }, async (t) => {
    const fleet = await startNodeFleet({
      hosts: ['127.0.0.2'],
      cert: pki.server,
      ring: { rotateEvery: ROTATE_S, grace: GRACE_S },
    });
    t.after(() => fleet.close());
    const ring = fleet.rings[0]!;
    const seen: string[] = [];
    const report = await watchTickets({
      host: '127.0.0.2',
      port: fleet.port,
      servername: 'localhost',
      ca: pki.ca.cert,
      durationMs: 7000,
      everyMs: 250,
      onSample: (s) => {
        if (s.keyName !== null && seen.at(-1) !== s.keyName) seen.push(s.keyName);
      },
    });
    assert.equal(report.protocol, 'TLSv1.3');
    assert.equal(report.interrupted, false);
    assert.ok(report.samples.length >= 20, `${report.samples.length} samples`);
    assert.deepEqual(
      report.samples.filter((s) => s.error !== null),
      [],
    );
    // 7 s of a 2 s rotation: three changes, or four when the watch started just before one.
    assert.ok(report.changes.length >= 3 && report.changes.length <= 4, `${report.changes.length} changes`);
    assert.deepEqual(
      report.changes.map((c) => c.to),
      seen.slice(1),
    );
    for (const [a, b] of report.changes.slice(0, -1).map((c, i) => [c, report.changes[i + 1]!] as const)) {
      const apart = b.firstNewMs - a.firstNewMs;
      assert.ok(apart >= 1500 && apart <= 2500, `changes ${apart} ms apart`);
    }
    assert.deepEqual(
      report.lifetimeHints.map((h) => h.lifetimeHint),
      [GRACE_S],
      'the ring caps the lifetime at its grace',
    );
    const done = report.changes.filter((c) => c.graceMs.max !== null);
    assert.ok(done.length >= 2, 'old tickets seen refused after at least two changes');
    for (const c of done) {
      // Bounds from the samples: old tickets resumed for a while after the change, and were
      // refused once the key's grace (and the tickets' 2 s lifetime) ran out.
      assert.ok(c.graceMs.min !== null && c.graceMs.min > 0, `grace at least ${c.graceMs.min} ms`);
      assert.ok(
        c.graceMs.max! > c.graceMs.min! && c.graceMs.max! <= GRACE_S * 1000 + 1000,
        `grace at most ${c.graceMs.max} ms`,
      );
      assert.equal(
        c.refusedPastLifetime,
        true,
        'the ring caps ticket lifetimes at its grace: old tickets age out with their key',
      );
    }
    // The last key the watch saw is one the ring made: its name starts the tickets.
    assert.ok(
      ring.list().some((k) => k.name === seen.at(-1)),
      "the key names are the ring's",
    );

    // s_client: a ticket taken 400 ms before the next change carries the current key's name,
    // and resumes after the change for about as long as the watch measured.
    let change = ring
      .list()
      .find((k) => k.role === 'current')!
      .encryptsUntil!.getTime();
    if (change - Date.now() < 500) change += ROTATE_S * 1000;
    await delay(change - 400 - Date.now());
    const file = join(dir.path, 'watch-ticket.pem');
    const made = await sClient({
      port: fleet.port,
      host: '127.0.0.2',
      servername: 'localhost',
      tls: '1.3',
      sessOut: file,
    });
    assert.equal(made.protocol, 'TLSv1.3');
    const name = await ticketKeyName(file);
    assert.equal(name, ring.list().find((k) => k.role === 'current')!.name);
    let lastResumed = Number.NaN;
    for (let i = 0; i < 40; i += 1) {
      await delay(150);
      const again = await sClient({
        port: fleet.port,
        host: '127.0.0.2',
        servername: 'localhost',
        tls: '1.3',
        sessIn: file,
      });
      if (!again.reused) break;
      lastResumed = Date.now();
    }
    const survived = lastResumed - change;
    assert.ok(survived > 0, `s_client's old ticket resumed ${survived} ms after the change`);
    for (const c of done) {
      assert.ok(
        survived >= c.graceMs.min! - 1000 && survived <= c.graceMs.max! + 1000,
        `s_client ${survived} ms, watch ${c.graceMs.min}-${c.graceMs.max} ms`,
      );
    }
  });

  test('an aborted watch returns what it has, marked interrupted', { timeout: 30_000 }, async (t) => {
    const fleet = await startNodeFleet({ hosts: ['127.0.0.2'], cert: pki.server });
    t.after(() => fleet.close());
    const controller = new AbortController();
    const started = Date.now();
    setTimeout(() => controller.abort(), 700);
    const report = await watchTickets({
      host: '127.0.0.2',
      port: fleet.port,
      servername: 'localhost',
      ca: pki.ca.cert,
      durationMs: 60_000,
      everyMs: 200,
      signal: controller.signal,
    });
    assert.ok(Date.now() - started < 3000);
    assert.equal(report.interrupted, true);
    assert.ok(report.samples.length >= 2 && report.samples.length <= 6, `${report.samples.length} samples`);
    assert.deepEqual(report.changes, []);
  });

  test('time options are checked: 2^31 ms and more, or every > duration, are one-line errors', async () => {
    const base = { host: '127.0.0.1', port: 9 };
    for (const [options, message] of [
      [
        { ...base, durationMs: 2 ** 31 },
        /^probe: durationMs must be a whole number of milliseconds from 1 to 2147483647 \(got 2147483648\)$/,
      ],
      [{ ...base, durationMs: 1000, everyMs: 2 ** 31 }, /^probe: everyMs must be .* from 100 to 2147483647/],
      [{ ...base, durationMs: 1000, everyMs: 50 }, /^probe: everyMs must be .* from 100 to/],
      [{ ...base, durationMs: 1000, everyMs: 2000 }, /^probe: everyMs \(2000\) must not exceed durationMs \(1000\)$/],
    ] as const) {
      await assert.rejects(
        watchTickets(options),
        (err: unknown) => err instanceof ProbeError && err.code === 'ERR_PROBE_TARGET' && message.test(err.message),
      );
    }
  });
});
