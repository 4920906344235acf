/**
 * The Node.js internals the ticket key ring relies on (src/node/ticket-key-callback.ts),
 * checked directly, without the ring: if a Node upgrade changes one, the failing test names it.
 * The last test checks that attach() refuses, in one line naming it, a server missing one.
 */
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { test } from 'node:test';
import { createSecureContext, type Server, type TLSSocket } from 'node:tls';
import {
  type TicketContext,
  type TicketKeyAnswer,
  type TicketServerInternals,
  ticketCallbackUnsupported,
} from '../../src/node/ticket-key-callback.js';
import { unwrapNodeSession } from '../../src/session/index.js';
import { TicketKeyError, TicketKeyRing } from '../../src/tickets/index.js';
import { sharedPki, startNodeServer } from '../helpers/index.js';
import { handshake, ticketKeyName, ticketLifetime } from '../tickets/kit.js';

const CHANGED = `Node.js ${process.version} changed an internal the ticket key ring relies on`;

function contextOf(server: Server): TicketContext {
  const creds = (server as TicketServerInternals)._sharedCreds;
  assert.ok(creds, `${CHANGED}: tls.Server#_sharedCreds is gone`);
  return creds.context;
}

interface Call {
  self: unknown;
  name: Buffer;
  iv: Buffer;
  encrypt: boolean;
}

/** Installs a recording callback with one key; `decryptResult` is what decryption answers. */
function install(server: Server, key: Buffer, decryptResult: () => number): Call[] {
  const ctx = contextOf(server);
  assert.equal(
    typeof ctx.enableTicketKeyCallback,
    'function',
    `${CHANGED}: SecureContext#enableTicketKeyCallback is gone`,
  );
  const calls: Call[] = [];
  ctx.enableTicketKeyCallback();
  ctx.onticketkeycallback = function (this: TicketContext, name, iv, encrypt): TicketKeyAnswer {
    calls.push({ self: this, name: Buffer.from(name), iv: Buffer.from(iv), encrypt });
    const hmac = key.subarray(16, 32);
    const aes = key.subarray(32, 48);
    if (encrypt) return [1, hmac, aes, key.subarray(0, 16), randomBytes(16)];
    return [key.subarray(0, 16).equals(name) ? decryptResult() : 0, hmac, aes];
  };
  return calls;
}

test('the secure context exposes what the ring needs (constants, methods)', async (t) => {
  const pki = await sharedPki();
  const srv = await startNodeServer({ cert: pki.server });
  t.after(() => srv.close());
  assert.equal(ticketCallbackUnsupported(srv.server), undefined, CHANGED);
});

for (const version of ['TLSv1.2', 'TLSv1.3'] as const) {
  test(`${version}: onticketkeycallback encrypts and decrypts every ticket; 1 resumes, 0 falls back to a full handshake, 2 renews`, async (t) => {
    const pki = await sharedPki();
    const srv = await startNodeServer({ cert: pki.server });
    t.after(() => srv.close());
    const key = randomBytes(48);
    let result = 1;
    const calls = install(srv.server, key, () => result);

    const first = await handshake(srv.port, version);
    const enc = calls.filter((c) => c.encrypt);
    assert.ok(enc.length >= 1, `${CHANGED}: onticketkeycallback is not called to encrypt tickets`);
    assert.equal(enc[0]!.name.length, 16, `${CHANGED}: the callback's name argument is not 16 bytes`);
    assert.equal(enc[0]!.iv.length, 16, `${CHANGED}: the callback's iv argument is not 16 bytes`);
    assert.equal(enc[0]!.self, contextOf(srv.server), `${CHANGED}: the callback is not called on the server's context`);
    assert.equal(
      ticketKeyName(first.session!),
      key.toString('hex', 0, 16),
      `${CHANGED}: the returned name does not start the ticket`,
    );

    calls.length = 0;
    const resumed = await handshake(srv.port, version, {
      session: first.session,
      tickets: version === 'TLSv1.3' ? 1 : 0,
      timeoutMs: 1000,
    });
    assert.equal(resumed.reused, true, `${CHANGED}: a ticket decrypted with answer 1 does not resume`);
    const dec = calls.filter((c) => !c.encrypt);
    assert.equal(dec.length, 1, `${CHANGED}: onticketkeycallback is not called once to decrypt`);
    assert.equal(
      dec[0]!.name.toString('hex'),
      key.toString('hex', 0, 16),
      `${CHANGED}: the decrypt call does not get the ticket's key name`,
    );
    if (version === 'TLSv1.3') assert.equal(resumed.sessions, 0, `${CHANGED}: answer 1 now issues a new ticket`);

    result = 2;
    calls.length = 0;
    const renewed = await handshake(srv.port, version, {
      session: first.session,
      tickets: version === 'TLSv1.3' ? 1 : 0,
    });
    assert.equal(renewed.reused, true, `${CHANGED}: a ticket decrypted with answer 2 does not resume`);
    assert.ok(
      calls.some((c) => c.encrypt),
      `${CHANGED}: answer 2 does not renew the ticket`,
    );

    result = 0;
    const refused = await handshake(srv.port, version, { session: first.session });
    assert.equal(refused.reused, false, `${CHANGED}: answer 0 does not refuse the ticket`);
  });
}

