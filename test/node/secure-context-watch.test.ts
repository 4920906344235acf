/**
 * Guard of src/node/secure-context-watch.ts on this Node line: `setSecureContext()` replaces
 * `_sharedCreds` and `addContext()` adds to `_contexts`, subscribers hear of both in phase order,
 * and the server gets its own methods back when the last one leaves.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { createServer, type Server } from 'node:tls';
import {
  ContextPhase,
  secureContextConfigured,
  unwatchSecureContext,
  watchSecureContext,
} from '../../src/node/secure-context-watch.js';
import { sharedPki } from '../helpers/index.js';

type Internals = Server & { _sharedCreds?: object; _contexts?: unknown[] };

test('setSecureContext and addContext reach every subscriber, the cache phase before the tickets phase', async () => {
  const pki = await sharedPki();
  const server = createServer({ key: pki.server.key, cert: pki.server.cert }) as Internals;
  const heard: string[] = [];
  const tickets = () => heard.push(`tickets:${server._sharedCreds === first ? 'old' : 'new'}`);
  const setup = () => heard.push(`setup:${server._contexts?.length}`);
  const first = server._sharedCreds;
  assert.equal(typeof first, 'object', 'tls.Server keeps its context in _sharedCreds');
  // Subscribed in the opposite order of their phases.
  watchSecureContext(server, ContextPhase.tickets, tickets);
  watchSecureContext(server, ContextPhase.setup, setup);
  watchSecureContext(server, ContextPhase.setup, setup); // once only
  server.setSecureContext({ key: pki.rsaServer.key, cert: pki.rsaServer.cert });
  assert.notEqual(server._sharedCreds, first, 'setSecureContext replaces _sharedCreds');
  server.addContext('a.test', { key: pki.server.key, cert: pki.server.cert });
  assert.deepEqual(heard, ['setup:0', 'tickets:new', 'setup:1', 'tickets:new']);
  heard.length = 0;
  secureContextConfigured(server, ContextPhase.setup);
  assert.deepEqual(heard, ['tickets:new'], 'a set-up subscriber tells only the later phases');
  secureContextConfigured(server, -1);
  assert.deepEqual(heard, ['tickets:new', 'setup:1', 'tickets:new']);
  heard.length = 0;
  unwatchSecureContext(server, tickets);
  unwatchSecureContext(server, setup);
  assert.equal(Object.hasOwn(server, 'setSecureContext'), false, 'the prototype method is back');
  assert.equal(Object.hasOwn(server, 'addContext'), false);
  server.setSecureContext({ key: pki.server.key, cert: pki.server.cert });
  assert.deepEqual(heard, []);
});

test("an application's own setSecureContext is called through and put back", async () => {
  const pki = await sharedPki();
  const server = createServer({ key: pki.server.key, cert: pki.server.cert }) as Internals;
  const calls: string[] = [];
  const own = function (this: Server, options: Parameters<Server['setSecureContext']>[0]) {
    calls.push('own');
    Object.getPrototypeOf(this).setSecureContext.call(this, options);
  };
  server.setSecureContext = own;
  const changed = () => calls.push('changed');
  watchSecureContext(server, ContextPhase.tickets, changed);
  server.setSecureContext({ key: pki.server.key, cert: pki.server.cert });
  assert.deepEqual(calls, ['own', 'changed']);
  unwatchSecureContext(server, changed);
  assert.equal(server.setSecureContext, own);
});
