/**
 * What a plain Node server (no cache) does with a session made for one virtual host and offered
 * under another, measured on this line with `openssl s_client -sess_out` / `-sess_in`: the table
 * in docs/server.md ("Isolation") states it per Node line, and this test holds it to that.
 * Measured: Node 20 and 26 resume an a.test session under SNI b.test (TLS 1.2 tickets, TLS 1.2
 * session ids kept by a Map, TLS 1.3 tickets) and leave `socket.servername` false on resumed
 * TLS 1.2 connections; Node 22 and 24 refuse it and set `servername`.
 */
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { test } from 'node:test';
import type { TLSSocket } from 'node:tls';
import { sClient, sharedPki, sharedVhosts, startNodeServer, tmpDir } from '../helpers/index.js';

const NODE_MAJOR = Number(process.versions.node.split('.')[0]);
/** The lines that refuse a session across virtual hosts (docs/server.md). */
const ISOLATES = NODE_MAJOR === 22 || NODE_MAJOR === 24;

for (const kind of ['TLS 1.2 ticket', 'TLS 1.2 session id (a Map)', 'TLS 1.3 ticket'] as const) {
  test(`plain Node ${NODE_MAJOR}, ${kind}: an a.test session under SNI b.test is ${ISOLATES ? 'refused' : 'resumed'}, as docs/server.md says`, async (t) => {
    const pki = await sharedPki();
    const { a, b } = await sharedVhosts();
    const dir = await tmpDir('vh-');
    t.after(() => dir.cleanup());
    const seen: Array<{ reused: boolean; servername: string | false | null | undefined }> = [];
    const node = await startNodeServer({
      cert: pki.server,
      handler: (s: TLSSocket) => {
        seen.push({
          reused: s.isSessionReused(),
          servername: (s as TLSSocket & { servername?: string | false | null }).servername,
        });
        setImmediate(() => s.end('ok\n'));
      },
    });
    t.after(() => node.close());
    node.server.addContext('a.test', { key: a.key, cert: a.cert });
    node.server.addContext('b.test', { key: b.key, cert: b.cert });
    if (kind === 'TLS 1.2 session id (a Map)') {
      const sessions = new Map<string, Buffer>();
      node.server.on('newSession', (id: Buffer, der: Buffer, done: () => void) => {
        sessions.set(id.toString('hex'), der);
        done();
      });
      node.server.on('resumeSession', (id: Buffer, cb: (err: null, der: Buffer | null) => void) =>
        cb(null, sessions.get(id.toString('hex')) ?? null),
      );
    }
    const opts = {
      port: node.port,
      tls: kind.startsWith('TLS 1.3') ? ('1.3' as const) : ('1.2' as const),
      noTicket: kind.includes('Map'),
    };
    const file = join(dir.path, 'a.pem');
    await sClient({ ...opts, servername: 'a.test', sessOut: file });
    assert.equal((await sClient({ ...opts, servername: 'a.test', sessIn: file })).reused, true);
    const crossed = await sClient({ ...opts, servername: 'b.test', sessIn: file });
    assert.equal(crossed.reused, !ISOLATES);
    assert.match(crossed.stdout, ISOLATES ? /subject=CN = b\.test/ : /subject=CN = a\.test/);
    // servername on the resumed a.test connection: TLS 1.2 resumption leaves it false on 20 and 26.
    const expected = opts.tls === '1.2' && !ISOLATES ? false : 'a.test';
    assert.deepEqual(seen[1], { reused: true, servername: expected });
  });
}
