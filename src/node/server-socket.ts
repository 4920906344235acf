/**
 * A server-side `TLSSocket` made outside `tls.Server` (new TLSSocket(socket, { isServer: true })).
 *
 * Until its control is released, such a socket reports TLS errors after the handshake only as
 * the internal `'_tlsError'` event: `_emitTLSError` emits `'error'` only when `_controlReleased`
 * is set (Node's lib/_tls_wrap.js, 20.x to 26.x). `tls.Server` releases control when the
 * handshake is done (onServerSocketSecure); a server made by hand must do the same, or a bad
 * record or a fatal alert from the client goes unnoticed and the socket stays open.
 */
import type { TLSSocket } from 'node:tls';

interface ReleasableSocket {
  _releaseControl?: () => boolean;
}

/**
 * Lets TLS errors of a finished server handshake reach `'error'`, as `tls.Server` does. Throws
 * when this Node has no `_releaseControl`: errors would go unseen (fails loudly, never silently).
 */
export function releaseServerControl(socket: TLSSocket): void {
  const release = (socket as unknown as ReleasableSocket)._releaseControl;
  if (typeof release !== 'function') {
    throw new Error(
      'TLSSocket._releaseControl is gone from this Node.js: server TLS errors after the handshake would go unseen',
    );
  }
  release.call(socket);
}
