import assert from 'node:assert/strict';
import * as https from 'node:https';
import type { AddressInfo } from 'node:net';
import { test } from 'node:test';
import type { TLSSocket } from 'node:tls';
import { Agent as UndiciAgent, request as undiciRequest } from 'undici';
import { ClientSessionStore } from '../../src/client/index.js';
import { sharedPki } from '../helpers/index.js';

/** An HTTPS server that answers with whether the connection was resumed, then closes it. */
async function startHttpsServer(options: https.ServerOptions = {}) {
  const pki = await sharedPki();
  const server = https.createServer({ key: pki.server.key, cert: pki.server.cert, ...options }, (req, res) => {
    res.setHeader('connection', 'close');
    res.end(
      JSON.stringify({
        reused: (req.socket as TLSSocket).isSessionReused(),
        protocol: (req.socket as TLSSocket).getProtocol(),
      }),
    );
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', () => resolve()));
  const port = (server.address() as AddressInfo).port;
  const close = () =>
    new Promise<void>((resolve) => {
      server.closeAllConnections();
      server.close(() => resolve());
    });
  return { port, close };
}

interface Answer {
  reused: boolean;
  protocol: string;
}

function get(port: number, agent: https.Agent): Promise<Answer> {
  return new Promise((resolve, reject) => {
    const req = https.get(
      { host: '127.0.0.1', port, servername: 'localhost', path: '/x', agent, timeout: 5000 },
      (res) => {
        let body = '';
        res.setEncoding('utf8');
        res.on('data', (d: string) => {
          body += d;
        });
        res.on('end', () => resolve(JSON.parse(body) as Answer));
        res.on('error', reject);
      },
    );
    req.on('timeout', () => req.destroy(new Error('request timed out')));
    req.on('error', reject);
  });
}

test('https: an agent from the store resumes with each TLS 1.3 ticket once', async (t) => {
  const server = await startHttpsServer();
  t.after(() => server.close());
  const store = new ClientSessionStore();
  t.after(() => store.close());
  const agent = store.agent({ ca: (await sharedPki()).ca.cert });
  t.after(() => agent.destroy());

  const answers: Answer[] = [];
  for (let i = 0; i < 4; i++) {
    answers.push(await get(server.port, agent));
    await store.flush();
  }
  assert.deepEqual(
    answers.map((a) => [a.protocol, a.reused]),
    [
      ['TLSv1.3', false],
      ['TLSv1.3', true],
      ['TLSv1.3', true],
      ['TLSv1.3', false],
    ],
    'as seen by the server: two tickets, two resumptions, then a full handshake',
  );
  const s = store.stats();
  assert.equal(s.offered, 2);
  assert.equal(s.resumed, 2);
});

test('https: TLS 1.2 sessions are reused by every request; another CA in the agent means another domain', async (t) => {
  const server = await startHttpsServer({ maxVersion: 'TLSv1.2' });
  t.after(() => server.close());
  const store = new ClientSessionStore();
  t.after(() => store.close());
  const pki = await sharedPki();
  const agent = store.agent({ ca: pki.ca.cert });
  t.after(() => agent.destroy());
  const answers: boolean[] = [];
  for (let i = 0; i < 3; i++) answers.push((await get(server.port, agent)).reused);
  assert.deepEqual(answers, [false, true, true]);

  const other = store.agent({ ca: [pki.ca.cert, pki.ca.cert] });
  t.after(() => other.destroy());
  assert.equal((await get(server.port, other)).reused, false);
});

test('undici: Agent({ connect: store.undiciConnect() }) makes real requests and resumes', async (t) => {
  const server = await startHttpsServer();
  t.after(() => server.close());
  const store = new ClientSessionStore();
  t.after(() => store.close());
  const dispatcher = new UndiciAgent({
    connect: store.undiciConnect({ ca: (await sharedPki()).ca.cert, servername: 'localhost' }),
  });
  t.after(() => dispatcher.close());

  const answers: Answer[] = [];
  for (let i = 0; i < 4; i++) {
    const res = await undiciRequest(`https://127.0.0.1:${server.port}/x`, {
      dispatcher,
      signal: AbortSignal.timeout(5000),
    });
    assert.equal(res.statusCode, 200);
    answers.push((await res.body.json()) as Answer);
    await store.flush();
  }
  assert.deepEqual(
    answers.map((a) => a.reused),
    [false, true, true, false],
  );
  assert.equal(store.stats().resumed, 2);
});

test('undici: a connection failure reaches undici as an error', async (t) => {
  const server = await startHttpsServer();
  t.after(() => server.close());
  const store = new ClientSessionStore();
  t.after(() => store.close());
  // No CA: the server's certificate is rejected.
  const dispatcher = new UndiciAgent({ connect: store.undiciConnect({ servername: 'localhost' }) });
  t.after(() => dispatcher.close());
  await assert.rejects(
    undiciRequest(`https://127.0.0.1:${server.port}/x`, { dispatcher, signal: AbortSignal.timeout(5000) }),
    (e: Error & { code?: string }) =>
      e.code === 'UNABLE_TO_VERIFY_LEAF_SIGNATURE' || e.code === 'SELF_SIGNED_CERT_IN_CHAIN',
  );
  assert.equal(store.stats().stored, 0);
});
