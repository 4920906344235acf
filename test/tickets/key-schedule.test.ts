/**
 * The key schedule on its own: slots, a time and the settings in, roles and the next change out.
 * No clock, timer, server or store: every instant is given.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import {
  decide,
  decryptsUntil,
  epochOf,
  lowestLiveEpoch,
  missingPrimaries,
  primaryOf,
  roleOf,
  type Schedule,
  timesOf,
} from '../../src/tickets/key-schedule.js';
import { generateKey, type RingKey } from '../../src/tickets/ticket-key.js';

const R = 3_600_000;
const s: Schedule = { rotateEveryMs: R, graceMs: 2 * R };
/** Slot 100 is the current turn at T. */
const T = 100 * R + 60_000;

function primary(): RingKey {
  return generateKey(0);
}

function demoted(untilMs: number): RingKey {
  const k = generateKey(0);
  k.untilMs = untilMs;
  return k;
}

test('turns: a slot is its turn, a primary decrypts for grace after it, a demoted key until its own end', () => {
  assert.equal(epochOf(100 * R, s), 100);
  assert.equal(epochOf(101 * R - 1, s), 100);
  const k = primary();
  assert.equal(decryptsUntil(100, k, s), 101 * R + 2 * R);
  assert.equal(decryptsUntil(100, demoted(T + 5), s), T + 5);
  assert.deepEqual(timesOf(k, 100, s), { encryptsFromMs: 100 * R, encryptsUntilMs: 101 * R, decryptsUntilMs: 103 * R });
  assert.deepEqual(timesOf(demoted(T + 5), 100, s), {
    encryptsFromMs: null,
    encryptsUntilMs: null,
    decryptsUntilMs: T + 5,
  });
  // The oldest slot that may still decrypt: its primary's (epoch + 1) * R + grace is after T.
  const lowest = lowestLiveEpoch(T, s);
  assert.ok(decryptsUntil(lowest + 1, k, s) > T);
  assert.ok(decryptsUntil(lowest - 1, k, s) <= T);
});

test("the turn's primary encrypts, the next one and the previous ones renew, and the decision holds until the turn ends", () => {
  const [prev, cur, next] = [primary(), primary(), primary()];
  const slots = new Map([
    [99, [prev]],
    [100, [cur]],
    [101, [next]],
  ]);
  const d = decide(slots, T, s);
  assert.equal(d.epoch, 100);
  assert.equal(d.current, cur);
  assert.equal(d.currentEpoch, 100);
  assert.deepEqual(d.decrypting, [prev, cur, next]);
  assert.deepEqual(d.retired, []);
  assert.equal(d.nextChangeMs, 101 * R);
  assert.equal(roleOf(cur, 100, d.current, T, s), 'current');
  assert.equal(roleOf(next, 101, d.current, T, s), 'next');
  assert.equal(roleOf(prev, 99, d.current, T, s), 'previous');
  assert.equal(slots.get(99)?.[0], prev, 'decide changes nothing');
});

test('a key retires at the instant its decryption ends, and the decision changes then', () => {
  const old = primary();
  const cur = primary();
  const early = demoted(T + 1000);
  const slots = new Map([
    [97, [old]],
    [100, [cur, early]],
  ]);
  const before = decide(slots, 100 * R - 1, s);
  assert.equal(before.current, old, 'before slot 100 starts, nothing newer than slot 97 encrypts');
  const d = decide(slots, T, s);
  assert.equal(d.nextChangeMs, T + 1000, 'the demoted key ends first');
  assert.deepEqual(d.decrypting, [cur, early]);
  assert.equal(decryptsUntil(97, old, s), 100 * R, 'slot 97 retires as slot 100 starts');
  assert.deepEqual(d.retired, [{ epoch: 97, key: old }]);
  const later = decide(new Map([[100, [cur, early]]]), T + 1000, s);
  assert.deepEqual(later.retired, [{ epoch: 100, key: early }]);
  assert.deepEqual(later.decrypting, [cur]);
});

test('without a key for this turn the newest past primary keeps encrypting; without any past one, the oldest ahead', () => {
  const [a, b, c] = [primary(), primary(), primary()];
  const d = decide(
    new Map([
      [98, [a]],
      [99, [b]],
    ]),
    T,
    s,
  );
  assert.equal(d.current, b);
  assert.equal(d.currentEpoch, 99);
  const ahead = decide(
    new Map([
      [103, [c]],
      [102, [a]],
    ]),
    T,
    s,
  );
  assert.equal(ahead.current, a);
  assert.equal(ahead.currentEpoch, 102);
  assert.equal(decide(new Map(), T, s).current, undefined);
  // A slot whose first key was demoted has no primary and cannot encrypt.
  assert.equal(decide(new Map([[100, [demoted(T + R)]]]), T, s).current, undefined);
});

test('a slot more than one turn ahead does not decrypt until the turn before its own', () => {
  const [cur, far] = [primary(), primary()];
  const slots = new Map([
    [100, [cur]],
    [103, [far]],
  ]);
  const d = decide(slots, T, s);
  assert.deepEqual(d.decrypting, [cur]);
  assert.equal(d.nextChangeMs, 101 * R);
  const d2 = decide(slots, 101 * R + 1, s);
  assert.equal(d2.nextChangeMs, 102 * R, 'slot 103 is trusted from the start of turn 102');
  assert.deepEqual(decide(slots, 102 * R, s).decrypting.includes(far), true);
});

test('missing primaries: of the current and next slots, those without one', () => {
  const cur = primary();
  assert.deepEqual(missingPrimaries(new Map(), T, s), [100, 101]);
  assert.deepEqual(missingPrimaries(new Map([[100, [cur]]]), T, s), [101]);
  assert.deepEqual(missingPrimaries(new Map([[101, [demoted(T + R)]]]), T, s), [100, 101]);
  assert.equal(primaryOf([cur]), cur);
  assert.equal(primaryOf([demoted(1), cur]), undefined);
  assert.equal(primaryOf(undefined), undefined);
});
