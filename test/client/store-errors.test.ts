import assert from 'node:assert/strict';
import { test } from 'node:test';
import { inspect } from 'node:util';
import { ClientSessionStore } from '../../src/client/index.js';
import { TlsSession, unwrapNodeSession } from '../../src/session/index.js';
import { TlsSessionsError } from '../../src/util/errors.js';
import { StoreDouble, sharedPki, startNodeServer } from '../helpers/index.js';
import { runConnection } from './run-connection.js';

/** A store whose writes fail the way ioredis does: with the command's arguments on the error. */
function leakyStore(): StoreDouble {
  return new StoreDouble()
    .fail(
      (key: unknown, value: unknown) =>
        Object.assign(new Error('WRONGTYPE Operation against a key holding the wrong kind of value'), {
          code: 'WRONGTYPE',
          args: [key, value],
        }),
      ['push'],
    )
    .fail(
      (key: unknown, value: unknown) => Object.assign(new Error('READONLY replica'), { args: [key, value] }),
      ['set'],
    );
}

test("a store's error reaches 'storeError' without the session bytes it carried", async (t) => {
  const pki = await sharedPki();
  const server = await startNodeServer({ cert: pki.server });
  t.after(() => server.close());
  for (const maxVersion of ['TLSv1.2', 'TLSv1.3'] as const) {
    const store = new ClientSessionStore({ store: leakyStore() });
    t.after(() => store.close());
    const errors: Error[] = [];
    store.on('storeError', (e) => errors.push(e));
    const secrets: string[] = [];
    const conn = await runConnection(store, { port: server.port, ca: pki.ca.cert, maxVersion });
    conn.socket.on('session', () => {});
    await store.flush();
    assert.ok(errors.length >= 1, `${maxVersion}: the failed write is reported`);
    const session = conn.socket.getSession();
    if (session) secrets.push(TlsSession.fromDER(unwrapNodeSession(session).der).masterKey.toString('hex'));
    for (const e of errors) {
      assert.ok(e instanceof TlsSessionsError);
      assert.equal((e as TlsSessionsError).code, 'ERR_CLIENT_STORE_BACKEND');
      assert.match(e.message, /^session store: (WRONGTYPE|READONLY)/);
      const cause = e.cause as Error & { args?: unknown; code?: unknown };
      assert.equal(cause.args, undefined, 'the arguments are not attached');
      if (maxVersion === 'TLSv1.3') assert.equal(cause.code, 'WRONGTYPE', 'the code is kept');
      const everything = `${inspect(e, { depth: Number.POSITIVE_INFINITY, showHidden: true })}${JSON.stringify(e)}`;
      for (const secret of secrets) assert.ok(!everything.includes(secret), 'no master key in the error');
      assert.ok(!/[0-9a-f]{64}/.test(everything.replace(/\n/g, '')), 'no long hex run in the error');
    }
  }
});
