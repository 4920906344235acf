import assert from 'node:assert/strict';
import { before, describe, it } from 'node:test';
import {
  ClientHelloError,
  type ClientHelloInfo,
  ClientHelloReader,
  type HelloReadStatus,
  parseClientHello,
  parseClientHelloRecords,
} from '../../src/wire/index.js';
import {
  bodyOf,
  captureNodeHello,
  captureOpensslHello,
  fragment,
  nodeConnect,
  prng,
  randInt,
  startTlsServer,
} from './fixtures.js';
import { ext, helloBody, helloMessage, helloRecord, sslv2Hello } from './hello-builder.js';

/** Feeds `bytes` in the given chunk sizes (the last chunk takes the rest); returns the reader. */
function feedSplits(bytes: Buffer, sizes: readonly number[]): ClientHelloReader {
  const reader = new ClientHelloReader();
  let off = 0;
  let i = 0;
  while (off < bytes.length) {
    const n = Math.max(1, Math.min(sizes[i] ?? bytes.length, bytes.length - off));
    const status = reader.feed(bytes.subarray(off, off + n));
    off += n;
    i += 1;
    if (off < bytes.length && status !== 'need-more') break;
  }
  return reader;
}

function randomSizes(rand: () => number, max: number): number[] {
  return Array.from({ length: 64 }, () => 1 + randInt(rand, max));
}

function statusAndCode(reader: ClientHelloReader): [HelloReadStatus, string | undefined] {
  return [reader.status, reader.error?.code];
}

describe('ClientHelloReader on real hellos', () => {
  const samples: { name: string; record: Buffer; expected: ClientHelloInfo }[] = [];

  before(async () => {
    const server = await startTlsServer({ minVersion: 'TLSv1.3' });
    try {
      const { sessions } = await nodeConnect(server.port);
      const session = sessions.at(-1);
      assert.ok(session !== undefined);
      const records = {
        'node TLS 1.3 with PSK': await captureNodeHello({
          session,
          servername: 'a.test',
          ALPNProtocols: ['h2', 'http/1.1'],
        }),
        'openssl TLS 1.2': await captureOpensslHello(['-tls1_2', '-servername', 'b.test']),
        'openssl TLS 1.3': await captureOpensslHello(['-tls1_3', '-alpn', 'h2']),
      };
      for (const [name, record] of Object.entries(records)) {
        samples.push({ name, record, expected: parseClientHello(bodyOf(record)) });
      }
    } finally {
      await server.close();
    }
  });

  it('gives the same hello fed whole, byte by byte and in random splits', () => {
    const rand = prng(0x5eed);
    for (const { name, record, expected } of samples) {
      const whole = feedSplits(record, [record.length]);
      assert.equal(whole.status, 'complete', name);
      assert.deepEqual(whole.hello, expected, name);
      assert.equal(whole.helloEnd, record.length);
      assert.equal(whole.recordCount, 1);

      const bytewise = feedSplits(record, new Array<number>(record.length).fill(1));
      assert.equal(bytewise.status, 'complete', name);
      assert.deepEqual(bytewise.hello, expected, name);

      for (let round = 0; round < 50; round++) {
        const r = feedSplits(record, randomSizes(rand, 40));
        assert.equal(r.status, 'complete', name);
        assert.deepEqual(r.hello, expected, name);
      }
    }
  });

  it('gives the same hello when the message is fragmented over several records', () => {
    const rand = prng(42);
    for (const { name, record, expected } of samples) {
      const layouts: number[][] = [[1, 1, 1, 1], [2, 5], [3], [100, 100], [record.length - 10]];
      for (let i = 0; i < 30; i++) layouts.push(randomSizes(rand, 60));
      for (const layout of layouts) {
        const fragmented = fragment(record, layout);
        assert.deepEqual(parseClientHelloRecords(fragmented), expected, `${name} ${layout.slice(0, 4).join(',')}`);
        const r = feedSplits(fragmented, randomSizes(rand, 30));
        assert.equal(r.status, 'complete', name);
        assert.deepEqual(r.hello, expected, name);
        assert.ok(r.recordCount > 1);
        assert.equal(r.recordVersion, record.readUInt16BE(1));
        assert.equal(r.helloEnd, fragmented.length);
      }
    }
  });

  it('ignores what follows the hello and reports where the hello ended', () => {
    const { record, expected } = samples[0]!;
    const ccs = Buffer.from([20, 3, 3, 0, 1, 1]);
    const r = new ClientHelloReader();
    assert.equal(r.feed(Buffer.concat([record, ccs, Buffer.from('early data')])), 'complete');
    assert.deepEqual(r.hello, expected);
    assert.equal(r.helloEnd, record.length);
    assert.equal(r.feed(Buffer.from('more')), 'complete', 'feeding after completion changes nothing');
    assert.equal(r.bytesFed, record.length + ccs.length + 10);
  });

  it('says ERR_HELLO_TRUNCATED at the end of every proper prefix', () => {
    for (const { record } of samples) {
      for (const cut of [0, 1, 4, 5, 6, 9, 40, record.length - 1]) {
        const r = new ClientHelloReader();
        assert.equal(r.feed(record.subarray(0, cut)), 'need-more');
        assert.deepEqual([r.end(), r.error?.code], ['invalid', 'ERR_HELLO_TRUNCATED']);
        assert.throws(() => parseClientHelloRecords(record.subarray(0, cut)), { code: 'ERR_HELLO_TRUNCATED' });
      }
    }
  });

  it('caps the bytes it accepts (maxBytes)', () => {
    const { record, expected } = samples[0]!;
    assert.deepEqual(parseClientHelloRecords(record, { maxBytes: record.length }), expected);
    assert.throws(() => parseClientHelloRecords(record, { maxBytes: record.length - 1 }), {
      code: 'ERR_HELLO_TOO_LARGE',
    });
    // Known from the handshake header alone: no need to wait for the body.
    const early = new ClientHelloReader({ maxBytes: record.length - 1 });
    assert.equal(early.feed(record.subarray(0, 9)), 'invalid');
    assert.equal(early.error?.code, 'ERR_HELLO_TOO_LARGE');
    // Record headers count: 1-byte records take six times the hello's size.
    const tiny = fragment(record, new Array<number>(record.length).fill(1));
    const limit = { maxBytes: 2 * record.length };
    assert.deepEqual(parseClientHelloRecords(record, limit), expected);
    assert.throws(() => parseClientHelloRecords(tiny, limit), { code: 'ERR_HELLO_TOO_LARGE' });
    assert.deepEqual(parseClientHelloRecords(tiny, { maxBytes: tiny.length }), expected);
    assert.throws(() => parseClientHelloRecords(tiny, { maxBytes: tiny.length - 1 }), { code: 'ERR_HELLO_TOO_LARGE' });
  });
});

