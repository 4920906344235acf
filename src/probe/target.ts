import { isIP } from 'node:net';
import { ProbeError } from './errors.js';

/** Where to connect: a host name or IP literal and a TCP port. */
export interface ProbeTarget {
  host: string;
  port: number;
}

/** The port probed when HOST[:PORT] has none: HTTPS. */
export const DEFAULT_PORT = 443;

/**
 * Parses `HOST`, `HOST:PORT`, `[IPv6]`, `[IPv6]:PORT` or a bare IPv6 literal (which takes the
 * default port, since its colons cannot be told from a port separator).
 */
export function parseProbeTarget(text: string, defaultPort = DEFAULT_PORT): ProbeTarget {
  const bad = (why: string) => new ProbeError('ERR_PROBE_TARGET', `target '${text}': ${why}`);
  const input = text.trim();
  if (input === '') throw bad('empty');
  let host: string;
  let portText: string | undefined;
  if (input.startsWith('[')) {
    const end = input.indexOf(']');
    if (end < 0) throw bad("missing ']'");
    host = input.slice(1, end);
    const rest = input.slice(end + 1);
    if (rest !== '') {
      if (!rest.startsWith(':')) throw bad("expected ':PORT' after ']'");
      portText = rest.slice(1);
    }
    if (isIP(host) !== 6) throw bad('not an IPv6 address between brackets');
  } else if (isIP(input) === 6) {
    host = input;
  } else {
    const colon = input.lastIndexOf(':');
    if (colon >= 0) {
      host = input.slice(0, colon);
      portText = input.slice(colon + 1);
    } else {
      host = input;
    }
  }
  if (host === '' || /[\s/]/.test(host)) throw bad('not a host name or IP address');
  const port = portText === undefined ? defaultPort : parsePort(portText);
  if (port === undefined) throw bad('port must be a number from 1 to 65535');
  return { host, port };
}

function parsePort(text: string): number | undefined {
  if (!/^\d{1,5}$/.test(text)) return undefined;
  const port = Number(text);
  return port >= 1 && port <= 65535 ? port : undefined;
}

/** `host:port`, with brackets around an IPv6 literal. */
export function formatTarget(target: ProbeTarget): string {
  return isIP(target.host) === 6 ? `[${target.host}]:${target.port}` : `${target.host}:${target.port}`;
}
