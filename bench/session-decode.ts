/**
 * Sessions decoded per second: TlsSession.fromDER against asn1js `fromBER` (a general BER
 * parser) on the same real sessions, in one run, doing the same work:
 * - server sessions (what a server cache holds: no peer certificate), where both decode every
 *   field;
 * - client sessions, which hold the server's certificate: fromDER keeps it as bytes while
 *   fromBER parses it, so TlsSession's side also parses it with asn1js.
 * Run: `npx tsx bench/session-decode.ts [--quick]`.
 */
import { once } from 'node:events';
import { constants } from 'node:crypto';
import { createServer, connect } from 'node:tls';
import { fromBER } from 'asn1js';
import { TlsSession } from '../src/index.js';
import { compareRates, fmtRate, isMain } from './lib/measure.js';
import { benchCert } from './lib/cert.js';

export interface DecodeRates {
  sessions: number;
  tlsSessionPerSecond: number;
  asn1jsPerSecond: number;
}

export interface SessionDecodeResult {
  name: 'session-decode';
  /** Server sessions: no certificate. The goal: TlsSession at least 100 times asn1js. */
  withoutCertificate: DecodeRates;
  /** Client sessions with the server's certificate, parsed on both sides. */
  withCertificate: DecodeRates;
}

/**
 * Real sessions: client and server side, TLS 1.2 and 1.3, ECDSA and RSA server certificates,
 * from Node handshakes on loopback.
 */
async function makeSessions(): Promise<{ server: Buffer[]; client: Buffer[] }> {
  const server: Buffer[] = [];
  const client: Buffer[] = [];
  for (const [type, v] of [
    ['ecdsa', 'TLSv1.2'],
    ['ecdsa', 'TLSv1.3'],
    ['rsa', 'TLSv1.2'],
    ['rsa', 'TLSv1.3'],
  ] as const) {
    const { key, cert } = await benchCert(type);
    const tlsServer = createServer({
      key,
      cert,
      minVersion: v,
      maxVersion: v,
      secureOptions: constants.SSL_OP_NO_TICKET,
    });
    tlsServer.on('newSession', (_id: Buffer, der: Buffer, cb: () => void) => {
      server.push(der);
      cb();
    });
    tlsServer.on('secureConnection', (s) => s.end('ok'));
    tlsServer.listen(0, '127.0.0.1');
    await once(tlsServer, 'listening');
    const port = (tlsServer.address() as { port: number }).port;
    const socket = connect({ port, host: '127.0.0.1', rejectUnauthorized: false, minVersion: v, maxVersion: v });
    // Node 22+ wraps client sessions: keep the DER inside.
    socket.on('session', (s: Buffer) => client.push(TlsSession.parse(s).toDER()));
    socket.resume();
    await once(socket, 'close');
    tlsServer.close();
  }
  return { server, client };
}

const asn1 = (b: Buffer) => new Uint8Array(b.buffer, b.byteOffset, b.byteLength);

async function compare(sessions: Buffer[], parseCertificate: boolean, quick: boolean): Promise<DecodeRates> {
  let i = 0;
  const rates = await compareRates(
    {
      tlsSession: (n) => {
        for (let k = 0; k < n; k++) {
          const s = TlsSession.fromDER(sessions[i++ % sessions.length]!);
          const cert = s.peerCertificateDER;
          if (parseCertificate && cert !== undefined && fromBER(asn1(cert)).offset === -1) {
            throw new Error('asn1js failed to decode a certificate');
          }
        }
      },
      asn1js: (n) => {
        for (let k = 0; k < n; k++) {
          if (fromBER(asn1(sessions[i++ % sessions.length]!)).offset === -1)
            throw new Error('asn1js failed to decode a session');
        }
      },
    },
    { rounds: quick ? 3 : 7, roundMs: quick ? 150 : 400 },
  );
  return {
    sessions: sessions.length,
    tlsSessionPerSecond: rates['tlsSession']!.perSecond,
    asn1jsPerSecond: rates['asn1js']!.perSecond,
  };
}

export async function run({ quick = false }: { quick?: boolean } = {}): Promise<SessionDecodeResult> {
  const { server, client } = await makeSessions();
  if (server.some((s) => TlsSession.fromDER(s).peerCertificateDER !== undefined)) {
    throw new Error('a server session holds a certificate: the comparison would not be like for like');
  }
  return {
    name: 'session-decode',
    withoutCertificate: await compare(server, false, quick),
    withCertificate: await compare(client, true, quick),
  };
}

if (isMain(import.meta.url)) {
  const r = await run({ quick: process.argv.includes('--quick') });
  for (const [what, x] of [
    ['server sessions, no certificate', r.withoutCertificate],
    ['client sessions, certificate parsed on both sides', r.withCertificate],
  ] as const) {
    console.log(`session decode over ${x.sessions} real ${what}`);
    console.log(`  TlsSession.fromDER  ${fmtRate(x.tlsSessionPerSecond)}/s`);
    console.log(`  asn1js fromBER      ${fmtRate(x.asn1jsPerSecond)}/s`);
    console.log(`  ratio               ${(x.tlsSessionPerSecond / x.asn1jsPerSecond).toFixed(1)}x`);
  }
  console.log(JSON.stringify(r));
}
