/**
 * Waits for the ClientHello of every new connection, for the cache, at the lowest cost per
 * connection, and hands it on unparsed: most handshakes never need it (a full handshake's
 * server name comes from OpenSSL once it has read the hello), and the cache parses it only when
 * a session lookup does.
 *
 * The bytes are read into one buffer shared by all connections (src/node/first-read.ts; through
 * the socket's stream where Node lacks what that needs) and put back with `unshift`, in order,
 * before the TLS stack takes the socket (as `peekClientHello()` does). What runs on every
 * handshake is kept to what the tap needs: the usual first chunk, one record holding the whole
 * hello, is recognised from its headers; anything else goes through the wire module's
 * `ClientHelloReader`, which judges it exactly as before. One timer serves every connection
 * waiting for its hello (a {@link DeadlineQueue}: their deadlines come in arrival order, and it
 * is also the list of sockets being tapped), the listeners are functions of the tap shared by
 * its sockets, and the outcome is a callback.
 */
import type { Socket } from 'node:net';
import { FirstRead, readsIntoSharedBuffer } from '../node/first-read.js';
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

/** A hello that did not come whole in the first read: what was read so far. */
interface Partial {
  reader: ClientHelloReader;
  chunks: Buffer[];
  size: number;
}

export class HelloTap {
  readonly #done: TapDone;
  /** Sockets waiting for their hello; a socket still waiting at its deadline is stepped aside. */
  readonly #waiting: DeadlineQueue<Socket>;
  /** Sockets whose first read was not a whole hello (rare). */
  readonly #partial = new Map<Socket, Partial>();
  /** Sockets read through their stream, where Node lacks what {@link FirstRead} needs. */
  readonly #streamed = new Set<Socket>();
  readonly #firstRead = new FirstRead((socket, chunk) => this.#onChunk(socket, chunk));
  /**
   * Outcomes waiting to be handed on, three slots each (socket, outcome, flight), and one
   * microtask for all of them: a closure and a microtask per connection cost more. The array
   * keeps its size once grown (slots are cleared as they are handed on): setting its length or
   * growing it again costs a call into the runtime per connection.
   */
  readonly #outcomes: Array<Socket | TapOutcome | Buffer | undefined> = [];
  #queued = 0;
  readonly #handOn = (): void => {
    const q = this.#outcomes;
    // A hand-off can end another tap, which appends: read to the end.
    for (let i = 0; i < this.#queued; i += 3) {
      const socket = q[i] as Socket;
      const outcome = q[i + 1] as TapOutcome;
      const flight = q[i + 2] as Buffer | undefined;
      q[i] = q[i + 1] = q[i + 2] = undefined;
      try {
        this.#done(socket, outcome, flight);
      } catch (err) {
        // Thrown on as an uncaught exception, as from a microtask of its own; the others still go.
        process.nextTick(() => {
          throw err;
        });
      }
    }
    this.#queued = 0;
  };
  /** Listeners, one of each for all the tap's sockets; `this` is the socket. */
  readonly #onData: (this: Socket, chunk: Buffer) => void;
  readonly #onGone: (this: Socket) => void;

  constructor(timeoutMs: number, done: TapDone) {
    this.#done = done;
    const tap = this;
    this.#onData = function onData(chunk) {
      tap.#onChunk(this, chunk);
    };
    this.#onGone = function onGone() {
      if (tap.#waiting.has(this)) tap.#finish(this, 'gone', undefined);
    };
    this.#waiting = new DeadlineQueue<Socket>(timeoutMs, (socket) => {
      this.#finish(socket, socket.destroyed ? 'gone' : 'aside', this.#partial.get(socket)?.chunks);
    });
  }

  /** Starts reading `socket`'s first flight; `done` is called once, in a microtask or later. */
  start(socket: Socket): void {
    if (socket.destroyed || socket.readableEnded || socket.readableEncoding !== null) {
      this.#handOnLater(socket, socket.destroyed || socket.readableEnded ? 'gone' : 'aside', undefined);
      return;
    }
    this.#waiting.add(socket);
    // Errors must be listened to (or they would be thrown); 'close' follows them and an end of
    // input, unless the server keeps half-open sockets, where 'end' alone says the hello is over.
    socket.on('error', this.#onGone);
    socket.on('close', this.#onGone);
    if (socket.allowHalfOpen) socket.on('end', this.#onGone);
    // Not a stream read where it can be helped (src/node/first-read.ts says why). A stream
    // already read from, or already holding bytes, is read as a stream.
    if (socket.readableLength === 0 && readsIntoSharedBuffer(socket)) {
      this.#firstRead.start(socket);
    } else {
      this.#streamed.add(socket);
      // A 'data' listener resumes the stream; bytes already buffered arrive first.
      socket.on('data', this.#onData);
    }
  }

  /** A read of the first flight; false when the socket is no longer tapped (the bytes are not taken). */
  #onChunk(socket: Socket, chunk: Buffer): boolean {
    if (!this.#waiting.has(socket)) return false;
    let partial = this.#partial.size === 0 ? undefined : this.#partial.get(socket);
    if (partial === undefined) {
      // First chunk: the usual case needs no reader and no copy.
      if (singleRecordHelloLength(chunk, DEFAULT_MAX_HELLO_BYTES) >= 0) {
        this.#finish(socket, 'hello', [chunk]);
        return true;
      }
      partial = { reader: new ClientHelloReader(), chunks: [], size: 0 };
      this.#partial.set(socket, partial);
    }
    partial.chunks.push(chunk);
    partial.size += chunk.length;
    let status: string;
    try {
      status = partial.reader.feed(chunk);
    } catch {
      // A throw here would escape from the socket's read: step aside instead.
      status = 'invalid';
    }
    if (status !== 'need-more') this.#finish(socket, status === 'complete' ? 'hello' : 'aside', partial.chunks);
    return true;
  }

  /** Ends a tap: stops listening, puts the bytes back (unless the socket is gone), reports. */
  #finish(socket: Socket, outcome: TapOutcome, chunks: Buffer[] | undefined): void {
    this.#waiting.delete(socket);
    if (this.#partial.size > 0) this.#partial.delete(socket);
    if (this.#streamed.size > 0 && this.#streamed.delete(socket)) {
      // Inside a 'data' handler this stops the flow loop at once.
      socket.pause();
      socket.removeListener('data', this.#onData);
    }
    socket.removeListener('error', this.#onGone);
    socket.removeListener('close', this.#onGone);
    if (socket.allowHalfOpen) socket.removeListener('end', this.#onGone);
    let flight: Buffer | undefined;
    if (outcome !== 'gone' && !socket.destroyed && chunks !== undefined && chunks.length > 0) {
      flight = chunks.length === 1 ? chunks[0]! : Buffer.concat(chunks);
      socket.unshift(flight);
    }
    this.#handOnLater(socket, outcome, outcome === 'hello' ? flight : undefined);
  }

  /** Hands on in a microtask, outside the socket's read: the caller gives the socket to the TLS stack. */
  #handOnLater(socket: Socket, outcome: TapOutcome, flight: Buffer | undefined): void {
    const q = this.#outcomes;
    const at = this.#queued;
    this.#queued = at + 3;
    q[at] = socket;
    q[at + 1] = outcome;
    q[at + 2] = flight;
    if (at === 0) queueMicrotask(this.#handOn);
  }
}
