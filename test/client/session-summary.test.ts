import assert from 'node:assert/strict';
import { test } from 'node:test';
import { summarizeSession } from '../../src/client/session-summary.js';
import { TlsSession } from '../../src/session/index.js';
import { nodeConnect, sharedPki, startNodeServer } from '../helpers/index.js';

function expected(der: Buffer) {
  const s = TlsSession.fromDER(der);
  return {
    protocolVersion: s.protocolVersion,
    resumable: s.isResumable(),
    time: s.time,
    timeout: s.timeout,
    ticketLifetimeHint: s.ticketLifetimeHint,
    peerCertificate: s.peerCertificateDER?.toString('hex'),
  };
}

function actual(der: Buffer) {
  const s = summarizeSession(der);
  assert.ok(s);
  return { ...s, peerCertificate: s.peerCertificate?.toString('hex') };
}

test('the summary of real sessions agrees with the full decode', async (t) => {
  const pki = await sharedPki();
  const ders: Buffer[] = [];
  for (const maxVersion of ['TLSv1.2', 'TLSv1.3'] as const) {
    const server = await startNodeServer({ cert: pki.server, tlsOptions: { maxVersion } });
    t.after(() => server.close());
    ders.push(...(await nodeConnect({ port: server.port })).sessions);
  }
  assert.equal(ders.length, 3);
  for (const der of ders) assert.deepEqual(actual(der), expected(der));
});

test('absent fields, sessions without id or ticket, and input that is not a session', () => {
  const variants = [
    new TlsSession({ protocolVersion: 0x0303, cipherId: 0xc02f, sessionId: Buffer.alloc(32, 1) }),
    new TlsSession({
      protocolVersion: 0x0304,
      cipherId: 0x1301,
      ticket: Buffer.alloc(100, 2),
      time: 1_700_000_000,
      timeout: 300,
      ticketLifetimeHint: 200,
    }),
    new TlsSession({ protocolVersion: 0x0304, cipherId: 0x1301 }),
  ];
  for (const v of variants) {
    const der = v.toDER();
    assert.deepEqual(actual(der), expected(der));
  }
  assert.equal(summarizeSession(Buffer.alloc(0)), undefined);
  assert.equal(summarizeSession(Buffer.from('0403010203', 'hex')), undefined);
  const der = variants[1]!.toDER();
  assert.equal(summarizeSession(der.subarray(0, der.length - 10)), undefined);
});
