/**
 * A TCP relay on loopback between a client and a server that can also act on its own: inject
 * bytes towards either end (a garbage TLS record) or close one side with a bare FIN, as a peer
 * that never sent close_notify does. One connection at a time; closed by the caller (t.after).
 */
import { once } from 'node:events';
import { type AddressInfo, connect, createServer, type Server, type Socket } from 'node:net';

export interface TamperProxy {
  readonly port: number;
  /** Bytes written to the server as if the client had sent them. */
  toServer(bytes: Uint8Array): void;
  /** Bytes written to the client as if the server had sent them. */
  toClient(bytes: Uint8Array): void;
  /** Stops relaying the client's bytes and ends the server's side with a bare FIN (no close_notify). */
  finToServer(): void;
  close(): Promise<void>;
}

/** An application-data record of TLS 1.2 / 1.3 framing whose content no key decrypts. */
export const GARBAGE_RECORD = Buffer.from([0x17, 0x03, 0x03, 0x00, 0x20, ...Buffer.alloc(32, 0x5a)]);

/** Relays connections made to the returned port to `target` on 127.0.0.1. */
export async function tamperProxy(target: number): Promise<TamperProxy> {
  const sockets = new Set<Socket>();
  let client: Socket | undefined;
  let upstream: Socket | undefined;
  let relayToServer = true;
  const server: Server = createServer((down) => {
    const up = connect(target, '127.0.0.1');
    client = down;
    upstream = up;
    relayToServer = true;
    for (const s of [down, up]) {
      sockets.add(s);
      s.on('error', () => {});
      s.once('close', () => sockets.delete(s));
    }
    down.on('data', (chunk: Buffer) => {
      if (relayToServer) up.write(chunk);
    });
    up.on('data', (chunk: Buffer) => down.write(chunk));
    down.on('end', () => {
      if (relayToServer) up.end();
    });
    up.on('end', () => down.end());
  });
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  return {
    port: (server.address() as AddressInfo).port,
    toServer(bytes) {
      upstream?.write(bytes);
    },
    toClient(bytes) {
      client?.write(bytes);
    },
    finToServer() {
      relayToServer = false;
      upstream?.end();
    },
    close() {
      for (const s of sockets) s.destroy();
      return new Promise((resolve) => server.close(() => resolve()));
    },
  };
}
