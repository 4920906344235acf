import { setTimeout as sleep } from 'node:timers/promises';
import { TlsSession } from '../session/tls-session.js';
import { type Handshake, type HandshakeRequest, type ProbeVersion, handshake } from './connection.js';
import { ProbeError } from './errors.js';
import { type ConnectionOptionsInput, badOption, checkMs, resolveConnectionOptions } from './options.js';
import { formatTarget } from './target.js';

/** Options of {@link watchTickets}. */
export interface WatchOptions extends Omit<ConnectionOptionsInput, 'attempts'> {
  /** How long to watch, in milliseconds (at most 2^31 - 1). */
  durationMs: number;
  /** Time between samples, in milliseconds. Default 10000 (10 s), at least 100. */
  everyMs?: number;
  /** Stops the watch early; the report then holds what was seen so far. */
  signal?: AbortSignal;
  /** Told after each sample, for a progress line. */
  onSample?: (sample: WatchSample, report: WatchReport) => void;
}

/** One sample: a full handshake and the ticket it brought. */
export interface WatchSample {
  /** Milliseconds since the watch started. */
  atMs: number;
  /** Key name of the ticket (first 16 bytes, hex); `null` when no ticket came or it is stateful. */
  keyName: string | null;
  /** Lifetime hint of the ticket, in seconds; `null` when no ticket came. */
  lifetimeHint: number | null;
  /** Why the sample failed (no handshake), or `null`. */
  error: string | null;
}

/** One offer of a ticket issued under a key that was no longer the current one. */
export interface WatchOldTicketCheck {
  atMs: number;
  keyName: string;
  resumed: boolean;
  /** Age of the ticket offered, in milliseconds (from the sample that brought it). */
  ticketAgeMs: number;
}

/** A change of the key new tickets are issued under. */
export interface WatchKeyChange {
  /** Last sample still issuing under {@link from}, and first under {@link to}: the change happened between. */
  lastOldMs: number;
  firstNewMs: number;
  from: string;
  to: string;
  /** Last time a ticket of {@link from} resumed after the change; `null` if none was tried or none resumed. */
  oldResumedUntilMs: number | null;
  /** First time a ticket of {@link from} was refused after the change; `null` if it still resumed when the watch ended. */
  oldRefusedFromMs: number | null;
  /**
   * How long tickets of the old key kept resuming after the change, in milliseconds, as bounds:
   * `min` from the samples (at least), `max` (at most; `null` when old tickets still resumed at
   * the end of the watch).
   */
  graceMs: { min: number | null; max: number | null };
  /**
   * The refused ticket had outlived its own lifetime hint (or came within the second servers
   * round session times to) when offered: it may have been refused for its age rather than its
   * key. Each try offers the youngest ticket of the old key not offered yet.
   */
  refusedPastLifetime: boolean;
}

/** The report of {@link watchTickets}: plain data, no key material (key names are public). */
export interface WatchReport {
  target: string;
  servername: string | null;
  /** The version whose tickets were watched (TLS 1.3 when spoken). */
  protocol: ProbeVersion;
  everyMs: number;
  durationMs: number;
  /** Stopped before `durationMs` (signal). */
  interrupted: boolean;
  samples: WatchSample[];
  changes: WatchKeyChange[];
  oldTicketChecks: WatchOldTicketCheck[];
  /** Distinct lifetime hints, in the order first seen, with the time each was first seen. */
  lifetimeHints: Array<{ lifetimeHint: number; firstSeenMs: number }>;
  connections: number;
}

interface Spare {
  der: Buffer;
  /** When the sample that brought it was made (ms since the start). */
  issuedMs: number;
  lifetimeS: number;
}

const MIN_EVERY_MS = 100;
const DEFAULT_EVERY_MS = 10_000;
/** Spare tickets kept per old key, to offer each at most once (single-use servers). */
const SPARES_PER_KEY = 16;
const KEY_NAME_BYTES = 16;
const STATEFUL_TICKET_BYTES = 32;

/**
 * Watches how a server's ticket keys rotate: samples a ticket every `everyMs` for `durationMs`,
 * reports when the key name of new tickets changes, how long tickets of the old key keep
 * resuming after a change (grace), and the lifetime hints over time. Resolves with what was
 * seen so far when `signal` aborts. Rejects with a {@link ProbeError} for bad options or when
 * the first sample cannot be made.
 */
