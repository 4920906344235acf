// The test kit itself, against real peers: PKI, s_server/s_client resumption, Node sessions.
import assert from 'node:assert/strict';
import { X509Certificate, createPrivateKey } from 'node:crypto';
import { join } from 'node:path';
import { after, describe, test } from 'node:test';
import { setTimeout as delay } from 'node:timers/promises';
import {
  freePort,
  launchPeer,
  liveOpensslProcesses,
  makePki,
  nodeConnect,
  runOpenssl,
  sClient,
  sessId,
  sharedPki,
  startNodeServer,
  StoreDouble,
  startSServer,
  tmpDir,
  waitFor,
  WWW_REQUEST,
} from './helpers/index.js';

function isRunning(pid: number | undefined): boolean {
  if (pid === undefined) return false;
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

const dir = await tmpDir('helpers-test-');
after(() => dir.cleanup());

describe('certs', () => {
  test('shared PKI: ECDSA and RSA localhost servers and a client certificate, all chained to the root', async () => {
    const pki = await sharedPki();
    assert.equal(await sharedPki(), pki, 'memoized per process');
    const ca = new X509Certificate(pki.ca.cert);
    assert.equal(ca.ca, true);

    const ec = new X509Certificate(pki.server.cert);
    assert.equal(ec.publicKey.asymmetricKeyType, 'ec');
    assert.equal(ec.publicKey.asymmetricKeyDetails?.namedCurve, 'prime256v1');
    assert.equal(ec.subjectAltName, 'DNS:localhost, IP Address:127.0.0.1');
    assert.equal(ec.checkIssued(ca), true);
    assert.equal(ec.verify(ca.publicKey), true);
    assert.equal(ec.ca, false);

    const rsa = new X509Certificate(pki.rsaServer.cert);
    assert.equal(rsa.publicKey.asymmetricKeyType, 'rsa');
    assert.equal(rsa.publicKey.asymmetricKeyDetails?.modulusLength, 2048);
    assert.equal(rsa.verify(ca.publicKey), true);
    assert.equal(rsa.checkPrivateKey(createPrivateKey(pki.rsaServer.key)), true);

    const client = new X509Certificate(pki.client.cert);
    assert.deepEqual(client.keyUsage, ['1.3.6.1.5.5.7.3.2']);
    assert.deepEqual(ec.keyUsage, ['1.3.6.1.5.5.7.3.1']);
  });

  test('a leaf with notAfterPast is expired and rejected by openssl verify', async () => {
    const pki = await makePki();
    try {
      const expired = await pki.issue({ cn: 'localhost', notAfterPast: true });
      const x = new X509Certificate(expired.cert);
      const now = Date.now();
      assert.ok(Date.parse(x.validTo) < now, `validTo ${x.validTo} is in the past`);
      assert.ok(Date.parse(x.validFrom) < Date.parse(x.validTo));
      const verify = await runOpenssl(['verify', '-CAfile', pki.ca.certPath, expired.certPath]);
      assert.notEqual(verify.code, 0);
      assert.match(verify.stdout.toString() + verify.stderr, /certificate has expired/);
      const fresh = await pki.issue({ cn: 'a.test', altNames: ['a.test', 'b.test', '10.0.0.1'], days: 2 });
      const ok = await runOpenssl(['verify', '-CAfile', pki.ca.certPath, fresh.certPath]);
      assert.equal(ok.code, 0, ok.stderr);
      assert.equal(new X509Certificate(fresh.cert).subjectAltName, 'DNS:a.test, DNS:b.test, IP Address:10.0.0.1');
    } finally {
      await pki.cleanup();
    }
  });

  test('Node rejects the expired leaf with CERT_HAS_EXPIRED', async (t) => {
    const pki = await makePki();
    t.after(() => pki.cleanup());
    const expired = await pki.issue({ cn: 'localhost', notAfterPast: true });
    const server = await startNodeServer({ cert: expired });
    t.after(() => server.close());
    await assert.rejects(nodeConnect({ port: server.port, ca: pki.ca.cert }), { code: 'CERT_HAS_EXPIRED' });
  });
});

describe('openssl s_server + s_client', () => {
  test('TLS 1.3: the ticket saved by -sess_out resumes with -sess_in', async (t) => {
    const pki = await sharedPki();
    const server = await startSServer({ cert: pki.server, tls: '1.3' });
    t.after(() => server.stop());
    const file = join(dir.path, 'tls13.pem');

    const first = await sClient({ port: server.port, servername: 'localhost', sessOut: file });
    assert.equal(first.exitCode, 0, first.stderr);
    assert.equal(first.reused, false);
    assert.equal(first.protocol, 'TLSv1.3');
    assert.equal(first.verifyCode, 0);
    assert.equal(first.postHandshakeTickets, 2);
    const text = await sessId(file);
    assert.match(text, /Protocol {2}: TLSv1\.3/);
    assert.match(text, /Resumption PSK: [0-9A-F]{64,}/);
    assert.match(text, /TLS session ticket:\n {4}0000 - /);

    const again = await sClient({ port: server.port, servername: 'localhost', sessIn: file });
    assert.equal(again.exitCode, 0, again.stderr);
    assert.equal(again.reused, true);
    assert.equal(again.protocol, 'TLSv1.3');
    assert.equal(again.cipher, first.cipher);
    assert.equal(again.postHandshakeTickets, 1);
  });

  test('TLS 1.2 with -no_ticket resumes by session id', async (t) => {
    const pki = await sharedPki();
    const server = await startSServer({ cert: pki.rsaServer, tls: '1.2', noTicket: true });
    t.after(() => server.stop());
    const file = join(dir.path, 'tls12.pem');

    const first = await sClient({ port: server.port, sessOut: file, noTicket: true });
    assert.equal(first.reused, false);
    assert.equal(first.protocol, 'TLSv1.2');
    assert.match(first.cipher, /^ECDHE-RSA-/);
    const text = await sessId(file);
    assert.match(text, /Session-ID: [0-9A-F]{64}\n/);
    assert.match(text, /Master-Key: [0-9A-F]{96}/);
    assert.doesNotMatch(text, /TLS session ticket:/);

    const again = await sClient({ port: server.port, sessIn: file, noTicket: true });
    assert.equal(again.reused, true);
    assert.equal(again.protocol, 'TLSv1.2');
  });

  test('a session from another server is not resumed (the kit can observe failure)', async (t) => {
    const pki = await sharedPki();
    const a = await startSServer({ cert: pki.server, tls: '1.3' });
    t.after(() => a.stop());
    const b = await startSServer({ cert: pki.server, tls: '1.3' });
    t.after(() => b.stop());
    const file = join(dir.path, 'other.pem');
    await sClient({ port: a.port, sessOut: file });
    const onB = await sClient({ port: b.port, sessIn: file });
    assert.equal(onB.reused, false);
    assert.equal(onB.protocol, 'TLSv1.3');
  });

  test('client certificates, ALPN and a -quiet server on a chosen port', async (t) => {
    const pki = await sharedPki();
    const port = await freePort();
    const server = await startSServer({
      cert: pki.server,
      port,
      verifyClient: true,
      args: ['-quiet', '-alpn', 'h2,http/1.1'],
    });
    t.after(() => server.stop());
    assert.equal(server.port, port);
    const withCert = await sClient({ port, cert: pki.client, alpn: ['http/1.1'] });
    assert.equal(withCert.exitCode, 0, withCert.stderr);
    assert.equal(withCert.alpn, 'http/1.1');
    assert.match(withCert.stdout, /HTTP\/1\.0 200 ok/);
    const without = await sClient({ port, tls: '1.2' });
    assert.notEqual(without.exitCode, 0);
    assert.doesNotMatch(without.stdout, /HTTP\/1\.0 200 ok/);
  });

  test('stop() ends the process; none is left running', async () => {
    const pki = await sharedPki();
    const server = await startSServer({ cert: pki.server });
    const pid = server.process.pid;
    assert.equal(isRunning(pid), true);
    assert.match(server.output(), /^ACCEPT 127\.0\.0\.1:\d+/m);
    await server.stop();
    await server.stop();
    assert.equal(isRunning(pid), false);
    assert.notEqual(server.process.exitCode ?? server.process.signalCode, null);
  });
});

describe('Node TLS peers', () => {
  test('TLS 1.3 Node server: two tickets after a full handshake, none after a resumption; s_client works too', async (t) => {
    const pki = await sharedPki();
    const server = await startNodeServer({ cert: pki.server, tlsOptions: { minVersion: 'TLSv1.3' } });
    t.after(() => server.close());

    const first = await nodeConnect({ port: server.port });
    assert.equal(first.protocol, 'TLSv1.3');
    assert.equal(first.reused, false);
    assert.equal(first.sessions.length, 2);
    assert.equal(first.received(), 'ok\n');

    const again = await nodeConnect({ port: server.port, session: first.sessions.at(-1) });
    assert.equal(again.reused, true);
    assert.equal(again.sessions.length, 0);

    const file = join(dir.path, 'node13.pem');
    const viaOpenssl = await sClient({ port: server.port, servername: 'localhost', sessOut: file });
    assert.equal(viaOpenssl.exitCode, 0, viaOpenssl.stderr);
    assert.equal(viaOpenssl.protocol, 'TLSv1.3');
    assert.equal(viaOpenssl.postHandshakeTickets, 2);
    assert.match(viaOpenssl.stdout, /^ok$/m);
    const resumed = await sClient({ port: server.port, servername: 'localhost', sessIn: file });
    assert.equal(resumed.reused, true);
    assert.equal(resumed.postHandshakeTickets, 0);
  });

  test('TLS 1.3 Node client against s_server: two sessions, then one after a resumption', async (t) => {
    const pki = await sharedPki();
    const server = await startSServer({ cert: pki.server, tls: '1.3' });
    t.after(() => server.stop());
    const first = await nodeConnect({ port: server.port, request: WWW_REQUEST });
    assert.equal(first.reused, false);
    assert.equal(first.sessions.length, 2);
    assert.match(first.received(), /^HTTP\/1\.0 200 ok/);
    const again = await nodeConnect({ port: server.port, request: WWW_REQUEST, session: first.sessions[0] });
    assert.equal(again.reused, true);
    assert.equal(again.sessions.length, 1);
  });

  test('TLS 1.2: one session, which resumes', async (t) => {
    const pki = await sharedPki();
    const server = await startNodeServer({ cert: pki.rsaServer, tlsOptions: { maxVersion: 'TLSv1.2' } });
    t.after(() => server.close());
    const first = await nodeConnect({ port: server.port });
    assert.equal(first.protocol, 'TLSv1.2');
    assert.equal(first.sessions.length, 1);
    const again = await nodeConnect({ port: server.port, session: first.sessions[0] });
    assert.equal(again.reused, true);
  });

  test('a foreign CA is rejected; waitForClose false resolves at secureConnect', async (t) => {
    const pki = await sharedPki();
    const other = await makePki();
    t.after(() => other.cleanup());
    const server = await startNodeServer({
      cert: pki.server,
      handler: (socket) => socket.on('data', () => socket.end('bye\n')),
    });
    t.after(() => server.close());
    await assert.rejects(nodeConnect({ port: server.port, ca: other.ca.cert }), {
      code: 'UNABLE_TO_VERIFY_LEAF_SIGNATURE',
    });
    const open = await nodeConnect({ port: server.port, waitForClose: false });
    assert.equal(open.socket.destroyed, false);
    open.socket.write('hi');
    await open.done;
    assert.equal(open.received(), 'bye\n');
  });
});

describe('peer launcher, waitFor, StoreDouble', () => {
  test('waitFor resolves with the first truthy value, or fails naming what it waited for', async () => {
    let n = 0;
    assert.equal(await waitFor(() => (++n >= 3 ? n : 0), { what: 'three', intervalMs: 1 }), 3);
    await assert.rejects(
      waitFor(() => false, { what: 'never', timeoutMs: 30, detail: () => 'last output' }),
      {
        name: 'WaitTimeoutError',
        message: 'never: not within 30 ms: last output',
      },
    );
    await assert.rejects(
      waitFor(() => false, { what: 'gone', giveUp: () => 'exited' }),
      { message: 'gone: exited' },
    );
  });

  test('launchPeer: ready once its check passes, output kept, stop ends it; a peer that exits at start fails', async () => {
    const script =
      "setTimeout(() => console.log('ready'), 50); process.on('SIGTERM', () => process.exit(7)); setInterval(() => {}, 1000);";
    const peer = await launchPeer({
      name: 'node sleeper',
      command: process.execPath,
      args: ['-e', script],
      ready: (p) => p.lines.includes('ready'),
    });
    assert.equal(peer.running, true);
    assert.equal(peer.stdout(), 'ready\n');
    assert.equal(await peer.stop(), 7);
    assert.equal(peer.running, false);
    assert.equal(isRunning(peer.process.pid), false);
    await assert.rejects(
      launchPeer({
        name: 'node quitter',
        command: process.execPath,
        args: ['-e', "console.error('no config'); process.exit(3)"],
        ready: () => false,
      }),
      { message: 'node quitter ready: exited during start-up: no config' },
    );
  });

  test('StoreDouble: per-method failures, hangs, answers and delays over a MemoryStore, every call recorded', async () => {
    const key = Buffer.from('k');
    const store = new StoreDouble();
    await store.set(key, Buffer.from('v'), 60_000);
    store.fail('down', ['get']);
    await assert.rejects(store.get(key), { message: 'down' });
    assert.equal(Buffer.from((await store.take(key))!).toString(), 'v', 'other methods untouched');
    store.answer({ get: Uint8Array.of(9) }).hang(['pop']);
    assert.deepEqual(await store.get(key), Uint8Array.of(9));
    const popped = await Promise.race([store.pop(key), delay(30).then(() => 'pending')]);
    assert.equal(popped, 'pending');
    store.heal().delay(40, ['get']);
    const started = performance.now();
    assert.equal(await store.get(key), undefined);
    assert.ok(performance.now() - started >= 35, 'answered late');
    assert.deepEqual(
      store.calls.map((c) => c.method),
      ['set', 'get', 'take', 'get', 'pop', 'get'],
    );
    // Arguments are copied when called: wiping the caller's buffer changes nothing recorded.
    key.fill(0);
    assert.deepEqual(store.callsOf('set')[0], [Buffer.from('k'), Buffer.from('v'), 60_000]);
    assert.equal(store.getMany, undefined);
    assert.equal(typeof new StoreDouble({ getMany: true }).getMany, 'function');
  });
});

test('no openssl process is left running', async () => {
  assert.equal(liveOpensslProcesses().size, 0);
});
