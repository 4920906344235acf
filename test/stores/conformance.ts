/**
 * The SessionStore contract, as tests every store must pass. A store's test file calls
 * `storeConformance('SqliteStore', open)` where `open()` gives a fresh, empty store, a second
 * handle on the same backend (another connection or file handle) and a cleanup.
 */
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { setTimeout as sleep } from 'node:timers/promises';
import { describe, test } from 'node:test';
import type { SessionStore } from '../../src/stores/session-store.js';

/** A fresh, empty store under test. */
export interface OpenedStore {
  store: SessionStore;
  /** Another handle on the same entries (another connection, another file handle). */
  other: SessionStore;
  cleanup(): Promise<void>;
}

/** Two handles on one backend, both closed by `cleanup()` (which then runs `then`, e.g. removing a dir). */
export function twoHandles(store: SessionStore, other: SessionStore, then?: () => Promise<void>): OpenedStore {
  return {
    store,
    other,
    async cleanup() {
      await store.close();
      await other.close();
      await then?.();
    },
  };
}

/** Options of {@link storeConformance}. */
export interface ConformanceOptions {
  /** Skip every test with this reason. */
  skip?: string | undefined;
}

const k = (s: string): Uint8Array => new TextEncoder().encode(s);
const v = (s: string): Uint8Array => new TextEncoder().encode(s);
const text = (b: Uint8Array | undefined): string | undefined =>
  b === undefined ? undefined : new TextDecoder().decode(b);
const TTL = 60_000;

