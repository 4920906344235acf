/**
 * Incremental reader for a client's first flight: TLS records of content type 22 carrying one
 * ClientHello, in TCP chunks of any size, possibly fragmented over several records.
 *
 * It never keeps more than the hello itself (plus a 5-byte record header): the caller keeps the
 * raw bytes if it needs to replay them. It decides as early as the bytes allow that a stream is
 * not TLS, so a server can step aside before the peer waits on it.
 */
import { bufferView } from '../util/bytes.js';
import { parseClientHello, type ClientHelloInfo } from './client-hello.js';
import {
  CONTENT_TYPE_HANDSHAKE,
  DEFAULT_MAX_HELLO_BYTES,
  HANDSHAKE_CLIENT_HELLO,
  HANDSHAKE_HEADER_LENGTH,
  MAX_RECORD_PAYLOAD,
  RECORD_HEADER_LENGTH,
} from './constants.js';
import { ClientHelloError } from './errors.js';
import { singleRecordHelloLength } from './hello-frame.js';

/**
 * Where a {@link ClientHelloReader} stands:
 * - `need-more`: feed more bytes;
 * - `complete`: `hello` holds the parsed ClientHello;
 * - `not-tls`: the stream is not TLS (`ERR_NOT_TLS`) or is an SSL 2.0-style hello
 *   (`ERR_SSLV2_HELLO`): step aside and let the TLS stack answer;
 * - `invalid`: the stream looks like TLS but the hello is malformed, too large or truncated.
 */
export type HelloReadStatus = 'need-more' | 'complete' | 'not-tls' | 'invalid';

/** Options of {@link ClientHelloReader} and {@link parseClientHelloRecords}. */
export interface ClientHelloReaderOptions {
  /**
   * Most bytes the records carrying the hello may take, record headers included
   * (default 16384). Beyond it the reader gives up with `ERR_HELLO_TOO_LARGE`.
   */
  maxBytes?: number;
}

/**
 * Accumulates the first flight of a connection and parses the ClientHello once complete.
 *
 * ```ts
 * const reader = new ClientHelloReader();
 * socket.on('data', (chunk) => {
 *   if (reader.feed(chunk) === 'complete') use(reader.hello);
 * });
 * ```
 *
 * Bytes fed after a final status (anything but `need-more`) are ignored.
 */
export class ClientHelloReader {
  /** The byte limit in force (see {@link ClientHelloReaderOptions.maxBytes}). */
  readonly maxBytes: number;

  #status: HelloReadStatus = 'need-more';
  #hello: ClientHelloInfo | undefined;
  #error: ClientHelloError | undefined;
  #fed = 0;
  #used = 0;
  #records = 0;
  #recordVersion: number | undefined;
  #helloEnd: number | undefined;

  // The record header being read, and what is left of the current record's payload.
  readonly #hdr = new Uint8Array(RECORD_HEADER_LENGTH);
  #hdrLen = 0;
  #recordLeft = 0;

  // The handshake message: its header while incomplete, then a buffer of its full size.
  readonly #msgHdr = new Uint8Array(HANDSHAKE_HEADER_LENGTH);
  #msg: Buffer | undefined;
  #msgFill = 0;
  #msgTotal = -1;

  constructor(opts: ClientHelloReaderOptions = {}) {
    const max = opts.maxBytes ?? DEFAULT_MAX_HELLO_BYTES;
    if (!Number.isSafeInteger(max) || max < 0) {
      throw new RangeError(`maxBytes must be a non-negative integer, got ${String(max)}`);
    }
    this.maxBytes = max;
  }

  /** Current status. */
  get status(): HelloReadStatus {
    return this.#status;
  }

  /** The parsed hello once the status is `complete`. Views into the fed bytes or a copy. */
  get hello(): ClientHelloInfo | undefined {
    return this.#hello;
  }

  /** Why the reader gave up, once the status is `not-tls` or `invalid`. */
  get error(): ClientHelloError | undefined {
    return this.#error;
  }

  /** Bytes fed while the status was `need-more`. */
  get bytesFed(): number {
    return this.#fed;
  }

  /** Records whose header has been read. */
  get recordCount(): number {
    return this.#records;
  }

  /** legacy_record_version of the first record, once its header is read. */
  get recordVersion(): number | undefined {
    return this.#recordVersion;
  }

  /**
   * Offset in the fed stream just past the last byte of the ClientHello message, once
   * complete. What follows (the rest of that record, further records such as 0-RTT data)
   * belongs to the TLS stack.
   */
  get helloEnd(): number | undefined {
    return this.#helloEnd;
  }

