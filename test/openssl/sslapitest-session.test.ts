/**
 * A port of OpenSSL's test/sslapitest.c `execute_test_session` (test_session_with_only_int_cache,
 * test_session_with_only_ext_cache, test_session_with_both_cache; TLS 1.3 and TLS 1.2; and
 * test_session_wo_ca_names: TLS 1.3, internal cache, SSL_OP_DISABLE_TLSEXT_CA_NAMES): same
 * steps, same callbacks (new_session_cb, remove_session_cb, get_session_cb) and the same expected
 * counts, over real sockets.
 *
 * The client half runs against `openssl s_server` (the peer OpenSSL's test uses: an OpenSSL server
 * context with default settings); the failure step uses a second s_server limited to TLS 1.1, as
 * the C test sets the server's max version to TLS1_1_VERSION. The server half runs the SSL_accept
 * server of this API against its own client, as in C.
 *
 * One thing a Node server cannot do: send a TLS 1.3 ticket after a resumption from a stateless
 * ticket (OpenSSL sends one; Node's ticket-key callback never asks for renewal, measured below).
 * Where the C test counts that ticket, the Node-server steps expect 0 and say so. The client half
 * is also run against the SSL_accept server to show those differences and nothing else.
 */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import {
  type GetSessionCallback,
  type NewSessionCallback,
  type RemoveSessionCallback,
  type SSL,
  type SSL_CTX,
  SSL_CTX_add_session,
  SSL_CTX_free,
  SSL_CTX_remove_session,
  SSL_CTX_sess_set_cache_size,
  SSL_CTX_sess_set_get_cb,
  SSL_CTX_sess_set_new_cb,
  SSL_CTX_sess_set_remove_cb,
  SSL_CTX_set_max_proto_version,
  SSL_CTX_set_min_proto_version,
  SSL_CTX_set_options,
  SSL_CTX_set_session_cache_mode,
  SSL_free,
  SSL_get1_session,
  SSL_get_session,
  SSL_OP_DISABLE_TLSEXT_CA_NAMES,
  SSL_OP_NO_TICKET,
  SSL_SESS_CACHE_CLIENT,
  SSL_SESS_CACHE_NO_INTERNAL_STORE,
  SSL_SESS_CACHE_SERVER,
  type SSL_SESSION,
  SSL_SESSION_dup,
  SSL_SESSION_free,
  SSL_SESSION_set_time,
  SSL_SESSION_set_timeout,
  SSL_session_reused,
  SSL_set_session,
  sameSession,
  TLS1_1_VERSION,
  TLS1_2_VERSION,
  TLS1_3_VERSION,
  type TcpListener,
} from '../../src/openssl/index.js';
import { type SServer, sharedPki, startSServer } from '../helpers/index.js';
import {
  clientCtx,
  connectToSServer,
  createSslConnection,
  createSslObjects,
  drainErrors,
  freeTracked,
  listener,
  serverCtx,
  shutdownSslConnection,
} from './harness.js';

/** The counters and callbacks of sslapitest.c. */
class Callbacks {
  new_called = 0;
  remove_called = 0;
  get_called = 0;
  get_sess_val: SSL_SESSION | null = null;

  /** "sess has been up-refed for us, but we don't actually need it so free it immediately." */
  readonly new_session_cb: NewSessionCallback = (_ssl, sess) => {
    this.new_called++;
    SSL_SESSION_free(sess);
    return 1;
  };

  readonly remove_session_cb: RemoveSessionCallback = () => {
    this.remove_called++;
  };

  readonly get_session_cb: GetSessionCallback = (_ssl, _id, copy) => {
    this.get_called++;
    copy.copy = 1;
    return this.get_sess_val;
  };
}

type Peer = 'openssl' | 'node';

interface Scenario {
  maxprot: number;
  useIntCache: boolean;
  useExtCache: boolean;
  /** `s_options` of execute_test_session: SSL_OP_* bits of the server context. */
  sOptions: number;
}

/** The `openssl s_server` flags of the SSL_OP_* bits a scenario sets on the server. */
function sServerArgs(sOptions: number): string[] {
  return (sOptions & SSL_OP_DISABLE_TLSEXT_CA_NAMES) !== 0 ? ['-no_ca_names'] : [];
}