/** Registers the contract tests for one store. */
export function storeConformance(
  name: string,
  open: () => Promise<OpenedStore>,
  options: ConformanceOptions = {},
): void {
  const it = (title: string, fn: (s: OpenedStore) => Promise<void>): void => {
    test(title, { skip: options.skip ?? false, timeout: 20_000 }, async (t) => {
      const s = await open();
      t.after(() => s.cleanup());
      await fn(s);
    });
  };

  describe(`${name}: SessionStore contract`, () => {
    it('get returns what set stored, and undefined for an absent key', async ({ store }) => {
      assert.equal(await store.get(k('absent')), undefined);
      await store.set(k('a'), v('one'), TTL);
      assert.equal(text(await store.get(k('a'))), 'one');
      assert.equal(text(await store.get(k('a'))), 'one', 'get does not consume');
    });

    it('getMany, where a store has it, answers like get for each key, in order', async ({ store }) => {
      if (store.getMany === undefined) return;
      assert.deepEqual(await store.getMany([]), []);
      await store.set(k('m1'), v('one'), TTL);
      await store.set(k('m3'), v('three'), TTL);
      await store.push(k('m2'), v('a stack, not a value'), TTL, 4);
      await store.set(k('gone'), v('x'), 1);
      await sleep(20);
      const got = await store.getMany([k('m1'), k('m2'), k('m3'), k('absent'), k('gone'), k('m1')]);
      assert.deepEqual(got.map(text), ['one', undefined, 'three', undefined, undefined, 'one']);
    });

    it('keys and values are binary-safe: every byte value, NUL, empty value, prefix-related keys', async ({
      store,
    }) => {
      const all = Uint8Array.from({ length: 256 }, (_, i) => i);
      const key = Uint8Array.from({ length: 256 }, (_, i) => 255 - i);
      await store.set(key, all, TTL);
      assert.deepEqual(Buffer.from((await store.get(key))!), Buffer.from(all));
      await store.set(Uint8Array.of(1, 0), v('with nul'), TTL);
      await store.set(Uint8Array.of(1), v('without'), TTL);
      await store.set(Uint8Array.of(1, 0, 0), new Uint8Array(0), TTL);
      assert.equal(text(await store.get(Uint8Array.of(1, 0))), 'with nul');
      assert.equal(text(await store.get(Uint8Array.of(1))), 'without');
      const empty = await store.get(Uint8Array.of(1, 0, 0));
      assert.ok(empty !== undefined, 'an empty value is a value');
      assert.equal(empty.byteLength, 0);
      // A key that is a view into a larger buffer: only the view is the key.
      const big = Buffer.from('xxKEYxx');
      await store.set(big.subarray(2, 5), v('view'), TTL);
      assert.equal(text(await store.get(k('KEY'))), 'view');
    });

    it('set replaces the value; a ttl of 0 or less removes it', async ({ store }) => {
      await store.set(k('a'), v('one'), TTL);
      await store.set(k('a'), v('two'), TTL);
      assert.equal(text(await store.get(k('a'))), 'two');
      await store.set(k('a'), v('three'), 0);
      assert.equal(await store.get(k('a')), undefined);
      await store.set(k('b'), v('b'), -5);
      assert.equal(await store.get(k('b')), undefined);
    });

    it('values are copied: changing buffers after set or get changes nothing stored', async ({ store }) => {
      const value = v('original');
      await store.set(k('a'), value, TTL);
      value.fill(0);
      const got = (await store.get(k('a')))!;
      assert.equal(text(got), 'original');
      got.fill(0);
      assert.equal(text(await store.get(k('a'))), 'original');
    });

    it('entries past their ttl are never returned', async ({ store }) => {
      await store.set(k('short'), v('s'), 40);
      await store.set(k('short-take'), v('s'), 40);
      await store.push(k('stack'), v('s'), 40, 4);
      await store.set(k('long'), v('l'), TTL);
      await sleep(150);
      assert.equal(await store.get(k('short')), undefined);
      assert.equal(await store.take(k('short-take')), undefined);
      assert.equal(await store.pop(k('stack')), undefined);
      assert.equal(text(await store.get(k('long'))), 'l');
    });

    it('take returns the value once and removes it', async ({ store }) => {
      await store.set(k('t'), v('ticket'), TTL);
      assert.equal(text(await store.take(k('t'))), 'ticket');
      assert.equal(await store.take(k('t')), undefined);
      assert.equal(await store.get(k('t')), undefined);
      assert.equal(await store.take(k('never')), undefined);
    });

    it('take is atomic: of 64 concurrent takes on two handles, exactly one gets the value', async ({
      store,
      other,
    }) => {
      for (let round = 0; round < 5; round++) {
        const key = k(`race-${round}`);
        await store.set(key, v(`v${round}`), TTL);
        const results = await Promise.all(Array.from({ length: 64 }, (_, i) => (i % 2 ? other : store).take(key)));
        const winners = results.filter((r) => r !== undefined);
        assert.equal(winners.length, 1, `round ${round}: ${winners.length} takes got the value`);
        assert.equal(text(winners[0]), `v${round}`);
      }
    });

    it('delete removes a value or a stack and says whether it removed something', async ({ store }) => {
      await store.set(k('d'), v('x'), TTL);
      assert.equal(await store.delete(k('d')), true);
      assert.equal(await store.get(k('d')), undefined);
      assert.equal(await store.delete(k('d')), false);
      await store.push(k('ds'), v('x'), TTL, 3);
      assert.equal(await store.delete(k('ds')), true);
      assert.equal(await store.pop(k('ds')), undefined);
    });

    it('push/pop: newest first, at most max entries (oldest dropped)', async ({ store }) => {
      for (const n of [1, 2, 3, 4, 5]) await store.push(k('s'), v(`t${n}`), TTL, 3);
      assert.equal(text(await store.pop(k('s'))), 't5');
      assert.equal(text(await store.pop(k('s'))), 't4');
      assert.equal(text(await store.pop(k('s'))), 't3');
      assert.equal(await store.pop(k('s')), undefined);
      assert.equal(await store.pop(k('never')), undefined);
    });

    it('pop passes over expired entries to the newest live one', async ({ store }) => {
      await store.push(k('s'), v('old-long'), TTL, 8);
      await store.push(k('s'), v('new-short'), 40, 8);
      await sleep(150);
      assert.equal(text(await store.pop(k('s'))), 'old-long');
      assert.equal(await store.pop(k('s')), undefined);
    });

    it('pop is atomic: 40 entries, 120 concurrent pops on two handles, each entry exactly once', async ({
      store,
      other,
    }) => {
      const n = 40;
      for (let i = 0; i < n; i++) await store.push(k('tickets'), v(`t${i}`), TTL, n);
      const results = await Promise.all(
        Array.from({ length: 3 * n }, (_, i) => (i % 2 ? other : store).pop(k('tickets'))),
      );
      const got = results.filter((r) => r !== undefined).map((r) => text(r)!);
      assert.equal(got.length, n);
      assert.equal(new Set(got).size, n, 'an entry was popped twice');
      assert.deepEqual(new Set(got), new Set(Array.from({ length: n }, (_, i) => `t${i}`)));
    });

    it('single values and stacks do not see each other', async ({ store }) => {
      await store.set(k('one'), v('value'), TTL);
      await store.push(k('two'), v('entry'), TTL, 2);
      assert.equal(await store.pop(k('one')), undefined);
      assert.equal(await store.get(k('two')), undefined);
      assert.equal(await store.take(k('two')), undefined);
      assert.equal(text(await store.get(k('one'))), 'value');
      assert.equal(text(await store.pop(k('two'))), 'entry');
    });

    it('many keys stay apart and are all visible from the other handle', async ({ store, other }) => {
      const entries = Array.from({ length: 300 }, () => [randomBytes(32), randomBytes(200)] as const);
      await Promise.all(entries.map(([key, value]) => store.set(key, value, TTL)));
      for (const [key, value] of entries) assert.deepEqual(Buffer.from((await other.get(key))!), value);
    });

    it('clear removes every value and stack', async ({ store }) => {
      await store.set(k('a'), v('1'), TTL);
      await store.push(k('b'), v('2'), TTL, 2);
      await store.clear();
      assert.equal(await store.get(k('a')), undefined);
      assert.equal(await store.pop(k('b')), undefined);
      await store.set(k('a'), v('after'), TTL);
      assert.equal(text(await store.get(k('a'))), 'after', 'usable after clear');
    });

    it('after close, writes reject with ERR_STORE_CLOSED; close twice is fine', async ({ store }) => {
      await store.close();
      await assert.rejects(store.set(k('a'), v('1'), TTL), { code: 'ERR_STORE_CLOSED' });
      await assert.rejects(store.push(k('a'), v('1'), TTL, 2), { code: 'ERR_STORE_CLOSED' });
      await store.close();
    });
  });
}
