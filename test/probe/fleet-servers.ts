/**
 * Fleets on loopback for the fleet probe: several servers on one port, each on its own address
 * of 127.0.0.0/8 (Linux routes the whole block to lo, so each address can be bound directly).
 *
 * ```ts
 * const fleet = await startNodeFleet({ hosts: ['127.0.0.2', '127.0.0.3'], cert: pki.server, redisUrl });
 * t.after(() => fleet.close());
 * await probeFleet({ host: 'localhost', port: fleet.port, members: fleet.hosts, ca: pki.ca.cert });
 * ```
 */
import { randomBytes } from 'node:crypto';
import type { Socket } from 'node:net';
import { type Server, createServer } from 'node:tls';
import { ServerSessionCache } from '../../src/server/index.js';
import { EncryptedStore } from '../../src/stores/encrypted-store.js';
import { RedisStore } from '../../src/stores/redis-store.js';
import { TicketKeyRing, type TicketKeyRingOptions } from '../../src/tickets/index.js';
import { type Cert, freePort } from '../helpers/index.js';

/** Addresses of a test fleet: distinct from 127.0.0.1, where the other tests' servers live. */
export const FLEET_HOSTS = ['127.0.0.2', '127.0.0.3', '127.0.0.4'] as const;

/** Options of {@link startNodeFleet}. */
export interface NodeFleetOptions {
  hosts: readonly string[];
  cert: Cert;
  /**
   * Share sessions: every member's ServerSessionCache keeps TLS 1.2 sessions in this Redis, and
   * every member's TicketKeyRing takes its keys from it. Without it, each member has its own
   * cache and its own ring: nothing is shared.
   */
  redisUrl?: string;
  /** Ring options (e.g. a rotation every few seconds). */
  ring?: Pick<TicketKeyRingOptions, 'rotateEvery' | 'grace'>;
  /** Session timeout of the caches, in seconds. Default 300. */
  timeout?: number;
}

/** A running fleet. */
export interface NodeFleet {
  hosts: string[];
  port: number;
  servers: Server[];
  rings: TicketKeyRing[];
  close(): Promise<void>;
}

/** Starts one Node TLS server per host, all on one port, one after the other. */
export async function startNodeFleet(opts: NodeFleetOptions): Promise<NodeFleet> {
  const port = await freePort();
  const kek = { id: 'fleet-kek', key: randomBytes(32) };
  const prefix = `probe-fleet-${randomBytes(4).toString('hex')}:`;
  const servers: Server[] = [];
  const rings: TicketKeyRing[] = [];
  const closers: Array<() => Promise<void>> = [];
  const close = async () => {
    for (const c of closers.reverse()) await c();
  };
  try {
    for (const host of opts.hosts) {
      const sockets = new Set<Socket>();
      const server = createServer({ key: opts.cert.key, cert: opts.cert.cert }, (socket) =>
        setImmediate(() => socket.end('ok\n')),
      );
      server.on('tlsClientError', () => {});
      server.on('connection', (s: Socket) => {
        sockets.add(s);
        s.once('close', () => sockets.delete(s));
      });
      const stores: RedisStore[] = [];
      let cache: ServerSessionCache;
      let ring: TicketKeyRing;
      if (opts.redisUrl !== undefined) {
        const sessions = new RedisStore({ url: opts.redisUrl, prefix: `${prefix}s:`, onError: () => {} });
        const keys = new RedisStore({ url: opts.redisUrl, prefix: `${prefix}k:`, onError: () => {} });
        stores.push(sessions, keys);
        await Promise.all(stores.map((s) => s.ready(5000)));
        cache = new ServerSessionCache({
          store: new EncryptedStore(sessions, { key: kek }),
          tickets: 'stateless',
          timeout: opts.timeout ?? 300,
        }).attach(server);
        ring = new TicketKeyRing({ store: keys, kek, ...opts.ring });
        await ring.start();
      } else {
        cache = new ServerSessionCache({ tickets: 'stateless', timeout: opts.timeout ?? 300 }).attach(server);
        ring = new TicketKeyRing({ ...opts.ring });
      }
      ring.on('error', () => {});
      ring.attach(cache);
      await new Promise<void>((resolve, reject) => {
        server.once('error', reject);
        server.listen(port, host, () => resolve());
      });
      servers.push(server);
      rings.push(ring);
      closers.push(async () => {
        await new Promise<void>((resolve) => {
          server.close(() => resolve());
          for (const s of sockets) s.destroy();
        });
        await ring.close();
        await cache.close();
        for (const s of stores) await s.close();
      });
    }
  } catch (error) {
    await close();
    throw error;
  }
  return { hosts: [...opts.hosts], port, servers, rings, close };
}
