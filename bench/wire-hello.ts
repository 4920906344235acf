/**
 * ClientHello parsing rate, and the cost of reading the hello before OpenSSL does: full TLS
 * handshakes per second into a Node tls.Server directly and through peekClientHello (a plain
 * net.Server that peeks, then `tlsServer.emit('connection', socket)`), in the same run.
 * Run: `npx tsx bench/wire-hello.ts [--quick]`.
 */
import { once } from 'node:events';
import { type AddressInfo, createServer as createNetServer, type Server as NetServer, type Socket } from 'node:net';
import { connect, createServer, type Server, type TLSSocket } from 'node:tls';
import { ClientHelloReader, parseClientHello, parseClientHelloRecords, peekClientHello } from '../src/wire/index.js';
import { benchCert } from './lib/cert.js';
import { compareRates, fmtRate, isMain, median } from './lib/measure.js';

export interface WireHelloResult {
  name: 'wire-hello';
  hellos: number;
  /** parseClientHello on the handshake body. */
  parseBodyPerSecond: number;
  /** parseClientHelloRecords on the raw record bytes. */
  parseRecordsPerSecond: number;
  /** ClientHelloReader fed each record in 3 chunks (copying path). */
  readerSplitPerSecond: number;
  /**
   * Full handshakes per second (median over rounds), direct and with peekClientHello in front,
   * per version; `ratio` = peek / direct, the median of per-round ratios.
   */
  handshakes: Record<'TLSv1.2' | 'TLSv1.3', { direct: number; peek: number; ratio: number }>;
}

function listen(server: NetServer): Promise<number> {
  server.listen(0, '127.0.0.1');
  return once(server, 'listening').then(() => (server.address() as AddressInfo).port);
}

/** One full handshake; resolves at 'secureConnect'. */
function handshake(port: number, maxVersion: 'TLSv1.2' | 'TLSv1.3', session?: Buffer): Promise<void> {
  return new Promise((resolve, reject) => {
    const c = connect({ host: '127.0.0.1', port, rejectUnauthorized: false, maxVersion, session });
    c.once('secureConnect', () => {
      c.destroy();
      resolve();
    });
    c.once('error', reject);
  });
}

/** Real ClientHello records: Node clients with and without offered sessions, TLS 1.2 and 1.3. */
async function captureHellos(tlsPort: number): Promise<Buffer[]> {
  const sessions: Buffer[] = [];
  for (const maxVersion of ['TLSv1.2', 'TLSv1.3'] as const) {
    const c = connect({ host: '127.0.0.1', port: tlsPort, rejectUnauthorized: false, maxVersion });
    c.on('session', (s: Buffer) => sessions.push(s));
    c.resume();
    await once(c, 'close');
  }
  const capture = createNetServer();
  const records: Buffer[] = [];
  capture.on('connection', (s: Socket) => {
    const parts: Buffer[] = [];
    s.on('error', () => {});
    s.on('data', (d: Buffer) => {
      parts.push(d);
      const b = Buffer.concat(parts);
      if (b.length >= 5 && b.length >= 5 + b.readUInt16BE(3)) {
        records.push(b.subarray(0, 5 + b.readUInt16BE(3)));
        s.destroy();
      }
    });
  });
  const port = await listen(capture);
  const offers: ['TLSv1.2' | 'TLSv1.3', Buffer | undefined, string | undefined][] = [
    ['TLSv1.3', undefined, 'example.com'],
    ['TLSv1.2', undefined, undefined],
    ...sessions.map(
      (s, i) => [i === 0 ? 'TLSv1.2' : 'TLSv1.3', s, 'example.com'] as ['TLSv1.2' | 'TLSv1.3', Buffer, string],
    ),
  ];
  for (const [maxVersion, session, servername] of offers) {
    const c = connect({
      host: '127.0.0.1',
      port,
      rejectUnauthorized: false,
      maxVersion,
      session,
      servername,
      ALPNProtocols: ['h2', 'http/1.1'],
    });
    c.on('error', () => {});
    // Not events.once: it would reject on the reset the capture causes.
    await new Promise((resolve) => c.once('close', resolve));
  }
  capture.close();
  return records;
}

