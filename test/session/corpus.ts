/**
 * Real sessions for the codec tests: made by real handshakes with `openssl s_server`/`s_client`
 * and with Node's tls module, client and server side, TLS 1.2 and 1.3, RSA and ECDSA, with and
 * without tickets, ALPN, SNI and client certificates. Built once per test process.
 */
import { join } from 'node:path';
import { constants } from 'node:crypto';
import { createServer } from 'node:tls';
import {
  type Cert,
  nodeConnect,
  runOpensslOk,
  type SClientResult,
  sClient,
  sharedPki,
  startSServer,
  tmpDir,
} from '../helpers/index.js';

export interface CorpusEntry {
  name: string;
  /** The DER exactly as OpenSSL or Node produced it. */
  der: Buffer;
  /** What the handshake is known to have used, for field checks. */
  expect: {
    protocol: 'TLSv1.2' | 'TLSv1.3';
    cipher?: string;
    hostname?: string;
    alpn?: string;
    ticket?: boolean;
    peerCert?: string;
    verifyResult?: number;
    side: 'client' | 'server';
  };
}

let corpus: Promise<CorpusEntry[]> | undefined;

/** Every session of the corpus (memoized). */
export function sessionCorpus(): Promise<CorpusEntry[]> {
  corpus ??= build();
  return corpus;
}

async function build(): Promise<CorpusEntry[]> {
  const pki = await sharedPki();
  const dir = await tmpDir('corpus-');
  const out: CorpusEntry[] = [];
  try {
    // openssl s_server + s_client -sess_out: client-side sessions as OpenSSL writes them.
    const variants: {
      name: string;
      cert: Cert;
      tls: '1.2' | '1.3';
      noTicket?: boolean;
      alpn?: string[];
      servername?: string;
      clientCert?: boolean;
    }[] = [
      { name: 'openssl-tls13-ecdsa', cert: pki.server, tls: '1.3', servername: 'localhost' },
      { name: 'openssl-tls13-rsa-alpn', cert: pki.rsaServer, tls: '1.3', alpn: ['h2', 'http/1.1'] },
      { name: 'openssl-tls12-ticket-ecdsa', cert: pki.server, tls: '1.2', servername: 'localhost' },
      { name: 'openssl-tls12-noticket-rsa', cert: pki.rsaServer, tls: '1.2', noTicket: true },
      { name: 'openssl-tls12-clientcert-alpn', cert: pki.server, tls: '1.2', alpn: ['http/1.1'], clientCert: true },
      { name: 'openssl-tls13-clientcert', cert: pki.rsaServer, tls: '1.3', clientCert: true },
      { name: 'openssl-tls13-stateful', cert: pki.server, tls: '1.3', noTicket: true, servername: 'localhost' },
    ];
    for (const v of variants) {
      const server = await startSServer({
        cert: v.cert,
        tls: v.tls,
        noTicket: v.noTicket,
        verifyClient: v.clientCert,
        args: [
          ...(v.alpn ? ['-alpn', v.alpn.join(',')] : []),
          // With a second context for the name, s_server acknowledges SNI, so it is recorded.
          ...(v.servername ? ['-servername', v.servername, '-cert2', v.cert.certPath, '-key2', v.cert.keyPath] : []),
        ],
      });
      try {
        const file = join(dir.path, `${v.name}.pem`);
        const res: SClientResult = await sClient({
          port: server.port,
          tls: v.tls,
          sessOut: file,
          alpn: v.alpn,
          servername: v.servername,
          cert: v.clientCert ? pki.client : undefined,
          noTicket: v.noTicket && v.tls === '1.2',
        });
        const der = (await runOpensslOk(['sess_id', '-in', file, '-outform', 'DER'])).stdout;
        out.push({
          name: v.name,
          der,
          expect: {
            protocol: v.tls === '1.3' ? 'TLSv1.3' : 'TLSv1.2',
            cipher: res.cipher,
            hostname: v.servername,
            alpn: res.alpn ?? undefined,
            ticket: !(v.noTicket && v.tls === '1.2'),
            peerCert: v.cert.cert,
            verifyResult: res.verifyCode ?? undefined,
            side: 'client',
          },
        });
      } finally {
        await server.stop();
      }
    }

    // Node: client sessions from 'session', server sessions from 'newSession'.
    for (const tls of ['TLSv1.2', 'TLSv1.3'] as const) {
      const serverSessions: Buffer[] = [];
      const server = createServer({
        key: pki.rsaServer.key,
        cert: pki.rsaServer.cert,
        ca: pki.ca.cert,
        requestCert: true,
        rejectUnauthorized: true,
        ALPNProtocols: ['h2'],
        minVersion: tls,
        maxVersion: tls,
        // Stateful sessions, so that the server hands its sessions to 'newSession'.
        secureOptions: constants.SSL_OP_NO_TICKET,
      });
      server.on('newSession', (_id: Buffer, data: Buffer, cb: () => void) => {
        serverSessions.push(data);
        cb();
      });
      server.on('secureConnection', (s) => s.end('ok\n'));
      await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
      try {
        const address = server.address();
        const port = typeof address === 'object' && address ? address.port : 0;
        const conn = await nodeConnect({
          port,
          servername: 'localhost',
          ALPNProtocols: ['h2'],
          key: pki.client.key,
          cert: pki.client.cert,
          minVersion: tls,
          maxVersion: tls,
        });
        conn.sessions.forEach((der, i) => {
          out.push({
            name: `node-client-${tls}-${i}`,
            der,
            expect: { protocol: tls, alpn: 'h2', peerCert: pki.rsaServer.cert, verifyResult: 0, side: 'client' },
          });
        });
      } finally {
        await new Promise<void>((resolve) => server.close(() => resolve()));
      }
      serverSessions.forEach((der, i) => {
        out.push({
          name: `node-server-${tls}-${i}`,
          der,
          expect: { protocol: tls, alpn: 'h2', peerCert: pki.client.cert, verifyResult: 0, side: 'server' },
        });
      });
    }
    return out;
  } finally {
    await dir.cleanup();
  }
}
