/**
 * Reads a freshly accepted socket's first bytes into one buffer shared by every connection,
 * instead of through the socket's stream.
 *
 * Why (src/node/shared-read.ts): a stream read hands JavaScript a view into an ArrayBuffer that
 * Node allocates for each read. Reading the ClientHello that way left one such buffer per
 * connection for the garbage collector, and their external memory started a major collection
 * about every 150 connections: on a TLS 1.2 resumption, about 240 000 of the 290 000
 * instructions the ClientHello tap added (bench/server-resume.ts, callgrind). Node's TLS stack
 * never pays this: it reads the socket in C++.
 *
 * How: Node's own `onread: { buffer, callback }` option of `net.Socket` (a client-side option,
 * which `net.Server` does not offer for accepted sockets) is three internals on the socket: the
 * `useUserBuffer()` method of its handle and two symbol-keyed fields, `kBuffer` and `kBufferCb`,
 * that `onStreamRead` (lib/internal/stream_base_commons.js) checks on every read, 20.x to 26.x.
 * {@link FirstRead} sets them as that option would; {@link readsIntoSharedBuffer} says whether
 * they are all there, and the caller reads through the stream when they are not.
 *
 * The socket's handle is never stopped: it goes on reading, as an accepted socket does, and the
 * TLS stack that wraps it next finds it reading, exactly as it finds a socket nobody looked at
 * (stopping and restarting it cost a round of calls per connection for nothing). Bytes that
 * arrive once the reader has had what it wanted go to the socket's stream, as a stream read
 * would put them; the TLS stack reads the stream's bytes first. End of stream and errors still
 * go through the stream ('end', 'error', 'close').
 */
import type { Socket } from 'node:net';
import { SHARED_READ_BUFFER as SHARED, takeSharedRead } from './shared-read.js';

/**
 * Takes one read's bytes (a copy the reader owns): returns `true` when it took them, `false`
 * when it no longer wants the socket's bytes; they then go to the socket's stream.
 */
export type FirstReadChunk = (socket: Socket, chunk: Buffer) => boolean;

interface ReadingHandle {
  reading?: boolean;
  useUserBuffer?: (buffer: Uint8Array) => void;
  readStart?: () => number;
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

/** Whether this Node lets a {@link FirstRead} read `socket` into the shared buffer. */
export function readsIntoSharedBuffer(socket: Socket): boolean {
  const handle = handleOf(socket);
  const f = fieldsOf(socket);
  return (
    f !== null &&
    handle !== undefined &&
    typeof handle.useUserBuffer === 'function' &&
    typeof handle.readStart === 'function' &&
    (socket as unknown as Record<symbol, unknown>)[f.buffer] === null
  );
}

/** Reads sockets' first bytes into the shared buffer for one reader (one per use, made once). */
export class FirstRead {
  /** `kBufferCb`: called by `onStreamRead` as a method of the socket, once per read of n > 0 bytes. */
  readonly #onRead: (this: Socket, nread: number) => boolean;

  constructor(reader: FirstReadChunk) {
    this.#onRead = function onRead(this: Socket, nread: number): boolean {
      const chunk = takeSharedRead(nread);
      // Returning false asks Node to stop reading: only when the stream is full.
      return reader(this, chunk) || this.push(chunk);
    };
  }

  /**
   * Reads `socket` into the shared buffer and hands each read's bytes, copied, to the reader.
   * Call only when {@link readsIntoSharedBuffer} said yes, on a socket whose stream has not been
   * read.
   */
  start(socket: Socket): void {
    const handle = handleOf(socket)!;
    const f = fieldsOf(socket)!;
    const s = socket as unknown as Record<symbol, unknown>;
    s[f.buffer] = SHARED;
    s[f.callback] = this.#onRead;
    handle.useUserBuffer!(SHARED);
    // An accepted socket already reads (net.Socket calls read(0) when it is made); as Node's
    // tryReadStart does otherwise.
    if (handle.reading !== true) {
      handle.reading = true;
      const err = handle.readStart!();
      if (err !== 0) socket.destroy(new Error(`read start failed (${err})`));
    }
  }
}
