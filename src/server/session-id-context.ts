/**
 * The session id context the cache gives the server's OpenSSL context.
 *
 * OpenSSL refuses to resume a session made under another session id context. Node's default is
 * a hash of `process.argv`, so two processes started differently never share sessions while two
 * servers with different certificates in one process do. Like nginx, the cache derives it from
 * what a session vouches for instead: the certificates (default and `addContext` virtual hosts)
 * and the client-certificate policy (requestCert, rejectUnauthorized, CA list). Servers with the
 * same configuration share sessions; servers with different ones never do.
 */
import { createHash, type Hash } from 'node:crypto';
import type { ServerInternals } from '../node/server-internals.js';
import { bufferView } from '../util/bytes.js';

const PEM_BLOCK = /-----BEGIN ([A-Z0-9 ]+)-----([^-]*)-----END \1-----/g;

/** Feeds one labelled item; PEM text is reduced to its DER blocks so line endings do not matter. */
function feed(h: Hash, label: string, value: unknown): void {
  h.update(`${label}\0`);
  if (value === undefined || value === null) {
    h.update('-\0');
    return;
  }
  if (Array.isArray(value)) {
    h.update(`[${value.length}\0`);
    for (const v of value) feed(h, 'item', v);
    return;
  }
  if (typeof value === 'string' || value instanceof Uint8Array) {
    const bytes = typeof value === 'string' ? Buffer.from(value, 'utf8') : bufferView(value);
    const text = bytes.toString('latin1');
    if (text.includes('-----BEGIN ')) {
      for (const m of text.matchAll(PEM_BLOCK)) {
        h.update(`${m[1]}\0`);
        h.update(Buffer.from(m[2]!.replace(/[^A-Za-z0-9+/=]/g, ''), 'base64'));
      }
    } else {
      h.update(bytes);
    }
    h.update('\0');
    return;
  }
  if (typeof value === 'object' && 'buf' in value) {
    // pfx entries: { buf, passphrase }; the passphrase is not hashed.
    feed(h, 'buf', (value as { buf: unknown }).buf);
    return;
  }
  h.update(`${String(value)}\0`);
}

/** 32 hex characters (OpenSSL's SSL_MAX_SID_CTX_LENGTH is 32 bytes). */
export function deriveSessionIdContext(server: ServerInternals, override: Uint8Array | undefined): string {
  const h = createHash('sha256');
  h.update('tls-sessions server session id context v1\0');
  if (override !== undefined) {
    feed(h, 'override', override);
    return h.digest('hex').slice(0, 32);
  }
  let leaf: Buffer | null | undefined;
  try {
    leaf = server._sharedCreds?.context.getCertificate();
  } catch {
    leaf = undefined;
  }
  feed(h, 'leaf', leaf);
  feed(h, 'cert', server.cert);
  feed(h, 'pfx', server.pfx);
  feed(h, 'ca', server.ca);
  feed(h, 'requestCert', server.requestCert === true);
  feed(h, 'rejectUnauthorized', server.rejectUnauthorized !== false);
  const contexts = server._contexts ?? [];
  feed(h, 'vhosts', contexts.length);
  for (const [pattern, ctx] of contexts) {
    feed(h, 'vhost', pattern.source);
    let cert: Buffer | null | undefined;
    try {
      cert = ctx.context.getCertificate();
    } catch {
      cert = undefined;
    }
    feed(h, 'vhostCert', cert);
  }
  return h.digest('hex').slice(0, 32);
}
