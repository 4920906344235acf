// Probe: what a TLS server really does with sessions, over TLS 1.2 and TLS 1.3.
export { type ProbeVersion, defaultServername } from './connection.js';
export { ProbeError, type ProbeErrorCode } from './errors.js';
export { findingsFor, type FindingInput } from './findings.js';
export { type FormatOptions, formatReport } from './format.js';
export { DEFAULT_ATTEMPTS, DEFAULT_TIMEOUT_MS, type ProbeOptions, type ProbeSessionName, probe } from './probe.js';
export type {
  CrossHostCheck,
  CrossHostReport,
  Finding,
  FindingId,
  ProbeReport,
  ProbeTiming,
  SessionIdResult,
  Severity,
  Tls12Report,
  Tls12TicketResult,
  Tls13Report,
  Tls13TicketsResult,
} from './report.js';
export { DEFAULT_PORT, type ProbeTarget, formatTarget, parseTarget } from './target.js';
