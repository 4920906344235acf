/**
 * One server set-up of bench/server-resume.ts, in a process of its own:
 * `node --import tsx bench/server-child.ts <mode>`, the key and certificate PEM on stdin as a
 * JSON line. Modes: `plain` (Node's defaults: stateless tickets), `map` (SSL_OP_NO_TICKET and a bare
 * Map in 'newSession'/'resumeSession'), `cache` (ServerSessionCache, stateful), `peek` (Node's defaults behind the
 * ClientHello reader only). Prints the port,
 * answers each request with a short HTTP response and a clean end, reports its CPU time on
 * request, exits when stdin closes.
 */
import { constants } from 'node:crypto';
import { once } from 'node:events';
import type { AddressInfo, Socket } from 'node:net';
import { createInterface } from 'node:readline';
import tls from 'node:tls';
import { ServerSessionCache } from '../src/server/index.js';
import { peekClientHello } from '../src/wire/index.js';

type Mode = 'plain' | 'map' | 'cache' | 'peek';
const mode = process.argv[2] as Mode;
if (mode !== 'plain' && mode !== 'map' && mode !== 'cache' && mode !== 'peek') {
  process.stderr.write('usage: server-child.ts plain|map|cache|peek\n');
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
  process.stdout.write(`${u.user + u.system}\n`);
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
if (mode === 'cache') new ServerSessionCache().attach(server);
if (mode === 'peek') {
  // The ClientHello reader alone, as the cache runs it, in front of Node's own listener.
  const original = server.listeners('connection')[0] as (socket: Socket) => void;
  server.removeAllListeners('connection');
  server.on('connection', (socket: Socket) => {
    peekClientHello(socket, { timeoutMs: 5000 }).then(() => {
      if (!socket.destroyed) original.call(server, socket);
    });
  });
}
server.listen(0, '127.0.0.1', () => {
  process.stdout.write(`${(server.address() as AddressInfo).port}\n`);
});
