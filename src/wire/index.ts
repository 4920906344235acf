export {
  parseClientHello,
  parseClientHelloMessage,
  type ClientHelloInfo,
  type HelloExtension,
  type PskIdentity,
} from './client-hello.js';
export {
  ClientHelloReader,
  parseClientHelloRecords,
  type ClientHelloReaderOptions,
  type HelloReadStatus,
} from './record-reader.js';
export { peekClientHello, DEFAULT_PEEK_TIMEOUT_MS, type PeekOptions, type PeekResult } from './hello-peek.js';
export { ClientHelloError, type ClientHelloErrorCode } from './errors.js';
export {
  ExtensionType,
  DEFAULT_MAX_HELLO_BYTES,
  PSK_KE,
  PSK_DHE_KE,
} from './constants.js';
export { singleRecordHelloLength } from './hello-frame.js';
export { readHelloLookup, helloLookupOfBody, type HelloLookup } from './hello-lookup.js';
