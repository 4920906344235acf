/**
 * One buffer that reads of many sockets land in, and the copy each read is handed on as.
 *
 * Why: a stream read hands JavaScript a view into an ArrayBuffer that Node allocates for that
 * read; whatever keeps such a view (a ClientHello waiting for the TLS stack, a Redis reply in a
 * session cache) keeps the whole buffer, and their external memory starts major collections
 * (every ~150 connections for the ClientHello tap, every ~170 resumptions for RedisStore's
 * replies, Node 24, `--trace-gc`). Read through `net.Socket`'s user-buffer read instead (its
 * `onread` option, or src/node/first-read.ts for an accepted socket), a read lands here and is
 * copied out at once: a small copy comes from Node's 8 KiB Buffer pool, with no ArrayBuffer of
 * its own. Every read is copied out before the next one anywhere in the process can land, so
 * one buffer serves every socket; it is wiped after each copy, so no connection's bytes stay
 * behind in it.
 */

/** Node's own read size for a stream; a read never returns more than the buffer holds. */
export const SHARED_READ_BUFFER: Buffer = Buffer.alloc(64 * 1024);

/** The `nread` bytes just read into {@link SHARED_READ_BUFFER}, copied out; the buffer is then wiped. */
export function takeSharedRead(nread: number): Buffer {
  const chunk = Buffer.allocUnsafe(nread);
  SHARED_READ_BUFFER.copy(chunk, 0, 0, nread);
  SHARED_READ_BUFFER.fill(0, 0, nread);
  return chunk;
}
