import type { SessionStore } from '../stores/session-store.js';
import { SessionStoreError } from '../stores/store-error.js';
import { type TicketKeyInfo, TicketKeyError, TicketKeyRing } from '../tickets/index.js';
import { messageOf } from '../util/errors.js';
import { parse } from './args.js';
import { type CliIO, EXIT_OK, readFileBounded, UsageError } from './io.js';

/** Largest key-encryption key file read: 64 hex digits and some white space fit many times over. */
const MAX_KEK_FILE_BYTES = 1024;

const USAGE = `usage: tls-sessions keys generate|rotate|list --redis URL --kek-file FILE [options]

Manages the TLS session ticket keys a fleet of Node servers shares through Redis
(TicketKeyRing, see docs/tickets.md). Keys are sealed in the store with the
key-encryption key (AES-256-GCM); key material is printed only with --reveal.

commands:
  generate             create the fleet settings and the current and next keys,
                       where the store lacks them; then list
  rotate               replace the current key now; the replaced key still
                       decrypts for the grace period; then list
  rotate --revoke      drop every key at once (a leaked key): every outstanding
                       ticket costs a full handshake; then list
  list                 show the keys the store holds (writes nothing)

options:
  --redis URL          the fleet's Redis, redis://[user:password@]host:port[/db]
  --kek-file FILE      key-encryption key: 32 bytes, raw or as 64 hex digits
                       (openssl rand -hex 32 > FILE)
  --kek-id ID          id the key-encryption key seals under (default kek)
  --prefix P           the ring's prefix in the store (default tk:)
  --redis-prefix P     prefix of every Redis key (default tls-sessions:)
  --rotate-every S     rotation interval in seconds of a new fleet (default 43200)
  --grace S            grace period in seconds of a new fleet (default 86400)
  --timeout MS         bound on each store call (default 2000)
  --reveal             include key material (a secret)
  --json               print one JSON object
  -h, --help           show this help

A fleet's settings are written once, by the first member or 'generate'; members
and this command follow what the store holds.

exit codes: 0 ok, 1 store unreachable or unreadable, 2 usage (options, the
--kek-file, a --redis URL or database the server refuses)
`;

