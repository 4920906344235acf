/**
 * OpenSSL 3.5 (Node 22, 24, 26) puts the hybrid X25519MLKEM768 group first and sends its
 * 1216-byte key share in every ClientHello: hellos grow from about 300 to about 1500 bytes. The
 * reader must take them whole, PSK identities included (pre_shared_key comes last, after the
 * key share). On OpenSSL 3.0 (Node 20) the same tests check that the classic groups lead.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { parseClientHelloRecords } from '../../src/wire/index.js';
import { captureNodeHello, nodeConnect, startTlsServer } from './fixtures.js';

const X25519MLKEM768 = 0x11ec;
const X25519 = 0x001d;
const KEY_SHARE = 51;
const [major = 0, minor = 0] = process.versions.openssl.split('.').map(Number);
const hybridByDefault = major > 3 || (major === 3 && minor >= 5);

/** The (group, key length) pairs of a key_share extension's client_shares. */
function keyShares(data: Buffer): { group: number; length: number }[] {
  const shares: { group: number; length: number }[] = [];
  let pos = 2;
  while (pos + 4 <= data.length) {
    const length = data.readUInt16BE(pos + 2);
    shares.push({ group: data.readUInt16BE(pos), length });
    pos += 4 + length;
  }
  assert.equal(pos, data.length, 'key shares fill the extension exactly');
  return shares;
}

describe(`ClientHellos of Node ${process.version} (OpenSSL ${process.versions.openssl})`, () => {
  it(
    hybridByDefault
      ? 'the default hello leads with X25519MLKEM768 and is read whole'
      : 'the default hello leads with X25519',
    async () => {
      const record = await captureNodeHello({ servername: 'localhost' });
      const hello = parseClientHelloRecords(record);
      const shares = keyShares(hello.extensions.find((e) => e.type === KEY_SHARE)!.data);
      if (hybridByDefault) {
        assert.equal(hello.supportedGroups?.[0], X25519MLKEM768);
        assert.deepEqual(shares[0], { group: X25519MLKEM768, length: 1216 });
        assert.ok(hello.length > 1400, `a hybrid hello of ${hello.length} bytes`);
      } else {
        assert.equal(hello.supportedGroups?.[0], X25519);
        assert.ok(!shares.some((s) => s.group === X25519MLKEM768));
      }
      assert.equal(hello.serverName, 'localhost');
    },
  );

  it('a resuming hello carries its ticket as the last PSK identity, after the key shares', async (t) => {
    const server = await startTlsServer({ minVersion: 'TLSv1.3' });
    t.after(() => server.close());
    const first = await nodeConnect(server.port);
    const session = first.sessions.at(-1);
    assert.ok(session);
    const hello = parseClientHelloRecords(await captureNodeHello({ servername: 'localhost', session }));
    assert.equal(hello.extensions.at(-1)?.type, 41, 'pre_shared_key is last');
    assert.equal(hello.pskIdentities?.length, 1);
    if (hybridByDefault) assert.equal(hello.supportedGroups?.[0], X25519MLKEM768);
    const again = await nodeConnect(server.port, { session });
    assert.equal(again.reused, true, 'the same session resumes on a real server');
  });

  it('a server without the hybrid group answers with a HelloRetryRequest, and the session still resumes', async (t) => {
    // A Node server limited to P-256: a Node 22+ client's first hello offers no P-256 share.
    const server = await startTlsServer({ minVersion: 'TLSv1.3', ecdhCurve: 'P-256' });
    t.after(() => server.close());
    const first = await nodeConnect(server.port, {
      ecdhCurve: hybridByDefault ? 'X25519MLKEM768:X25519:P-256' : 'X25519:P-256',
    });
    const session = first.sessions.at(-1);
    assert.ok(session);
    const again = await nodeConnect(server.port, {
      session,
      ecdhCurve: hybridByDefault ? 'X25519MLKEM768:X25519:P-256' : 'X25519:P-256',
    });
    assert.equal(again.reused, true, 'stateless tickets resume through a HelloRetryRequest');
  });
});
