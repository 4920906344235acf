import assert from 'node:assert/strict';
import { constants } from 'node:crypto';
import {
  type AddressInfo,
  connect as netConnect,
  createServer as createNetServer,
  type ServerOpts,
  type Socket,
} from 'node:net';
import { after, before, describe, it } from 'node:test';
import { setTimeout as delay } from 'node:timers/promises';
import { createSecureContext, TLSSocket } from 'node:tls';
import { type PeekOptions, type PeekResult, parseClientHelloRecords, peekClientHello } from '../../src/wire/index.js';
import { sharedPki } from '../helpers/certs.js';
import {
  captureNodeHello,
  fragment,
  nodeConnect,
  prng,
  randInt,
  sClient,
  startTlsServer,
  type TestTlsServer,
  within,
} from './fixtures.js';
import { helloBody, helloRecord, sslv2Hello } from './hello-builder.js';

const EVENTS = ['data', 'end', 'close', 'error', 'readable'] as const;

function listenerCounts(s: Socket): number[] {
  return EVENTS.map((e) => s.listenerCount(e));
}

/** A peek result and the socket's state right after it. */
interface Peeked extends PeekResult {
  socket: Socket;
  listenersRestored: boolean;
  paused: boolean;
}

/** Waits for values pushed later, in order. */
class Queue<T> {
  readonly #items: T[] = [];
  readonly #waiters: ((v: T) => void)[] = [];
  push(v: T): void {
    const w = this.#waiters.shift();
    if (w) w(v);
    else this.#items.push(v);
  }
  next(ms = 10_000): Promise<T> {
    const v = this.#items.shift();
    if (v !== undefined) return Promise.resolve(v);
    return within(new Promise<T>((resolve) => this.#waiters.push(resolve)), ms, 'next value');
  }
}

interface Front {
  port: number;
  peeks: Queue<Peeked>;
  close(): Promise<void>;
}

/**
 * A plain TCP server that peeks at each connection's ClientHello, records the result, then
 * hands the socket to `then`.
 */
async function startFront(
  then: (socket: Socket, r: Peeked) => void,
  opts: PeekOptions = {},
  serverOpts: ServerOpts = {},
): Promise<Front> {
  const peeks = new Queue<Peeked>();
  const sockets = new Set<Socket>();
  const server = createNetServer(serverOpts, (socket) => {
    sockets.add(socket);
    socket.once('close', () => sockets.delete(socket));
    const before = listenerCounts(socket);
    void peekClientHello(socket, opts).then((r) => {
      const peeked: Peeked = {
        ...r,
        socket,
        listenersRestored: listenerCounts(socket).join() === before.join(),
        paused: socket.readableFlowing === false,
      };
      peeks.push(peeked);
      then(socket, peeked);
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    port: (server.address() as AddressInfo).port,
    peeks,
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        for (const s of sockets) s.destroy();
      }),
  };
}

/**
 * A TCP relay to `targetPort` that lets `firstFlight` write the client's first record
 * upstream (re-fragmented, delayed...), then relays everything else both ways.
 */
async function startRelay(
  targetPort: number,
  firstFlight: (record: Buffer, up: Socket) => Promise<void>,
): Promise<{ port: number; originals: Buffer[]; close(): Promise<void> }> {
  const originals: Buffer[] = [];
  const sockets = new Set<Socket>();
  const server = createNetServer((down) => {
    const up = netConnect(targetPort, '127.0.0.1');
    up.setNoDelay(true);
    for (const s of [down, up]) {
      sockets.add(s);
      s.on('error', () => {});
      s.once('close', () => {
        sockets.delete(s);
        down.destroy();
        up.destroy();
      });
    }
    up.pipe(down);
    let buffered = Buffer.alloc(0);
    const onData = (d: Buffer) => {
      buffered = Buffer.concat([buffered, d]);
      if (buffered.length < 5 || buffered.length < 5 + buffered.readUInt16BE(3)) return;
      down.off('data', onData);
      down.pause();
      const end = 5 + buffered.readUInt16BE(3);
      const record = buffered.subarray(0, end);
      originals.push(record);
      void firstFlight(record, up).then(() => {
        up.write(buffered.subarray(end));
        down.pipe(up);
      });
    };
    down.on('data', onData);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    port: (server.address() as AddressInfo).port,
    originals,
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        for (const s of sockets) s.destroy();
      }),
  };
}

/** Connects, writes `bytes`, and collects what comes back until the server closes. */
function rawExchange(port: number, bytes: Buffer, ms = 5000): Promise<Buffer> {
  return within(
    new Promise<Buffer>((resolve) => {
      const parts: Buffer[] = [];
      const s = netConnect(port, '127.0.0.1', () => s.write(bytes));
      s.on('data', (d: Buffer) => parts.push(d));
      s.on('error', () => {});
      s.on('close', () => resolve(Buffer.concat(parts)));
    }),
    ms,
    'server closing the connection',
  );
}

/** Opens a raw connection; the caller drives it. */
function rawConnect(port: number): Promise<Socket> {
  return new Promise((resolve, reject) => {
    const s = netConnect(port, '127.0.0.1', () => resolve(s));
    s.once('error', reject);
  });
}

function assertClean(r: Peeked): void {
  assert.ok(r.listenersRestored, 'peekClientHello left a listener behind');
}

describe('peekClientHello hands the socket to a TLS server', () => {
  let tlsServer: TestTlsServer;
  let front: Front;
  before(async () => {
    tlsServer = await startTlsServer({ ALPNProtocols: ['h2', 'http/1.1'] }, false);
    front = await startFront((socket) => tlsServer.server.emit('connection', socket));
  });
  after(async () => {
    await front.close();
    await tlsServer.close();
  });

  for (const version of ['TLSv1.2', 'TLSv1.3'] as const) {
    it(`${version}: the handshake completes after the peek`, async () => {
      const res = await nodeConnect(front.port, { servername: 'a.test', ALPNProtocols: ['h2'], maxVersion: version });
      assert.equal(res.data, 'ok\n');
      assert.equal(res.protocol, version);
      assert.equal(res.alpn, 'h2');
      const r = await front.peeks.next();
      assertClean(r);
      assert.ok(r.paused);
      assert.equal(r.error, undefined);
      assert.equal(r.hello?.serverName, 'a.test');
      assert.deepEqual(r.hello?.alpn, ['h2']);
      assert.equal(r.hello?.highestVersion, version === 'TLSv1.3' ? 0x0304 : 0x0303);
      assert.deepEqual(parseClientHelloRecords(r.bytes), r.hello);
    });
  }

  it('openssl s_client: TLS 1.3 through new tls.TLSSocket(socket, { isServer: true })', async (t) => {
    const pki = await sharedPki();
    const secureContext = createSecureContext({ key: pki.server.key, cert: pki.server.cert });
    const own = await startFront((socket) => {
      const tls = new TLSSocket(socket, { isServer: true, secureContext });
      tls.on('error', () => {});
      tls.on('secure', () => tls.end('ok from TLSSocket\n'));
    });
    t.after(() => own.close());
    const out = await sClient(own.port, ['-tls1_3', '-servername', 'localhost']);
    assert.match(out.stdout, /ok from TLSSocket/);
    assert.match(out.stdout, /TLSv1\.3/);
    const r = await own.peeks.next();
    assertClean(r);
    assert.equal(r.hello?.serverName, 'localhost');
  });

  it('works on a server made with pauseOnConnect', async (t) => {
    const paused = await startFront(
      (socket) => tlsServer.server.emit('connection', socket),
      {},
      { pauseOnConnect: true },
    );
    t.after(() => paused.close());
    assert.equal((await nodeConnect(paused.port)).data, 'ok\n');
    const r = await paused.peeks.next();
    assertClean(r);
    assert.equal(r.error, undefined);
    assert.equal(r.hello?.highestVersion, 0x0304);
  });

  it('a hello split over TCP segments and TLS records reaches OpenSSL intact', async (t) => {
    const rand = prng(7);
    const relay = await startRelay(front.port, async (record, up) => {
      const fragmented = fragment(
        record,
        Array.from({ length: 64 }, () => 20 + randInt(rand, 80)),
      );
      for (let off = 0; off < fragmented.length; ) {
        const n = 1 + randInt(rand, 60);
        up.write(fragmented.subarray(off, off + n));
        off += n;
        await delay(1);
      }
    });
    t.after(() => relay.close());
    for (const maxVersion of ['TLSv1.2', 'TLSv1.3'] as const) {
      const res = await nodeConnect(relay.port, { servername: 'split.test', maxVersion });
      assert.equal(res.data, 'ok\n');
      assert.equal(res.protocol, maxVersion);
      const r = await front.peeks.next();
      assertClean(r);
      const original = relay.originals.at(-1);
      assert.ok(original !== undefined);
      assert.deepEqual(r.hello, parseClientHelloRecords(original));
      assert.ok(r.bytes.length > original.length, 'the hello arrived in several records');
    }
  });

  it('after a timeout the bytes are back and the handshake can still complete', async (t) => {
    const slow = await startFront((socket) => tlsServer.server.emit('connection', socket), { timeoutMs: 100 });
    t.after(() => slow.close());
    const relay = await startRelay(slow.port, async (record, up) => {
      up.write(record.subarray(0, 10));
      const r = await slow.peeks.next();
      assert.equal(r.error?.code, 'ERR_HELLO_TIMEOUT');
      assert.deepEqual(r.bytes, record.subarray(0, 10));
      assertClean(r);
      up.write(record.subarray(10));
    });
    t.after(() => relay.close());
    const res = await nodeConnect(relay.port);
    assert.equal(res.data, 'ok\n');
  });
});

describe('peekClientHello makes stateful TLS 1.3 resumption possible', () => {
  it('resumes when resumeSession maps the legacy session id to the PSK identity', async (t) => {
    const tlsServer = await startTlsServer({ minVersion: 'TLSv1.3', secureOptions: constants.SSL_OP_NO_TICKET }, false);
    const sessions = new Map<string, Buffer>();
    const identityByLegacyId = new Map<string, Buffer>();
    tlsServer.server.on('newSession', (id: Buffer, data: Buffer, cb: () => void) => {
      sessions.set(id.toString('hex'), data);
      cb();
    });
    tlsServer.server.on('resumeSession', (id: Buffer, cb: (err: Error | null, data: Buffer | null) => void) => {
      // Node passes the legacy session id; the session is stored under the PSK identity.
      const identity = identityByLegacyId.get(id.toString('hex'));
      cb(null, (identity && sessions.get(identity.toString('hex'))) ?? sessions.get(id.toString('hex')) ?? null);
    });
    let useIdentity = true;
    const front = await startFront((socket, r) => {
      const psk = r.hello?.pskIdentities?.[0];
      if (useIdentity && psk !== undefined && r.hello !== undefined) {
        identityByLegacyId.set(r.hello.legacySessionId.toString('hex'), psk.identity);
      }
      tlsServer.server.emit('connection', socket);
    });
    t.after(async () => {
      await front.close();
      await tlsServer.close();
    });

    const first = await nodeConnect(front.port);
    assert.equal(first.reused, false);
    assert.equal(first.protocol, 'TLSv1.3');
    assert.ok(first.sessions.length >= 2);

    // Without the PSK identity Node cannot find the session (FACTS.md §4)...
    useIdentity = false;
    const without = await nodeConnect(front.port, { session: first.sessions[0] });
    assert.equal(without.reused, false);
    // ...with it, OpenSSL resumes.
    useIdentity = true;
    const resumed = await nodeConnect(front.port, { session: first.sessions[1] });
    assert.equal(resumed.reused, true);
    assert.equal(resumed.data, 'ok\n');
  });
});

describe('peekClientHello steps aside for what is not a usable ClientHello', () => {
  let tlsServer: TestTlsServer;
  let front: Front;
  const tlsErrors: string[] = [];
  before(async () => {
    tlsServer = await startTlsServer();
    tlsServer.server.on('tlsClientError', (err: NodeJS.ErrnoException) => tlsErrors.push(String(err.code)));
    front = await startFront((socket) => tlsServer.server.emit('connection', socket), { timeoutMs: 60_000 });
  });
  after(async () => {
    await front.close();
    await tlsServer.close();
  });

  const inputs: [string, () => Buffer, string][] = [
    ['an HTTP request', () => Buffer.from('GET / HTTP/1.1\r\nHost: localhost\r\n\r\n'), 'ERR_NOT_TLS'],
    ['an SSL 2.0-style hello', sslv2Hello, 'ERR_SSLV2_HELLO'],
    ['an application data record', () => Buffer.from([23, 3, 3, 0, 4, 1, 2, 3, 4]), 'ERR_NOT_TLS'],
    ['binary garbage', () => Buffer.from(Array.from({ length: 64 }, (_, i) => (i * 37 + 11) & 0xff)), 'ERR_NOT_TLS'],
    [
      'a ClientHello with a malformed body',
      () => helloRecord(Buffer.concat([helloBody(), Buffer.from([0])])),
      'ERR_HELLO_MALFORMED',
    ],
  ];
  for (const [name, make, code] of inputs) {
    it(`${name}: ${code}, and the TLS stack answers exactly as without the peek`, async () => {
      const bytes = make();
      tlsErrors.length = 0;
      const direct = await rawExchange(tlsServer.port, bytes);
      const viaPeek = await rawExchange(front.port, bytes);
      const r = await front.peeks.next();
      assertClean(r);
      assert.equal(r.error?.code, code);
      assert.equal(r.hello, undefined);
      assert.deepEqual(viaPeek, direct, 'same bytes back from the TLS stack');
      assert.equal(tlsErrors.length, 2);
      assert.match(tlsErrors[0] ?? '', /^ERR_SSL_/, 'OpenSSL itself rejected the bytes');
      assert.equal(tlsErrors[1], tlsErrors[0], 'same TLS error on the server');
    });
  }
});

describe('peekClientHello on raw sockets', () => {
  let front: Front;
  const handedBack = new Queue<{ socket: Socket; r: Peeked }>();
  before(async () => {
    front = await startFront((socket, r) => handedBack.push({ socket, r }), { timeoutMs: 2000 });
  });
  after(() => front.close());

  let record: Buffer;
  before(async () => {
    record = await captureNodeHello({ servername: 'raw.test' });
  });

  /** Reads from the handed-back socket until the peer ends it. */
  function readAll(socket: Socket): Promise<Buffer> {
    return within(
      new Promise<Buffer>((resolve) => {
        const parts: Buffer[] = [];
        socket.on('data', (d: Buffer) => parts.push(d));
        socket.on('end', () => resolve(Buffer.concat(parts)));
        socket.resume();
      }),
      5000,
      'reading the handed-back socket',
    );
  }

  it('puts back every byte in order, including what followed the hello in the same chunk', async () => {
    const client = await rawConnect(front.port);
    client.on('error', () => {});
    client.write(Buffer.concat([record, Buffer.from('TRAILER')]));
    const { socket, r } = await handedBack.next();
    assertClean(r);
    assert.ok(r.paused);
    assert.equal(r.hello?.serverName, 'raw.test');
    assert.ok(r.bytes.subarray(0, record.length).equals(record));
    const rest = readAll(socket);
    client.end('LATER');
    assert.deepEqual(await rest, Buffer.concat([record, Buffer.from('TRAILER'), Buffer.from('LATER')]));
  });

  it('puts back a hello that came in several chunks', async () => {
    const client = await rawConnect(front.port);
    client.on('error', () => {});
    client.setNoDelay(true);
    for (const [a, b] of [
      [0, 3],
      [3, 40],
      [40, record.length],
    ] as const) {
      client.write(record.subarray(a, b));
      await delay(5);
    }
    const { socket, r } = await handedBack.next();
    assertClean(r);
    assert.deepEqual(r.bytes, record);
    const rest = readAll(socket);
    client.end();
    assert.deepEqual(await rest, record);
  });

  it('a peer that ends mid-hello: ERR_HELLO_TRUNCATED with the bytes seen', async () => {
    const client = await rawConnect(front.port);
    client.on('error', () => {});
    client.end(record.subarray(0, 10));
    const { r } = await handedBack.next();
    assertClean(r);
    assert.equal(r.error?.code, 'ERR_HELLO_TRUNCATED');
    assert.deepEqual(r.bytes, record.subarray(0, 10));
  });

  it('a peer that resets mid-hello: ERR_SOCKET_ERROR', async () => {
    const client = await rawConnect(front.port);
    client.on('error', () => {});
    client.write(record.subarray(0, 10));
    await delay(20);
    client.resetAndDestroy();
    const { r } = await handedBack.next();
    assertClean(r);
    assert.equal(r.error?.code, 'ERR_SOCKET_ERROR');
    assert.equal((r.error?.cause as NodeJS.ErrnoException | undefined)?.code, 'ECONNRESET');
  });

  it('a silent peer: ERR_HELLO_TIMEOUT, socket still usable', async (t) => {
    const quick = await startFront((socket, r) => handedBack.push({ socket, r }), { timeoutMs: 150 });
    t.after(() => quick.close());
    const client = await rawConnect(quick.port);
    client.on('error', () => {});
    const { socket, r } = await handedBack.next();
    assertClean(r);
    assert.equal(r.error?.code, 'ERR_HELLO_TIMEOUT');
    assert.equal(r.bytes.length, 0);
    const rest = readAll(socket);
    client.end(record);
    assert.deepEqual(await rest, record);
  });

  it('a socket closed locally during the peek: ERR_SOCKET_CLOSED', async (t) => {
    const server = createNetServer();
    t.after(() => new Promise<void>((resolve) => server.close(() => resolve())));
    const accepted = new Promise<Socket>((resolve) => server.once('connection', resolve));
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const client = await rawConnect((server.address() as AddressInfo).port);
    client.on('error', () => {});
    t.after(() => client.destroy());
    const socket = await accepted;
    const before = listenerCounts(socket);
    const peek = peekClientHello(socket, { timeoutMs: 5000 });
    client.write(record.subarray(0, 7));
    await delay(20);
    socket.destroy();
    const r = await within(peek, 2000, 'peek result');
    assert.equal(r.error?.code, 'ERR_SOCKET_CLOSED');
    assert.deepEqual(r.bytes, record.subarray(0, 7));
    assert.deepEqual(listenerCounts(socket), before);
  });

  it('refuses a destroyed socket and one with a string encoding', async (t) => {
    const server = createNetServer();
    t.after(() => new Promise<void>((resolve) => server.close(() => resolve())));
    const accepted = new Queue<Socket>();
    server.on('connection', (s) => accepted.push(s));
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const port = (server.address() as AddressInfo).port;
    const c1 = await rawConnect(port);
    const c2 = await rawConnect(port);
    t.after(() => {
      c1.destroy();
      c2.destroy();
    });
    const s1 = await accepted.next();
    const s2 = await accepted.next();
    s1.destroy();
    assert.equal((await peekClientHello(s1)).error?.code, 'ERR_SOCKET_CLOSED');
    s2.setEncoding('latin1');
    const before = listenerCounts(s2);
    assert.equal((await peekClientHello(s2)).error?.code, 'ERR_SOCKET_STATE');
    assert.deepEqual(listenerCounts(s2), before);
    s2.destroy();
  });
});
