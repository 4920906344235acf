/**
 * Guards src/node/first-read.ts on the Node line that runs the suite: an accepted socket's first
 * bytes can be read into the shared buffer, arrive in order as small copies while the reader
 * takes them, and whatever comes later reaches the socket's stream, after bytes put back.
 */
import assert from 'node:assert/strict';
import { once } from 'node:events';
import { type AddressInfo, connect, createServer, type Socket } from 'node:net';
import { test } from 'node:test';
import { FirstRead, readsIntoSharedBuffer } from '../../src/node/index.js';

const CHANGED = 'Node changed the internals of net.Socket reads into a user buffer (src/node/first-read.ts)';

async function accepted(t: { after: (fn: () => void) => void }): Promise<{ server: Socket; client: Socket }> {
  const listener = createServer();
  listener.listen(0, '127.0.0.1');
  await once(listener, 'listening');
  t.after(() => listener.close());
  const client = connect((listener.address() as AddressInfo).port, '127.0.0.1');
  client.on('error', () => {});
  t.after(() => client.destroy());
  const [server] = (await once(listener, 'connection')) as [Socket];
  server.on('error', () => {});
  t.after(() => server.destroy());
  return { server, client };
}

test('an accepted socket can be read into the shared buffer on this Node', async (t) => {
  const { server } = await accepted(t);
  assert.equal(readsIntoSharedBuffer(server), true, CHANGED);
});

test('reads arrive in order as small copies while the reader takes them; later bytes reach the stream', async (t) => {
  const { server, client } = await accepted(t);
  const chunks: Buffer[] = [];
  let taking = true;
  const done = new Promise<void>((resolve) => {
    new FirstRead((socket, chunk) => {
      assert.equal(socket, server);
      if (!taking) return false;
      chunks.push(chunk);
      if (Buffer.concat(chunks).length >= 3) {
        taking = false;
        resolve();
      }
      return true;
    }).start(server);
  });
  client.write('a');
  await new Promise((r) => setTimeout(r, 20));
  client.write('bc');
  await done;
  assert.equal(Buffer.concat(chunks).toString(), 'abc');
  // Copies from Node's Buffer pool, shared by many allocations: a stream read would bring an
  // ArrayBuffer of its own (of the read's length) for the collector to account for.
  for (const c of chunks) assert.ok(c.buffer.byteLength >= Buffer.poolSize, 'a chunk not from the Buffer pool');
  // Bytes put back come first; what the reader no longer takes reaches the stream after them.
  server.unshift(Buffer.concat(chunks));
  client.write('de');
  await new Promise((r) => setTimeout(r, 20));
  const rest: Buffer[] = [];
  server.on('data', (c: Buffer) => rest.push(c));
  client.end('f');
  await once(server, 'end');
  assert.equal(Buffer.concat(rest).toString(), 'abcdef');
});

test('a peer that ends before sending anything ends the stream', async (t) => {
  const { server, client } = await accepted(t);
  let reads = 0;
  new FirstRead(() => {
    reads++;
    return true;
  }).start(server);
  const ended = once(server, 'end');
  server.resume();
  client.end();
  await ended;
  assert.equal(reads, 0);
});
