import assert from 'node:assert/strict';
import { constants } from 'node:crypto';
import { after, before, describe, it } from 'node:test';
import {
  ClientHelloError,
  type ClientHelloInfo,
  parseClientHello,
  parseClientHelloMessage,
  parseClientHelloRecords,
} from '../../src/wire/index.js';
import { tmpDir, type TmpDir } from '../helpers/tmp.js';
import {
  bodyOf,
  captureNodeHello,
  captureOpensslHello,
  messageOf,
  nodeConnect,
  sClient,
  sessIdText,
  sessIdTextOfDer,
  sessionIdFromSessIdText,
  startTlsServer,
  type TestTlsServer,
  ticketFromSessIdText,
} from './fixtures.js';
import { alpnData, be, ext, helloBody, helloMessage, pskData, sniData, vec } from './hello-builder.js';

const PSK = 41;

function types(h: ClientHelloInfo): number[] {
  return h.extensions.map((e) => e.type);
}

function extData(h: ClientHelloInfo, type: number): Buffer | undefined {
  return h.extensions.find((e) => e.type === type)?.data;
}

/** Parses a single-record capture all three ways and checks they agree. */
function parseAllWays(record: Buffer): ClientHelloInfo {
  const fromRecords = parseClientHelloRecords(record);
  assert.deepEqual(parseClientHelloMessage(messageOf(record)), fromRecords);
  assert.deepEqual(parseClientHello(bodyOf(record)), fromRecords);
  assert.equal(fromRecords.length, bodyOf(record).length);
  assert.equal(fromRecords.random.length, 32);
  return fromRecords;
}

describe('ClientHellos captured from openssl s_client', () => {
  let dir: TmpDir;
  before(async () => {
    dir = await tmpDir('wire-hello-');
  });
  after(() => dir.cleanup());

  it('TLS 1.2 with SNI and ALPN asks for a ticket with an empty session_ticket', async () => {
    const rec = await captureOpensslHello(['-tls1_2', '-servername', 'a.test', '-alpn', 'h2,http/1.1']);
    const h = parseAllWays(rec);
    assert.equal(h.legacyVersion, 0x0303);
    assert.equal(h.supportedVersions, undefined);
    assert.equal(h.highestVersion, 0x0303);
    assert.equal(h.serverName, 'a.test');
    assert.deepEqual(h.alpn, ['h2', 'http/1.1']);
    assert.deepEqual(extData(h, 0), sniData('a.test'));
    assert.deepEqual(extData(h, 16), alpnData(['h2', 'http/1.1']));
    assert.ok(h.sessionTicket !== undefined && h.sessionTicket.length === 0);
    assert.equal(h.pskIdentities, undefined);
    assert.equal(h.earlyData, false);
    assert.equal(h.extendedMasterSecret, true);
    assert.deepEqual(h.compressionMethods, [0]);
    assert.ok(h.cipherSuites.includes(0xc02f) || h.cipherSuites.includes(0xc02b));
    assert.ok(!h.cipherSuites.includes(0x1301), 'a TLS 1.2-only client offers no TLS 1.3 suites');
  });

  it('TLS 1.3 without SNI: supported_versions, key share, no PSK', async () => {
    const rec = await captureOpensslHello(['-tls1_3', '-noservername']);
    const h = parseAllWays(rec);
    assert.equal(h.legacyVersion, 0x0303);
    assert.deepEqual(h.supportedVersions, [0x0304]);
    assert.equal(h.highestVersion, 0x0304);
    assert.equal(h.serverName, undefined);
    assert.ok(!types(h).includes(0));
    assert.ok(types(h).includes(51), 'key_share');
    assert.equal(h.legacySessionId.length, 32, 'middlebox compatibility session id');
    assert.deepEqual(h.pskKeyExchangeModes, [1]);
    assert.equal(h.pskIdentities, undefined);
    assert.ok(h.cipherSuites.includes(0x1301));
  });

  it('-sess_in offers the TLS 1.3 ticket as the PSK identity', async (t) => {
    const server: TestTlsServer = await startTlsServer({ minVersion: 'TLSv1.3' });
    t.after(() => server.close());
    const file = `${dir.path}/tls13.pem`;
    // s_client exits 1 here (the server closes without waiting for its close_notify); the
    // session file is written when the ticket arrives, which is what matters.
    await sClient(server.port, ['-tls1_3', '-sess_out', file]);
    const ticket = ticketFromSessIdText(await sessIdText(file));
    assert.ok(ticket !== undefined && ticket.length > 32, 'the saved session holds a ticket');

    const rec = await captureOpensslHello(['-tls1_3', '-sess_in', file, '-servername', 'localhost']);
    const h = parseAllWays(rec);
    assert.equal(h.serverName, 'localhost');
    assert.equal(h.pskIdentities?.length, 1);
    assert.deepEqual(h.pskIdentities?.[0]?.identity, ticket);
    assert.ok(Number.isInteger(h.pskIdentities?.[0]?.obfuscatedTicketAge));
    assert.equal(types(h).at(-1), PSK, 'pre_shared_key is the last extension');
    assert.deepEqual(h.pskKeyExchangeModes, [1]);
  });

  it('-sess_in offers the TLS 1.2 ticket in session_ticket', async (t) => {
    const server = await startTlsServer({ maxVersion: 'TLSv1.2' });
    t.after(() => server.close());
    const file = `${dir.path}/tls12.pem`;
    assert.equal((await sClient(server.port, ['-tls1_2', '-sess_out', file])).code, 0);
    const text = await sessIdText(file);
    assert.match(text, /Protocol\s+: TLSv1\.2/);
    const ticket = ticketFromSessIdText(text);
    assert.ok(ticket !== undefined && ticket.length > 32);

    const h = parseAllWays(await captureOpensslHello(['-tls1_2', '-sess_in', file]));
    assert.deepEqual(h.sessionTicket, ticket);
    assert.equal(h.pskIdentities, undefined);
    assert.equal(h.highestVersion, 0x0303);
  });
});

