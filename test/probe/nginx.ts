/**
 * nginx on 127.0.0.1 for probe tests: a config written to a temp dir (pid, logs and temp paths
 * all inside it), one foreground process (`daemon off; master_process off`) under the kit's peer launcher,
 * stopped by the test.
 *
 * ```ts
 * const skip = skipUnlessPeer(nginxMissing()); // skipped outside CI when missing, fails under CI
 * const ng = await startNginx({ servers: [{ names: ['localhost'], cert: pki.server }], cache: 'shared:SSL:1m', tickets: true });
 * t.after(() => ng.stop());
 * ```
 */
import { spawnSync } from 'node:child_process';
import { readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { type Cert, canConnect, freePort, launchPeer, type Peer, requirePeer, tmpDir } from '../helpers/index.js';

/** One `server {}` block. */
export interface NginxServer {
  names: string[];
  cert: Cert;
}

/** Options of {@link startNginx}. */
export interface NginxOptions {
  /** The first one is the default server. */
  servers: NginxServer[];
  /** `ssl_session_cache` value, e.g. 'shared:SSL:1m', 'off', 'none'. */
  cache: string;
  /** `ssl_session_tickets on|off`. */
  tickets: boolean;
  /** `ssl_session_timeout`, e.g. '5m'. Default nginx's (5m). */
  timeout?: string;
  /** Address to listen on. Default 127.0.0.1. */
  host?: string;
  /** Port to listen on. Default: a free one. */
  port?: number;
  /** `ssl_session_ticket_key` files (48 or 80 bytes each; the first encrypts). Default none: nginx makes its own key. */
  ticketKeyFiles?: string[];
}

/** A running nginx. */
export interface Nginx {
  host: string;
  port: number;
  /** Stops nginx (SIGTERM, then SIGKILL after 2 s) and removes its directory. */
  stop(): Promise<void>;
}

let binary: string | null | undefined;

function nginxPath(): string | null {
  if (binary === undefined) {
    // NGINX_BIN names the binary (or, set to a missing path, makes nginx missing).
    const which = process.env['NGINX_BIN'] ? 'ls "$NGINX_BIN"' : 'command -v nginx || ls /usr/sbin/nginx';
    const found = spawnSync('sh', ['-c', which], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] });
    binary = found.status === 0 ? (found.stdout.trim().split('\n')[0] ?? null) : null;
  }
  return binary;
}

/** Why nginx tests cannot run here, or undefined when they can. */
export function nginxMissing(): string | undefined {
  return nginxPath() === null
    ? 'nginx is not installed (.ci/run installs nginx-light; locally: apt-get install -y nginx-light)'
    : undefined;
}

/** Writes the config and starts nginx; resolves once it accepts connections. */
export async function startNginx(opts: NginxOptions): Promise<Nginx> {
  requirePeer(nginxMissing());
  const bin = nginxPath()!;
  const dir = await tmpDir('probe-nginx-');
  const port = opts.port ?? (await freePort());
  const host = opts.host ?? '127.0.0.1';
  const servers = opts.servers
    .map(
      (s, i) => `
  server {
    listen ${host}:${port} ssl${i === 0 ? ' default_server' : ''};
    server_name ${s.names.join(' ')};
    ssl_certificate ${s.cert.certPath};
    ssl_certificate_key ${s.cert.keyPath};
    location / { return 200 "ok\\n"; }
  }`,
    )
    .join('\n');
  const config = `daemon off;
master_process off;
pid ${join(dir.path, 'nginx.pid')};
error_log ${join(dir.path, 'error.log')} warn;
events { worker_connections 64; }
http {
  access_log off;
  client_body_temp_path ${join(dir.path, 'body')};
  proxy_temp_path ${join(dir.path, 'proxy')};
  fastcgi_temp_path ${join(dir.path, 'fastcgi')};
  uwsgi_temp_path ${join(dir.path, 'uwsgi')};
  scgi_temp_path ${join(dir.path, 'scgi')};
  ssl_protocols TLSv1.2 TLSv1.3;
  ssl_session_cache ${opts.cache};
  ssl_session_tickets ${opts.tickets ? 'on' : 'off'};
  ${opts.timeout === undefined ? '' : `ssl_session_timeout ${opts.timeout};`}
  ${(opts.ticketKeyFiles ?? []).map((f) => `ssl_session_ticket_key ${f};`).join('\n  ')}
${servers}
}
`;
  const confPath = join(dir.path, 'nginx.conf');
  await writeFile(confPath, config);
  const log = () => readFile(join(dir.path, 'error.log'), 'utf8').catch(() => '');
  let peer: Peer;
  try {
    peer = await launchPeer({
      name: 'nginx',
      command: bin,
      args: ['-p', dir.path, '-c', confPath, '-e', join(dir.path, 'error.log')],
      readyIntervalMs: 20,
      ready: () => canConnect(port, host),
    });
  } catch (error) {
    const lines = (await log()).trim().split('\n').slice(-3).join(' | ');
    await dir.cleanup();
    throw new Error(`nginx did not start: ${(error as Error).message}${lines ? ` | ${lines}` : ''}`);
  }
  return {
    host,
    port,
    stop: async () => {
      await peer.stop();
      await dir.cleanup();
    },
  };
}
