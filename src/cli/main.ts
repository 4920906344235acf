import { type CliIO, EXIT_FAILURE, EXIT_USAGE, UsageError } from './io.js';
import { messageOf } from '../util/errors.js';

/** A subcommand: parses its own arguments, returns the exit code. */
export type Command = (argv: string[], io: CliIO) => Promise<number>;

// Loaded on demand so that `inspect` does not pay for the network commands' imports.
const COMMANDS: Record<string, { summary: string; load: () => Promise<Command> }> = {
  demo: {
    summary: 'run a TLS server and clients on loopback and show resumption at work',
    load: async () => (await import('./demo.js')).demo,
  },
  inspect: {
    summary: 'decode a session file (DER or PEM) like openssl sess_id',
    load: async () => (await import('./inspect.js')).inspect,
  },
  keys: {
    summary: 'generate, rotate and list the TLS ticket keys a fleet shares through Redis',
    load: async () => (await import('./keys.js')).keys,
  },
  probe: {
    summary: 'tell what a server does with sessions (TLS 1.2 and 1.3)',
    load: async () => (await import('./probe.js')).probeCommand,
  },
};

function usage(): string {
  const width = Math.max(...Object.keys(COMMANDS).map((n) => n.length));
  const lines = Object.entries(COMMANDS).map(([name, c]) => `  ${name.padEnd(width)}  ${c.summary}`);
  return `usage: tls-sessions <command> [options]\n\ncommands:\n${lines.join('\n')}\n\nRun 'tls-sessions <command> --help' for a command's options.\n`;
}

/** Entry point of the `tls-sessions` binary; returns the process exit code. */
export async function main(argv: string[], io: CliIO = process): Promise<number> {
  const [name, ...rest] = argv;
  if (name === undefined || name === '--help' || name === '-h' || name === 'help') {
    (name === undefined ? io.stderr : io.stdout).write(usage());
    return name === undefined ? EXIT_USAGE : 0;
  }
  if (name === '--version') {
    io.stdout.write(`${await version()}\n`);
    return 0;
  }
  const command = COMMANDS[name];
  if (!command) {
    io.stderr.write(`tls-sessions: unknown command '${name}'\n${usage()}`);
    return EXIT_USAGE;
  }
  try {
    return await (await command.load())(rest, io);
  } catch (err) {
    if (err instanceof UsageError) {
      io.stderr.write(`tls-sessions ${name}: ${messageOf(err, Number.POSITIVE_INFINITY)}\n`);
      return EXIT_USAGE;
    }
    io.stderr.write(`tls-sessions ${name}: ${messageOf(err, Number.POSITIVE_INFINITY)}\n`);
    return EXIT_FAILURE;
  }
}

async function version(): Promise<string> {
  const { readFile } = await import('node:fs/promises');
  const pkg = JSON.parse(await readFile(new URL('../../package.json', import.meta.url), 'utf8')) as { version: string };
  return pkg.version;
}
