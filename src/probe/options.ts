import type { ConnectionSettings, ProbeVersion } from './connection.js';
import { defaultServername } from './connection.js';
import { MAX_TIMER_MS } from '../util/options.js';
import { ProbeError } from './errors.js';
import { DEFAULT_PORT } from './target.js';

// Node's timers hold 2^31 - 1 ms and turn anything longer into 1 ms: every time option stops there.
export { MAX_TIMER_MS } from '../util/options.js';

/** Attempts per check when not told otherwise (as sslyze does). */
export const DEFAULT_ATTEMPTS = 5;
/** Per-connection time limit when not told otherwise. */
export const DEFAULT_TIMEOUT_MS = 5000;
/** Most attempts per check. */
export const MAX_ATTEMPTS = 100;

const VERSIONS: readonly ProbeVersion[] = ['TLSv1.3', 'TLSv1.2'];

/** What every probe needs to connect, as given by a caller of the library (unchecked). */
export interface ConnectionOptionsInput {
  host: string;
  port?: number | undefined;
  servername?: string | undefined;
  ca?: string | Buffer | Array<string | Buffer> | undefined;
  insecure?: boolean | undefined;
  cert?: string | Buffer | undefined;
  key?: string | Buffer | undefined;
  alpn?: string[] | undefined;
  versions?: readonly ProbeVersion[] | undefined;
  attempts?: number | undefined;
  timeoutMs?: number | undefined;
}

/** The checked options: connection settings, versions, attempts. */
export interface ResolvedConnectionOptions {
  settings: ConnectionSettings;
  versions: readonly ProbeVersion[];
  attempts: number;
}

/** A one-line typed error for a bad option. */
export function badOption(message: string): ProbeError {
  return new ProbeError('ERR_PROBE_TARGET', `probe: ${message}`);
}

/** Checks a time option given in milliseconds: a whole number from `min` to {@link MAX_TIMER_MS}. */
export function checkMs(value: unknown, name: string, min = 1): number {
  if (typeof value !== 'number' || !Number.isInteger(value) || value < min || value > MAX_TIMER_MS) {
    throw badOption(
      `${name} must be a whole number of milliseconds from ${min} to ${MAX_TIMER_MS} (got ${describe(value)})`,
    );
  }
  return value;
}

/** Checks a TCP port: an integer from 1 to 65535. */
export function checkPort(value: unknown, name = 'port'): number {
  if (typeof value !== 'number' || !Number.isInteger(value) || value < 1 || value > 65535) {
    throw badOption(`${name} must be an integer from 1 to 65535 (got ${describe(value)})`);
  }
  return value;
}

/** Checks a host name or IP literal: a non-empty string without spaces or slashes. */
export function checkHost(value: unknown, name = 'host'): string {
  if (typeof value !== 'string' || value === '' || /[\s/]/.test(value)) {
    throw badOption(`${name} must be a host name or IP address (got ${describe(value)})`);
  }
  return value;
}

function checkName(value: unknown, name: string): string {
  if (typeof value !== 'string' || value.trim() === '') throw badOption(`${name} must be a non-empty string`);
  return value;
}

/** Validates what every probe needs, before any connection; throws ERR_PROBE_TARGET. */
export function resolveConnectionOptions(options: ConnectionOptionsInput): ResolvedConnectionOptions {
  if (options === null || typeof options !== 'object') throw badOption('options must be an object');
  const host = checkHost(options.host);
  const port = options.port === undefined ? DEFAULT_PORT : checkPort(options.port);
  const attempts = options.attempts ?? DEFAULT_ATTEMPTS;
  if (typeof attempts !== 'number' || !Number.isInteger(attempts) || attempts < 1 || attempts > MAX_ATTEMPTS) {
    throw badOption(`attempts must be an integer from 1 to ${MAX_ATTEMPTS} (got ${describe(attempts)})`);
  }
  const timeoutMs = options.timeoutMs === undefined ? DEFAULT_TIMEOUT_MS : checkMs(options.timeoutMs, 'timeoutMs');
  const versions = options.versions ?? VERSIONS;
  if (!Array.isArray(versions) || versions.length === 0)
    throw badOption(`versions must list 'TLSv1.3' and/or 'TLSv1.2'`);
  for (const v of versions) {
    if (!VERSIONS.includes(v))
      throw badOption(`versions: ${describe(v)} is not probed; only 'TLSv1.3' and 'TLSv1.2' are`);
  }
  const servername =
    options.servername === undefined ? defaultServername(host) : checkName(options.servername, 'servername');
  if (
    options.alpn !== undefined &&
    (!Array.isArray(options.alpn) ||
      options.alpn.some((p) => typeof p !== 'string' || p === '' || Buffer.byteLength(p) > 255))
  ) {
    throw badOption('alpn must be a list of protocol names of 1 to 255 bytes');
  }
  return {
    settings: {
      host,
      port,
      servername,
      ca: options.ca,
      insecure: options.insecure === true,
      cert: options.cert,
      key: options.key,
      alpn: options.alpn,
      timeoutMs,
    },
    versions,
    attempts,
  };
}

/** A value as an error message shows it: short, never a whole buffer. */
function describe(value: unknown): string {
  if (typeof value === 'string') return `'${value.length > 40 ? `${value.slice(0, 40)}...` : value}'`;
  if (typeof value === 'number' || typeof value === 'boolean' || value === undefined || value === null)
    return String(value);
  return typeof value;
}