export async function run({ quick = false }: { quick?: boolean } = {}): Promise<WireHelloResult> {
  const { key, cert } = await benchCert('ecdsa');
  const tlsServer: Server = createServer({ key, cert }, (s: TLSSocket) => {
    s.on('error', () => {});
    s.end('ok');
  });
  tlsServer.on('tlsClientError', () => {});
  const directPort = await listen(tlsServer);
  const front = createNetServer((socket) => {
    // Whatever the peek found, the TLS stack gets the connection (as a session cache would do).
    void peekClientHello(socket).then(() => tlsServer.emit('connection', socket));
  });
  const peekPort = await listen(front);

  try {
    const records = await captureHellos(directPort);
    const bodies = records.map((r) => r.subarray(9));
    let i = 0;
    const parse = await compareRates(
      {
        body: (n) => {
          for (let k = 0; k < n; k++) parseClientHello(bodies[i++ % bodies.length]!);
        },
        records: (n) => {
          for (let k = 0; k < n; k++) parseClientHelloRecords(records[i++ % records.length]!);
        },
        readerSplit: (n) => {
          for (let k = 0; k < n; k++) {
            const r = records[i++ % records.length]!;
            const reader = new ClientHelloReader();
            reader.feed(r.subarray(0, 3));
            reader.feed(r.subarray(3, 100));
            if (reader.feed(r.subarray(100)) !== 'complete') throw new Error('hello did not parse');
          }
        },
      },
      { rounds: quick ? 3 : 7, roundMs: quick ? 150 : 400, batch: 1000 },
    );

    const hs = await compareRates(
      {
        'direct 1.3': async (n) => {
          for (let k = 0; k < n; k++) await handshake(directPort, 'TLSv1.3');
        },
        'peek 1.3': async (n) => {
          for (let k = 0; k < n; k++) await handshake(peekPort, 'TLSv1.3');
        },
        'direct 1.2': async (n) => {
          for (let k = 0; k < n; k++) await handshake(directPort, 'TLSv1.2');
        },
        'peek 1.2': async (n) => {
          for (let k = 0; k < n; k++) await handshake(peekPort, 'TLSv1.2');
        },
      },
      { rounds: quick ? 5 : 11, roundMs: quick ? 300 : 600, batch: 5 },
    );
    // The ratio is the median of per-round ratios: adjacent rounds share the machine's load.
    const pair = (v: '1.2' | '1.3') => {
      const direct = hs[`direct ${v}`]!;
      const peek = hs[`peek ${v}`]!;
      const ratios = peek.rounds.map((p, k) => p / direct.rounds[k]!);
      return { direct: direct.perSecond, peek: peek.perSecond, ratio: median(ratios) };
    };
    return {
      name: 'wire-hello',
      hellos: records.length,
      parseBodyPerSecond: parse['body']!.perSecond,
      parseRecordsPerSecond: parse['records']!.perSecond,
      readerSplitPerSecond: parse['readerSplit']!.perSecond,
      handshakes: { 'TLSv1.2': pair('1.2'), 'TLSv1.3': pair('1.3') },
    };
  } finally {
    front.close();
    tlsServer.close();
  }
}

if (isMain(import.meta.url)) {
  const r = await run({ quick: process.argv.includes('--quick') });
  console.log(`ClientHello parsing over ${r.hellos} real hellos`);
  console.log(`  parseClientHello (body)          ${fmtRate(r.parseBodyPerSecond)}/s`);
  console.log(`  parseClientHelloRecords          ${fmtRate(r.parseRecordsPerSecond)}/s`);
  console.log(`  ClientHelloReader, 3 chunks      ${fmtRate(r.readerSplitPerSecond)}/s`);
  console.log('full handshakes into a Node tls.Server (sequential client, same process)');
  for (const [v, h] of Object.entries(r.handshakes)) {
    console.log(`  ${v}  direct ${fmtRate(h.direct)}/s  with peek ${fmtRate(h.peek)}/s  ratio ${h.ratio.toFixed(3)}`);
  }
  console.log(JSON.stringify(r));
}
