import { TlsSession } from '../session/tls-session.js';
import { choice, parse } from './args.js';
import { type CliIO, EXIT_OK, readAll, readFileBounded, UsageError, writeSecretFile } from './io.js';

/**
 * Largest input read. A session is a few KB (its biggest parts, a ticket and the peer's leaf
 * certificate, rarely pass 10 KB); 1 MiB leaves room for any real one and bounds memory
 * for anything else (/dev/zero, a wrong file).
 */
export const MAX_INPUT_BYTES = 1024 * 1024;

const USAGE = `usage: tls-sessions inspect [FILE|-] [options]

Decodes a TLS session (OpenSSL SSL_SESSION as DER or PEM, or a Node.js client
session, which Node 22+ binds to a server name) and prints it like
'openssl sess_id -text -noout', with the master key / PSK redacted. A Node
session's binding is printed on a first line of its own.

options:
  --inform der|pem|node  input format (default: detected)
  --json               print one JSON object instead of text
  --reveal             include the master key / resumption PSK (a secret)
  --out FILE           write the session to FILE instead of printing it
  --outform der|pem|node  format for --out (default: pem); node: bound to --bind
  --bind NAME          the server name a node session is bound to (default: its own)
  -h, --help           show this help

Input is read up to 1 MiB (a session is a few KB); larger input is refused.
--out writes a secret: the file is created, or made, mode 0600.

exit codes: 0 ok, 1 bad input, 2 usage
`;

/** `tls-sessions inspect`: decode, print or convert a session file. */
export async function inspect(argv: string[], io: CliIO): Promise<number> {
  const { values, positionals } = parse(argv, {
    inform: { type: 'string' },
    json: { type: 'boolean' },
    reveal: { type: 'boolean' },
    out: { type: 'string' },
    outform: { type: 'string' },
    bind: { type: 'string' },
    help: { type: 'boolean', short: 'h' },
  });
  if (values.help) {
    io.stdout.write(USAGE);
    return EXIT_OK;
  }
  if (positionals.length > 1) throw new UsageError('expected at most one FILE');
  const inform = choice(values.inform, ['der', 'pem', 'node'] as const, '--inform');
  const outform = choice(values.outform, ['der', 'pem', 'node'] as const, '--outform') ?? 'pem';
  if (values.outform && !values.out) throw new UsageError('--outform needs --out');
  if (values.bind !== undefined && outform !== 'node') throw new UsageError('--bind needs --outform node');
  if (values.out && values.json) throw new UsageError('--out and --json cannot be combined');

  const file = positionals[0] ?? '-';
  const input = file === '-' ? await readAll(io.stdin, MAX_INPUT_BYTES) : await readFileBounded(file, MAX_INPUT_BYTES);
  const session =
    inform === 'der'
      ? TlsSession.fromDER(input)
      : inform === 'pem'
        ? TlsSession.fromPEM(input)
        : inform === 'node'
          ? TlsSession.fromNodeSession(input)
          : TlsSession.parse(input);

  // openssl cannot load a session whose peer certificate does not parse (d2i_X509 fails inside
  // d2i_SSL_SESSION): neither does any form of this command.
  session.peerCertificate;

  if (values.out) {
    if (outform === 'node' && (values.bind ?? session.boundIdentity) === undefined) {
      throw new UsageError('--outform node needs --bind NAME for a session that is not bound');
    }
    const bytes =
      outform === 'der' ? session.toDER() : outform === 'node' ? session.toNodeSession(values.bind) : session.toPEM();
    await writeSecretFile(values.out, bytes);
    return EXIT_OK;
  }
  const reveal = values.reveal === true;
  if (values.json) {
    io.stdout.write(`${JSON.stringify(session.toJSON({ reveal }), null, 2)}\n`);
  } else {
    // Outside the sess_id text, which stays byte for byte what openssl prints for the DER.
    if (session.boundIdentity !== undefined) io.stdout.write(`Node.js session bound to: ${session.boundIdentity}\n`);
    // latin1 keeps OpenSSL's raw bytes for the rare non-ASCII host name or identity.
    io.stdout.write(Buffer.from(session.toText({ reveal }), 'latin1'));
  }
  return EXIT_OK;
}
