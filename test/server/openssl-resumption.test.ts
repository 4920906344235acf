/**
 * The acceptance criteria, with `openssl s_client` as the client: TLS 1.3 stateful resumption
 * from a `-sess_out` file (single use), TLS 1.2 `-reconnect`, virtual host isolation, counters.
 */
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { test } from 'node:test';
import { TlsSession } from '../../src/session/index.js';
import { sClient, tmpDir } from '../helpers/index.js';
import { startCachedServer } from './kit.js';
import { readFile } from 'node:fs/promises';

test('TLS 1.3: -sess_out then -sess_in resumes statefully, once', async (t) => {
  const dir = await tmpDir('ssc-');
  t.after(() => dir.cleanup());
  const srv = await startCachedServer();
  t.after(() => srv.close());
  const file = join(dir.path, 'sess.pem');

  const first = await sClient({ port: srv.port, sessOut: file });
  assert.equal(first.protocol, 'TLSv1.3');
  assert.equal(first.reused, false);
  // A stateful ticket: its PSK identity is the 32-byte session id the server keeps.
  const ticket = TlsSession.fromPEM(await readFile(file, 'utf8')).ticket;
  assert.equal(ticket?.length, 32);

  const second = await sClient({ port: srv.port, sessIn: file });
  assert.equal(second.reused, true);
  assert.equal(second.protocol, 'TLSv1.3');
  assert.match(second.stdout, /^Reused, TLSv1\.3/m);

  const third = await sClient({ port: srv.port, sessIn: file });
  assert.equal(third.reused, false, 'a stateful TLS 1.3 session is single use');
  assert.equal(third.protocol, 'TLSv1.3');

  const st = srv.cache.stats();
  assert.equal(st.accept, 3);
  assert.equal(st.acceptGood, 3);
  assert.equal(st.hits, 1);
  assert.equal(st.misses, 1); // the third offer: the session was taken by the second
  assert.equal(st.timeouts, 0);
  assert.equal(st.resumed, 1);
  // Tickets: 2 after each full handshake, 1 after the resumption.
  assert.equal(st.stored, 5);
  assert.equal(st.removed, 1);
  assert.equal(st.number, 4);
  assert.equal(st.cacheFull, 0);
});

test('TLS 1.3 with reuseTls13: the same session resumes again', async (t) => {
  const dir = await tmpDir('ssc-');
  t.after(() => dir.cleanup());
  const srv = await startCachedServer({ cache: { reuseTls13: true } });
  t.after(() => srv.close());
  const file = join(dir.path, 'sess.pem');
  assert.equal((await sClient({ port: srv.port, sessOut: file })).reused, false);
  assert.equal((await sClient({ port: srv.port, sessIn: file })).reused, true);
  assert.equal((await sClient({ port: srv.port, sessIn: file })).reused, true);
  const st = srv.cache.stats();
  assert.equal(st.hits, 2);
  assert.equal(st.misses, 0);
  assert.equal(st.removed, 0);
});

test('TLS 1.2: s_client -no_ticket -reconnect reports 5 reuses', async (t) => {
  const srv = await startCachedServer();
  t.after(() => srv.close());
  const run = await sClient({
    port: srv.port,
    tls: '1.2',
    noTicket: true,
    extraArgs: ['-reconnect'],
    timeoutMs: 10_000,
  });
  const reused = run.stdout.match(/^Reused, TLSv1\.2/gm)?.length ?? 0;
  const fresh = run.stdout.match(/^New, TLSv1\.2/gm)?.length ?? 0;
  assert.equal(reused, 5);
  assert.equal(fresh, 1);
  const st = srv.cache.stats();
  assert.equal(st.accept, 6);
  assert.equal(st.acceptGood, 6);
  assert.equal(st.hits, 5);
  assert.equal(st.misses, 0); // the first hello has an empty session id: no lookup
  assert.equal(st.resumed, 5);
  assert.equal(st.stored, 1);
  assert.equal(st.number, 1);
});

for (const vhosts of ['addContext', 'SNICallback'] as const) {
  for (const variant of ['1.2', '1.2 asking for a ticket', '1.3'] as const) {
    test(`virtual hosts (${vhosts}, TLS ${variant}): a session from a.test is not resumed with SNI b.test`, async (t) => {
      const dir = await tmpDir('ssc-');
      t.after(() => dir.cleanup());
      const srv = await startCachedServer({ vhosts });
      t.after(() => srv.close());
      const file = join(dir.path, 'a.pem');
      const tls = variant === '1.3' ? '1.3' : '1.2';
      // A server with virtual hosts gets no TLS 1.2 tickets: they would resume under any host.
      const common = { port: srv.port, tls, noTicket: variant === '1.2' } as const;

      const made = await sClient({ ...common, servername: 'a.test', sessOut: file });
      assert.equal(made.reused, false);
      assert.match(made.stdout, /subject=CN = a\.test/);

      const crossed = await sClient({ ...common, servername: 'b.test', sessIn: file });
      assert.equal(crossed.reused, false, 'a.test session resumed under b.test');
      assert.match(crossed.stdout, /subject=CN = b\.test/, 'b.test got a full handshake with its own certificate');

      // The refused session is still good for the host it was made for.
      const same = await sClient({ ...common, servername: 'a.test', sessIn: file });
      assert.equal(same.reused, true);
      if (variant === '1.2 asking for a ticket') {
        assert.equal((await readFile(file, 'utf8')).length > 0, true);
        assert.equal(
          TlsSession.fromPEM(await readFile(file, 'utf8')).ticket,
          undefined,
          'no TLS 1.2 ticket was issued',
        );
      }

      const st = srv.cache.stats();
      assert.equal(st.serverNameMismatches, 1);
      assert.equal(st.hits, 1);
      assert.equal(st.resumed, 1);
    });
  }
}
