/**
 * One server set-up of bench/server-resume.ts, in a process of its own:
 * `node --import tsx bench/server-child.ts <mode>`, the key and certificate PEM on stdin as a
 * JSON line. Modes: `plain` (Node's defaults: stateless tickets), `map` (SSL_OP_NO_TICKET and a bare
 * Map in 'newSession'/'resumeSession'), `cache` (ServerSessionCache, tickets 'stateful': its lookup path), `auto` (ServerSessionCache as configured by
 * default, tickets 'auto'), `peek` (Node's defaults behind the
 * ClientHello reader only), `redis` (ServerSessionCache over RedisStore at BENCH_REDIS), `ring` (Node's tickets from a
 * TicketKeyRing). Prints the port,
 * answers each request with a short HTTP response and a clean end, reports its CPU time on
 * request, exits when stdin closes.
 */
import { constants } from 'node:crypto';
import { once } from 'node:events';
import type { AddressInfo, Socket } from 'node:net';
import { createInterface } from 'node:readline';
import tls from 'node:tls';
import { ServerSessionCache } from '../src/server/index.js';
import { RedisStore } from '../src/stores/redis-store.js';
import { TicketKeyRing } from '../src/tickets/index.js';
import { HelloTap } from '../src/server/hello-tap.js';

// tsx turns source maps on; they make every Error stack costly (Node reads err.stack on each
// destroy(err)), which a compiled server does not pay. Measure the compiled behaviour.
process.setSourceMapsEnabled(false);

type Mode = 'plain' | 'map' | 'cache' | 'auto' | 'peek' | 'redis' | 'ring';
const MODES: readonly string[] = ['plain', 'map', 'cache', 'auto', 'peek', 'redis', 'ring'];
const mode = process.argv[2] as Mode;
if (!MODES.includes(mode)) {
  process.stderr.write(`usage: server-child.ts ${MODES.join('|')}\n`);
  process.exit(2);
}

// stdin: the credentials as one JSON line, then `cpu` lines (answered with the CPU time used so
// far, in µs); its end stops the server.
const lines = createInterface({ input: process.stdin });
const [first] = (await once(lines, 'line')) as [string];
const { key, cert } = JSON.parse(first) as { key: string; cert: string };
lines.on('line', (line) => {
  if (line !== 'cpu') return;
  const u = process.cpuUsage();
  // Total CPU so far, and the median CPU of the connections that closed since the last report.
  perConnection.sort((a, b) => a - b);
  const median = perConnection.length === 0 ? 0 : perConnection[perConnection.length >> 1]!;
  perConnection.length = 0;
  process.stdout.write(`${u.user + u.system} ${median}\n`);
});
lines.once('close', () => process.exit(0));

const RESPONSE = 'HTTP/1.0 200 OK\r\nContent-Length: 3\r\n\r\nok\n';
const server = tls.createServer(
  { key, cert, secureOptions: mode === 'map' ? constants.SSL_OP_NO_TICKET : 0 },
  (socket) => {
    socket.on('error', () => {});
    // s_time -www sends a GET; the Node load client sends one line too.
    socket.once('data', () => socket.end(RESPONSE));
  },
);
server.on('tlsClientError', () => {});
// Per-connection CPU: the client makes one connection at a time, so the process's CPU between
// a raw socket's arrival and its close is that connection's (a median shrugs off GC pauses).
const perConnection: number[] = [];
const kStart = Symbol('cpu-start');
server.prependListener('connection', (socket: Socket & { [kStart]?: number }) => {
  const u = process.cpuUsage();
  socket[kStart] = u.user + u.system;
  socket.once('close', () => {
    const v = process.cpuUsage();
    perConnection.push(v.user + v.system - socket[kStart]!);
  });
});
if (mode === 'map') {
  const map = new Map<string, Buffer>();
  server.on('newSession', (id: Buffer, data: Buffer, done: () => void) => {
    map.set(id.toString('hex'), data);
    done();
  });
  server.on('resumeSession', (id: Buffer, done: (err: Error | null, data: Buffer | null) => void) => {
    done(null, map.get(id.toString('hex')) ?? null);
  });
}
// The cache's own lookup path, TLS 1.2 by session id: with the default tickets 'auto', a TLS 1.2
// client that asks for a ticket would resume by Node's stateless ticket and never reach the cache.
if (mode === 'cache') new ServerSessionCache({ tickets: 'stateful' }).attach(server);
// The default configuration (tickets 'auto': TLS 1.3 stateful, TLS 1.2 session ids and Node's tickets).
if (mode === 'auto') new ServerSessionCache().attach(server);
if (mode === 'ring') {
  // Node's stateless tickets from a TicketKeyRing holding four keys (current, next and two
  // demoted by rotations), as a server in production holds, instead of Node's one key.
  const ring = new TicketKeyRing();
  await ring.rotate();
  await ring.rotate();
  ring.attach(server);
}
if (mode === 'redis') {
  // The cache over RedisStore on the loopback redis-server named by BENCH_REDIS.
  const store = new RedisStore({ url: process.env['BENCH_REDIS']!, prefix: 'bench-instructions:' });
  await store.ready();
  new ServerSessionCache({ store, tickets: 'stateful' }).attach(server);
}
if (mode === 'peek') {
  // The ClientHello tap alone, as the cache runs it (it waits for a whole hello; the cache parses
  // it only for lookups), in front of Node's own listener.
  const original = server.listeners('connection').find((f) => f.name === 'tlsConnectionListener') as (
    socket: Socket,
  ) => void;
  server.removeListener('connection', original);
  const tap = new HelloTap(5000, (socket, outcome) => {
    if (outcome === 'gone') socket.destroy();
    else original.call(server, socket);
  });
  server.on('connection', (socket: Socket) => tap.start(socket));
}
server.listen(0, '127.0.0.1', () => {
  process.stdout.write(`${(server.address() as AddressInfo).port}\n`);
});
