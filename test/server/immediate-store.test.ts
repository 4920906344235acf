/**
 * A store in this process that offers an ImmediateStore is called at once on the handshake
 * path: its promise-returning methods are never awaited there. Over real TLS connections.
 */
import assert from 'node:assert/strict';
import { constants } from 'node:crypto';
import { test } from 'node:test';
import { IMMEDIATE_STORE, type ImmediateStore } from '../../src/stores/immediate-store.js';
import { MemoryStore } from '../../src/stores/memory-store.js';
import { nodeConnect } from '../helpers/index.js';
import { startCachedServer } from './kit.js';

/** Answers only through its immediate face: a call to get, take or set rejects. */
class ImmediateOnly extends MemoryStore {
  readonly calls: string[] = [];
  override get(): Promise<undefined> {
    this.calls.push('get');
    return Promise.reject(new Error('get awaited on the handshake path'));
  }
  override take(): Promise<undefined> {
    this.calls.push('take');
    return Promise.reject(new Error('take awaited on the handshake path'));
  }
  override set(): Promise<void> {
    this.calls.push('set');
    return Promise.reject(new Error('set awaited on the handshake path'));
  }
  override get [IMMEDIATE_STORE](): ImmediateStore {
    const own = MemoryStore.prototype;
    const counted = <A extends unknown[], R>(name: string, fn: (...args: A) => R) => {
      return (...args: A): R => {
        this.calls.push(name);
        return fn.apply(this, args);
      };
    };
    return {
      getNow: counted('getNow', own.getNow),
      takeNow: counted('takeNow', own.takeNow),
      setNow: counted('setNow', own.setNow),
    };
  }
}

for (const version of ['TLSv1.2', 'TLSv1.3'] as const) {
  test(`${version}: the cache stores and looks up through the immediate face, never awaiting the store`, async (t) => {
    const store = new ImmediateOnly();
    const srv = await startCachedServer({ cache: { store, tickets: 'stateful' } });
    t.after(() => srv.close());
    const options = { maxVersion: version, minVersion: version, secureOptions: constants.SSL_OP_NO_TICKET };
    const first = await nodeConnect({ port: srv.port, ...options });
    const session = first.sessions.at(-1)!;
    assert.equal((await nodeConnect({ port: srv.port, ...options, session })).reused, true);
    const st = srv.cache.stats();
    assert.equal(st.storeErrors, 0);
    assert.equal(st.hits, 1);
    assert.deepEqual(
      store.calls.filter((c) => !c.endsWith('Now')),
      [],
      'no promise-returning store call on the handshake path',
    );
    assert.ok(store.calls.includes('setNow'));
    assert.ok(store.calls.includes(version === 'TLSv1.3' ? 'takeNow' : 'getNow'));
  });
}
