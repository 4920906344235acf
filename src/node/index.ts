// Node.js internals and per-line differences the package relies on, in one place.
export { nodeBindsClientSessions, nodeSessionIdentity, sessionForConnect, verifiesServer } from './client-sessions.js';
export { nodeDerivesServerSessionIdContext, serverSessionIdContext } from './server-session-context.js';
export { releaseServerControl } from './server-socket.js';
export { ticketCallbackUnsupported } from './ticket-key-callback.js';
export { FirstRead, type FirstReadChunk, readsIntoSharedBuffer } from './first-read.js';