describe('ClientHellos captured from Node tls.connect', () => {
  let dir: TmpDir;
  before(async () => {
    dir = await tmpDir('wire-hello-node-');
  });
  after(() => dir.cleanup());

  it('offers a saved TLS 1.3 stateless ticket as the PSK identity', async (t) => {
    const server = await startTlsServer({ minVersion: 'TLSv1.3' });
    t.after(() => server.close());
    const first = await nodeConnect(server.port);
    assert.equal(first.protocol, 'TLSv1.3');
    const session = first.sessions.at(-1);
    assert.ok(session !== undefined);
    const ticket = ticketFromSessIdText(await sessIdTextOfDer(dir.path, 'node13.pem', session));
    assert.ok(ticket !== undefined && ticket.length > 32);

    const h = parseAllWays(await captureNodeHello({ session, servername: 'b.test', ALPNProtocols: ['h2'] }));
    assert.equal(h.serverName, 'b.test');
    assert.deepEqual(h.alpn, ['h2']);
    assert.equal(h.highestVersion, 0x0304);
    assert.equal(h.pskIdentities?.length, 1);
    assert.deepEqual(h.pskIdentities?.[0]?.identity, ticket);
    assert.equal(types(h).at(-1), PSK);
  });

  it('a stateful TLS 1.3 ticket (SSL_OP_NO_TICKET) has the 32-byte session id as identity', async (t) => {
    const server = await startTlsServer({ minVersion: 'TLSv1.3', secureOptions: constants.SSL_OP_NO_TICKET });
    t.after(() => server.close());
    const ids: Buffer[] = [];
    server.server.on('newSession', (id: Buffer, _data: Buffer, cb: () => void) => {
      ids.push(Buffer.from(id));
      cb();
    });
    const first = await nodeConnect(server.port);
    const session = first.sessions.at(-1);
    assert.ok(session !== undefined);
    assert.equal(ids.length, first.sessions.length, 'one server session per ticket');
    // The client keeps the server's session id as its "ticket" (and a hash of it as its own
    // Session-ID).
    const text = await sessIdTextOfDer(dir.path, 'stateful.pem', session);
    const ticket = ticketFromSessIdText(text);
    assert.equal(ticket?.length, 32);
    assert.ok(!sessionIdFromSessIdText(text).equals(ticket ?? Buffer.alloc(0)));

    const h = parseAllWays(await captureNodeHello({ session }));
    const identity = h.pskIdentities?.[0]?.identity;
    assert.equal(h.pskIdentities?.length, 1);
    assert.deepEqual(identity, ticket);
    assert.ok(
      ids.some((id) => identity !== undefined && id.equals(identity)),
      'identity is a session id the server stored',
    );
    assert.equal(h.legacySessionId.length, 32);
    assert.ok(
      identity !== undefined && !h.legacySessionId.equals(identity),
      'the legacy session id is not the identity',
    );
  });

  it('offers a saved TLS 1.2 ticket in session_ticket', async (t) => {
    const server = await startTlsServer({ maxVersion: 'TLSv1.2' });
    t.after(() => server.close());
    const first = await nodeConnect(server.port);
    assert.equal(first.protocol, 'TLSv1.2');
    const session = first.sessions.at(-1);
    assert.ok(session !== undefined);
    const ticket = ticketFromSessIdText(await sessIdTextOfDer(dir.path, 'node12.pem', session));
    assert.ok(ticket !== undefined && ticket.length > 32);
    const h = parseAllWays(await captureNodeHello({ session, maxVersion: 'TLSv1.2' }));
    assert.deepEqual(h.sessionTicket, ticket);
    assert.equal(h.highestVersion, 0x0303);
  });
});

