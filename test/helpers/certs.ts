/**
 * Throwaway PKI for tests, made at test time with the `openssl` CLI.
 *
 * ```ts
 * // Most tests: the per-process shared PKI (made once, removed at exit).
 * const pki = await sharedPki();
 * pki.server;     // ECDSA P-256 leaf for CN=localhost, SAN DNS:localhost + IP:127.0.0.1
 * pki.rsaServer;  // same, RSA 2048
 * pki.client;     // ECDSA client certificate (EKU clientAuth), CN=client
 * pki.ca.certPath // trust anchor for openssl -CAfile; pki.ca.cert for Node's `ca`
 *
 * // A PKI of your own (its own root), e.g. to prove that a foreign CA is rejected:
 * const other = await makePki();
 * t.after(() => other.cleanup());
 * const expired = await other.issue({ cn: 'localhost', notAfterPast: true });
 * ```
 *
 * Keys are PKCS#8 PEM. The root is ECDSA P-256 unless `caKeyType: 'rsa'`. Leaves default to
 * ECDSA P-256 (fast); `keyType: 'rsa'` gives RSA 2048 (about 0.1-0.5 s per key).
 *
 * Leaves are signed with `openssl ca` and a per-leaf database, because OpenSSL 3.0's `x509` and
 * `req` cannot set notBefore/notAfter: it is the only 3.0 CLI path that makes a certificate whose
 * whole validity window lies in the past (`notAfterPast`). Normal leaves start now and last
 * `days` (default 30).
 */
