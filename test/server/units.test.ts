/** The cache's small parts: store records, the in-process index, reading a DER's protocol version. */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { setTimeout as delay } from 'node:timers/promises';
import { BudgetClock } from '../../src/util/budget.js';
import { defaultStore } from '../../src/server/default-store.js';
import { SessionIndex } from '../../src/server/session-index.js';
import { decodeRecord, derProtocolVersion, encodeRecord } from '../../src/server/session-record.js';
import { TlsSession } from '../../src/session/index.js';

const der12 = new TlsSession({
  protocolVersion: 0x0303,
  cipherId: 0xc02b,
  sessionId: Buffer.alloc(32, 7),
  masterKey: Buffer.alloc(48, 9),
  time: 1_700_000_000,
  timeout: 300,
}).toDER();
const der13 = new TlsSession({ protocolVersion: 0x0304, cipherId: 0x1302, masterKey: Buffer.alloc(48, 1) }).toDER();

test('records round-trip and keep the DER byte for byte', () => {
  for (const [der, tls13] of [
    [der12, false],
    [der13, true],
  ] as const) {
    for (const serverName of ['', 'a.test', undefined, 'x'.repeat(253)]) {
      const enc = encodeRecord({ tls13, serverName, createdMs: 1.5e12, expiresMs: 1.5e12 + 300_000, der });
      const dec = decodeRecord(new Uint8Array(enc));
      assert.equal(dec.tls13, tls13);
      assert.equal(dec.serverName, serverName);
      assert.equal(dec.createdMs, 1.5e12);
      assert.equal(dec.expiresMs, 1.5e12 + 300_000);
      assert.deepEqual(Buffer.from(dec.der), der);
    }
  }
  // A name too long for DNS is stored as unknown, which never matches a ClientHello.
  const long = encodeRecord({ tls13: false, serverName: 'y'.repeat(300), createdMs: 0, expiresMs: 1, der: der12 });
  assert.equal(decodeRecord(long).serverName, undefined);
});

test('foreign or truncated values are ERR_CACHE_RECORD, never a crash', () => {
  const good = encodeRecord({ tls13: false, serverName: 'a.test', createdMs: 0, expiresMs: 1, der: der12 });
  const bad = [
    Buffer.alloc(0),
    Buffer.from('hello'),
    der12,
    good.subarray(0, 20),
    Buffer.from([0x53, 2, ...good.subarray(2)]),
  ];
  for (let cut = 0; cut < 27; cut++) bad.push(good.subarray(0, cut));
  for (const value of bad) assert.throws(() => decodeRecord(value), { code: 'ERR_CACHE_RECORD' });
});

test('derProtocolVersion reads ssl_version without decoding', () => {
  assert.equal(derProtocolVersion(der12), 0x0303);
  assert.equal(derProtocolVersion(der13), 0x0304);
  // Long-form SEQUENCE length, as every session over 127 bytes has.
  const long = new TlsSession({ protocolVersion: 0x0303, cipherId: 0xc02b, ticket: Buffer.alloc(300, 5) }).toDER();
  assert.equal(long[1], 0x82);
  assert.equal(derProtocolVersion(long), 0x0303);
  for (const junk of [
    Buffer.alloc(0),
    Buffer.from('3003020101', 'hex'),
    Buffer.from('308002010102020304', 'hex'),
    Buffer.alloc(40, 0x30),
  ]) {
    assert.equal(derProtocolVersion(junk), undefined);
  }
});

test('the index evicts the entry expiring soonest and refreshes in place', () => {
  const idx = new SessionIndex(3);
  const name = (n: number) => Buffer.alloc(36, n);
  assert.equal(idx.add(name(1), 32, 100), undefined);
  assert.equal(idx.add(name(2), 32, 200), undefined);
  assert.equal(idx.add(name(3), 2, 300), undefined);
  // Refreshing 1 (UPDATE_TIME) moves it last: 2 is now the soonest to expire.
  assert.equal(idx.add(name(1), 32, 400), undefined);
  const [evicted, ...more] = idx.add(name(4), 32, 500) ?? [];
  assert.equal(more.length, 0);
  assert.equal(evicted?.expiresAtMs, 200);
  assert.deepEqual(evicted?.key, Buffer.alloc(36, 2), 'the key comes back whole');
  assert.deepEqual(evicted?.id, Buffer.alloc(32, 2), 'the id is its last 32 bytes');
  assert.equal(idx.size, 3);
  const expired = idx.takeExpired(400);
  assert.deepEqual(
    expired.map((x) => x.expiresAtMs),
    [300, 400],
  );
  assert.deepEqual(expired[0]?.id, Buffer.alloc(2, 3), 'an id of another length keeps its length');
  assert.equal(idx.size, 1);
  assert.equal(idx.get(name(4))?.expiresAtMs, 500);
  assert.equal(idx.delete(name(4)), 500);
  assert.equal(idx.delete(name(4)), undefined);
  const unbounded = new SessionIndex(0);
  for (let i = 0; i < 1000; i++)
    assert.equal(unbounded.add(Buffer.from(String(i).padStart(32, '0')), 32, i), undefined);
  assert.equal(unbounded.takeAll().length, 1000);
});

