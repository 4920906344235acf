/**
 * A loopback TCP proxy that records what each client connection offered in its ClientHello:
 * the TLS 1.3 PSK identities (the tickets), the TLS 1.2 session ticket and the legacy session
 * id. Bytes are forwarded unchanged in both directions.
 *
 * ```ts
 * const recorder = await startHelloRecorder(server.port);
 * t.after(() => recorder.close());
 * await store.connect({ port: recorder.port, ... });
 * recorder.hellos[0].pskIdentities; // tickets offered by the first connection
 * ```
 */
import { connect, createServer, type Socket } from 'node:net';

/** What one ClientHello offered for resumption. */
export interface RecordedHello {
  /** pre_shared_key identities (TLS 1.3): the tickets, or 32-byte ids for stateful tickets. */
  pskIdentities: Buffer[];
  /** session_ticket extension body (TLS 1.2); empty when the client only asks for a ticket. */
  sessionTicket: Buffer | undefined;
  /** legacy_session_id. */
  sessionId: Buffer;
}

export interface HelloRecorder {
  port: number;
  /** The server port new connections go to; change it to put another server behind the same address. */
  target: number;
  /** One entry per connection whose ClientHello was complete, in arrival order. */
  hellos: RecordedHello[];
  /** Sends a TCP reset to every open client connection. */
  resetClients(): void;
  close(): Promise<void>;
}

export function startHelloRecorder(targetPort: number): Promise<HelloRecorder> {
  const hellos: RecordedHello[] = [];
  const sockets = new Set<Socket>();
  const clients = new Set<Socket>();
  const server = createServer((client) => {
    const upstream = connect({ host: '127.0.0.1', port: recorder.target });
    clients.add(client);
    sockets.add(client);
    sockets.add(upstream);
    let buffered: Buffer | undefined = Buffer.alloc(0);
    client.on('data', (chunk: Buffer) => {
      if (buffered !== undefined) {
        buffered = Buffer.concat([buffered, chunk]);
        const body = handshakeBody(buffered);
        if (body !== undefined) {
          hellos.push(parseClientHello(body));
          buffered = undefined;
        }
      }
      upstream.write(chunk);
    });
    upstream.on('data', (chunk: Buffer) => client.write(chunk));
    client.on('end', () => upstream.end());
    upstream.on('end', () => client.end());
    const drop = () => {
      client.destroy();
      upstream.destroy();
    };
    client.on('error', drop);
    upstream.on('error', drop);
    client.on('close', () => {
      sockets.delete(client);
      clients.delete(client);
      upstream.destroy();
    });
    upstream.on('close', () => {
      sockets.delete(upstream);
      // A reset on one side becomes a reset on the other (a clean end was forwarded above).
      if (!client.writableEnded) client.resetAndDestroy();
    });
  });
  const recorder: HelloRecorder = {
    port: 0,
    target: targetPort,
    hellos,
    resetClients: () => {
      for (const c of clients) c.resetAndDestroy();
    },
    close: () =>
      new Promise<void>((done) => {
        for (const s of sockets) s.destroy();
        server.close(() => done());
      }),
  };
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      if (address === null || typeof address === 'string') {
        reject(new Error('recorder has no TCP address'));
        return;
      }
      recorder.port = address.port;
      resolve(recorder);
    });
  });
}

/** The ClientHello body once the handshake records in `bytes` hold all of it. */
function handshakeBody(bytes: Buffer): Buffer | undefined {
  const fragments: Buffer[] = [];
  let offset = 0;
  while (offset + 5 <= bytes.length) {
    const type = bytes[offset];
    const length = bytes.readUInt16BE(offset + 3);
    if (offset + 5 + length > bytes.length) break;
    if (type !== 22) throw new Error(`expected a handshake record, got type ${type}`);
    fragments.push(bytes.subarray(offset + 5, offset + 5 + length));
    offset += 5 + length;
  }
  const message = Buffer.concat(fragments);
  if (message.length < 4) return undefined;
  if (message[0] !== 1) throw new Error('first handshake message is not a ClientHello');
  const length = message.readUIntBE(1, 3);
  return message.length >= 4 + length ? message.subarray(4, 4 + length) : undefined;
}

function parseClientHello(body: Buffer): RecordedHello {
  let p = 2 + 32; // legacy_version, random
  const sidLength = body[p] ?? 0;
  const sessionId = Buffer.from(body.subarray(p + 1, p + 1 + sidLength));
  p += 1 + sidLength;
  p += 2 + body.readUInt16BE(p); // cipher_suites
  p += 1 + (body[p] ?? 0); // compression_methods
  const result: RecordedHello = { pskIdentities: [], sessionTicket: undefined, sessionId };
  if (p >= body.length) return result;
  const end = p + 2 + body.readUInt16BE(p);
  p += 2;
  while (p + 4 <= end) {
    const type = body.readUInt16BE(p);
    const length = body.readUInt16BE(p + 2);
    const data = body.subarray(p + 4, p + 4 + length);
    if (type === 35) result.sessionTicket = Buffer.from(data);
    if (type === 41) {
      const idsEnd = 2 + data.readUInt16BE(0);
      let q = 2;
      while (q + 2 <= idsEnd) {
        const n = data.readUInt16BE(q);
        result.pskIdentities.push(Buffer.from(data.subarray(q + 2, q + 2 + n)));
        q += 2 + n + 4; // identity, obfuscated_ticket_age
      }
    }
    p += 4 + length;
  }
  return result;
}
