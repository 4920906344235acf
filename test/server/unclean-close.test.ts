/**
 * Clients that close without close_notify: `openssl s_time -reuse -tls1_2` (no -www) drops each
 * connection after its handshake. Since TLS 1.1 (RFC 4346, RFC 5246 §7.2.1) such a connection no
 * longer requires that its session not be resumed; s_server and nginx keep it, and so does the
 * cache by default. OpenSSL's strict rule is the `strictShutdown` option.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { TLSSocket } from 'node:tls';
import { runOpenssl, sharedPki, startSServer } from '../helpers/index.js';
import { startCachedServer } from './kit.js';

/** One s_time -reuse run; its progress line has an 'r' per resumed connection. */
async function sTimeReuse(port: number): Promise<{ reused: number; total: number }> {
  const pki = await sharedPki();
  const r = await runOpenssl(
    ['s_time', '-connect', `127.0.0.1:${port}`, '-reuse', '-tls1_2', '-time', '1', '-CAfile', pki.ca.certPath],
    { timeoutMs: 20_000 },
  );
  const out = r.stdout.toString('utf8');
  const progress = /starting\s*\n?([r*tT123.]+)/.exec(out)?.[1] ?? '';
  assert.ok(progress.length > 10, `s_time made connections: ${out.slice(0, 200)}`);
  return { reused: progress.match(/r/g)?.length ?? 0, total: progress.length };
}

/** A server that says nothing: the client is the one that drops the connection. */
const silent = (s: TLSSocket) => s.on('error', () => {});

test('s_time -reuse -tls1_2 without close_notify: s_server resumes every connection (the anchor)', async (t) => {
  const pki = await sharedPki();
  const server = await startSServer({ cert: pki.server, www: false, args: ['-rev'] });
  t.after(() => server.stop());
  const run = await sTimeReuse(server.port);
  assert.equal(run.reused, run.total);
});

for (const tickets of ['stateful', 'auto'] as const) {
  test(`s_time -reuse -tls1_2 without close_notify: the cache (tickets '${tickets}') resumes every connection`, async (t) => {
    const srv = await startCachedServer({ cache: { tickets }, handler: silent });
    t.after(() => srv.close());
    const run = await sTimeReuse(srv.port);
    assert.equal(run.reused, run.total);
    const st = srv.cache.stats();
    assert.equal(st.uncleanRemovals, 0);
    assert.equal(st.resumed, st.acceptGood - 1, 'only the first handshake is full');
    // Session ids go through the cache; tickets resume by themselves.
    assert.equal(st.hits, tickets === 'stateful' ? st.resumed : 0);
  });
}

test("strictShutdown: OpenSSL's rule removes the session of every connection dropped without close_notify", async (t) => {
  const srv = await startCachedServer({ cache: { tickets: 'stateful', strictShutdown: true }, handler: silent });
  t.after(() => srv.close());
  const run = await sTimeReuse(srv.port);
  const st = srv.cache.stats();
  assert.ok(st.uncleanRemovals > 0);
  assert.ok(run.reused < run.total / 2, `${run.reused} of ${run.total} resumed`);
});