export async function watchTickets(options: WatchOptions): Promise<WatchReport> {
  const { settings, versions } = resolveConnectionOptions(options);
  const durationMs = checkMs(options.durationMs, 'durationMs');
  const everyMs =
    options.everyMs === undefined
      ? Math.min(DEFAULT_EVERY_MS, durationMs)
      : checkMs(options.everyMs, 'everyMs', MIN_EVERY_MS);
  if (everyMs > durationMs) throw badOption(`everyMs (${everyMs}) must not exceed durationMs (${durationMs})`);
  const started = Date.now();
  const now = () => Date.now() - started;
  let connections = 0;
  const connect = async (request: HandshakeRequest): Promise<Handshake> => {
    connections += 1;
    const h = await handshake(settings, request);
    if (h.protocol !== request.version)
      throw new ProbeError(
        'ERR_PROBE_HANDSHAKE',
        `${formatTarget(settings)}: asked for ${request.version}, got ${h.protocol}`,
      );
    return h;
  };

  // The newest version that issues tickets; TLS 1.2 tickets when TLS 1.3 is not spoken.
  let protocol: ProbeVersion | undefined;
  let firstError: ProbeError | undefined;
  for (const version of ['TLSv1.3', 'TLSv1.2'] as const) {
    if (!versions.includes(version)) continue;
    try {
      await connect({ version });
      protocol = version;
      break;
    } catch (error) {
      if (!(error instanceof ProbeError) || error.code === 'ERR_PROBE_CONNECT') throw error;
      firstError ??= error;
    }
  }
  if (protocol === undefined) throw firstError ?? badOption('no version to watch');
  const version = protocol;

  const report: WatchReport = {
    target: formatTarget(settings),
    servername: settings.servername ?? null,
    protocol: version,
    everyMs,
    durationMs,
    interrupted: false,
    samples: [],
    changes: [],
    oldTicketChecks: [],
    lifetimeHints: [],
    connections: 0,
  };
  const spares = new Map<string, Spare[]>();
  let current: string | null = null;
  let lastSampleMs = 0;
  const signal = options.signal;

  // One sample per slot of everyMs from 0 to durationMs: a slow sample delays the next one,
  // never drops it, so a watch always makes the same number of samples.
  for (let next = 0; next <= durationMs; next += everyMs) {
    const wait = next - now();
    if (wait > 0) {
      try {
        await sleep(wait, undefined, signal ? { signal } : {});
      } catch {
        // Aborted: the report so far.
      }
    }
    if (signal?.aborted) {
      report.interrupted = true;
      break;
    }
    const sample = await takeSample(connect, version, now);
    report.samples.push(sample.sample);
    if (
      sample.sample.lifetimeHint !== null &&
      !report.lifetimeHints.some((h) => h.lifetimeHint === sample.sample.lifetimeHint)
    ) {
      report.lifetimeHints.push({ lifetimeHint: sample.sample.lifetimeHint, firstSeenMs: sample.sample.atMs });
    }
    const name = sample.sample.keyName;
    if (name !== null) {
      const pool = spares.get(name) ?? [];
      pool.push(
        ...sample.tickets.map((der) => ({
          der,
          issuedMs: sample.sample.atMs,
          lifetimeS: sample.sample.lifetimeHint ?? 0,
        })),
      );
      spares.set(name, pool.slice(-SPARES_PER_KEY));
      if (current !== null && name !== current) {
        report.changes.push({
          lastOldMs: lastSampleMs,
          firstNewMs: sample.sample.atMs,
          from: current,
          to: name,
          oldResumedUntilMs: null,
          oldRefusedFromMs: null,
          graceMs: { min: null, max: null },
          refusedPastLifetime: false,
        });
      }
      current = name;
      lastSampleMs = sample.sample.atMs;
    }
    // Offer one ticket of every old key whose tickets still resumed at the last try.
    for (const change of report.changes) {
      if (change.oldRefusedFromMs !== null || change.from === current) continue;
      // The youngest ticket of the old key: the one that should resume longest. Each is offered
      // once while there are others (single-use servers), the last one again if need be.
      const pool = spares.get(change.from);
      const ticket = pool && pool.length > 1 ? pool.pop() : pool?.[0];
      if (ticket === undefined) continue;
      let resumed = false;
      const offeredMs = now();
      try {
        resumed = (await connect({ version, session: ticket.der })).reused;
      } catch (error) {
        if (!(error instanceof ProbeError) || error.code === 'ERR_PROBE_CONNECT') throw error;
      }
      const atMs = now();
      const ticketAgeMs = offeredMs - ticket.issuedMs;
      report.oldTicketChecks.push({ atMs, keyName: change.from, resumed, ticketAgeMs });
      if (resumed) change.oldResumedUntilMs = atMs;
      else {
        change.oldRefusedFromMs = atMs;
        // Servers keep a session's time in whole seconds: within a second of its lifetime, a
        // ticket may already count as expired.
        change.refusedPastLifetime = ticketAgeMs >= ticket.lifetimeS * 1000 - 1000;
      }
      change.graceMs = {
        min: change.oldResumedUntilMs === null ? null : Math.max(0, change.oldResumedUntilMs - change.firstNewMs),
        max: change.oldRefusedFromMs === null ? null : change.oldRefusedFromMs - change.lastOldMs,
      };
    }
    report.connections = connections;
    options.onSample?.(sample.sample, report);
  }
  report.connections = connections;
  return report;
}

async function takeSample(
  connect: (request: HandshakeRequest) => Promise<Handshake>,
  version: ProbeVersion,
  now: () => number,
): Promise<{ sample: WatchSample; tickets: Buffer[] }> {
  const atMs = now();
  let h: Handshake;
  try {
    h = await connect({ version });
  } catch (error) {
    if (!(error instanceof ProbeError)) throw error;
    return { sample: { atMs, keyName: null, lifetimeHint: null, error: error.message }, tickets: [] };
  }
  const ders = version === 'TLSv1.3' ? h.sessions : h.session === undefined ? [] : [h.session];
  let keyName: string | null = null;
  let lifetimeHint: number | null = null;
  const tickets: Buffer[] = [];
  for (const der of ders) {
    let session: TlsSession;
    try {
      session = TlsSession.fromDER(der);
    } catch {
      continue;
    }
    const ticket = session.ticket;
    if (ticket === undefined || ticket.length === 0) continue;
    lifetimeHint = Math.max(lifetimeHint ?? 0, session.ticketLifetimeHint);
    if (version === 'TLSv1.3' && ticket.length <= STATEFUL_TICKET_BYTES) continue;
    keyName ??= ticket.subarray(0, KEY_NAME_BYTES).toString('hex');
    tickets.push(der);
  }
  const error =
    h.unreadable.length > 0 && ders.length === 0
      ? `Node handed out a session the probe cannot read (${h.unreadable[0]})`
      : null;
  return { sample: { atMs, keyName, lifetimeHint, error }, tickets };
}
