/**
 * One server of bench/tickets-ring.ts, in a process of its own:
 * `node --import tsx bench/tickets-child.ts single|ring` with the key and certificate PEM on
 * stdin as JSON. `single`: Node's one 48-byte `ticketKeys`. `ring`: a TicketKeyRing holding
 * four keys (current, next and two demoted by rotations), as a server in production holds.
 * Prints the port, answers each request with a short HTTP response and a clean end; each
 * further stdin line is answered with the process's CPU time so far (µs) and the number of
 * handshakes; exits when stdin closes.
 */
import { randomBytes } from 'node:crypto';
import { once } from 'node:events';
import type { AddressInfo } from 'node:net';
import { createInterface } from 'node:readline';
import tls from 'node:tls';
import { TicketKeyRing } from '../src/tickets/index.js';

const mode = process.argv[2];
if (mode !== 'single' && mode !== 'ring') {
  process.stderr.write('usage: tickets-child.ts single|ring\n');
  process.exit(2);
}

const lines = createInterface({ input: process.stdin });
lines.once('close', () => process.exit(0));
const [first] = (await once(lines, 'line')) as [string];
const { key, cert } = JSON.parse(first) as { key: string; cert: string };
let handshakes = 0;
lines.on('line', () => {
  const cpu = process.cpuUsage();
  process.stdout.write(`${cpu.user + cpu.system} ${handshakes}\n`);
});

const RESPONSE = 'HTTP/1.0 200 OK\r\nContent-Length: 3\r\n\r\nok\n';
const server = tls.createServer({ key, cert, ticketKeys: randomBytes(48) }, (socket) => {
  handshakes++;
  socket.on('error', () => {});
  socket.once('data', () => socket.end(RESPONSE));
});
server.on('tlsClientError', () => {});
if (mode === 'ring') {
  const ring = new TicketKeyRing();
  await ring.rotate();
  await ring.rotate();
  ring.attach(server);
}
server.listen(0, '127.0.0.1', () => {
  process.stdout.write(`${(server.address() as AddressInfo).port}\n`);
});