/** What the client half connects to: `openssl s_server`, or the SSL_accept server of `sctx`. */
interface ClientPeer {
  /** create_ssl_objects + create_ssl_connection for the client `clientssl`. */
  connect(clientssl: SSL, serverssl: SSL | null): Promise<boolean>;
  /** A server object for this peer (none for s_server). */
  serverObject(): SSL | null;
  /** The failure step's server: max version TLS 1.1. */
  connectToTls11(clientssl: SSL): Promise<boolean>;
  close(): Promise<void>;
}

async function openPeer(peer: Peer, sctx: SSL_CTX, l: TcpListener, sOptions: number): Promise<ClientPeer> {
  if (peer === 'node') {
    return {
      connect: (clientssl, serverssl) => createSslConnection(l, serverssl!, clientssl),
      serverObject: () => createSslObjects(sctx, sctx).serverssl,
      async connectToTls11(clientssl) {
        // SSL_CTX_set_max_proto_version(sctx, TLS1_1_VERSION), as in C.
        assert.equal(SSL_CTX_set_max_proto_version(sctx, TLS1_1_VERSION), 1);
        const serverssl = createSslObjects(sctx, sctx).serverssl;
        try {
          return await createSslConnection(l, serverssl, clientssl);
        } finally {
          SSL_free(serverssl);
        }
      },
      close: async () => {},
    };
  }
  const pki = await sharedPki();
  const servers: SServer[] = [await startSServer({ cert: pki.server, args: sServerArgs(sOptions) })];
  return {
    connect: (clientssl) => connectToSServer(clientssl, servers[0]!.port),
    serverObject: () => null,
    async connectToTls11(clientssl) {
      const old = await startSServer({ cert: pki.server, args: ['-tls1_1', ...sServerArgs(sOptions)] });
      servers.push(old);
      return connectToSServer(clientssl, old.port);
    },
    close: async () => {
      await Promise.all(servers.map((s) => s.stop()));
    },
  };
}

