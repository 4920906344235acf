/**
 * SSL_read, SSL_write and SSL_shutdown over the connection's TLS socket. Reading is what lets a
 * TLS 1.3 client receive its tickets, as in C.
 */
import { SSL_RECEIVED_SHUTDOWN, SSL_SENT_SHUTDOWN } from './constants.js';
import { ERR_LIB_SSL, ERR_raise, raiseSystemError } from './err.js';
import { raiseNodeError } from './node-errors.js';
import { type SSL, type SslState, sslState, takePendingError } from './ssl.js';

const SSL_R_SHUTDOWN_WHILE_IN_INIT = 407;
const SSL_R_PROTOCOL_IS_SHUTDOWN = 207;
const SSL_R_UNINITIALIZED = 276;
const ETIMEDOUT = 110;

/** Options of {@link SSL_read} and {@link SSL_shutdown}. */
export interface WaitOptions {
  /** Give up waiting after this long. Default 10000 ms (SSL_read) / 5000 ms (SSL_shutdown). */
  timeoutMs?: number;
}

/** Waits until `ready()` holds or the connection can give nothing more; false on timeout. */
function waitFor(st: SslState, ready: () => boolean, timeoutMs: number): Promise<boolean> {
  if (ready()) return Promise.resolve(true);
  return new Promise<boolean>((resolve) => {
    const wake = (): void => {
      if (!ready()) return;
      done(true);
    };
    const done = (value: boolean): void => {
      clearTimeout(timer);
      st.wakeups.delete(wake);
      resolve(value);
    };
    const timer = setTimeout(() => done(false), timeoutMs);
    st.wakeups.add(wake);
  });
}

/**
 * SSL_read: copies received application data into `buf`. Resolves the number of bytes (> 0),
 * 0 when the peer closed the connection (SSL_ERROR_ZERO_RETURN), or -1 on an error or when
 * nothing arrived within the timeout.
 */
export async function SSL_read(ssl: SSL, buf: Uint8Array, options: WaitOptions = {}): Promise<number> {
  const st = sslState(ssl, 'SSL_read');
  takePendingError(st);
  if (st.phase !== 'ok' || st.tls === undefined) {
    ERR_raise(ERR_LIB_SSL, SSL_R_UNINITIALIZED, 'SSL_read before the handshake completed');
    st.failure = 'ssl';
    return -1;
  }
  if (buf.length === 0) return 0;
  const timeoutMs = options.timeoutMs ?? 10_000;
  const arrived = await waitFor(
    st,
    () =>
      st.incoming.length > 0 ||
      st.ended ||
      st.closed ||
      st.freed ||
      st.pendingError !== undefined ||
      st.fatal !== undefined,
    timeoutMs,
  );
  if (st.freed) return -1;
  takePendingError(st);
  if (st.incoming.length > 0) {
    let copied = 0;
    while (copied < buf.length && st.incoming.length > 0) {
      const chunk = st.incoming[0]!;
      const n = Math.min(chunk.length, buf.length - copied);
      buf.set(chunk.subarray(0, n), copied);
      copied += n;
      if (n === chunk.length) st.incoming.shift();
      else st.incoming[0] = chunk.subarray(n);
    }
    return copied;
  }
  // Data received before a fatal error is read first, as libssl reads records in order.
  if (st.fatal === 'pending') {
    st.fatal = 'reported';
    return st.fatalRet;
  }
  if (st.fatal === 'reported') return afterFatal(st);
  if (st.ended) {
    st.failure = 'zero';
    return 0;
  }
  st.failure = 'syscall';
  if (!arrived) raiseSystemError(ETIMEDOUT, `SSL_read: no data within ${timeoutMs} ms`);
  return -1;
}

/**
 * A read or write after the fatal error was reported. libssl 3.0 (measured): after a received
 * alert, reads return 0 and both fail with SSL_ERROR_ZERO_RETURN; otherwise -1 with
 * SSL_ERROR_SYSCALL. Nothing is queued.
 */
function afterFatal(st: SslState, write = false): number {
  const alert = st.fatalRet === 0;
  st.failure = alert ? 'zero' : 'syscall';
  return alert && !write ? 0 : -1;
}

/** SSL_write: sends `data`; resolves its length once handed to the socket, or -1 on error. */
export async function SSL_write(ssl: SSL, data: Uint8Array | string): Promise<number> {
  const st = sslState(ssl, 'SSL_write');
  takePendingError(st);
  const tls = st.tls;
  if (st.phase !== 'ok' || tls === undefined) {
    ERR_raise(ERR_LIB_SSL, SSL_R_UNINITIALIZED, 'SSL_write before the handshake completed');
    st.failure = 'ssl';
    return -1;
  }
  if (st.fatal === 'pending') {
    // Node read the failing record before anyone asked: the first call to come reports it.
    st.fatal = 'reported';
    st.failure = 'ssl';
    return -1;
  }
  if (st.fatal === 'reported') return afterFatal(st, true);
  if ((st.shutdown & SSL_SENT_SHUTDOWN) !== 0 || tls.destroyed || !tls.writable) {
    ERR_raise(ERR_LIB_SSL, SSL_R_PROTOCOL_IS_SHUTDOWN);
    st.failure = 'ssl';
    return -1;
  }
  const bytes = typeof data === 'string' ? Buffer.from(data) : data;
  return new Promise<number>((resolve) => {
    tls.write(bytes, (error) => {
      if (error) {
        st.failure = raiseNodeError(error) === 'syscall' ? 'syscall' : 'ssl';
        resolve(-1);
      } else {
        resolve(bytes.length);
      }
    });
  });
}

/**
 * SSL_shutdown: sends close_notify (the session then counts as closed cleanly and stays in the
 * cache when the connection is freed), then waits for the peer's. Resolves 1 when both were
 * exchanged, 0 when the peer's did not come within the timeout, -1 during a handshake.
 */
export async function SSL_shutdown(ssl: SSL, options: WaitOptions = {}): Promise<number> {
  const st = sslState(ssl, 'SSL_shutdown');
  takePendingError(st);
  // After a fatal error libssl is back "in init" (measured): the same answer.
  if (st.phase !== 'ok' || st.tls === undefined || st.fatal !== undefined) {
    ERR_raise(ERR_LIB_SSL, SSL_R_SHUTDOWN_WHILE_IN_INIT);
    st.failure = 'ssl';
    return -1;
  }
  const tls = st.tls;
  if ((st.shutdown & SSL_SENT_SHUTDOWN) === 0) {
    st.shutdown |= SSL_SENT_SHUTDOWN;
    // Node sends close_notify when the writable side ends.
    tls.end();
  }
  const received = await waitFor(
    st,
    () => (st.shutdown & SSL_RECEIVED_SHUTDOWN) !== 0 || st.closed || st.freed,
    options.timeoutMs ?? 5000,
  );
  return received && (st.shutdown & SSL_RECEIVED_SHUTDOWN) !== 0 ? 1 : 0;
}
