import assert from 'node:assert/strict';
import { test } from 'node:test';
import { ClientSessionStoreError } from '../../src/client/errors.js';
import { ProbeError } from '../../src/probe/errors.js';
import { ServerSessionCacheError } from '../../src/server/errors.js';
import { TlsSessionError } from '../../src/session/errors.js';
import { SessionStoreError } from '../../src/stores/store-error.js';
import { TicketKeyError } from '../../src/tickets/errors.js';
import { BudgetExceededError } from '../../src/util/budget.js';
import { messageOf, TlsSessionsError } from '../../src/util/errors.js';
import { ClientHelloError } from '../../src/wire/errors.js';

test('every error class has one shape: name, code, one-line message, and the same cause policy', () => {
  const secret = Buffer.from('00112233445566778899aabbccddeeff', 'hex');
  const foreign = Object.assign(new Error('ERR wrong number of arguments\nsecond line'), {
    code: 'EARGS',
    args: ['SET', secret],
    value: secret,
  });
  const errors = [
    new ClientSessionStoreError('ERR_CLIENT_STORE_BACKEND', 'm', { cause: foreign }),
    new ProbeError('ERR_PROBE_HANDSHAKE', 'm', { cause: foreign }),
    new ServerSessionCacheError('ERR_CACHE_STORE', 'm', { cause: foreign }),
    new TlsSessionError('ERR_SESSION_PEER_CERT', 'm', { cause: foreign }),
    new SessionStoreError('ERR_STORE_UNAVAILABLE', 'm', { cause: foreign }),
    new TicketKeyError('ERR_TICKET_STORE', 'm', { cause: foreign }),
    new ClientHelloError('ERR_SOCKET_ERROR', 'm', { cause: foreign }),
  ];
  for (const e of errors) {
    assert.ok(e instanceof TlsSessionsError && e instanceof Error);
    assert.equal(e.name, e.constructor.name);
    assert.match(e.code, /^ERR_/);
    const cause = e.cause as Error & Record<string, unknown>;
    assert.equal(cause.message, 'ERR wrong number of arguments', `${e.name}: first line only`);
    assert.equal(cause['code'], 'EARGS', `${e.name}: the code stays`);
    assert.equal(cause['args'], undefined, `${e.name}: nothing else attached`);
    assert.equal(cause['value'], undefined);
  }
  // Errors of this package are kept as causes: they follow the rule themselves.
  const inner = new BudgetExceededError('session store get', 50);
  assert.equal(new ServerSessionCacheError('ERR_STORE_TIMEOUT', 'm', { cause: inner }).cause, inner);
  assert.equal(messageOf('x'.repeat(300)).length, 201);
});