/** The client half of execute_test_session, up to "Now do some tests for server side caching". */
async function clientHalf(sc: Scenario, peer: Peer, sctx: SSL_CTX, cctx: SSL_CTX, cb: Callbacks, l: TcpListener) {
  const { maxprot, useIntCache, useExtCache } = sc;
  const numnewsesstick = maxprot === TLS1_3_VERSION ? 2 : 1;
  // A Node server sends no ticket after resuming a stateless TLS 1.3 ticket (OpenSSL sends 1).
  const ticketAfterResume = peer === 'openssl' || maxprot !== TLS1_3_VERSION ? 1 : 0;
  const p = await openPeer(peer, sctx, l, sc.sOptions);
  try {
    const serverssl1 = p.serverObject();
    const clientssl1 = createSslObjects(sctx, cctx).clientssl;
    assert.ok(await p.connect(clientssl1, serverssl1), `connection 1: ${drainErrors().join('; ')}`);
    let sess1 = SSL_get1_session(clientssl1);
    assert.ok(sess1);

    // Should fail because it should already be in the cache.
    if (useIntCache) assert.equal(SSL_CTX_add_session(cctx, sess1), 0);
    if (useExtCache) {
      assert.equal(cb.new_called, numnewsesstick);
      assert.equal(cb.remove_called, 0);
    }

    cb.new_called = cb.remove_called = 0;
    let serverssl2 = p.serverObject();
    let clientssl2 = createSslObjects(sctx, cctx).clientssl;
    assert.equal(SSL_set_session(clientssl2, sess1), 1);
    assert.ok(await p.connect(clientssl2, serverssl2), `connection 2: ${drainErrors().join('; ')}`);
    assert.equal(SSL_session_reused(clientssl2), 1);

    if (maxprot === TLS1_3_VERSION) {
      // In TLS 1.3 a new session is created even though we resumed, and the resumed ticket is
      // removed from the cache so that tickets are used once.
      if (useExtCache) {
        assert.equal(cb.new_called, ticketAfterResume);
        assert.equal(cb.remove_called, 1);
      }
    } else if (useExtCache) {
      // In TLS 1.2 we resumed, so no sessions are added or removed.
      assert.equal(cb.new_called, 0);
      assert.equal(cb.remove_called, 0);
    }

    SSL_SESSION_free(sess1);
    sess1 = SSL_get1_session(clientssl2);
    assert.ok(sess1);
    await shutdownSslConnection(serverssl2, clientssl2);

    cb.new_called = cb.remove_called = 0;
    serverssl2 = p.serverObject();
    clientssl2 = createSslObjects(sctx, cctx).clientssl;
    assert.ok(await p.connect(clientssl2, serverssl2), `connection 3: ${drainErrors().join('; ')}`);
    const sess2 = SSL_get1_session(clientssl2);
    assert.ok(sess2);
    if (useExtCache) {
      assert.equal(cb.new_called, numnewsesstick);
      assert.equal(cb.remove_called, 0);
    }

    cb.new_called = cb.remove_called = 0;
    // This clears sess2 from the cache because it is a "bad" session (SSL_set_session(3)).
    assert.equal(SSL_set_session(clientssl2, sess1), 1);
    if (useExtCache) {
      assert.equal(cb.new_called, 0);
      assert.equal(cb.remove_called, 1);
    }
    assert.ok(sameSession(SSL_get_session(clientssl2), sess1));

    if (useIntCache) {
      // Should succeed because it is not in the cache any more.
      assert.equal(SSL_CTX_add_session(cctx, sess2), 1);
      assert.equal(SSL_CTX_remove_session(cctx, sess2), 1);
    }

    cb.new_called = cb.remove_called = 0;
    // Not in the cache, so this fails (and still calls the remove callback).
    assert.equal(SSL_CTX_remove_session(cctx, sess2), 0);
    if (useExtCache) {
      assert.equal(cb.new_called, 0);
      assert.equal(cb.remove_called, 1);
    }

    cb.new_called = cb.remove_called = 0;
    // Force a connection failure: the server allows at most TLS 1.1.
    const clientssl3 = createSslObjects(sctx, cctx).clientssl;
    assert.equal(SSL_set_session(clientssl3, sess1), 1);
    assert.equal(await p.connectToTls11(clientssl3), false, 'mismatched protocol versions must fail');
    const errors = drainErrors();
    assert.ok(
      errors.some((e) => e.includes(':SSL routines::')),
      errors.join('; '),
    );
    // The session is removed from the cache automatically. Against the Node server under TLS 1.3,
    // sess1 is the resumed session, already used and non-resumable: not offered, nothing removed.
    if (useExtCache) {
      assert.equal(cb.new_called, 0);
      assert.equal(cb.remove_called, ticketAfterResume);
    }
    // Should succeed because it is not in the cache.
    if (useIntCache) assert.equal(SSL_CTX_add_session(cctx, sess2), 1);

    SSL_free(serverssl1);
    SSL_free(clientssl1);
    SSL_free(serverssl2);
    SSL_free(clientssl2);
    SSL_free(clientssl3);
    SSL_SESSION_free(sess1);
    SSL_SESSION_free(sess2);
  } finally {
    await p.close();
  }
}

