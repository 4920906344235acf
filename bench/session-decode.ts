/**
 * Sessions decoded per second: TlsSession.fromDER against asn1js `fromBER` (a general BER
 * parser) on the same real sessions, in one run. Run: `npx tsx bench/session-decode.ts [--quick]`.
 */
import { once } from 'node:events';
import { constants } from 'node:crypto';
import { createServer, connect } from 'node:tls';
import { fromBER } from 'asn1js';
import { TlsSession } from '../src/index.js';
import { compareRates, fmtRate, isMain } from './lib/measure.js';
import { benchCert } from './lib/cert.js';

export interface SessionDecodeResult {
  name: 'session-decode';
  sessions: number;
  tlsSessionPerSecond: number;
  asn1jsPerSecond: number;
  /** TlsSession rate / asn1js rate; the goal is at least 100. */
  ratio: number;
}

/**
 * Real sessions: client and server side, TLS 1.2 and 1.3, ECDSA and RSA server certificates,
 * from Node handshakes on loopback.
 */
async function makeSessions(): Promise<Buffer[]> {
  const out: Buffer[] = [];
  for (const [type, v] of [['ecdsa', 'TLSv1.2'], ['ecdsa', 'TLSv1.3'], ['rsa', 'TLSv1.2'], ['rsa', 'TLSv1.3']] as const) {
    const { key, cert } = await benchCert(type);
    const server = createServer({ key, cert, minVersion: v, maxVersion: v, secureOptions: constants.SSL_OP_NO_TICKET });
    server.on('newSession', (_id: Buffer, der: Buffer, cb: () => void) => {
      out.push(der);
      cb();
    });
    server.on('secureConnection', (s) => s.end('ok'));
    server.listen(0, '127.0.0.1');
    await once(server, 'listening');
    const port = (server.address() as { port: number }).port;
    const socket = connect({ port, host: '127.0.0.1', rejectUnauthorized: false, minVersion: v, maxVersion: v });
    socket.on('session', (der: Buffer) => out.push(der));
    socket.resume();
    await once(socket, 'close');
    server.close();
  }
  return out;
}

export async function run({ quick = false }: { quick?: boolean } = {}): Promise<SessionDecodeResult> {
  const sessions = await makeSessions();
  let i = 0;
  const rates = await compareRates(
    {
      tlsSession: (n) => {
        for (let k = 0; k < n; k++) TlsSession.fromDER(sessions[i++ % sessions.length]!);
      },
      asn1js: (n) => {
        for (let k = 0; k < n; k++) {
          const s = sessions[i++ % sessions.length]!;
          const r = fromBER(new Uint8Array(s.buffer, s.byteOffset, s.byteLength));
          if (r.offset === -1) throw new Error('asn1js failed to decode a session');
        }
      },
    },
    { rounds: quick ? 3 : 7, roundMs: quick ? 150 : 400 },
  );
  const a = rates['tlsSession']!.perSecond;
  const b = rates['asn1js']!.perSecond;
  return { name: 'session-decode', sessions: sessions.length, tlsSessionPerSecond: a, asn1jsPerSecond: b, ratio: a / b };
}

if (isMain(import.meta.url)) {
  const r = await run({ quick: process.argv.includes('--quick') });
  console.log(`session decode over ${r.sessions} real sessions`);
  console.log(`  TlsSession.fromDER  ${fmtRate(r.tlsSessionPerSecond)}/s`);
  console.log(`  asn1js fromBER      ${fmtRate(r.asn1jsPerSecond)}/s`);
  console.log(`  ratio               ${r.ratio.toFixed(1)}x (goal: >= 100x)`);
  console.log(JSON.stringify(r));
}
