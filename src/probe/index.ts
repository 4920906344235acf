// Probe: what a TLS server really does with sessions, over TLS 1.2 and TLS 1.3.
export type { ProbeVersion } from './connection.js';
export { ProbeError, type ProbeErrorCode } from './errors.js';
export { findingsFor, type ProbeFindingInput } from './findings.js';
export { type ProbeFormatOptions, formatProbeReport } from './format.js';
export { type ProbeOptions, type ProbeSessionName, probe } from './probe.js';
export type {
  CrossHostCheck,
  CrossHostReport,
  ProbeCheckName,
  ProbeFinding,
  ProbeFindingId,
  ProbeNotRun,
  ProbeReport,
  ProbeSeverity,
  ProbeTiming,
  SessionIdResult,
  Tls12Report,
  Tls12TicketResult,
  Tls13Report,
  Tls13TicketsResult,
} from './report.js';
export { type ProbeTarget, parseProbeTarget } from './target.js';
export { type FleetOptions, MAX_FLEET_MEMBERS, probeFleet } from './fleet.js';
export { type FleetFindingInput, fleetFindings } from './fleet-findings.js';
export { formatFleetReport } from './fleet-format.js';
export type {
  FleetCell,
  FleetFinding,
  FleetFindingId,
  FleetMatrix,
  FleetMechanism,
  FleetMemberReport,
  FleetReport,
} from './fleet-report.js';
export {
  type WatchKeyChange,
  type WatchOldTicketCheck,
  type WatchOptions,
  type WatchReport,
  type WatchSample,
  watchTickets,
} from './watch.js';
export { formatWatchReport } from './watch-format.js';
