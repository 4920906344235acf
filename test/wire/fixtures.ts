/**
 * Real ClientHellos and TLS peers for the wire tests.
 *
 * Hellos are captured from real clients (`openssl s_client`, Node `tls.connect`) by a plain
 * TCP listener on 127.0.0.1 that keeps the first record and closes. The capture decides that
 * the record is complete from its own 5-byte header, not with the code under test.
 */
import type { ChildProcess } from 'node:child_process';
import { writeFile } from 'node:fs/promises';
import { type AddressInfo, createServer as createNetServer, type Server as NetServer, type Socket } from 'node:net';
import { join } from 'node:path';
import { type ConnectionOptions, connect, createServer, type Server, type TLSSocket, type TlsOptions } from 'node:tls';
import { unwrapNodeSession } from '../../src/session/node-state.js';
import { sharedPki } from '../helpers/certs.js';
import { runOpenssl, runOpensslOk, spawnOpenssl } from '../helpers/openssl-process.js';
import { within } from '../helpers/wait.js';

export { prng, randInt } from '../helpers/prng.js';
export { within } from '../helpers/wait.js';

function portOf(server: NetServer): number {
  return (server.address() as AddressInfo).port;
}

function listen(server: NetServer): Promise<number> {
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      server.off('error', reject);
      resolve(portOf(server));
    });
  });
}

/** Closes `server` and destroys the sockets it accepted. */
function closer(server: NetServer): () => Promise<void> {
  const sockets = new Set<Socket>();
  server.on('connection', (s: Socket) => {
    sockets.add(s);
    s.once('close', () => sockets.delete(s));
  });
  let closing: Promise<void> | undefined;
  return () => {
    closing ??= new Promise<void>((resolve) => {
      server.close(() => resolve());
      for (const s of sockets) s.destroy();
    });
    return closing;
  };
}

/** Accepts one connection and returns its first TLS record (or whatever came, on EOF). */
async function captureFirstRecord(start: (port: number) => () => void, timeoutMs = 10_000): Promise<Buffer> {
  const server = createNetServer();
  const close = closer(server);
  let stopClient: (() => void) | undefined;
  try {
    const got = new Promise<Buffer>((resolve) => {
      server.once('connection', (socket: Socket) => {
        const parts: Buffer[] = [];
        let size = 0;
        const done = () => {
          socket.removeAllListeners('data');
          socket.destroy();
          resolve(Buffer.concat(parts, size));
        };
        socket.on('error', () => {});
        socket.on('data', (d: Buffer) => {
          parts.push(d);
          size += d.length;
          const b = size >= 5 ? Buffer.concat(parts, size) : undefined;
          if (b !== undefined && size >= 5 + b.readUInt16BE(3)) done();
        });
        socket.on('end', done);
      });
    });
    const port = await listen(server);
    stopClient = start(port);
    const bytes = await within(got, timeoutMs, 'ClientHello capture');
    return bytes.subarray(0, 5 + bytes.readUInt16BE(3));
  } finally {
    stopClient?.();
    await close();
  }
}

/** The first record sent by `tls.connect(opts)` to a plain TCP listener. */
export function captureNodeHello(opts: ConnectionOptions): Promise<Buffer> {
  return captureFirstRecord((port) => {
    const client = connect({ host: '127.0.0.1', port, rejectUnauthorized: false, ...opts });
    client.on('error', () => {});
    return () => client.destroy();
  });
}

/** The first record sent by `openssl s_client <args>` to a plain TCP listener. */
export function captureOpensslHello(args: readonly string[]): Promise<Buffer> {
  let child: ChildProcess | undefined;
  return captureFirstRecord((port) => {
    child = spawnOpenssl(['s_client', '-connect', `127.0.0.1:${port}`, ...args]);
    return () => child?.kill('SIGKILL');
  });
}

/** Handshake message (header included) inside a single-record capture. */
export function messageOf(record: Buffer): Buffer {
  return record.subarray(5, 5 + record.readUInt16BE(3));
}

/** ClientHello body inside a single-record capture. */
export function bodyOf(record: Buffer): Buffer {
  return messageOf(record).subarray(4);
}

/**
 * Re-encodes the handshake message of a single-record capture as several handshake records
 * with payload sizes drawn from `sizes` (the last record takes what is left).
 */
export function fragment(record: Buffer, sizes: readonly number[]): Buffer {
  const msg = messageOf(record);
  const out: Buffer[] = [];
  let off = 0;
  let i = 0;
  while (off < msg.length) {
    const want = sizes[i] ?? msg.length - off;
    const len = Math.max(1, Math.min(want, msg.length - off));
    const hdr = Buffer.from([22, record[1]!, record[2]!, len >> 8, len & 0xff]);
    out.push(hdr, msg.subarray(off, off + len));
    off += len;
    i += 1;
  }
  return Buffer.concat(out);
}