for (const mode of ['SNICallback', 'addContext'] as const) {
  test(`virtual hosts (${mode}): the server's own context encrypts and decrypts, not the virtual host's`, async (t) => {
    const pki = await sharedPki();
    const a = await pki.issue({ cn: 'a.test' });
    const aContext = createSecureContext({ key: a.key, cert: a.cert });
    const srv = await startNodeServer({
      cert: pki.server,
      tlsOptions:
        mode === 'SNICallback' ? { SNICallback: (name, cb) => cb(null, name === 'a.test' ? aContext : undefined) } : {},
    });
    t.after(() => srv.close());
    if (mode === 'addContext') srv.server.addContext('a.test', { key: a.key, cert: a.cert });
    const key = randomBytes(48);
    const calls = install(srv.server, key, () => 1);
    const { connect } = await import('node:tls');
    const session = await new Promise<Buffer>((resolve, reject) => {
      const s: TLSSocket = connect({
        host: '127.0.0.1',
        port: srv.port,
        servername: 'a.test',
        ca: pki.ca.cert,
        maxVersion: 'TLSv1.2',
      });
      s.once('session', (sess: Buffer) => resolve(unwrapNodeSession(sess).der));
      s.once('secureConnect', () => {
        assert.equal(s.getPeerCertificate().subject?.CN, 'a.test');
      });
      s.on('data', () => {});
      s.once('error', reject);
      s.once('close', () => reject(new Error('closed without a session')));
    });
    assert.ok(
      calls.length >= 1 && calls.every((c) => c.self === contextOf(srv.server)),
      `${CHANGED}: a virtual host's context handles tickets`,
    );
    assert.equal(ticketKeyName(session), key.toString('hex', 0, 16));
  });
}

test('setSessionTimeout sets the ticket lifetime the server announces', async (t) => {
  const pki = await sharedPki();
  const srv = await startNodeServer({ cert: pki.server });
  t.after(() => srv.close());
  contextOf(srv.server).setSessionTimeout(1234);
  for (const version of ['TLSv1.2', 'TLSv1.3'] as const) {
    const h = await handshake(srv.port, version);
    assert.equal(
      ticketLifetime(h.session!),
      1234,
      `${CHANGED}: the session timeout is not the ticket lifetime (${version})`,
    );
  }
});

test('setSecureContext replaces _sharedCreds', async (t) => {
  const pki = await sharedPki();
  const srv = await startNodeServer({ cert: pki.server });
  t.after(() => srv.close());
  const before = contextOf(srv.server);
  srv.server.setSecureContext({ key: pki.server.key, cert: pki.server.cert });
  assert.notEqual(contextOf(srv.server), before, `${CHANGED}: setSecureContext no longer replaces _sharedCreds`);
});

test('attach: a missing internal is named in one line of ERR_TICKET_NODE, and the server is left as it was', async (t) => {
  const pki = await sharedPki();
  const srv = await startNodeServer({ cert: pki.server });
  const ring = new TicketKeyRing();
  t.after(async () => {
    await ring.close();
    await srv.close();
  });
  const server = srv.server as TicketServerInternals;
  const ctx = contextOf(srv.server);
  const cases: Array<[string, () => () => void]> = [
    [
      'the native SecureContext has no enableTicketKeyCallback()',
      () => shadow(ctx, 'enableTicketKeyCallback', undefined),
    ],
    ['the native SecureContext has no setSessionTimeout()', () => shadow(ctx, 'setSessionTimeout', 'not a function')],
    [
      'SecureContext.kTicketKeyIVIndex is not 4',
      () => shadow(ctx, 'constructor', { ...indexesOf(ctx), kTicketKeyIVIndex: 5 }),
    ],
    ['tls.Server has no _sharedCreds secure context', () => shadow(server, '_sharedCreds', undefined)],
  ];
  for (const [why, breakIt] of cases) {
    const restore = breakIt();
    assert.equal(ticketCallbackUnsupported(server), why);
    assert.throws(
      () => ring.attach(srv.server),
      (err: unknown) =>
        err instanceof TicketKeyError &&
        err.code === 'ERR_TICKET_NODE' &&
        err.message === `attach: Node.js ${process.version} changed: ${why}`,
    );
    restore();
    assert.equal(Object.hasOwn(srv.server, 'setSecureContext'), false, 'setSecureContext is not wrapped');
    assert.equal(ctx.onticketkeycallback, undefined, 'no callback was installed');
  }
  // Once whole again, the same server takes the ring.
  assert.equal(ticketCallbackUnsupported(server), undefined);
  ring.attach(srv.server);
  assert.equal(typeof ctx.onticketkeycallback, 'function');
});

/** Hides `key` of `target` behind an own property, as a Node that lacks it would; returns the undo. */
function shadow(target: object, key: string, value: unknown): () => void {
  const had = Object.getOwnPropertyDescriptor(target, key);
  Object.defineProperty(target, key, { value, configurable: true, writable: true });
  return () => {
    if (had === undefined) delete (target as Record<string, unknown>)[key];
    else Object.defineProperty(target, key, had);
  };
}

function indexesOf(ctx: TicketContext): Record<string, unknown> {
  const ctor = (ctx as unknown as { constructor: Record<string, unknown> }).constructor;
  const out: Record<string, unknown> = {};
  for (const name of [
    'kTicketKeyReturnIndex',
    'kTicketKeyHMACIndex',
    'kTicketKeyAESIndex',
    'kTicketKeyNameIndex',
    'kTicketKeyIVIndex',
  ]) {
    out[name] = ctor[name];
  }
  return out;
}