test('BudgetClock: answers within budget pass through, late ones are cut off in call order', async () => {
  const clock = new BudgetClock(30);
  assert.equal(await clock.run(Promise.resolve(7), 'x'), 7);
  await assert.rejects(clock.run(Promise.reject(new Error('down')), 'x'), /^Error: down$/);
  let release: (v: string) => void = () => {};
  const late = new Promise<string>((r) => {
    release = r;
  });
  const started = Date.now();
  const cut = [clock.run(new Promise(() => {}), 'lookup'), clock.run(late, 'store')];
  await delay(10);
  const third = clock.run(new Promise(() => {}), 'third');
  // The clock's timer does not hold the process open (a server does); this test must.
  const keepAlive = setInterval(() => {}, 1000);
  const outcomes = await Promise.allSettled([...cut, third]);
  clearInterval(keepAlive);
  release('too late');
  for (const o of outcomes) {
    assert.equal(o.status, 'rejected');
    assert.equal((o as PromiseRejectedResult).reason.code, 'ERR_STORE_TIMEOUT');
  }
  assert.match((outcomes[0] as PromiseRejectedResult).reason.message, /^lookup: no answer within 30 ms$/);
  // Each call got its whole budget, the third one counted from its own start.
  assert.ok(Date.now() - started >= 38);
  assert.equal(await clock.run(Promise.resolve('after'), 'x'), 'after');
});

test('the default store of maxSessions 0 has no limit of its own; of maxSessions N, the same limit as the index', async () => {
  const key = (i: number) => Buffer.from(`srv:${i}`);
  const unbounded = defaultStore(0, 4).store;
  for (let i = 0; i < 20_600; i++) await unbounded.set(key(i), Buffer.of(1), 60_000);
  assert.equal(unbounded.size, 20_600);
  assert.ok((await unbounded.get(key(0))) !== undefined, 'the first session is still there');
  const bounded = defaultStore(3, 4).store;
  for (let i = 0; i < 4; i++) await bounded.set(key(i), Buffer.of(1), 60_000);
  assert.equal(bounded.size, 3);
});

test("the default store's own bookkeeping serves as the cache's index: evictions, expiry, flush, clear", () => {
  let now = 1_000;
  const { store, known } = defaultStore(2, 4, () => now);
  const key = (n: number) => Buffer.concat([Buffer.from('srv:'), Buffer.alloc(32, n)]);
  const write = (n: number) => {
    const evicted = known.add(key(n), 32, now + 60_000);
    store.setNow(key(n), Buffer.of(n), 60_000);
    return evicted?.map((e) => [e.key, e.id, e.expiresAtMs]);
  };
  assert.equal(write(1), undefined);
  now += 10;
  assert.equal(write(2), undefined);
  now += 10;
  assert.equal(write(1), undefined, 'rewritten (UPDATE_TIME): no room needed, now the latest');
  assert.deepEqual(write(3), [[key(2), Buffer.alloc(32, 2), 61_010]], 'the least recently written leaves, whole');
  assert.equal(known.size, 2);
  assert.deepEqual(store.getNow(key(1)), Buffer.of(1));
  assert.deepEqual(known.takeExpired(61_019), [], 'nothing expired yet');
  // Expired: the store answers nothing but keeps it, so that the cache can say 'expired'.
  now = 61_020;
  assert.equal(store.getNow(key(1)), undefined);
  assert.equal(store.takeNow(key(1)), undefined);
  assert.equal(known.size, 2);
  assert.equal(known.delete(key(1)), 61_020);
  assert.equal(known.delete(key(1)), undefined, 'forgotten');
  assert.deepEqual(
    known.takeExpired(now).map((e) => [e.id, e.expiresAtMs]),
    [[Buffer.alloc(32, 3), 61_020]],
  );
  assert.equal(store.size, 0);
  write(4);
  write(5);
  assert.deepEqual(
    known.takeAll().map((e) => e.id),
    [Buffer.alloc(32, 4), Buffer.alloc(32, 5)],
  );
  assert.equal(store.size, 0);
});
