import { execFile } from 'node:child_process';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';

const run = promisify(execFile);
const cached = new Map<string, Promise<{ key: string; cert: string }>>();

/** A throwaway self-signed certificate for localhost (ECDSA P-256 or RSA 2048), made once per process. */
export function benchCert(type: 'ecdsa' | 'rsa' = 'ecdsa'): Promise<{ key: string; cert: string }> {
  const keyArgs = type === 'rsa' ? ['-newkey', 'rsa:2048'] : ['-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256'];
  let made = cached.get(type);
  if (made) return made;
  made = (async () => {
    const dir = await mkdtemp(join(tmpdir(), 'bench-cert-'));
    try {
      const key = join(dir, 'key.pem');
      const cert = join(dir, 'cert.pem');
      await run('openssl', [
        'req',
        '-x509',
        ...keyArgs,
        '-nodes',
        '-days',
        '2',
        '-subj',
        '/CN=localhost',
        '-addext',
        'subjectAltName=DNS:localhost,IP:127.0.0.1',
        '-keyout',
        key,
        '-out',
        cert,
      ]);
      return { key: await readFile(key, 'utf8'), cert: await readFile(cert, 'utf8') };
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  })();
  cached.set(type, made);
  return made;
}
