// What each probe connection puts in its ClientHello: captured on a raw loopback listener, so
// that "session id only", "ticket" and "this exact TLS 1.3 ticket" are facts, not assumptions.
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { type ConnectionSettings, type HandshakeRequest, handshake } from '../../src/probe/connection.js';
import { TlsSession } from '../../src/session/tls-session.js';
import { sharedPki, startSServer } from '../helpers/index.js';
import { captureProbeHello } from './hello.js';

const EXT_SESSION_TICKET = 35;
const EXT_PRE_SHARED_KEY = 41;

interface Hello {
  sessionId: Buffer;
  extensions: Map<number, Buffer>;
}

/** Reads a ClientHello (one record, as Node sends it) far enough to list its extensions. */
function parseClientHello(bytes: Buffer): Hello {
  assert.equal(bytes[0], 0x16, 'handshake record');
  const record = bytes.subarray(5, 5 + bytes.readUInt16BE(3));
  assert.equal(record[0], 0x01, 'ClientHello');
  let at = 4 + 2 + 32;
  const sidLen = record[at]!;
  const sessionId = record.subarray(at + 1, at + 1 + sidLen);
  at += 1 + sidLen;
  at += 2 + record.readUInt16BE(at);
  at += 1 + record[at]!;
  const end = at + 2 + record.readUInt16BE(at);
  at += 2;
  const extensions = new Map<number, Buffer>();
  while (at < end) {
    const type = record.readUInt16BE(at);
    const len = record.readUInt16BE(at + 2);
    extensions.set(type, record.subarray(at + 4, at + 4 + len));
    at += 4 + len;
  }
  return { sessionId, extensions };
}

/** The first PSK identity of a pre_shared_key extension. */
function firstPskIdentity(ext: Buffer): Buffer {
  const len = ext.readUInt16BE(2);
  return ext.subarray(4, 4 + len);
}

/** The probe's ClientHello for `request`, parsed. */
async function captureHello(request: HandshakeRequest): Promise<Hello> {
  return parseClientHello(await captureProbeHello(request));
}

describe('probe ClientHello', () => {
  test('TLS 1.2 session id mode leaves the session_ticket extension out; ticket mode sends it', async () => {
    const idOnly = await captureHello({ version: 'TLSv1.2', noTicket: true });
    assert.equal(idOnly.extensions.has(EXT_SESSION_TICKET), false);
    const normal = await captureHello({ version: 'TLSv1.2' });
    assert.deepEqual(
      normal.extensions.get(EXT_SESSION_TICKET),
      Buffer.alloc(0),
      'an empty ticket extension asks for a ticket',
    );
  });

  test('offering a session puts exactly that session id, ticket or PSK identity on the wire', {
    timeout: 30_000,
  }, async (t) => {
    const pki = await sharedPki();
    const server = await startSServer({ cert: pki.server });
    t.after(() => server.stop());
    const settings: ConnectionSettings = {
      host: '127.0.0.1',
      port: server.port,
      servername: 'localhost',
      ca: pki.ca.cert,
      insecure: false,
      cert: undefined,
      key: undefined,
      alpn: undefined,
      timeoutMs: 3000,
    };

    const idFull = await handshake(settings, { version: 'TLSv1.2', noTicket: true });
    const idSession = TlsSession.fromDER(idFull.session!);
    assert.equal(idSession.sessionId.length, 32);
    const idHello = await captureHello({ version: 'TLSv1.2', noTicket: true, session: idFull.session! });
    assert.deepEqual(idHello.sessionId, idSession.sessionId);
    assert.equal(idHello.extensions.has(EXT_SESSION_TICKET), false);

    const ticketFull = await handshake(settings, { version: 'TLSv1.2' });
    const ticketSession = TlsSession.fromDER(ticketFull.session!);
    assert.ok((ticketSession.ticket?.length ?? 0) > 32);
    const ticketHello = await captureHello({ version: 'TLSv1.2', session: ticketFull.session! });
    assert.deepEqual(ticketHello.extensions.get(EXT_SESSION_TICKET), ticketSession.ticket);

    const full13 = await handshake(settings, { version: 'TLSv1.3' });
    assert.equal(full13.sessions.length, 2);
    for (const der of full13.sessions) {
      const hello = await captureHello({ version: 'TLSv1.3', session: der });
      const psk = hello.extensions.get(EXT_PRE_SHARED_KEY);
      assert.ok(psk, 'pre_shared_key sent');
      assert.deepEqual(firstPskIdentity(psk), TlsSession.fromDER(der).ticket);
    }
    assert.notDeepEqual(TlsSession.fromDER(full13.sessions[0]!).ticket, TlsSession.fromDER(full13.sessions[1]!).ticket);
  });
});