import { rmSync } from 'node:fs';
import { mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { isIP } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { onProcessExit } from './exit-hooks.js';
import { runOpensslOk } from './openssl-process.js';

/** Key algorithm of a generated key: ECDSA on P-256 or RSA 2048. */
export type KeyType = 'rsa' | 'ecdsa';

/** A key and certificate, both as PEM text and as files on disk. */
export interface Cert {
  /** Private key, PKCS#8 PEM. */
  key: string;
  /** Certificate, PEM. */
  cert: string;
  keyPath: string;
  certPath: string;
}

/** What {@link Pki.issue} makes. */
export interface IssueOptions {
  /** Subject common name. */
  cn: string;
  /**
   * SAN entries; IP literals become `IP:`, the rest `DNS:`. Default `[cn]`. When `cn` is
   * 'localhost', `IP:127.0.0.1` is added.
   */
  altNames?: string[];
  /** Default 'ecdsa' (P-256). */
  keyType?: KeyType;
  /** EKU clientAuth instead of serverAuth. */
  client?: boolean;
  /** Validity in days. Default 30. */
  days?: number;
  /** Make a certificate that expired yesterday (valid from 2 days ago until 1 day ago). */
  notAfterPast?: boolean;
  /** End of validity (ms since the epoch, whole seconds); the certificate is valid from a minute ago. */
  notAfterMs?: number;
}

/** A throwaway certificate authority in its own temp dir. */
export interface Pki {
  /** The temp dir holding every file of this PKI. */
  dir: string;
  /** The self-signed root. */
  ca: Cert;
  /** Issues a leaf signed by `ca`. */
  issue(opts: IssueOptions): Promise<Cert>;
  /** Removes `dir`. Certificates already read stay usable as PEM strings. */
  cleanup(): Promise<void>;
}

/** Options for {@link makePki}. */
export interface MakePkiOptions {
  /** Parent of the PKI's fresh temp dir. Default `os.tmpdir()`. */
  dir?: string;
  /** Root key type. Default 'ecdsa'. */
  caKeyType?: KeyType;
  /** Root common name. Default 'tls-sessions test CA'. */
  caName?: string;
}

/** The per-process PKI; it is removed at process exit, so it has no `cleanup`. */
export interface SharedPki extends Omit<Pki, 'cleanup'> {
  /** ECDSA P-256 server leaf, CN=localhost, SAN DNS:localhost, IP:127.0.0.1. */
  server: Cert;
  /** RSA 2048 server leaf, CN=localhost, SAN DNS:localhost, IP:127.0.0.1. */
  rsaServer: Cert;
  /** ECDSA P-256 client leaf, CN=client, EKU clientAuth. */
  client: Cert;
}

const CONFIG_BASE = `
[req]
distinguished_name = dn
prompt = no
[dn]
CN = unused
[ca]
default_ca = issuer
[issuer]
database = index.txt
new_certs_dir = .
default_md = sha256
policy = any
unique_subject = no
rand_serial = yes
[any]
commonName = supplied
[root]
basicConstraints = critical, CA:TRUE
keyUsage = critical, keyCertSign, cRLSign, digitalSignature
subjectKeyIdentifier = hash
`;

// Names end up in an OpenSSL config file and in -subj: keep them to plain host-like text.
const SAFE_NAME = /^[A-Za-z0-9*._:-][A-Za-z0-9 *._:-]*$/;

function checkName(name: string): void {
  if (!SAFE_NAME.test(name)) throw new Error(`unsupported certificate name: ${JSON.stringify(name)}`);
}

function newKeyArgs(keyType: KeyType): string[] {
  return keyType === 'rsa' ? ['-newkey', 'rsa:2048'] : ['-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256'];
}

/** `openssl ca` date: YYYYMMDDHHMMSSZ in UTC. */
function caDate(ms: number): string {
  return new Date(ms)
    .toISOString()
    .replace(/[-:T]/g, '')
    .replace(/\.\d+Z$/, 'Z');
}

function leafSection(opts: IssueOptions, keyType: KeyType): string {
  const names = [...(opts.altNames ?? [opts.cn])];
  if (opts.cn === 'localhost' && !names.includes('127.0.0.1')) names.push('127.0.0.1');
  for (const name of names) checkName(name);
  const san = names.map((n) => (isIP(n) ? `IP:${n}` : `DNS:${n}`)).join(', ');
  // RSA keys may do RSA key transport in TLS 1.2; ECDSA keys only sign.
  const usage = keyType === 'rsa' ? 'digitalSignature, keyEncipherment' : 'digitalSignature';
  return `
[leaf]
basicConstraints = critical, CA:FALSE
keyUsage = critical, ${usage}
extendedKeyUsage = ${opts.client ? 'clientAuth' : 'serverAuth'}
subjectKeyIdentifier = hash
authorityKeyIdentifier = keyid
${san === '' ? '' : `subjectAltName = ${san}`}
`;
}

async function readCert(dir: string): Promise<Cert> {
  const keyPath = join(dir, 'key.pem');
  const certPath = join(dir, 'cert.pem');
  const [key, cert] = await Promise.all([readFile(keyPath, 'utf8'), readFile(certPath, 'utf8')]);
  return { key, cert, keyPath, certPath };
}

/** Creates a root CA in a fresh temp dir (see the file header for what it can issue). */
export async function makePki(opts: MakePkiOptions = {}): Promise<Pki> {
  const caName = opts.caName ?? 'tls-sessions test CA';
  checkName(caName);
  const dir = await mkdtemp(join(opts.dir ?? tmpdir(), 'tls-sessions-pki-'));
  const unregister = onProcessExit(() => rmSync(dir, { recursive: true, force: true }));
  try {
    const caDir = join(dir, 'ca');
    await mkdir(caDir);
    const config = join(caDir, 'openssl.cnf');
    await writeFile(config, CONFIG_BASE);
    await runOpensslOk(
      [
        'req',
        '-x509',
        '-new',
        ...newKeyArgs(opts.caKeyType ?? 'ecdsa'),
        '-nodes',
        '-config',
        config,
        '-extensions',
        'root',
        '-subj',
        `/CN=${caName}`,
        '-days',
        '3650',
        '-keyout',
        'key.pem',
        '-out',
        'cert.pem',
      ],
      { cwd: caDir },
    );
    const ca = await readCert(caDir);
    let count = 0;

    const issue = async (issueOpts: IssueOptions): Promise<Cert> => {
      checkName(issueOpts.cn);
      const keyType = issueOpts.keyType ?? 'ecdsa';
      count += 1;
      const leafDir = join(dir, `leaf-${count}-${issueOpts.cn.replace(/[^A-Za-z0-9.-]/g, '_')}`);
      await mkdir(leafDir);
      const leafConfig = join(leafDir, 'openssl.cnf');
      await writeFile(leafConfig, CONFIG_BASE + leafSection(issueOpts, keyType));
      await writeFile(join(leafDir, 'index.txt'), '');
      await runOpensslOk(
        [
          'req',
          '-new',
          ...newKeyArgs(keyType),
          '-nodes',
          '-config',
          leafConfig,
          '-subj',
          `/CN=${issueOpts.cn}`,
          '-keyout',
          'key.pem',
          '-out',
          'req.csr',
        ],
        { cwd: leafDir },
      );
      const day = 86_400_000;
      const now = Date.now();
      const validity = issueOpts.notAfterPast
        ? ['-startdate', caDate(now - 2 * day), '-enddate', caDate(now - day)]
        : issueOpts.notAfterMs !== undefined
          ? ['-startdate', caDate(now - 60_000), '-enddate', caDate(issueOpts.notAfterMs)]
          : ['-days', String(issueOpts.days ?? 30)];
      await runOpensslOk(
        [
          'ca',
          '-batch',
          '-notext',
          '-config',
          leafConfig,
          '-extensions',
          'leaf',
          '-cert',
          ca.certPath,
          '-keyfile',
          ca.keyPath,
          '-in',
          'req.csr',
          '-out',
          'cert.pem',
          ...validity,
        ],
        { cwd: leafDir },
      );
      return readCert(leafDir);
    };

    return {
      dir,
      ca,
      issue,
      async cleanup() {
        unregister();
        await rm(dir, { recursive: true, force: true });
      },
    };
  } catch (error) {
    unregister();
    await rm(dir, { recursive: true, force: true });
    throw error;
  }
}

let shared: Promise<SharedPki> | undefined;

/**
 * The PKI shared by every test in this process, made on first call (root + ECDSA server, RSA
 * server and client leaves, in parallel) and removed at process exit.
 */
export function sharedPki(): Promise<SharedPki> {
  shared ??= (async () => {
    const pki = await makePki();
    const [server, rsaServer, client] = await Promise.all([
      pki.issue({ cn: 'localhost' }),
      pki.issue({ cn: 'localhost', keyType: 'rsa' }),
      pki.issue({ cn: 'client', client: true }),
    ]);
    // makePki already registered the removal of pki.dir at exit.
    return { dir: pki.dir, ca: pki.ca, issue: pki.issue, server, rsaServer, client };
  })();
  // A failed attempt must not be cached forever.
  shared.catch(() => {
    shared = undefined;
  });
  return shared;
}

/** Leaves for two virtual hosts, a.test and b.test. */
export interface VhostCerts {
  a: Cert;
  b: Cert;
}

let vhostCerts: Promise<VhostCerts> | undefined;

/** Leaves for a.test and b.test from the shared PKI (made once per process). */
export function sharedVhosts(): Promise<VhostCerts> {
  vhostCerts ??= (async () => {
    const pki = await sharedPki();
    const [a, b] = await Promise.all([pki.issue({ cn: 'a.test' }), pki.issue({ cn: 'b.test' })]);
    return { a, b };
  })();
  vhostCerts.catch(() => {
    vhostCerts = undefined;
  });
  return vhostCerts;
}
