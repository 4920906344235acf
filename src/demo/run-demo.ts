import { once } from 'node:events';
import type { AddressInfo } from 'node:net';
import tls from 'node:tls';
import { ClientSessionStore } from '../client/index.js';
import { ServerSessionCache, type ServerSessionCacheStats } from '../server/index.js';
import type { SessionStore } from '../stores/session-store.js';
import { makeThrowawayCert, type ThrowawayKeyType } from './throwaway-cert.js';

/** Protocol versions the demo runs. */
export type DemoProtocol = 'TLSv1.2' | 'TLSv1.3';

/** Options of {@link runDemo}. */
export interface DemoOptions {
  /** Connections per protocol version. Default 200. */
  connections?: number;
  /** Versions to run, in order. Default both. */
  protocols?: DemoProtocol[];
  /**
   * The server certificate's key. Default `'rsa'` (2048 bits), what most servers use; with
   * `'ecdsa'` full handshakes are cheaper, so resumption saves less.
   */
  keyType?: ThrowawayKeyType;
  /** Store behind the server cache (the clients keep theirs in memory). Default: memory. */
  serverStore?: SessionStore;
  /** Called after each measured connection, e.g. for a progress bar; `total` counts them all. */
  onProgress?: (done: number, total: number, protocol: DemoProtocol) => void;
}

/** Figures of one protocol version. */
export interface DemoPhase {
  protocol: DemoProtocol;
  connections: number;
  full: number;
  resumed: number;
  /** resumed / connections. */
  resumptionRate: number;
  /** Median handshake time of full handshakes through the store, ms (null when there were none). */
  medianFullMs: number | null;
  /**
   * Median handshake time of the same number of connections made without any session, ms: the
   * baseline a resumed handshake is compared with (one full handshake alone is a poor median).
   */
  medianBaselineMs: number;
  /** Median handshake time of resumed handshakes, ms (null when there were none). */
  medianResumedMs: number | null;
  /** Sessions (TLS 1.3: tickets) the clients received and kept. */
  sessionsReceived: number;
  /** Stored sessions the clients offered. */
  sessionsOffered: number;
  /** Offers of a session already offered before (TLS 1.3 tickets must be used once: expect 0). */
  repeatedOffers: number;
  /** Server cache counters over this phase. */
  server: ServerSessionCacheStats;
}

/** What {@link runDemo} measured. */
export interface DemoResult {
  phases: DemoPhase[];
  /** Server cache counters over the whole run. */
  server: ServerSessionCacheStats;
}

/**
 * The whole product on loopback: a TLS server with a {@link ServerSessionCache} (stateful
 * sessions, so TLS 1.3 resumption goes through the cache), and clients connecting one after the
 * other through a {@link ClientSessionStore}. Every connection sends a request, reads the
 * answer and closes cleanly. Leaves nothing running.
 */
export async function runDemo(options: DemoOptions = {}): Promise<DemoResult> {
  const n = options.connections ?? 200;
  if (!Number.isInteger(n) || n < 1) throw new RangeError('connections must be a positive integer');
  const protocols = options.protocols ?? ['TLSv1.2', 'TLSv1.3'];
  const { key, cert } = makeThrowawayCert(options.keyType ?? 'rsa');

  const server = tls.createServer({ key, cert, minVersion: 'TLSv1.2' }, (socket) => {
    // Answer after the current tick, so TLS 1.3 tickets leave before the data.
    setImmediate(() => socket.end('ok\n'));
  });
  const cache = new ServerSessionCache({ store: options.serverStore }).attach(server);
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  const { port } = server.address() as AddressInfo;

  const phases: DemoPhase[] = [];
  const total = 2 * n * protocols.length;
  let done = 0;
  try {
    for (const protocol of protocols) {
      const connectOptions: tls.ConnectionOptions = {
        host: '127.0.0.1',
        port,
        servername: 'localhost',
        ca: cert,
        minVersion: protocol,
        maxVersion: protocol,
      };
      // Baseline: full handshakes without any session (after a short warm-up).
      for (let i = 0; i < WARM_UP; i++) await oneConnection(undefined, connectOptions);
      const baseline: number[] = [];
      for (let i = 0; i < n; i++) {
        baseline.push((await oneConnection(undefined, connectOptions)).ms);
        options.onProgress?.(++done, total, protocol);
      }
      const client = new ClientSessionStore();
      // Record what each connection offers, to show that no TLS 1.3 ticket is offered twice.
      const offered = new Set<string>();
      let repeatedOffers = 0;
      client.on('offer', (e) => {
        const id = (e.session.ticket ?? e.session.sessionId).toString('hex');
        if (offered.has(id)) repeatedOffers++;
        offered.add(id);
      });
      const before = cache.stats();
      const full: number[] = [];
      const resumed: number[] = [];
      try {
        for (let i = 0; i < n; i++) {
          const { ms, reused } = await oneConnection(client, connectOptions);
          (reused ? resumed : full).push(ms);
          options.onProgress?.(++done, total, protocol);
        }
        await client.flush();
        const s = client.stats();
        phases.push({
          protocol,
          connections: n,
          full: full.length,
          resumed: resumed.length,
          resumptionRate: resumed.length / n,
          medianFullMs: median(full),
          medianBaselineMs: median(baseline)!,
          medianResumedMs: median(resumed),
          sessionsReceived: s.captured,
          sessionsOffered: s.offered,
          repeatedOffers,
          server: diff(cache.stats(), before),
        });
      } finally {
        await client.close();
      }
    }
  } finally {
    server.close();
    await once(server, 'close');
    cache.detach();
    await options.serverStore?.close();
  }
  return { phases, server: cache.stats() };
}

const WARM_UP = 5;

/**
 * One request over one connection, through `store` or with plain `tls.connect`; the handshake
 * time runs from the call (the store lookup included) to 'secureConnect'.
 */
async function oneConnection(
  store: ClientSessionStore | undefined,
  opts: tls.ConnectionOptions,
): Promise<{ ms: number; reused: boolean }> {
  const start = process.hrtime.bigint();
  let handshakeNs = 0n;
  const onSecure = () => {
    handshakeNs = process.hrtime.bigint() - start;
  };
  const socket = store ? await store.connect(opts, onSecure) : tls.connect(opts, onSecure);
  socket.resume(); // read the answer; the server ends the connection
  const [secure] = await Promise.all([
    new Promise<boolean>((resolve, reject) => {
      socket.once('secureConnect', () => resolve(socket.isSessionReused()));
      socket.once('error', reject);
    }),
    once(socket, 'close'),
  ]);
  return { ms: Number(handshakeNs) / 1e6, reused: secure };
}

function median(xs: number[]): number | null {
  if (xs.length === 0) return null;
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 ? s[m]! : (s[m - 1]! + s[m]!) / 2;
}

/** Counter differences; `number` (sessions held) is a level, kept as is. */
function diff(after: ServerSessionCacheStats, before: ServerSessionCacheStats): ServerSessionCacheStats {
  const out = { ...after };
  for (const k of Object.keys(out) as (keyof ServerSessionCacheStats)[]) {
    if (k !== 'number') out[k] = after[k] - before[k];
  }
  return out;
}
