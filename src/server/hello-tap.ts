/**
 * Waits for the ClientHello of every new connection, for the cache, at the lowest cost per
 * connection, and hands it on unparsed: most handshakes never need it (a full handshake's
 * server name comes from OpenSSL once it has read the hello), and the cache parses it only when
 * a session lookup does.
 *
 * The bytes are read into one buffer shared by all connections (src/node/first-read.ts; through
 * the socket's stream where Node lacks what that needs) and put back with `unshift`, in order,
 * before the TLS stack takes the socket (as `peekClientHello()` does), without what costs on every
 * handshake there: a timer, a promise and four listeners per connection, a reader object and a
 * parse. The usual first chunk, one record holding the whole hello, is recognised from its
 * headers; anything else goes through the wire module's `ClientHelloReader`, which judges it
 * exactly as before. One timer serves every connection waiting for its hello (a
 * {@link DeadlineQueue}: their deadlines come in arrival order), the listeners are shared
 * functions, and the outcome is a callback.
 */
import type { Socket } from 'node:net';
import { readsIntoSharedBuffer, startFirstRead, stopFirstRead } from '../node/first-read.js';
import { DeadlineQueue } from '../util/deadline-queue.js';
import { ClientHelloReader, DEFAULT_MAX_HELLO_BYTES, singleRecordHelloLength } from '../wire/index.js';

/**
 * How a tap ended:
 * - `hello`: a whole ClientHello arrived (its body is checked when it is parsed);
 * - `aside`: not a ClientHello the cache understands, or too slow; the bytes are back in the
 *   socket and the TLS stack answers as it would have;
 * - `gone`: the socket failed or closed first; nothing is left to hand on.
 */
export type TapOutcome = 'hello' | 'aside' | 'gone';

/** `flight`: with `hello`, every byte read, in one piece (the records holding the hello first). */
export type TapDone = (socket: Socket, outcome: TapOutcome, flight: Buffer | undefined) => void;

interface Tap {
  owner: HelloTap;
  /** Set once the first chunk is not the usual single-record hello. */
  reader: ClientHelloReader | undefined;
  chunks: Buffer[] | undefined;
  size: number;
}

const taps = new WeakMap<Socket, Tap>();

/** A read of the first flight; false when the tap is over (no more reads wanted). */
function onChunk(socket: Socket, chunk: Buffer): boolean {
  const tap = taps.get(socket);
  if (tap === undefined) return false;
  if (tap.chunks === undefined) {
    // First chunk: the usual case needs no reader and no copy.
    if (singleRecordHelloLength(chunk, DEFAULT_MAX_HELLO_BYTES) >= 0) {
      tap.owner.finish(socket, tap, 'hello', chunk);
      return false;
    }
    tap.chunks = [];
    tap.reader = new ClientHelloReader();
  }
  tap.chunks.push(chunk);
  tap.size += chunk.length;
  let status: string;
  try {
    status = tap.reader!.feed(chunk);
  } catch {
    // A throw here would escape from the socket's 'data' event: step aside instead.
    status = 'invalid';
  }
  if (status === 'need-more') return true;
  const flight = tap.chunks.length === 1 ? tap.chunks[0]! : Buffer.concat(tap.chunks, tap.size);
  tap.owner.finish(socket, tap, status === 'complete' ? 'hello' : 'aside', flight);
  return false;
}

/** The same through the socket's stream, where Node lacks what {@link startFirstRead} needs. */
function onData(this: Socket, chunk: Buffer): void {
  onChunk(this, chunk);
}

function onGone(this: Socket): void {
  const tap = taps.get(this);
  if (tap !== undefined) tap.owner.finish(this, tap, 'gone', undefined);
}

export class HelloTap {
  readonly #done: TapDone;
  /** Sockets waiting for their hello; a socket still waiting at its deadline is stepped aside. */
  readonly #waiting: DeadlineQueue<Socket>;

  constructor(timeoutMs: number, done: TapDone) {
    this.#done = done;
    this.#waiting = new DeadlineQueue<Socket>(timeoutMs, (socket) => {
      const tap = taps.get(socket);
      if (tap !== undefined) this.finish(socket, tap, socket.destroyed ? 'gone' : 'aside', undefined);
    });
  }

  /** Starts reading `socket`'s first flight; `done` is called once, in a microtask or later. */
  start(socket: Socket): void {
    if (socket.destroyed || socket.readableEnded || socket.readableEncoding !== null) {
      queueMicrotask(() => this.#done(socket, socket.destroyed || socket.readableEnded ? 'gone' : 'aside', undefined));
      return;
    }
    taps.set(socket, {
      owner: this,
      reader: undefined,
      chunks: undefined,
      size: 0,
    });
    this.#waiting.add(socket);
    socket.on('error', onGone);
    socket.on('end', onGone);
    socket.on('close', onGone);
    // Not a stream read where it can be helped (src/node/first-read.ts says why). A stream
    // already read from, or already holding bytes, is read as a stream.
    if (socket.readableLength === 0 && readsIntoSharedBuffer(socket)) {
      startFirstRead(socket, onChunk);
    } else {
      // A 'data' listener resumes the stream; bytes already buffered arrive first.
      socket.on('data', onData);
    }
  }

  /**
   * Ends a tap: stops reading, puts the bytes back (unless the socket is gone), reports.
   * `flight` holds every byte read (undefined when none was or the socket is gone).
   */
  finish(socket: Socket, tap: Tap, outcome: TapOutcome, flight: Buffer | undefined): void {
    taps.delete(socket);
    this.#waiting.delete(socket);
    // Pause first: inside a 'data' handler this stops the flow loop at once.
    stopFirstRead(socket);
    socket.pause();
    socket.removeListener('data', onData);
    socket.removeListener('error', onGone);
    socket.removeListener('end', onGone);
    socket.removeListener('close', onGone);
    if (outcome !== 'gone' && !socket.destroyed) {
      const bytes = flight ?? (tap.size === 0 ? undefined : Buffer.concat(tap.chunks!, tap.size));
      if (bytes !== undefined) socket.unshift(bytes);
    }
    const handed = outcome === 'hello' ? flight : undefined;
    // Hand on outside the socket's event: the caller gives the socket to the TLS stack.
    queueMicrotask(() => this.#done(socket, outcome, handed));
  }
}
