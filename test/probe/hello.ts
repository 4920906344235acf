/**
 * What the probe puts on the wire, taken before any server answers:
 *
 * ```ts
 * const record = await captureProbeHello({ version: 'TLSv1.3' });
 * const hello = parseClientHelloRecords(record);
 * ```
 */
import assert from 'node:assert/strict';
import { type Server, type Socket, createServer } from 'node:net';
import { type ConnectionSettings, type HandshakeRequest, handshake } from '../../src/probe/connection.js';

/**
 * The first record of the ClientHello the probe sends for `request`, taken on a raw loopback
 * listener that then drops the connection (so the probe's handshake fails, as asserted).
 */
export async function captureProbeHello(request: HandshakeRequest): Promise<Buffer> {
  const sockets = new Set<Socket>();
  let resolveHello: (b: Buffer) => void = () => {};
  const got = new Promise<Buffer>((resolve) => {
    resolveHello = resolve;
  });
  const server: Server = createServer((socket) => {
    sockets.add(socket);
    let buf = Buffer.alloc(0);
    socket.on('data', (chunk: Buffer) => {
      buf = Buffer.concat([buf, chunk]);
      if (buf.length >= 5 && buf.length >= 5 + buf.readUInt16BE(3)) {
        resolveHello(buf);
        socket.destroy();
      }
    });
    socket.on('error', () => {});
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  try {
    const address = server.address();
    assert.ok(address && typeof address === 'object');
    const settings: ConnectionSettings = {
      host: '127.0.0.1',
      port: address.port,
      servername: 'localhost',
      ca: undefined,
      insecure: true,
      cert: undefined,
      key: undefined,
      alpn: undefined,
      timeoutMs: 3000,
    };
    await assert.rejects(handshake(settings, request), { name: 'ProbeError' });
    return await got;
  } finally {
    for (const s of sockets) s.destroy();
    await new Promise<void>((resolve) => server.close(() => resolve()));
  }
}