/** `tls-sessions keys`: generate, rotate and list a fleet's ticket keys. */
export async function keys(argv: string[], io: CliIO): Promise<number> {
  const { values, positionals } = parse(argv, {
    redis: { type: 'string' },
    'kek-file': { type: 'string' },
    'kek-id': { type: 'string' },
    prefix: { type: 'string' },
    'redis-prefix': { type: 'string' },
    'rotate-every': { type: 'string' },
    grace: { type: 'string' },
    timeout: { type: 'string' },
    revoke: { type: 'boolean' },
    reveal: { type: 'boolean' },
    json: { type: 'boolean' },
    help: { type: 'boolean', short: 'h' },
  });
  if (values.help) {
    io.stdout.write(USAGE);
    return EXIT_OK;
  }
  if (positionals.length !== 1) throw new UsageError('expected one command: generate, rotate or list');
  const command = positionals[0]!;
  if (command !== 'generate' && command !== 'rotate' && command !== 'list') {
    throw new UsageError(`unknown command '${command}' (generate, rotate or list)`);
  }
  if (values.revoke && command !== 'rotate') throw new UsageError('--revoke goes with rotate');
  if (values.redis === undefined) throw new UsageError('--redis URL is required');
  if (!/^rediss?:\/\//.test(values.redis)) throw new UsageError('--redis must be a redis:// or rediss:// URL');
  if (values['kek-file'] === undefined) throw new UsageError('--kek-file FILE is required');
  const rotateEvery = seconds(values['rotate-every'], '--rotate-every');
  const grace = seconds(values.grace, '--grace');
  const timeoutMs = seconds(values.timeout, '--timeout') ?? 2000;

  const kek = await readKek(values['kek-file']);
  const { RedisStore } = await import('../stores/redis-store.js');
  // Options are the command line's: a bad one is a usage error (exit 2), found before any connection.
  const store = asUsage(
    () =>
      new RedisStore({
        url: values.redis,
        connectTimeoutMs: timeoutMs,
        commandTimeoutMs: timeoutMs,
        ...(values['redis-prefix'] === undefined ? {} : { prefix: values['redis-prefix'] }),
      }),
    '--redis',
  );
  let ring: TicketKeyRing;
  try {
    ring = asUsage(
      () =>
        new TicketKeyRing({
          store: store as SessionStore,
          kek: { id: values['kek-id'] ?? 'kek', key: kek },
          storeTimeoutMs: timeoutMs,
          ...(values.prefix === undefined ? {} : { prefix: values.prefix }),
          ...(rotateEvery === undefined ? {} : { rotateEvery }),
          ...(grace === undefined ? {} : { grace }),
        }),
    );
  } catch (err) {
    await store.close();
    throw err;
  } finally {
    kek.fill(0);
  }
  const notes: string[] = [];
  ring.on('error', (err) => {
    if (err.code === 'ERR_TICKET_CONFIG') notes.push(err.message);
  });
  try {
    try {
      await store.ready(timeoutMs);
    } catch (err) {
      // A database the server refuses is the --redis argument's fault.
      if (err instanceof SessionStoreError && err.code === 'ERR_STORE_OPTION')
        throw new UsageError(`--redis: ${messageOf(err)}`);
      throw err;
    }
    // Reads first: an unreadable store (wrong KEK, foreign data) fails here, before any write.
    await ring.load();
    if (command === 'generate') {
      if (!(await ring.sync())) throw new Error('the store could not be written');
    } else if (command === 'rotate') {
      await ring.rotate({ revoke: values.revoke === true });
    }
    await new Promise((resolve) => setImmediate(resolve));
    const list = ring.list({ reveal: values.reveal === true });
    if (values.json) {
      io.stdout.write(`${JSON.stringify({ rotateEvery: ring.rotateEvery, grace: ring.grace, keys: list }, null, 2)}\n`);
    } else {
      for (const n of notes) io.stderr.write(`note: ${n}\n`);
      io.stdout.write(formatKeys(list, ring.rotateEvery, ring.grace));
    }
    return EXIT_OK;
  } finally {
    await ring.close();
    await store.close();
  }
}

function seconds(value: string | undefined, flag: string): number | undefined {
  if (value === undefined) return undefined;
  if (!/^\d{1,9}$/.test(value) || Number(value) < 1) throw new UsageError(`${flag} must be a positive integer`);
  return Number(value);
}

/** Runs a constructor; its option error becomes a usage error (exit 2), naming `flag` if given. */
function asUsage<T>(make: () => T, flag?: string): T {
  try {
    return make();
  } catch (err) {
    const option =
      (err instanceof SessionStoreError && err.code === 'ERR_STORE_OPTION') ||
      (err instanceof TicketKeyError && err.code === 'ERR_TICKET_OPTION');
    if (option) throw new UsageError(flag === undefined ? messageOf(err) : `${flag}: ${messageOf(err)}`);
    throw err;
  }
}

/**
 * The key-encryption key file: 32 raw bytes or 64 hex digits (surrounding white space allowed),
 * read up to {@link MAX_KEK_FILE_BYTES}. Every problem with it is a usage error (exit 2); the
 * content is never echoed.
 */
async function readKek(file: string): Promise<Buffer> {
  let bytes: Buffer;
  try {
    bytes = await readFileBounded(file, MAX_KEK_FILE_BYTES, `--kek-file ${file}`);
  } catch (err) {
    const reason =
      (err as NodeJS.ErrnoException).code === 'ENOENT' ? `--kek-file ${file} does not exist` : messageOf(err);
    throw new UsageError(reason);
  }
  try {
    if (bytes.length === 32) return Buffer.from(bytes);
    const text = bytes.toString('latin1').trim();
    if (/^[0-9a-fA-F]{64}$/.test(text)) return Buffer.from(text, 'hex');
    throw new UsageError('--kek-file must hold the key-encryption key: 32 bytes, raw or as 64 hex digits');
  } finally {
    bytes.fill(0);
  }
}

function formatKeys(list: readonly TicketKeyInfo[], rotateEvery: number, grace: number): string {
  const lines = [`fleet: a new key every ${rotateEvery} s; a key decrypts ${grace} s after its turn`];
  if (list.length === 0) lines.push('no keys');
  for (const k of list) {
    const turn =
      k.encryptsFrom === null
        ? 'demoted by a manual rotation'
        : `encrypts ${iso(k.encryptsFrom)} - ${iso(k.encryptsUntil)}`;
    lines.push(`${k.role.padEnd(8)}  ${k.name}  ${turn}, decrypts until ${iso(k.decryptsUntil)}`);
    if (k.material !== undefined) lines.push(`          key ${k.material}`);
  }
  return `${lines.join('\n')}\n`;
}

function iso(d: Date | null): string {
  return d === null ? '-' : d.toISOString().replace('.000Z', 'Z');
}