describe('ClientHelloReader steps aside early', () => {
  const cases: [string, Buffer, number, string][] = [
    ['HTTP request', Buffer.from('GET / HTTP/1.1\r\nHost: x\r\n\r\n'), 1, 'ERR_NOT_TLS'],
    ['SSH banner', Buffer.from('SSH-2.0-OpenSSH_9.2\r\n'), 1, 'ERR_NOT_TLS'],
    ['TLS alert record', Buffer.from([21, 3, 3, 0, 2, 2, 40]), 1, 'ERR_NOT_TLS'],
    ['handshake type with version major 2', Buffer.from([22, 2, 0, 0, 5, 1, 0, 0, 1, 0]), 2, 'ERR_NOT_TLS'],
    // SSL 2.0-compatible CLIENT-HELLO (RFC 5246 E.2): 2-byte length with the high bit, type 1.
    ['SSLv2 ClientHello', sslv2Hello(), 3, 'ERR_SSLV2_HELLO'],
    ['high-bit garbage', Buffer.from([0xff, 0xff, 0xff, 0xff]), 3, 'ERR_NOT_TLS'],
  ];
  for (const [name, bytes, decidedAfter, code] of cases) {
    it(`${name}: ${code} after ${decidedAfter} byte(s)`, () => {
      const r = new ClientHelloReader();
      for (let i = 0; i < decidedAfter - 1; i++) assert.equal(r.feed(bytes.subarray(i, i + 1)), 'need-more');
      assert.equal(r.feed(bytes.subarray(decidedAfter - 1, decidedAfter)), 'not-tls');
      assert.equal(r.error?.code, code);
      assert.throws(() => parseClientHelloRecords(bytes), { code });
    });
  }
});

describe('ClientHelloReader rejects bad records', () => {
  const record = helloRecord(helloBody({ extensions: [ext(0xff, Buffer.alloc(2))] }));
  const msg = record.subarray(5);
  const rec = (type: number, major: number, payload: Buffer, len = payload.length) =>
    Buffer.concat([Buffer.from([type, major, 3, len >> 8, len & 0xff]), payload]);

  const cases: [string, Buffer, string][] = [
    ['an empty handshake record', Buffer.concat([rec(22, 3, Buffer.alloc(0)), record]), 'ERR_HELLO_MALFORMED'],
    ['a record longer than 2^14', rec(22, 3, msg, 16_385), 'ERR_HELLO_MALFORMED'],
    [
      'an alert between fragments',
      Buffer.concat([rec(22, 3, msg.subarray(0, 10)), rec(21, 3, Buffer.from([2, 10])), rec(22, 3, msg.subarray(10))]),
      'ERR_HELLO_MALFORMED',
    ],
    [
      'a second record with version major 2',
      Buffer.concat([rec(22, 3, msg.subarray(0, 10)), rec(22, 2, msg.subarray(10))]),
      'ERR_HELLO_MALFORMED',
    ],
    ['a ServerHello', Buffer.concat([record.subarray(0, 5), Buffer.from([2]), msg.subarray(1)]), 'ERR_HELLO_MALFORMED'],
    ['a malformed body', helloRecord(Buffer.concat([helloBody(), Buffer.from([0])])), 'ERR_HELLO_MALFORMED'],
    ['a body past its record', rec(22, 3, msg.subarray(0, 20)), 'ERR_HELLO_TRUNCATED'],
  ];
  it('defaults to a 16 KiB limit', () => {
    const big = helloMessage(helloBody({ extensions: [ext(0xff, Buffer.alloc(16_400))] }));
    const records = Buffer.concat([rec(22, 3, big.subarray(0, 16_000)), rec(22, 3, big.subarray(16_000))]);
    assert.throws(() => parseClientHelloRecords(records), { code: 'ERR_HELLO_TOO_LARGE' });
    assert.equal(parseClientHelloRecords(records, { maxBytes: 17_000 }).extensions[0]?.data.length, 16_400);
  });

  for (const [name, bytes, code] of cases) {
    it(`${name}: ${code}`, () => {
      const thrown = (() => {
        try {
          parseClientHelloRecords(bytes);
        } catch (e) {
          return e;
        }
        return undefined;
      })();
      assert.ok(thrown instanceof ClientHelloError, String(thrown));
      assert.equal(thrown.code, code);
      const r = new ClientHelloReader();
      r.feed(bytes);
      r.end();
      assert.deepEqual(statusAndCode(r), ['invalid', code]);
    });
  }
});