/** The server half of execute_test_session ("Now do some tests for server side caching"). */
async function serverHalf(sc: Scenario, sctx: SSL_CTX, cctx: SSL_CTX, cb: Callbacks, l: TcpListener) {
  const { maxprot, useIntCache, useExtCache } = sc;
  const numnewsesstick = maxprot === TLS1_3_VERSION ? 2 : 1;
  if (useExtCache) {
    SSL_CTX_sess_set_new_cb(cctx, null);
    SSL_CTX_sess_set_remove_cb(cctx, null);
    SSL_CTX_sess_set_new_cb(sctx, cb.new_session_cb);
    SSL_CTX_sess_set_remove_cb(sctx, cb.remove_session_cb);
    SSL_CTX_sess_set_get_cb(sctx, cb.get_session_cb);
    cb.get_sess_val = null;
  }
  SSL_CTX_set_session_cache_mode(cctx, 0);
  // Internal caching is the default on the server side.
  if (!useIntCache) SSL_CTX_set_session_cache_mode(sctx, SSL_SESS_CACHE_SERVER | SSL_SESS_CACHE_NO_INTERNAL_STORE);

  assert.equal(SSL_CTX_set_max_proto_version(sctx, maxprot), 1);
  if (maxprot === TLS1_2_VERSION) SSL_CTX_set_options(sctx, SSL_OP_NO_TICKET);
  cb.new_called = cb.remove_called = cb.get_called = 0;
  const c1 = createSslObjects(sctx, cctx);
  assert.ok(await createSslConnection(l, c1.serverssl, c1.clientssl), drainErrors().join('; '));
  const sess1 = SSL_get1_session(c1.clientssl);
  let sess2 = SSL_get1_session(c1.serverssl);
  assert.ok(sess1 && sess2);

  if (useIntCache) {
    if (maxprot === TLS1_3_VERSION && !useExtCache) {
      // In TLS 1.3 it is not added to the internal cache, except with an external cache too
      // (then it is, to generate remove events after timeout).
      assert.equal(SSL_CTX_remove_session(sctx, sess2), 0);
    } else {
      // Should fail because it should already be in the cache.
      assert.equal(SSL_CTX_add_session(sctx, sess2), 0);
    }
  }

  if (useExtCache) {
    let tmp: SSL_SESSION = sess2;
    assert.equal(cb.new_called, numnewsesstick);
    assert.equal(cb.remove_called, 0);
    assert.equal(cb.get_called, 0);
    // Delete the session from the internal cache to force a lookup from the external cache. Take
    // a copy first because SSL_CTX_remove_session() also marks the session non-resumable.
    if (useIntCache && maxprot !== TLS1_3_VERSION) {
      const dup = SSL_SESSION_dup(sess2);
      assert.ok(dup);
      tmp = dup;
      assert.notEqual(sess2.owner, null);
      assert.equal(tmp.owner, null);
      assert.equal(SSL_CTX_remove_session(sctx, sess2), 1);
      SSL_SESSION_free(sess2);
    }
    sess2 = tmp;
  }

  cb.new_called = cb.remove_called = cb.get_called = 0;
  cb.get_sess_val = sess2;
  const c2 = createSslObjects(sctx, cctx);
  assert.equal(SSL_set_session(c2.clientssl, sess1), 1);
  assert.ok(await createSslConnection(l, c2.serverssl, c2.clientssl), drainErrors().join('; '));
  assert.equal(SSL_session_reused(c2.clientssl), 1);

  if (useExtCache) {
    assert.equal(cb.remove_called, 0);
    if (maxprot === TLS1_3_VERSION) {
      // OpenSSL: 1 ticket after the resumption. A Node server sends none after resuming a
      // stateless ticket (see the header).
      assert.equal(cb.new_called, 0);
      assert.equal(cb.get_called, 0);
    } else {
      assert.equal(cb.new_called, 0);
      assert.equal(cb.get_called, 1);
    }
  }

  // Make a small cache, force out all other sessions but sess2, try to add sess1, which should
  // succeed. Then make sure it's there by checking the owners. Despite the timeouts, sess1 should
  // have kicked out sess2.
  assert.ok(SSL_SESSION_set_time(sess1, 1000) > 0);
  assert.ok(SSL_SESSION_set_timeout(sess1, 1000) > 0);
  assert.ok(SSL_SESSION_set_time(sess2, 2000) > 0);
  assert.ok(SSL_SESSION_set_timeout(sess2, 2000) > 0);
  assert.notEqual(SSL_CTX_sess_set_cache_size(sctx, 1), 0);
  // Results do not matter: the cache should only hold sess2 at the end.
  SSL_CTX_add_session(sctx, sess1);
  SSL_CTX_add_session(sctx, sess2);
  // Now add sess1, and make sure it remains, despite the timeout.
  assert.equal(SSL_CTX_add_session(sctx, sess1), 1);
  assert.notEqual(sess1.owner, null);
  assert.equal(sess2.owner, null);

  SSL_free(c1.serverssl);
  SSL_free(c1.clientssl);
  SSL_free(c2.serverssl);
  SSL_free(c2.clientssl);
  SSL_SESSION_free(sess1);
  SSL_SESSION_free(sess2);
}