/** A TLS server on 127.0.0.1 that answers 'ok' to each connection and ends it. */
export interface TestTlsServer {
  server: Server;
  port: number;
  close(): Promise<void>;
}

/** Starts a `tls.Server` (shared test PKI) listening on 127.0.0.1, or not listening. */
export async function startTlsServer(options: TlsOptions = {}, listening = true): Promise<TestTlsServer> {
  const pki = await sharedPki();
  const server = createServer({ key: pki.server.key, cert: pki.server.cert, ...options }, (s: TLSSocket) => {
    s.on('error', () => {});
    s.end('ok\n');
  });
  server.on('tlsClientError', () => {});
  const close = closer(server);
  const port = listening ? await listen(server) : 0;
  return { server, port, close };
}

/** Result of one Node client connection that read until the server ended it. */
export interface NodeConnectResult {
  sessions: Buffer[];
  reused: boolean;
  protocol: string | null;
  alpn: string | false | null;
  data: string;
}

/** Connects with Node, records every `'session'`, reads until the server ends the stream. */
export function nodeConnect(
  port: number,
  opts: ConnectionOptions = {},
  timeoutMs = 10_000,
): Promise<NodeConnectResult> {
  return within(
    new Promise<NodeConnectResult>((resolve, reject) => {
      const sessions: Buffer[] = [];
      let data = '';
      const client = connect({ host: '127.0.0.1', port, rejectUnauthorized: false, ...opts });
      client.on('session', (s: Buffer) => sessions.push(unwrapNodeSession(s).der));
      client.setEncoding('utf8');
      client.on('data', (d: string) => {
        data += d;
      });
      client.on('error', reject);
      client.on('end', () => {
        resolve({
          sessions,
          reused: client.isSessionReused(),
          protocol: client.getProtocol(),
          alpn: client.alpnProtocol,
          data,
        });
        client.destroy();
      });
    }),
    timeoutMs,
    'TLS connection',
  );
}

/** Runs `openssl s_client` to completion against 127.0.0.1:port (stdin closed, -ign_eof). */
export async function sClient(port: number, args: readonly string[]): Promise<{ stdout: string; code: number }> {
  const r = await runOpenssl(['s_client', '-connect', `127.0.0.1:${port}`, '-ign_eof', ...args], { timeoutMs: 10_000 });
  return { stdout: r.stdout.toString('utf8'), code: r.code };
}

/** PEM form of a DER session, as `openssl sess_id` reads it. */
export function sessionPem(der: Buffer): string {
  const b64 = der
    .toString('base64')
    .replace(/(.{64})/g, '$1\n')
    .replace(/\n$/, '');
  return `-----BEGIN SSL SESSION PARAMETERS-----\n${b64}\n-----END SSL SESSION PARAMETERS-----\n`;
}

/** `openssl sess_id -text -noout` of a session file. */
export async function sessIdText(path: string): Promise<string> {
  return (await runOpensslOk(['sess_id', '-in', path, '-text', '-noout'])).stdout.toString('utf8');
}

/** Writes a DER session as PEM to `dir/name` and returns `sess_id -text` of it. */
export async function sessIdTextOfDer(dir: string, name: string, der: Buffer): Promise<string> {
  const path = join(dir, name);
  await writeFile(path, sessionPem(der));
  return sessIdText(path);
}

/**
 * The ticket from `sess_id -text` output: the BIO_dump lines under "TLS session ticket:"
 * ("    0000 - 4e fc 41 ... 8 bytes-8 bytes   ascii").
 */
export function ticketFromSessIdText(text: string): Buffer | undefined {
  const lines = text.split('\n');
  const start = lines.findIndex((l) => l.trim() === 'TLS session ticket:');
  if (start < 0) return undefined;
  const bytes: number[] = [];
  for (const line of lines.slice(start + 1)) {
    const m = /^\s+([0-9a-f]{4}) - (.{48})/.exec(line.padEnd(80));
    if (m === null) break;
    for (const hex of m[2]!.replace('-', ' ').trim().split(/\s+/)) bytes.push(Number.parseInt(hex, 16));
  }
  return Buffer.from(bytes);
}

/** "Session-ID: <HEX>" from `sess_id -text` output. */
export function sessionIdFromSessIdText(text: string): Buffer {
  const m = /Session-ID: ([0-9A-F]*)/.exec(text);
  if (m === null) throw new Error('no Session-ID line');
  return Buffer.from(m[1]!, 'hex');
}
