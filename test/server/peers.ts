/**
 * Clients nobody here wrote, for the server cache tests: a Go crypto/tls client built at test
 * time from `fixtures/go-resume/main.go` (standard library only, its own GOCACHE, no network),
 * and curl. A missing peer skips the test on a workstation and fails it under CI (`CI=true`):
 * a green run must never hide a peer that was not there.
 */
import { execFile } from 'node:child_process';
import { join } from 'node:path';
import type { TestContext } from 'node:test';
import { fileURLToPath } from 'node:url';
import { requirePeer as failWithoutPeer, skipUnlessPeer, tmpDir } from '../helpers/index.js';

const SOURCE = fileURLToPath(new URL('./fixtures/go-resume/main.go', import.meta.url));

interface Run {
  code: number | null;
  stdout: string;
  stderr: string;
}

function run(file: string, args: string[], env: NodeJS.ProcessEnv, timeoutMs: number): Promise<Run> {
  return new Promise((resolve) => {
    execFile(file, args, { env, timeout: timeoutMs, maxBuffer: 4 << 20 }, (err, stdout, stderr) => {
      const code =
        err === null ? 0 : typeof (err as { code?: unknown }).code === 'number' ? (err as { code: number }).code : null;
      resolve({ code, stdout, stderr });
    });
  });
}

/** Whether `name` runs at all (`--version`). */
async function available(file: string, args: string[]): Promise<boolean> {
  return (await run(file, args, process.env, 10_000)).code === 0;
}

/**
 * Skips the test when `peer` is missing, unless under CI, where it fails. Returns `false` when
 * the caller must return at once (skipped).
 */
export async function requirePeer(t: TestContext, peer: 'go' | 'curl'): Promise<boolean> {
  const ok = peer === 'go' ? await available('go', ['version']) : await available('curl', ['--version']);
  const missing = ok
    ? undefined
    : `${peer} is not installed (.ci/run installs ${peer === 'go' ? 'golang-go' : 'curl'})`;
  const skip = skipUnlessPeer(missing);
  if (skip !== undefined) {
    t.skip(skip);
    return false;
  }
  failWithoutPeer(missing);
  return true;
}

let built: Promise<string> | undefined;

/** Builds the Go client once per process; resolves with the binary's path. */
export function goClient(): Promise<string> {
  built ??= (async () => {
    const dir = await tmpDir('go-resume-');
    const bin = join(dir.path, 'go-resume');
    const env: NodeJS.ProcessEnv = {
      ...process.env,
      GOCACHE: join(dir.path, 'cache'),
      GOPATH: join(dir.path, 'gopath'),
      GOFLAGS: '',
      GOPROXY: 'off',
      GO111MODULE: 'off',
      CGO_ENABLED: '0',
    };
    const r = await run('go', ['build', '-o', bin, SOURCE], env, 240_000);
    if (r.code !== 0) throw new Error(`go build failed: ${r.stderr.trim()}`);
    return bin;
  })();
  return built;
}

/** What the Go client saw on each connection. */
export interface GoConnection {
  version: 'TLSv1.2' | 'TLSv1.3';
  resumed: boolean;
}

/** Runs `n` sequential connections of the Go client (one LRU session cache) and reports each. */
export async function runGoClient(opts: {
  port: number;
  ca: string;
  n: number;
  maxVersion: '1.2' | '1.3';
  servername?: string;
}): Promise<GoConnection[]> {
  const bin = await goClient();
  const args = ['-addr', `127.0.0.1:${opts.port}`, '-ca', opts.ca, '-n', String(opts.n), '-max', opts.maxVersion];
  if (opts.servername !== undefined) args.push('-servername', opts.servername);
  const r = await run(bin, args, process.env, 60_000);
  if (r.code !== 0) throw new Error(`go-resume failed: ${r.stderr.trim()}`);
  return r.stdout
    .trim()
    .split('\n')
    .map((line) => JSON.parse(line) as GoConnection);
}

/**
 * One curl run fetching `url` `n` times, each request with `Connection: close` so that each
 * fetch is a new connection that may resume (curl keeps its sessions for the run). Resolves
 * with curl's verbose output, where a resumption reads "SSL re-using session ID".
 */
export async function runCurl(opts: { url: string; ca: string; n: number; tls12: boolean }): Promise<string> {
  const args = ['-sv', '--cacert', opts.ca, '-H', 'Connection: close'];
  if (opts.tls12) args.push('--tlsv1.2', '--tls-max', '1.2');
  for (let i = 0; i < opts.n; i++) args.push(opts.url);
  const r = await run('curl', args, process.env, 60_000);
  if (r.code !== 0) throw new Error(`curl failed (${r.code}): ${r.stderr.trim().split('\n').at(-1)}`);
  return r.stderr;
}
