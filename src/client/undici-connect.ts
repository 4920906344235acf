/**
 * undici's connector contract, typed structurally so that undici stays out of the dependencies:
 * undici calls `connect(params, callback)` for every new connection of a `Client`, and expects
 * the callback once the socket is ready (TLS handshake done) or failed. This mirrors undici's
 * own `buildConnector` (ALPN from `allowH2`, SNI from the host name, connect timeout, TCP
 * keep-alive, no Nagle), with the session taken from the store instead of undici's
 * one-per-servername cache.
 */
import * as net from 'node:net';
import type { ConnectionOptions, TLSSocket } from 'node:tls';
import type { ClientSessionStore } from './client-session-store.js';
import { ClientSessionStoreError } from './errors.js';

/** What undici passes to a `connect` function (see undici's `buildConnector.Options`). */
export interface UndiciConnectParams {
  hostname: string;
  host?: string;
  protocol: string;
  port: string | number;
  servername?: string | null;
  localAddress?: string | null;
  /** A socket to upgrade (a proxy tunnel). */
  httpSocket?: net.Socket;
  allowH2?: boolean;
  socketPath?: string | null;
}

/** undici's connector callback: an error, or the connected socket. */
export type UndiciConnectCallback = (...args: [null, net.Socket | TLSSocket] | [Error, null]) => void;

/** A `connect` function for undici's `Client`, `Pool` and `Agent`. */
export type UndiciConnector = (params: UndiciConnectParams, callback: UndiciConnectCallback) => void;

/** Options of {@link ClientSessionStore.undiciConnect}: `tls.connect` options plus undici's. */
export interface UndiciConnectOptions extends ConnectionOptions {
  /** Connect timeout in ms, handshake included. Default 10000 (undici's). */
  timeout?: number;
  /** Offer h2 in ALPN when undici does not say (undici passes its `allowH2`). Default false. */
  allowH2?: boolean;
  /** TCP keep-alive. Default true, after 60 s (undici's). */
  keepAlive?: boolean;
  keepAliveInitialDelay?: number;
}

export function createUndiciConnector(sessions: ClientSessionStore, options: UndiciConnectOptions): UndiciConnector {
  const {
    timeout = 10_000,
    allowH2: defaultH2 = false,
    keepAlive = true,
    keepAliveInitialDelay = 60_000,
    ...tlsOptions
  } = options;
  return (params, callback) => {
    let pending: UndiciConnectCallback | undefined = callback;
    const settle = (error: Error | null, socket?: net.Socket): void => {
      const cb = pending;
      pending = undefined;
      if (cb === undefined) return;
      if (error !== null) cb(error, null);
      else if (socket !== undefined) cb(null, socket);
    };
    const port = Number(params.port) || (params.protocol === 'https:' ? 443 : 80);
    const socketPath = params.socketPath ?? undefined;

    const prepare = (socket: net.Socket, readyEvent: 'secureConnect' | 'connect'): void => {
      if (keepAlive) socket.setKeepAlive(true, keepAliveInitialDelay);
      socket.setNoDelay(true);
      const timer = setTimeout(() => {
        socket.destroy(
          new ClientSessionStoreError(
            'ERR_CLIENT_STORE_CONNECT_TIMEOUT',
            `connect: no connection to ${params.hostname}:${port} within ${timeout} ms`,
          ),
        );
      }, timeout);
      socket.once(readyEvent, () => {
        clearTimeout(timer);
        settle(null, socket);
      });
      socket.on('error', (error: Error) => {
        clearTimeout(timer);
        settle(error);
      });
      socket.once('close', () => clearTimeout(timer));
    };

    if (params.protocol !== 'https:') {
      const socket = net.connect({
        highWaterMark: 64 * 1024,
        host: params.hostname,
        port,
        localAddress: params.localAddress ?? undefined,
        path: socketPath,
      } as net.NetConnectOpts);
      prepare(socket, 'connect');
      return;
    }

    const servername =
      params.servername || tlsOptions.servername || (net.isIP(params.hostname) === 0 ? params.hostname : undefined);
    const allowH2 = params.allowH2 ?? defaultH2;
    // tls.connect passes these two on to net.Socket; Node 20's typings leave them out.
    const connectOptions: ConnectionOptions & { highWaterMark?: number; localAddress?: string } = {
      highWaterMark: 16384,
      ...tlsOptions,
      servername,
      ALPNProtocols: allowH2 ? ['http/1.1', 'h2'] : ['http/1.1'],
      host: params.hostname,
      port,
    };
    if (params.localAddress) connectOptions.localAddress = params.localAddress;
    if (params.httpSocket) connectOptions.socket = params.httpSocket;
    if (socketPath !== undefined) connectOptions.path = socketPath;
    sessions.connect(connectOptions).then(
      (socket) => prepare(socket, 'secureConnect'),
      (error: unknown) => settle(error instanceof Error ? error : new Error(String(error))),
    );
  };
}
