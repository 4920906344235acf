/**
 * An ioredis `Connector` for the connections RedisStore makes itself: they read into one buffer
 * shared by every such connection, through `net.Socket`'s `onread` option, and hand ioredis a
 * copy of each read.
 *
 * Why (src/node/shared-read.ts): a stream read hands JavaScript a view into an ArrayBuffer that
 * Node allocates for that read, and ioredis' decoder returns each reply as a view into it. On a
 * session cache's handshake path that is one ArrayBuffer per Redis reply; their external memory
 * started a
 * major collection about every 170 handshakes (Node 24, `--trace-gc`: 107 Mark-Compacts per
 * 17 800 TLS 1.2 resumptions, 4 over MemoryStore), about 400 000 of the collector's
 * instructions per resumption (bench/server-resume.ts). A copy of a small read comes from
 * Node's 8 KiB pool instead, which has no ArrayBuffer of its own; so a reply is a view into a
 * copy that no other read touches, never into the shared buffer.
 *
 * The connection is made as ioredis' own StandaloneConnector makes it (host, port, family, or
 * path; `tls` options for `rediss://`), with `onread` added; errors, end of stream and close
 * still go through the socket's stream. Each copy reaches ioredis as a 'data' event, in order,
 * as a flowing stream's read would (see {@link onRead}). The shared buffer (the one the
 * ClientHello tap reads into too) is wiped after each read, so no reply stays behind in it. A
 * cluster, a client given by the user, and `redisOptions` that choose their own connector (or
 * Sentinel) keep ioredis' connector.
 */
import { createConnection, type NetConnectOpts, type Socket } from 'node:net';
import { connect as tlsConnect, type ConnectionOptions } from 'node:tls';
import type { AbstractConnector, RedisOptions } from 'ioredis';
import { SHARED_READ_BUFFER as SHARED, takeSharedRead } from '../node/shared-read.js';

type IoRedis = typeof import('ioredis');
type Connector = NonNullable<RedisOptions['Connector']>;

/** The buffer every read lands in: for its test, which checks that it holds nothing after a read. */
export const sharedReadBuffer: Buffer = SHARED;

/** Called by Node for each read of `nread` > 0 bytes into {@link SHARED}, as a method of the socket. */
function onRead(this: Socket, nread: number): boolean {
  const chunk = takeSharedRead(nread);
  // What push() does for a flowing stream with nothing buffered, without what it adds for a
  // paused one (a read-ahead scheduled on the next tick per read: one more step per reply).
  // Anything else (paused, bytes waiting, no reader yet) goes through push() as a stream read.
  if (this.readableFlowing === true && this.readableLength === 0 && this.listenerCount('data') > 0) {
    this.emit('data', chunk);
    return true;
  }
  return this.push(chunk);
}

/** What ioredis passes a connector (the parsed URL and options). */
interface ConnectOptions {
  host?: string | null;
  port?: number | null;
  family?: number | null;
  path?: string | null;
  tls?: ConnectionOptions | boolean | null;
  disconnectTimeout?: number;
}

/**
 * The connector class for `RedisOptions.Connector`, made from the loaded ioredis (an optional
 * peer dependency, so its base class is only known at run time).
 */
export function sharedReadConnector(io: IoRedis): Connector {
  const Base = io.AbstractConnector as unknown as abstract new (
    disconnectTimeout: number,
  ) => AbstractConnector & { connecting: boolean; stream: Socket };
  return class SharedReadConnector extends Base {
    readonly #options: ConnectOptions;

    constructor(options: unknown) {
      const o = options as ConnectOptions;
      super(o.disconnectTimeout ?? 2000);
      this.#options = o;
    }

    connect(): Promise<Socket> {
      const o = this.#options;
      this.connecting = true;
      const target: NetConnectOpts & ConnectionOptions = o.path
        ? { path: o.path }
        : { port: o.port ?? 6379, ...(o.host == null ? {} : { host: o.host }) };
      if (!o.path && o.family != null) (target as { family?: number }).family = o.family;
      if (o.tls !== null && typeof o.tls === 'object') Object.assign(target, o.tls);
      const options = { ...target, onread: { buffer: SHARED, callback: onRead } };
      // As ioredis' StandaloneConnector: on the next tick, and not when disconnected meanwhile.
      return new Promise((resolve, reject) => {
        process.nextTick(() => {
          if (!this.connecting) {
            reject(new Error('Connection is closed.'));
            return;
          }
          let stream: Socket;
          try {
            stream = o.tls ? tlsConnect(options) : createConnection(options);
          } catch (err) {
            reject(err);
            return;
          }
          this.stream = stream;
          stream.once('error', (err) => {
            this.firstError = err;
          });
          resolve(stream);
        });
      });
    }
  } as unknown as Connector;
}
