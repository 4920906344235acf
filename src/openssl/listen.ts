/**
 * A TCP listener to feed SSL_accept, the way C code calls accept(2) before SSL_set_fd. Not an
 * OpenSSL call.
 */
import { createServer, type Server, type Socket } from 'node:net';

/** Options of {@link tcpListen}. */
export interface ListenOptions {
  /** Default '127.0.0.1'. */
  host?: string;
  /** Default 0 (any free port). */
  port?: number;
}

/** A listening socket: accept() the next connection, then SSL_set_fd + SSL_accept it. */
export interface TcpListener {
  readonly host: string;
  readonly port: number;
  /** The next connection (already waiting or still to come); rejects after `timeoutMs` (default 10000). */
  accept(timeoutMs?: number): Promise<Socket>;
  /**
   * Stops listening and destroys connections not accepted yet. Accepted connections belong to
   * their SSL objects and stay open; the returned promise does not wait for them.
   */
  close(): Promise<void>;
}

/** Listens on TCP; connections queue until accept() takes them. */
export function tcpListen(options: ListenOptions = {}): Promise<TcpListener> {
  const host = options.host ?? '127.0.0.1';
  const waiting: Socket[] = [];
  const takers: Array<{ take(s: Socket): void; fail(e: Error): void }> = [];
  let closed = false;
  const server: Server = createServer({ pauseOnConnect: true }, (socket) => {
    const taker = takers.shift();
    if (taker !== undefined) {
      taker.take(socket);
      return;
    }
    waiting.push(socket);
    socket.once('close', () => {
      const i = waiting.indexOf(socket);
      if (i >= 0) waiting.splice(i, 1);
    });
  });
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(options.port ?? 0, host, () => {
      server.off('error', reject);
      const address = server.address();
      const port = typeof address === 'object' && address !== null ? address.port : 0;
      resolve({
        host,
        port,
        accept(timeoutMs = 10_000) {
          const ready = waiting.shift();
          if (ready !== undefined) return Promise.resolve(ready);
          if (closed) return Promise.reject(new Error('tcpListen: the listener is closed'));
          return new Promise<Socket>((res, rej) => {
            const taker = {
              take(s: Socket) {
                clearTimeout(timer);
                res(s);
              },
              fail(e: Error) {
                clearTimeout(timer);
                rej(e);
              },
            };
            const timer = setTimeout(() => {
              const i = takers.indexOf(taker);
              if (i >= 0) takers.splice(i, 1);
              rej(Object.assign(new Error(`tcpListen: no connection within ${timeoutMs} ms`), { code: 'ETIMEDOUT' }));
            }, timeoutMs);
            takers.push(taker);
          });
        },
        close() {
          closed = true;
          for (const s of waiting.splice(0)) s.destroy();
          for (const taker of takers.splice(0)) taker.fail(new Error('tcpListen: the listener was closed'));
          server.close();
          server.unref();
          return Promise.resolve();
        },
      });
    });
  });
}