async function executeTestSession(sc: Scenario, peer: Peer, halves: 'both' | 'client'): Promise<void> {
  const cb = new Callbacks();
  const sctx = await serverCtx();
  const cctx = await clientCtx();
  const l = await listener();
  try {
    if (sc.sOptions !== 0) assert.equal(SSL_CTX_set_options(sctx, sc.sOptions) & sc.sOptions, sc.sOptions);
    // Only allow the max protocol version, so that a connection failure can be forced later.
    assert.equal(SSL_CTX_set_min_proto_version(cctx, sc.maxprot), 1);
    assert.equal(SSL_CTX_set_max_proto_version(cctx, sc.maxprot), 1);
    if (sc.useExtCache) {
      SSL_CTX_sess_set_new_cb(cctx, cb.new_session_cb);
      SSL_CTX_sess_set_remove_cb(cctx, cb.remove_session_cb);
    }
    if (sc.useIntCache) SSL_CTX_set_session_cache_mode(cctx, SSL_SESS_CACHE_CLIENT);
    else SSL_CTX_set_session_cache_mode(cctx, SSL_SESS_CACHE_CLIENT | SSL_SESS_CACHE_NO_INTERNAL_STORE);

    await clientHalf(sc, peer, sctx, cctx, cb, l);
    if (halves === 'both') {
      // The C test frees the first pair here without SSL_shutdown; its counters are reset next.
      SSL_CTX_set_max_proto_version(sctx, sc.maxprot);
      await serverHalf(sc, sctx, cctx, cb, l);
    }
    assert.deepEqual(drainErrors(), []);
  } finally {
    freeTracked();
    await l.close();
    SSL_CTX_free(sctx);
    SSL_CTX_free(cctx);
  }
}

const CONFIGS = [
  { name: 'test_session_with_only_int_cache', useIntCache: true, useExtCache: false, sOptions: 0 },
  { name: 'test_session_with_only_ext_cache', useIntCache: false, useExtCache: true, sOptions: 0 },
  { name: 'test_session_with_both_cache', useIntCache: true, useExtCache: true, sOptions: 0 },
];
const VERSIONS = [
  { name: 'TLSv1.3', maxprot: TLS1_3_VERSION },
  { name: 'TLSv1.2', maxprot: TLS1_2_VERSION },
];
/** test_session_wo_ca_names: execute_test_session(TLS1_3_VERSION, 1, 0, SSL_OP_DISABLE_TLSEXT_CA_NAMES). */
const WO_CA_NAMES = {
  name: 'test_session_wo_ca_names',
  useIntCache: true,
  useExtCache: false,
  sOptions: SSL_OP_DISABLE_TLSEXT_CA_NAMES,
};

/** The runs of each describe: every config under both versions, and test_session_wo_ca_names under TLS 1.3 as in C. */
const RUNS = [
  ...CONFIGS.flatMap((config) => VERSIONS.map((version) => ({ config, version }))),
  { config: WO_CA_NAMES, version: VERSIONS[0]! },
];

/** Only the steps that count callbacks (the external cache) see the ticket a Node server does not send after a TLS 1.3 resumption. */
function countsDiffer(config: { useExtCache: boolean }, version: { maxprot: number }): boolean {
  return config.useExtCache && version.maxprot === TLS1_3_VERSION;
}

describe('sslapitest execute_test_session: client half against openssl s_server, server half on SSL_accept', () => {
  for (const { config, version } of RUNS) {
    const note = countsDiffer(config, version)
      ? ' (server half: no ticket after a TLS 1.3 resumption on a Node server: 1 count differs)'
      : '';
    test(`${config.name} ${version.name}${note}`, { timeout: 30_000 }, async () => {
      await executeTestSession({ maxprot: version.maxprot, ...config }, 'openssl', 'both');
    });
  }
});

describe('sslapitest execute_test_session: client half against the SSL_accept server', () => {
  for (const { config, version } of RUNS) {
    const note = countsDiffer(config, version) ? ' (no ticket after a TLS 1.3 resumption: 2 counts differ)' : '';
    test(`${config.name} ${version.name}${note}`, { timeout: 30_000 }, async () => {
      await executeTestSession({ maxprot: version.maxprot, ...config }, 'node', 'client');
    });
  }
});
