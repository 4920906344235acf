import { TlsSessionError } from './errors.js';
import { bufferView } from '../util/bytes.js';

/** The PEM label of a serialized session, as `openssl sess_id` and `s_client -sess_out` use it. */
export const SESSION_PEM_LABEL = 'SSL SESSION PARAMETERS';

const BEGIN = `-----BEGIN ${SESSION_PEM_LABEL}-----`;
const END = `-----END ${SESSION_PEM_LABEL}-----`;
const ANY_BEGIN = /-----BEGIN ([A-Z0-9 ]+)-----/;
const BASE64_LINE = /^[A-Za-z0-9+/]*={0,2}$/;

/** Extracts the DER of the first `SSL SESSION PARAMETERS` block; text around it is ignored. */
export function pemToDer(text: string): Buffer {
  const begin = text.indexOf(BEGIN);
  if (begin < 0) {
    const other = ANY_BEGIN.exec(text);
    throw other
      ? new TlsSessionError('ERR_SESSION_PEM', `PEM: found "${other[1]}", expected "${SESSION_PEM_LABEL}"`)
      : new TlsSessionError('ERR_SESSION_PEM', `PEM: no "${BEGIN}" line`);
  }
  const bodyStart = begin + BEGIN.length;
  const end = text.indexOf(END, bodyStart);
  if (end < 0) throw new TlsSessionError('ERR_SESSION_PEM', `PEM: no "${END}" line`);
  const lines = text
    .slice(bodyStart, end)
    .split(/\r?\n/)
    .map((l) => l.trim())
    .filter((l) => l.length > 0);
  for (const line of lines) {
    if (line.includes(':'))
      throw new TlsSessionError('ERR_SESSION_PEM', 'PEM: encrypted or header-bearing blocks are not supported');
    if (!BASE64_LINE.test(line)) throw new TlsSessionError('ERR_SESSION_PEM', 'PEM: invalid base64 in body');
  }
  const b64 = lines.join('');
  if (b64.length % 4 !== 0) throw new TlsSessionError('ERR_SESSION_PEM', 'PEM: base64 body has a bad length');
  const der = Buffer.from(b64, 'base64');
  if (der.length === 0) throw new TlsSessionError('ERR_SESSION_PEM', 'PEM: empty body');
  return der;
}

/** PEM exactly as OpenSSL's PEM_write writes it: 64 base64 characters a line. */
export function derToPem(der: Uint8Array): string {
  const b64 = bufferView(der).toString('base64');
  const lines: string[] = [];
  for (let i = 0; i < b64.length; i += 64) lines.push(b64.slice(i, i + 64));
  return `${BEGIN}\n${lines.join('\n')}\n${END}\n`;
}

/** True when `bytes` look like PEM text rather than DER (DER sessions start with 0x30). */
export function looksLikePem(bytes: Uint8Array): boolean {
  if (bytes[0] === 0x30) return false;
  const head = Buffer.from(bytes.buffer, bytes.byteOffset, Math.min(bytes.byteLength, 4096)).toString('latin1');
  return head.includes('-----BEGIN ');
}
