import type { TlsSessionFields } from './fields.js';
import { SESS_FLAG_EXTMS } from './fields.js';
import { TLS1_3_VERSION, cipherName, protocolName } from './names.js';
import { verifyResultText } from './verify-codes.js';
import { bufferView } from '../util/bytes.js';

/** What a redacted secret prints as. */
export const REDACTED = '<redacted>';

/**
 * The text of OpenSSL's SSL_SESSION_print (what `openssl sess_id -text -noout` prints), byte for
 * byte, except that the master key / resumption PSK is `<redacted>` unless `reveal` is set.
 */
export function printSession(f: TlsSessionFields, reveal: boolean): string {
  const tls13 = f.protocolVersion === TLS1_3_VERSION;
  const name = cipherName(f.cipherId);
  let out = 'SSL-Session:\n';
  out += `    Protocol  : ${protocolName(f.protocolVersion)}\n`;
  out += `    Cipher    : ${name ?? f.cipherId.toString(16).toUpperCase().padStart(4, '0')}\n`;
  out += `    Session-ID: ${upperHex(f.sessionId)}\n`;
  out += `    Session-ID-ctx: ${upperHex(f.sessionIdContext)}\n`;
  out += `    ${tls13 ? 'Resumption PSK' : 'Master-Key'}: ${reveal ? upperHex(f.masterKey) : REDACTED}\n`;
  out += `    PSK identity: ${cString(f.pskIdentity)}\n`;
  out += `    PSK identity hint: ${cString(f.pskIdentityHint)}\n`;
  out += `    SRP username: ${cString(f.srpUsername)}`;
  if (f.ticketLifetimeHint) out += `\n    TLS session ticket lifetime hint: ${f.ticketLifetimeHint} (seconds)`;
  if (f.ticket) out += `\n    TLS session ticket:\n${bioDumpIndent(f.ticket, 4)}`;
  if (f.compressionId !== 0) out += `\n    Compression: ${f.compressionId}`;
  if (f.time !== 0) out += `\n    Start Time: ${f.time}`;
  if (f.timeout !== 0) out += `\n    Timeout   : ${f.timeout} (sec)`;
  out += '\n';
  out += `    Verify return code: ${f.verifyResult} (${verifyResultText(f.verifyResult)})\n`;
  out += `    Extended master secret: ${f.flags & SESS_FLAG_EXTMS ? 'yes' : 'no'}\n`;
  if (tls13) out += `    Max Early Data: ${f.maxEarlyData}\n`;
  return out;
}

function upperHex(b: Uint8Array): string {
  return bufferView(b).toString('hex').toUpperCase();
}

/** OpenSSL prints these with %s from a strndup'ed copy: stops at the first NUL. */
function cString(s: string | undefined): string {
  if (s === undefined) return 'None';
  const nul = s.indexOf('\0');
  return nul < 0 ? s : s.slice(0, nul);
}

/** OpenSSL's BIO_dump_indent: offset, 16 hex bytes with '-' after the 8th, then ASCII. */
export function bioDumpIndent(data: Uint8Array, indent: number): string {
  const width = 16 - Math.floor((indent - Math.min(indent, 6) + 3) / 4);
  const pad = ' '.repeat(indent);
  let out = '';
  for (let row = 0; row * width < data.length; row++) {
    let line = `${pad}${(row * width).toString(16).padStart(4, '0')} - `;
    let ascii = '';
    for (let j = 0; j < width; j++) {
      const i = row * width + j;
      if (i >= data.length) {
        line += '   ';
        continue;
      }
      const ch = data[i]!;
      line += ch.toString(16).padStart(2, '0') + (j === 7 ? '-' : ' ');
      ascii += ch >= 0x20 && ch <= 0x7e ? String.fromCharCode(ch) : '.';
    }
    out += `${line}  ${ascii}\n`;
  }
  return out;
}
