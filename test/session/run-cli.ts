import { PassThrough, Readable } from 'node:stream';
import type { CliIO } from '../../src/cli/io.js';

export interface CliResult {
  code: number;
  stdout: Buffer;
  stderr: string;
}

/** Runs a CLI entry point in-process with captured streams. */
export async function runCli(
  main: (argv: string[], io: CliIO) => Promise<number>,
  argv: string[],
  stdin: string | Buffer = '',
): Promise<CliResult> {
  const out: Buffer[] = [];
  const err: Buffer[] = [];
  const stdout = new PassThrough();
  const stderr = new PassThrough();
  stdout.on('data', (c: Buffer) => out.push(c));
  stderr.on('data', (c: Buffer) => err.push(c));
  const code = await main(argv, { stdin: Readable.from([Buffer.from(stdin)]), stdout, stderr });
  return { code, stdout: Buffer.concat(out), stderr: Buffer.concat(err).toString() };
}