  /** Feeds the next bytes of the stream, in order. Returns the new status. */
  feed(chunk: Uint8Array): HelloReadStatus {
    if (this.#status !== 'need-more') return this.#status;
    const c = bufferView(chunk);
    const base = this.#fed;
    this.#fed += c.length;
    const n = c.length;
    let p = 0;
    while (p < n) {
      if (this.#recordLeft === 0) {
        while (this.#hdrLen < RECORD_HEADER_LENGTH && p < n) this.#hdr[this.#hdrLen++] = c[p++]!;
        if (this.#records === 0 && this.#classifyFirstBytes()) return this.#status;
        if (this.#hdrLen < RECORD_HEADER_LENGTH) break;
        if (!this.#startRecord(base + p - RECORD_HEADER_LENGTH)) return this.#status;
        continue;
      }

      let avail = Math.min(this.#recordLeft, n - p);
      if (this.#msgTotal < 0) {
        const segStart = p;
        const fromStart = this.#msgFill === 0;
        while (this.#msgFill < HANDSHAKE_HEADER_LENGTH && avail > 0) {
          this.#msgHdr[this.#msgFill++] = c[p++]!;
          avail -= 1;
          this.#recordLeft -= 1;
          this.#used += 1;
        }
        if (this.#msgFill < HANDSHAKE_HEADER_LENGTH) continue;
        const total = this.#checkMessageHeader(base + p - HANDSHAKE_HEADER_LENGTH);
        if (total < 0) return this.#status;
        const bodyLen = total - HANDSHAKE_HEADER_LENGTH;
        if (fromStart && avail >= bodyLen) {
          // The whole message sits in this chunk and this record: parse it in place.
          p += bodyLen;
          this.#recordLeft -= bodyLen;
          this.#used += bodyLen;
          return this.#complete(c.subarray(segStart, p), base + p);
        }
        this.#msg = Buffer.allocUnsafe(total);
        this.#msg.set(this.#msgHdr, 0);
        this.#msgTotal = total;
      }
      const k = Math.min(avail, this.#msgTotal - this.#msgFill);
      c.copy(this.#msg!, this.#msgFill, p, p + k);
      p += k;
      this.#msgFill += k;
      this.#recordLeft -= k;
      this.#used += k;
      if (this.#msgFill === this.#msgTotal) return this.#complete(this.#msg!, base + p);
    }
    return this.#status;
  }

  /**
   * Tells the reader the stream has ended. While the status is `need-more` this makes it
   * `invalid` with `ERR_HELLO_TRUNCATED`; otherwise nothing changes.
   */
  end(): HelloReadStatus {
    if (this.#status === 'need-more') {
      this.#fail(
        'invalid',
        new ClientHelloError(
          'ERR_HELLO_TRUNCATED',
          this.#fed === 0
            ? 'stream ended before any byte'
            : `stream ended after ${this.#fed} bytes, before the ClientHello was complete`,
          { offset: this.#fed },
        ),
      );
    }
    return this.#status;
  }

  #fail(status: 'not-tls' | 'invalid', error: ClientHelloError): false {
    this.#status = status;
    this.#error = error;
    this.#msg = undefined;
    return false;
  }

  /**
   * Decides from the first 1 to 3 bytes whether the stream can be TLS at all. Returns true
   * when it has given up.
   */
  #classifyFirstBytes(): boolean {
    const h = this.#hdr;
    const b0 = h[0]!;
    if (b0 === CONTENT_TYPE_HANDSHAKE) {
      if (this.#hdrLen >= 2 && h[1] !== 3) {
        this.#fail(
          'not-tls',
          new ClientHelloError('ERR_NOT_TLS', `record version major ${h[1]} is not 3`, { offset: 1 }),
        );
        return true;
      }
      return false;
    }
    if ((b0 & 0x80) !== 0) {
      // SSL 2.0 record: 2-byte header with the high bit set, then message type 1 (CLIENT-HELLO).
      if (this.#hdrLen < 3) return false;
      if (h[2] === 1) {
        this.#fail('not-tls', new ClientHelloError('ERR_SSLV2_HELLO', 'SSL 2.0-compatible ClientHello', { offset: 0 }));
        return true;
      }
    }
    this.#fail(
      'not-tls',
      new ClientHelloError(
        'ERR_NOT_TLS',
        `first byte 0x${b0.toString(16).padStart(2, '0')} is not a TLS handshake record`,
        { offset: 0 },
      ),
    );
    return true;
  }

  /** Checks the header in #hdr; returns false when the reader gave up. */
  #startRecord(at: number): boolean {
    const h = this.#hdr;
    const type = h[0]!;
    const len = (h[3]! << 8) | h[4]!;
    this.#hdrLen = 0;
    if (type !== CONTENT_TYPE_HANDSHAKE) {
      return this.#fail(
        'invalid',
        new ClientHelloError(
          'ERR_HELLO_MALFORMED',
          `record ${this.#records + 1} has content type ${type} before the ClientHello is complete`,
          { offset: at },
        ),
      );
    }
    if (h[1] !== 3) {
      return this.#fail(
        'invalid',
        new ClientHelloError('ERR_HELLO_MALFORMED', `record ${this.#records + 1} has version major ${h[1]}`, {
          offset: at + 1,
        }),
      );
    }
    if (len === 0) {
      return this.#fail(
        'invalid',
        new ClientHelloError('ERR_HELLO_MALFORMED', `record ${this.#records + 1} is an empty handshake record`, {
          offset: at + 3,
        }),
      );
    }
    if (len > MAX_RECORD_PAYLOAD) {
      return this.#fail(
        'invalid',
        new ClientHelloError(
          'ERR_HELLO_MALFORMED',
          `record ${this.#records + 1} length ${len} exceeds ${MAX_RECORD_PAYLOAD}`,
          { offset: at + 3 },
        ),
      );
    }
    this.#records += 1;
    this.#recordVersion ??= (h[1]! << 8) | h[2]!;
    this.#recordLeft = len;
    this.#used += RECORD_HEADER_LENGTH;
    if (this.#used > this.maxBytes) return this.#tooLarge(at);
    return true;
  }

  /** Checks the handshake header in #msgHdr; returns the message size or -1 when given up. */
  #checkMessageHeader(at: number): number {
    const m = this.#msgHdr;
    if (m[0] !== HANDSHAKE_CLIENT_HELLO) {
      this.#fail(
        'invalid',
        new ClientHelloError('ERR_HELLO_MALFORMED', `first handshake message has type ${m[0]}, not client_hello (1)`, {
          offset: at,
        }),
      );
      return -1;
    }
    const total = HANDSHAKE_HEADER_LENGTH + ((m[1]! << 16) | (m[2]! << 8) | m[3]!);
    // The rest of the body must still be read: give up now if that cannot fit.
    if (this.#used + total - HANDSHAKE_HEADER_LENGTH > this.maxBytes) {
      this.#tooLarge(at);
      return -1;
    }
    return total;
  }

  #tooLarge(at: number): false {
    return this.#fail(
      'invalid',
      new ClientHelloError('ERR_HELLO_TOO_LARGE', `ClientHello records exceed ${this.maxBytes} bytes`, { offset: at }),
    );
  }

  #complete(message: Buffer, end: number): HelloReadStatus {
    if (this.#used > this.maxBytes) {
      this.#tooLarge(end);
      return this.#status;
    }
    this.#helloEnd = end;
    try {
      this.#hello = parseClientHello(message.subarray(HANDSHAKE_HEADER_LENGTH));
      this.#status = 'complete';
    } catch (error) {
      this.#fail(
        'invalid',
        error instanceof ClientHelloError
          ? error
          : new ClientHelloError('ERR_HELLO_MALFORMED', 'ClientHello could not be parsed', { cause: error }),
      );
    }
    this.#msg = undefined;
    return this.#status;
  }
}

