export {
  TlsSession,
  type TlsSessionForm,
  type RevealOptions,
  type TlsSessionJSON,
  type PeerCertificateJSON,
} from './tls-session.js';
export { TlsSessionError, type TlsSessionErrorCode } from './errors.js';
export { type TlsSessionFields, SESS_FLAG_EXTMS } from './fields.js';
export { SESSION_PEM_LABEL } from './pem.js';
export {
  OPENSSL_DEFAULT_TIMEOUT_S,
  TLS1_2_VERSION,
  TLS1_3_VERSION,
  protocolName,
  cipherName,
  groupName,
} from './names.js';
export {
  NODE_SESSION_PREFIX,
  type NodeSessionState,
  isNodeSessionState,
  unwrapNodeSession,
  wrapNodeSession,
} from './node-state.js';
