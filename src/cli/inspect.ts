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

Decodes a TLS session (OpenSSL SSL_SESSION, DER or PEM) and prints it like
'openssl sess_id -text -noout', with the master key / PSK redacted.

options:
  --inform der|pem     input format (default: detected)
  --json               print one JSON object instead of text
  --reveal             include the master key / resumption PSK (a secret)
  --out FILE           write the session to FILE instead of printing it
  --outform der|pem    format for --out (default: pem)
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
    help: { type: 'boolean', short: 'h' },
  });
  if (values.help) {
    io.stdout.write(USAGE);
    return EXIT_OK;
  }
  if (positionals.length > 1) throw new UsageError('expected at most one FILE');
  const inform = choice(values.inform, ['der', 'pem'] as const, '--inform');
  const outform = choice(values.outform, ['der', 'pem'] as const, '--outform') ?? 'pem';
  if (values.outform && !values.out) throw new UsageError('--outform needs --out');
  if (values.out && values.json) throw new UsageError('--out and --json cannot be combined');

  const file = positionals[0] ?? '-';
  const input = file === '-' ? await readAll(io.stdin, MAX_INPUT_BYTES) : await readFileBounded(file, MAX_INPUT_BYTES);
  const session =
    inform === 'der' ? TlsSession.fromDER(input) : inform === 'pem' ? TlsSession.fromPEM(input) : TlsSession.parse(input);

  // openssl cannot load a session whose peer certificate does not parse (d2i_X509 fails inside
  // d2i_SSL_SESSION): neither does any form of this command.
  session.peerCertificate;

  if (values.out) {
    await writeSecretFile(values.out, outform === 'der' ? session.toDER() : session.toPEM());
    return EXIT_OK;
  }
  const reveal = values.reveal === true;
  if (values.json) {
    io.stdout.write(`${JSON.stringify(session.toJSON({ reveal }), null, 2)}\n`);
  } else {
    // latin1 keeps OpenSSL's raw bytes for the rare non-ASCII host name or identity.
    io.stdout.write(Buffer.from(session.toText({ reveal }), 'latin1'));
  }
  return EXIT_OK;
}
