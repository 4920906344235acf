// The probe through the key exchanges of every Node line: OpenSSL 3.5 (Node 22+) leads with the
// hybrid X25519MLKEM768 group and a 1216-byte key share; a server that accepts none of the
// shares sent answers with a HelloRetryRequest. Resumption verdicts must not change, and they
// are checked against openssl s_client -sess_out/-sess_in on the same server.
import assert from 'node:assert/strict';
import { after, describe, test } from 'node:test';
import { connect } from 'node:tls';
import { probe } from '../../src/probe/index.js';
import { parseClientHelloRecords } from '../../src/wire/index.js';
import { sharedPki, startNodeServer, startSServer, tmpDir } from '../helpers/index.js';
import { assertAgrees } from './agree.js';
import { captureProbeHello } from './hello.js';
import { referenceVerdict } from './reference.js';

const X25519MLKEM768 = 0x11ec;
const P256 = 0x0017;
const KEY_SHARE = 51;
const [major = 0, minor = 0] = process.versions.openssl.split('.').map(Number);
const hybridByDefault = major > 3 || (major === 3 && minor >= 5);

const pki = await sharedPki();
const dir = await tmpDir('probe-key-share-');
after(() => dir.cleanup());

/** The groups of the key shares in a ClientHello record. */
function shareGroups(record: Buffer): number[] {
  const hello = parseClientHelloRecords(record);
  const data = hello.extensions.find((e) => e.type === KEY_SHARE)?.data;
  assert.ok(data, 'key_share sent');
  const groups: number[] = [];
  for (let at = 2; at + 4 <= data.length; at += 4 + data.readUInt16BE(at + 2)) groups.push(data.readUInt16BE(at));
  return groups;
}

/** The group a default Node client of this line negotiates with the server, when Node says. */
function negotiatedGroup(port: number): Promise<string | undefined> {
  return new Promise((resolve, reject) => {
    const socket = connect({ host: '127.0.0.1', port, servername: 'localhost', ca: pki.ca.cert }, () => {
      // Node 22.23 answers {} for a TLS 1.3 group; 20 and 24 name it.
      const info = socket.getEphemeralKeyInfo() as { name?: string } | null;
      socket.destroy();
      resolve(info?.name);
    });
    socket.once('error', reject);
  });
}

describe(`probe through key shares and HelloRetryRequests (Node ${process.version}, OpenSSL ${process.versions.openssl})`, () => {
  test(
    hybridByDefault
      ? "the probe's TLS 1.3 hello leads with a hybrid X25519MLKEM768 share"
      : "the probe's TLS 1.3 hello has classic shares only",
    async () => {
      const groups = shareGroups(await captureProbeHello({ version: 'TLSv1.3' }));
      if (hybridByDefault) assert.equal(groups[0], X25519MLKEM768);
      else assert.ok(!groups.includes(X25519MLKEM768));
      // What makes a P-256-only server below answer with a HelloRetryRequest.
      assert.ok(!groups.includes(P256), `shares: ${groups.map((g) => g.toString(16)).join(', ')}`);
    },
  );

  test('a Node server with default groups (hybrid where both ends have OpenSSL 3.5): verdicts agree with s_client', {
    timeout: 60_000,
  }, async (t) => {
    const server = await startNodeServer({ cert: pki.server });
    t.after(() => server.close());
    const group = await negotiatedGroup(server.port);
    if (group !== undefined) assert.equal(group, hybridByDefault ? 'X25519MLKEM768' : 'X25519');
    const report = await probe({ host: '127.0.0.1', port: server.port, servername: 'localhost', ca: pki.ca.cert });
    assert.equal(report.tls13?.tickets.resumed, 5);
    assert.equal(report.tls12?.ticket.resumed, 5);
    assert.deepEqual(report.notRun, []);
    assertAgrees(
      report,
      await referenceVerdict({ port: server.port, dir: dir.path, servername: 'localhost' }),
      'node default groups',
    );
  });

  test('a Node server limited to P-256 (HelloRetryRequest): resumption measured as s_client sees it', {
    timeout: 60_000,
  }, async (t) => {
    const server = await startNodeServer({ cert: pki.server, tlsOptions: { ecdhCurve: 'P-256' } });
    t.after(() => server.close());
    assert.equal(await negotiatedGroup(server.port), 'prime256v1');
    const report = await probe({ host: '127.0.0.1', port: server.port, servername: 'localhost', ca: pki.ca.cert });
    assert.equal(report.tls13?.tickets.attempts, 5);
    assert.equal(report.tls13?.tickets.resumed, 5, 'stateless tickets resume through a HelloRetryRequest');
    assert.equal(report.tls12?.ticket.resumed, 5);
    assert.deepEqual(report.notRun, []);
    assertAgrees(
      report,
      await referenceVerdict({ port: server.port, dir: dir.path, servername: 'localhost' }),
      'node P-256 only',
    );
  });

  test('openssl s_server -groups P-256 (HelloRetryRequest): resumption measured as s_client sees it', {
    timeout: 60_000,
  }, async (t) => {
    const server = await startSServer({ cert: pki.server, args: ['-groups', 'P-256'] });
    t.after(() => server.stop());
    const report = await probe({ host: '127.0.0.1', port: server.port, servername: 'localhost', ca: pki.ca.cert });
    assert.equal(report.tls13?.tickets.resumed, 5);
    assert.equal(report.tls13?.tickets.perResumedHandshake, 1);
    assert.equal(report.tls12?.sessionId.resumed, 5);
    assert.equal(report.tls12?.ticket.resumed, 5);
    assertAgrees(
      report,
      await referenceVerdict({ port: server.port, dir: dir.path, servername: 'localhost' }),
      's_server P-256 only',
    );
  });
});
