/**
 * The ClientHello tap on its own, over real sockets: what each outcome hands on, that the bytes
 * read are put back in front of everything that follows, and that a failing outcome callback
 * neither stops the others nor goes unseen.
 */
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { once } from 'node:events';
import net, { type AddressInfo, type Socket } from 'node:net';
import { test } from 'node:test';
import tls from 'node:tls';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { HelloTap, type TapOutcome } from '../../src/server/hello-tap.js';
import { waitFor } from '../helpers/index.js';

const run = promisify(execFile);

interface Ended {
  socket: Socket;
  outcome: TapOutcome;
  flight: Buffer | undefined;
}

/** A plain TCP server whose connections go through a tap (timeout `ms`); its outcomes in order. */
async function tapped(
  t: { after: (fn: () => void) => void },
  ms: number,
  options: net.ServerOpts = {},
): Promise<{ port: number; ended: Ended[] }> {
  const ended: Ended[] = [];
  const tap = new HelloTap(ms, (socket, outcome, flight) => ended.push({ socket, outcome, flight }));
  const server = net.createServer(options, (socket) => {
    socket.on('error', () => {});
    t.after(() => socket.destroy());
    tap.start(socket);
  });
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  t.after(() => server.close());
  return { port: (server.address() as AddressInfo).port, ended };
}

/** Everything `socket`'s stream yields within `ms`. */
async function streamed(socket: Socket, ms: number): Promise<Buffer> {
  const chunks: Buffer[] = [];
  socket.on('data', (c: Buffer) => chunks.push(c));
  await new Promise((r) => setTimeout(r, ms));
  return Buffer.concat(chunks);
}

/** A real ClientHello from Node's TLS client, naming `servername`. */
async function realHello(t: { after: (fn: () => void) => void }, servername: string): Promise<Buffer> {
  const server = net.createServer();
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  t.after(() => server.close());
  const client = tls.connect({ port: (server.address() as AddressInfo).port, host: '127.0.0.1', servername });
  client.on('error', () => {});
  t.after(() => client.destroy());
  const [socket] = (await once(server, 'connection')) as [Socket];
  t.after(() => socket.destroy());
  const [hello] = (await once(socket, 'data')) as [Buffer];
  return hello;
}

test('a ClientHello is handed on whole, and put back before the bytes that follow it', async (t) => {
  const hello = await realHello(t, 'tap.example');
  const { port, ended } = await tapped(t, 5000);
  const client = net.connect({ port, host: '127.0.0.1' });
  client.on('error', () => {});
  t.after(() => client.destroy());
  client.write(hello);
  const [e] = await waitFor(() => (ended.length > 0 ? ended : undefined), { what: 'the outcome' });
  assert.equal(e!.outcome, 'hello');
  assert.deepEqual(e!.flight, hello);
  // Bytes read after the hello (the tap no longer takes them) reach the stream after it.
  client.write('after');
  const bytes = await streamed(e!.socket, 100);
  assert.deepEqual(bytes, Buffer.concat([hello, Buffer.from('after')]));
});

test('bytes that are not a ClientHello are stepped aside and reach the stream unchanged', async (t) => {
  const { port, ended } = await tapped(t, 5000);
  const client = net.connect({ port, host: '127.0.0.1' });
  client.on('error', () => {});
  t.after(() => client.destroy());
  client.write('GET / HTTP/1.1\r\n\r\n');
  const [e] = await waitFor(() => (ended.length > 0 ? ended : undefined), { what: 'the outcome' });
  assert.equal(e!.outcome, 'aside');
  assert.equal(e!.flight, undefined);
  client.write('more');
  assert.equal((await streamed(e!.socket, 100)).toString(), 'GET / HTTP/1.1\r\n\r\nmore');
});

test('a peer that leaves before its hello is gone at once, not at the timeout', async (t) => {
  for (const allowHalfOpen of [false, true]) {
    const { port, ended } = await tapped(t, 60_000, { allowHalfOpen });
    const client = net.connect({ port, host: '127.0.0.1' });
    client.on('error', () => {});
    t.after(() => client.destroy());
    await once(client, 'connect');
    // Half a record header, then the end of the client's input.
    client.end(Buffer.from([0x16, 0x03]));
    const [e] = await waitFor(() => (ended.length > 0 ? ended : undefined), {
      what: `the outcome (allowHalfOpen ${allowHalfOpen})`,
    });
    assert.equal(e!.outcome, 'gone', `allowHalfOpen ${allowHalfOpen}`);
  }
});

test('an outcome callback that throws: the other sockets are still handed on, the error is not lost', async () => {
  const fixture = fileURLToPath(new URL('./fixtures/tap-throwing-done.ts', import.meta.url));
  const result = await run(process.execPath, ['--import', 'tsx', fixture], { timeout: 20_000 }).then(
    (r) => ({ code: 0, stdout: r.stdout, stderr: r.stderr }),
    (err: { code?: number; stdout: string; stderr: string }) => ({
      code: err.code,
      stdout: err.stdout,
      stderr: err.stderr,
    }),
  );
  assert.equal(result.stdout, 'second handed on: gone\n');
  assert.notEqual(result.code, 0, 'the error surfaced as an uncaught exception');
  assert.match(result.stderr, /outcome callback failed/);
});
