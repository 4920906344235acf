/**
 * TLS 1.3 resumption through a HelloRetryRequest, and with hybrid key shares. Node answers
 * `'resumeSession'` for the first ClientHello only, and OpenSSL takes the session loaded for it;
 * after a HelloRetryRequest the second ClientHello asks again, and the cache loads the session
 * once more. A hit is counted only when the handshake resumed. Node 22+ (OpenSSL 3.5) offers
 * X25519MLKEM768 first: a server limited to other groups answers it with a HelloRetryRequest.
 */
import assert from 'node:assert/strict';
import { once } from 'node:events';
import net, { type AddressInfo } from 'node:net';
import { join } from 'node:path';
import { test } from 'node:test';
import tls from 'node:tls';
import { peekClientHello } from '../../src/wire/index.js';
import { nodeConnect, sClient, sharedPki, tmpDir } from '../helpers/index.js';
import { startCachedServer } from './kit.js';

const X25519MLKEM768 = 0x11ec;
const NODE_MAJOR = Number(process.versions.node.split('.')[0]);

test('s_client -groups X25519:P-256 against a P-256 server: resumed through the HelloRetryRequest, one hit, the ticket used once', async (t) => {
  const dir = await tmpDir('hrr-');
  t.after(() => dir.cleanup());
  const srv = await startCachedServer({ tlsOptions: { ecdhCurve: 'P-256' } });
  t.after(() => srv.close());
  const events: string[] = [];
  srv.cache.on('resumed', () => events.push('resumed'));
  srv.cache.on('removed', ({ reason }) => events.push(`removed ${reason}`));
  srv.cache.on('missed', ({ reason }) => events.push(`missed ${reason}`));
  const file = join(dir.path, 's.pem');
  const groups = ['-groups', 'X25519:P-256', '-msg'];

  const first = await sClient({ port: srv.port, tls: '1.3', sessOut: file, extraArgs: groups });
  assert.equal(first.reused, false);
  // Two ClientHellos: the server asked for a P-256 share.
  assert.equal(first.stdout.match(/>>> TLS 1\.3, Handshake \[length [0-9a-f]+\], ClientHello/g)?.length, 2);

  const second = await sClient({ port: srv.port, tls: '1.3', sessIn: file, extraArgs: groups });
  assert.equal(second.stdout.match(/>>> TLS 1\.3, Handshake \[length [0-9a-f]+\], ClientHello/g)?.length, 2);
  assert.match(second.stdout, /^Reused, TLSv1\.3/m);
  const third = await sClient({ port: srv.port, tls: '1.3', sessIn: file, extraArgs: groups });
  assert.equal(third.reused, false, 'single use');

  const st = srv.cache.stats();
  assert.equal(st.hits, 1);
  assert.equal(st.resumed, 1);
  assert.equal(st.misses, 1);
  assert.deepEqual(events, ['removed used', 'resumed', 'missed absent']);
});

test('a session OpenSSL does not resume is no hit, and a single-use ticket taken for it goes back', async (t) => {
  const dir = await tmpDir('hrr-');
  t.after(() => dir.cleanup());
  // The session is made with a SHA-256 suite; the next hello offers only a SHA-384 one, which
  // cannot use it (RFC 8446 §4.2.11: the PSK's hash must match).
  const srv = await startCachedServer();
  t.after(() => srv.close());
  const misses: string[] = [];
  srv.cache.on('missed', ({ reason }) => misses.push(reason));
  const file = join(dir.path, 's.pem');
  await sClient({ port: srv.port, tls: '1.3', sessOut: file, extraArgs: ['-ciphersuites', 'TLS_AES_128_GCM_SHA256'] });
  const other = await sClient({
    port: srv.port,
    tls: '1.3',
    sessIn: file,
    extraArgs: ['-ciphersuites', 'TLS_AES_256_GCM_SHA384'],
  });
  assert.equal(other.reused, false);
  let st = srv.cache.stats();
  assert.equal(st.hits, 0);
  assert.deepEqual(misses, ['declined']);
  const same = await sClient({
    port: srv.port,
    tls: '1.3',
    sessIn: file,
    extraArgs: ['-ciphersuites', 'TLS_AES_128_GCM_SHA256'],
  });
  assert.equal(same.reused, true, 'the declined ticket went back for its client');
  st = srv.cache.stats();
  assert.equal(st.hits, 1);
  assert.equal(st.resumed, 1);
});

/** The supported_groups a Node client of this line offers. */
async function nodeClientGroups(): Promise<readonly number[]> {
  const server = net.createServer();
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  try {
    const seen = new Promise<readonly number[]>((resolve, reject) => {
      server.once('connection', (socket) => {
        peekClientHello(socket).then((r) => {
          resolve(r.hello?.supportedGroups ?? []);
          socket.destroy();
        }, reject);
      });
    });
    const client = tls.connect({
      port: (server.address() as AddressInfo).port,
      host: '127.0.0.1',
      servername: 'localhost',
    });
    client.on('error', () => {});
    return await seen;
  } finally {
    server.close();
  }
}

for (const ecdhCurve of [undefined, 'P-256'] as const) {
  const what = ecdhCurve === undefined ? "the server's default groups" : 'a P-256 server (HelloRetryRequest)';
  test(`Node clients of this line (hybrid key shares on 22+) resume TLS 1.3 against ${what}`, async (t) => {
    const groups = await nodeClientGroups();
    if (NODE_MAJOR >= 22) assert.equal(groups[0], X25519MLKEM768, 'Node 22+ offers the hybrid group first');
    const srv = await startCachedServer({ tlsOptions: ecdhCurve === undefined ? {} : { ecdhCurve } });
    t.after(() => srv.close());
    const pki = await sharedPki();
    let session = (await nodeConnect({ port: srv.port, ca: pki.ca.cert })).sessions.at(-1)!;
    for (let i = 0; i < 3; i++) {
      const c = await nodeConnect({ port: srv.port, ca: pki.ca.cert, session });
      assert.equal(c.reused, true, `resumption ${i + 1}`);
      session = c.sessions.at(-1)!;
    }
    const st = srv.cache.stats();
    assert.equal(st.hits, 3);
    assert.equal(st.resumed, 3);
    assert.equal(st.misses, 0);
  });
}
