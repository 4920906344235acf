/**
 * Reading a ClientHello from a raw TCP socket before a TLS stack takes it over.
 *
 * The bytes are read through the socket's readable stream and put back with `unshift`, in one
 * piece, at the front of its buffer. `tls.TLSSocket` drains that buffer into OpenSSL before
 * reading from the handle itself (`initRead` in Node's lib/_tls_wrap.js), so a TLS server
 * handed the socket afterwards (`server.emit('connection', socket)`) sees the original stream.
 */
import type { Socket } from 'node:net';
import type { ClientHelloInfo } from './client-hello.js';
import { ClientHelloError } from './errors.js';
import { ClientHelloReader } from './record-reader.js';

/** Options of {@link peekClientHello}. */
export interface PeekOptions {
  /** Give up with `ERR_HELLO_TIMEOUT` after this many ms without a complete hello (default 5000). */
  timeoutMs?: number;
  /** Byte limit of the hello's records, headers included (default 16384). */
  maxBytes?: number;
}

/** What {@link peekClientHello} found. Exactly one of `hello` and `error` is set. */
export interface PeekResult {
  /** The parsed ClientHello; its byte fields are views into `bytes`. */
  hello?: ClientHelloInfo;
  /** Why no hello could be read. */
  error?: ClientHelloError;
  /**
   * Every byte read from the socket, in order (possibly more than the hello: whatever arrived
   * in the same chunks). Unless the readable side ended or the socket was destroyed, these
   * bytes are back in the socket's buffer.
   */
  bytes: Buffer;
}

/** Default time a peer gets to send its ClientHello. */
export const DEFAULT_PEEK_TIMEOUT_MS = 5000;

const EMPTY = Buffer.alloc(0);

/**
 * Reads the ClientHello from a fresh server-side `socket`, then leaves the socket paused with
 * every byte read put back, ready for `tlsServer.emit('connection', socket)` or
 * `new tls.TLSSocket(socket, { isServer: true, ... })`.
 *
 * Call it before anything else reads the socket. It never rejects and leaves no listener
 * behind. Reading stops as soon as the hello is complete or cannot be one (`ERR_NOT_TLS`,
 * `ERR_SSLV2_HELLO`, `ERR_HELLO_MALFORMED`, `ERR_HELLO_TOO_LARGE`) or after `timeoutMs`
 * (`ERR_HELLO_TIMEOUT`); in those cases the bytes are put back and the TLS stack can answer the
 * peer as it would have. When the peer ends the stream first (`ERR_HELLO_TRUNCATED`), the socket
 * closes (`ERR_SOCKET_CLOSED`) or fails (`ERR_SOCKET_ERROR`), the readable side is over and the
 * bytes cannot be put back: destroy the socket.
 */
export function peekClientHello(socket: Socket, opts: PeekOptions = {}): Promise<PeekResult> {
  const timeoutMs = opts.timeoutMs ?? DEFAULT_PEEK_TIMEOUT_MS;
  const reader = new ClientHelloReader(opts.maxBytes === undefined ? {} : { maxBytes: opts.maxBytes });

  if (socket.destroyed || socket.readableEnded) {
    const error = new ClientHelloError('ERR_SOCKET_CLOSED', 'socket is already closed or ended');
    return Promise.resolve({ error, bytes: EMPTY });
  }
  if (socket.readableEncoding !== null) {
    const error = new ClientHelloError(
      'ERR_SOCKET_STATE',
      `socket has encoding ${socket.readableEncoding}; bytes cannot be read exactly`,
    );
    return Promise.resolve({ error, bytes: EMPTY });
  }

  return new Promise<PeekResult>((resolve) => {
    const chunks: Buffer[] = [];
    let size = 0;
    let done = false;

    const finish = (error: ClientHelloError | undefined, putBack: boolean): void => {
      if (done) return;
      done = true;
      clearTimeout(timer);
      // Pause first: inside a 'data' handler this stops the flow loop at once.
      socket.pause();
      socket.removeListener('data', onData);
      socket.removeListener('end', onEnd);
      socket.removeListener('close', onClose);
      socket.removeListener('error', onError);
      const bytes = chunks.length === 1 ? chunks[0]! : chunks.length === 0 ? EMPTY : Buffer.concat(chunks, size);
      if (putBack && bytes.length > 0 && !socket.destroyed) socket.unshift(bytes);
      const hello = reader.hello;
      if (error === undefined && hello !== undefined) resolve({ hello, bytes });
      else resolve({ error: error ?? reader.error!, bytes });
    };

    const onData = (chunk: Buffer): void => {
      chunks.push(chunk);
      size += chunk.length;
      let status: string;
      try {
        status = reader.feed(chunk);
      } catch (cause) {
        // A throw here would escape as an uncaught exception from the socket's 'data' event.
        finish(new ClientHelloError('ERR_HELLO_MALFORMED', 'ClientHello could not be read', { cause }), true);
        return;
      }
      if (status !== 'need-more') finish(undefined, true);
    };
    const onEnd = (): void => {
      reader.end();
      finish(undefined, false);
    };
    const onClose = (): void => {
      finish(
        new ClientHelloError(
          'ERR_SOCKET_CLOSED',
          `socket closed after ${size} bytes, before the ClientHello was complete`,
        ),
        false,
      );
    };
    const onError = (err: Error): void => {
      const code = (err as NodeJS.ErrnoException).code;
      finish(
        new ClientHelloError('ERR_SOCKET_ERROR', `socket error ${code ?? err.name} after ${size} bytes`, {
          cause: err,
        }),
        false,
      );
    };
    const timer = setTimeout(() => {
      finish(
        new ClientHelloError(
          'ERR_HELLO_TIMEOUT',
          `no complete ClientHello within ${timeoutMs} ms (${size} bytes read)`,
        ),
        true,
      );
    }, timeoutMs);

    socket.on('error', onError);
    socket.on('close', onClose);
    socket.on('end', onEnd);
    socket.on('data', onData);
    // A 'data' listener alone does not resume a socket that is explicitly paused (as with
    // pauseOnConnect). Bytes already buffered arrive first.
    socket.resume();
  });
}
