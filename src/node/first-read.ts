/**
 * Reads a freshly accepted socket's first bytes into one buffer shared by every connection,
 * instead of through the socket's stream.
 *
 * Why: a stream read hands JavaScript a view into a 64 KiB ArrayBuffer that Node allocates for
 * each read. Reading the ClientHello that way left one such buffer per connection for the
 * garbage collector, and their external memory started a major collection about every 150
 * connections: on a TLS 1.2 resumption, about 240 000 of the 290 000 instructions the
 * ClientHello tap added (bench/server-resume.ts, callgrind). Node's TLS stack never pays this:
 * it reads the socket in C++.
 *
 * How: Node's own `onread: { buffer, callback }` option of `net.Socket` (a client-side option,
 * which `net.Server` does not offer for accepted sockets) is three internals on the socket: the
 * `useUserBuffer()` method of its handle and two symbol-keyed fields, `kBuffer` and `kBufferCb`,
 * that `onStreamRead` (lib/internal/stream_base_commons.js) checks on every read, 20.x to 26.x.
 * This module sets them as that option would; {@link readsIntoSharedBuffer} says whether they
 * are all there, and the caller reads through the stream when they are not.
 *
 * End of stream and errors still go through the stream ('end', 'error', 'close'). Once the first
 * read is over the TLS stack wraps the socket's handle and reads it in C++ itself; should the
 * socket ever read again here, the bytes are pushed to its stream as a stream read would.
 */
import type { Socket } from 'node:net';

/** Bytes read: a copy that the caller owns. Return `false` to stop reading. */
export type FirstReadChunk = (socket: Socket, chunk: Buffer) => boolean;

interface ReadingHandle {
  reading?: boolean;
  useUserBuffer?: (buffer: Uint8Array) => void;
  readStart?: () => number;
  readStop?: () => number;
}

// Node's read size; a read never returns more than the buffer holds.
const SHARED = Buffer.alloc(64 * 1024);
const readers = new WeakMap<Socket, FirstReadChunk>();

/** `kBufferCb`: called by `onStreamRead` as a method of the socket, once per read of n > 0 bytes. */
function onRead(this: Socket, nread: number): boolean {
  // A small copy comes from Node's 8 KiB pool: no ArrayBuffer of its own.
  const chunk = Buffer.allocUnsafe(nread);
  SHARED.copy(chunk, 0, 0, nread);
  // No connection's bytes stay behind in the shared buffer once they are handed on.
  SHARED.fill(0, 0, nread);
  const reader = readers.get(this);
  // After the first read: behave as a stream read.
  if (reader === undefined) return this.push(chunk);
  return reader(this, chunk);
}

interface Fields {
  buffer: symbol;
  callback: symbol;
}

let fields: Fields | null | undefined;

function fieldsOf(socket: Socket): Fields | null {
  if (fields !== undefined) return fields;
  const own = Object.getOwnPropertySymbols(socket);
  const buffer = own.find((s) => s.description === 'kBuffer');
  const callback = own.find((s) => s.description === 'kBufferCb');
  fields = buffer !== undefined && callback !== undefined ? { buffer, callback } : null;
  return fields;
}

function handleOf(socket: Socket): ReadingHandle | undefined {
  return (socket as unknown as { _handle?: ReadingHandle | null })._handle ?? undefined;
}

/** Whether this Node lets {@link startFirstRead} read `socket` into the shared buffer. */
export function readsIntoSharedBuffer(socket: Socket): boolean {
  const handle = handleOf(socket);
  const f = fieldsOf(socket);
  return (
    f !== null &&
    handle !== undefined &&
    typeof handle.useUserBuffer === 'function' &&
    typeof handle.readStart === 'function' &&
    typeof handle.readStop === 'function' &&
    (socket as unknown as Record<symbol, unknown>)[f.buffer] === null
  );
}

/**
 * Reads `socket` into the shared buffer and hands each read's bytes, copied, to `reader` until it
 * returns false or {@link stopFirstRead} is called. Call only when {@link readsIntoSharedBuffer}
 * said yes, on a socket whose stream has not been read.
 */
export function startFirstRead(socket: Socket, reader: FirstReadChunk): void {
  const handle = handleOf(socket)!;
  const f = fieldsOf(socket)!;
  const s = socket as unknown as Record<symbol, unknown>;
  readers.set(socket, reader);
  s[f.buffer] = SHARED;
  s[f.callback] = onRead;
  handle.useUserBuffer!(SHARED);
  // An accepted socket already reads (net.Socket calls read(0) when it is made); as Node's
  // tryReadStart does otherwise.
  if (handle.reading !== true) {
    handle.reading = true;
    const err = handle.readStart!();
    if (err !== 0) socket.destroy(new Error(`read start failed (${err})`));
  }
}

/** Stops reading `socket` (no-op when already stopped); later reads, if any, go to its stream. */
export function stopFirstRead(socket: Socket): void {
  readers.delete(socket);
  const handle = handleOf(socket);
  if (handle?.reading === true && !socket.destroyed) {
    handle.reading = false;
    handle.readStop?.();
  }
}