/**
 * Parses the ClientHello at the start of `bytes`: raw stream bytes holding one or more TLS
 * records of content type 22 (the hello may be fragmented across them). Bytes after the
 * records that complete the hello are ignored.
 *
 * @throws {ClientHelloError} `ERR_NOT_TLS` / `ERR_SSLV2_HELLO` when the bytes are not a TLS
 *   handshake, `ERR_HELLO_TRUNCATED` when they end before the hello does, `ERR_HELLO_TOO_LARGE`
 *   beyond `maxBytes`, `ERR_HELLO_MALFORMED` otherwise.
 */
export function parseClientHelloRecords(bytes: Uint8Array, opts: ClientHelloReaderOptions = {}): ClientHelloInfo {
  // One record holding the whole hello: parse it in place, as the reader would, without one.
  const max = opts.maxBytes ?? DEFAULT_MAX_HELLO_BYTES;
  const bodyLength = Number.isSafeInteger(max) && max >= 0 ? singleRecordHelloLength(bytes, max) : -1;
  if (bodyLength >= 0) {
    const start = RECORD_HEADER_LENGTH + HANDSHAKE_HEADER_LENGTH;
    return parseClientHello(bufferView(bytes).subarray(start, start + bodyLength));
  }
  const reader = new ClientHelloReader(opts);
  if (reader.feed(bytes) === 'need-more') reader.end();
  if (reader.hello !== undefined) return reader.hello;
  throw reader.error!;
}