describe('parseClientHello on hand-made bodies', () => {
  it('accepts a hello without an extensions block (TLS 1.2 grammar)', () => {
    const h = parseClientHello(helloBody({ extensions: null, sessionId: Buffer.alloc(32, 1) }));
    assert.deepEqual(h.extensions, []);
    assert.equal(h.legacySessionId.length, 32);
    assert.equal(h.highestVersion, 0x0303);
    assert.equal(h.sessionTicket, undefined);
  });

  it('accepts a plain Uint8Array and gives the same result as a Buffer', () => {
    const body = helloBody({ extensions: [ext(0, sniData('x.test'))] });
    const copy = new Uint8Array(body.length + 3).subarray(3);
    copy.set(body);
    assert.deepEqual(parseClientHello(copy), parseClientHello(body));
  });

  it('takes the highest TLS version from supported_versions, ignoring GREASE', () => {
    const versions = (vs: number[]) => ext(43, vec(Buffer.concat(vs.map((v) => be(v, 2))), 1));
    assert.equal(
      parseClientHello(helloBody({ extensions: [versions([0x2a2a, 0x0303, 0x0304])] })).highestVersion,
      0x0304,
    );
    assert.equal(parseClientHello(helloBody({ extensions: [versions([0x3a3a, 0xfefd])] })).highestVersion, 0x0303);
  });

  it('reads several PSK identities with their ages', () => {
    const psk = pskData(
      [
        { id: Buffer.alloc(40, 1), age: 0xfffffffe },
        { id: Buffer.alloc(7, 2), age: 12 },
      ],
      [32, 48],
    );
    const h = parseClientHello(helloBody({ extensions: [ext(45, Buffer.from([2, 1, 0])), ext(41, psk)] }));
    assert.deepEqual(
      h.pskIdentities?.map((p) => [p.identity.toString('hex'), p.obfuscatedTicketAge]),
      [
        [Buffer.alloc(40, 1).toString('hex'), 0xfffffffe],
        [Buffer.alloc(7, 2).toString('hex'), 12],
      ],
    );
    assert.deepEqual(h.pskKeyExchangeModes, [1, 0]);
  });

  it('reads early_data, extended_master_secret, a non-empty ticket and other SNI name types', () => {
    const sni = vec(
      Buffer.concat([Buffer.from([7]), vec(Buffer.from('zz'), 2), Buffer.from([0]), vec(Buffer.from('Host.Test'), 2)]),
      2,
    );
    const h = parseClientHello(
      helloBody({
        extensions: [ext(0, sni), ext(42, Buffer.alloc(0)), ext(23, Buffer.alloc(0)), ext(35, Buffer.alloc(5, 9))],
      }),
    );
    assert.equal(h.serverName, 'Host.Test');
    assert.equal(h.earlyData, true);
    assert.equal(h.extendedMasterSecret, true);
    assert.deepEqual(h.sessionTicket, Buffer.alloc(5, 9));
  });

  const malformed: [string, Buffer][] = [
    ['empty body', Buffer.alloc(0)],
    ['body shorter than the fixed part', helloBody().subarray(0, 34)],
    ['legacy_session_id of 33 bytes', helloBody({ sessionId: Buffer.alloc(33) })],
    [
      'odd cipher_suites length',
      Buffer.concat([
        be(0x0303, 2),
        Buffer.alloc(32),
        Buffer.from([0]),
        vec(Buffer.alloc(3), 2),
        vec(Buffer.from([0]), 1),
      ]),
    ],
    ['empty cipher_suites', helloBody({ suites: [] })],
    ['empty compression methods', helloBody({ compression: [] })],
    ['extensions length past the end', Buffer.concat([helloBody({ extensions: null }), be(10, 2), Buffer.alloc(4)])],
    ['bytes after the extensions', Buffer.concat([helloBody(), Buffer.from([0])])],
    [
      'a lone byte where the extensions length goes',
      Buffer.concat([helloBody({ extensions: null }), Buffer.from([0])]),
    ],
    [
      'extension data past the block',
      Buffer.concat([
        helloBody({ extensions: null }),
        vec(Buffer.concat([be(0xaaaa, 2), be(9, 2), Buffer.alloc(3)]), 2),
      ]),
    ],
    ['duplicate extension', helloBody({ extensions: [ext(0xff, Buffer.alloc(0)), ext(0xff, Buffer.alloc(1))] })],
    [
      'pre_shared_key not last',
      helloBody({
        extensions: [ext(41, pskData([{ id: Buffer.alloc(8), age: 1 }], [32])), ext(45, Buffer.from([1, 1]))],
      }),
    ],
    [
      'PSK binder count differs from identity count',
      helloBody({ extensions: [ext(41, pskData([{ id: Buffer.alloc(8), age: 1 }], [32, 32]))] }),
    ],
    [
      'PSK binder shorter than 32 bytes',
      helloBody({ extensions: [ext(41, pskData([{ id: Buffer.alloc(8), age: 1 }], [31]))] }),
    ],
    [
      'empty PSK identity',
      helloBody({
        extensions: [
          ext(
            41,
            pskData(
              [
                { id: Buffer.alloc(0), age: 1 },
                { id: Buffer.alloc(3), age: 1 },
              ],
              [32, 32],
            ),
          ),
        ],
      }),
    ],
    [
      'pre_shared_key with trailing bytes',
      helloBody({
        extensions: [ext(41, Buffer.concat([pskData([{ id: Buffer.alloc(8), age: 1 }], [32]), Buffer.from([0])]))],
      }),
    ],
    ['server_name with a NUL', helloBody({ extensions: [ext(0, sniData(Buffer.from('a\0b')))] })],
    [
      'server_name with two host_names',
      helloBody({
        extensions: [
          ext(
            0,
            vec(
              Buffer.concat([Buffer.from([0]), vec(Buffer.from('a'), 2), Buffer.from([0]), vec(Buffer.from('b'), 2)]),
              2,
            ),
          ),
        ],
      }),
    ],
    [
      'server_name list length mismatch',
      helloBody({ extensions: [ext(0, Buffer.concat([sniData('a.test'), Buffer.from([0])]))] }),
    ],
    ['server_name host_name over 255 bytes', helloBody({ extensions: [ext(0, sniData('a'.repeat(256)))] })],
    ['empty ALPN protocol name', helloBody({ extensions: [ext(16, alpnData(['h2', '']))] })],
    ['ALPN name past the list', helloBody({ extensions: [ext(16, vec(Buffer.from([5, 0x68, 0x32]), 2))] })],
    ['odd supported_versions', helloBody({ extensions: [ext(43, Buffer.from([3, 3, 4, 3]))] })],
    ['supported_versions length mismatch', helloBody({ extensions: [ext(43, Buffer.from([4, 3, 4]))] })],
    ['empty psk_key_exchange_modes', helloBody({ extensions: [ext(45, Buffer.from([0]))] })],
    ['early_data with content', helloBody({ extensions: [ext(42, Buffer.from([0]))] })],
    ['extended_master_secret with content', helloBody({ extensions: [ext(23, Buffer.from([0]))] })],
    ['odd supported_groups', helloBody({ extensions: [ext(10, vec(Buffer.from([0, 29, 0]), 2))] })],
    ['signature_algorithms length mismatch', helloBody({ extensions: [ext(13, Buffer.from([0, 4, 4, 3]))] })],
  ];
  for (const [name, body] of malformed) {
    it(`rejects ${name} with ERR_HELLO_MALFORMED`, () => {
      assert.throws(
        () => parseClientHello(body),
        (e: unknown) =>
          e instanceof ClientHelloError &&
          e.code === 'ERR_HELLO_MALFORMED' &&
          !e.message.includes('\n') &&
          typeof e.offset === 'number',
      );
    });
  }

  it('parseClientHelloMessage checks the handshake header', () => {
    const body = helloBody();
    const code = (f: () => unknown) => {
      try {
        f();
        return 'ok';
      } catch (e) {
        assert.ok(e instanceof ClientHelloError);
        return e.code;
      }
    };
    assert.equal(
      code(() => parseClientHelloMessage(helloMessage(body))),
      'ok',
    );
    assert.equal(
      code(() => parseClientHelloMessage(helloMessage(body).subarray(0, 3))),
      'ERR_HELLO_TRUNCATED',
    );
    assert.equal(
      code(() => parseClientHelloMessage(helloMessage(body).subarray(0, 20))),
      'ERR_HELLO_TRUNCATED',
    );
    assert.equal(
      code(() => parseClientHelloMessage(Buffer.concat([helloMessage(body), Buffer.from([0])]))),
      'ERR_HELLO_MALFORMED',
    );
    const serverHello = Buffer.from(helloMessage(body));
    serverHello[0] = 2;
    assert.equal(
      code(() => parseClientHelloMessage(serverHello)),
      'ERR_HELLO_MALFORMED',
    );
  });
});
