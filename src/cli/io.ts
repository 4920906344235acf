import { open } from 'node:fs/promises';
import type { Readable, Writable } from 'node:stream';
import { TlsSessionsError } from '../util/errors.js';

/** Streams a command talks to; tests pass their own. */
export interface CliIO {
  stdin: Readable;
  stdout: Writable & { isTTY?: boolean };
  stderr: Writable & { isTTY?: boolean };
}

/** Exit codes shared by every command. */
export const EXIT_OK = 0;
export const EXIT_FAILURE = 1;
export const EXIT_USAGE = 2;

/** A usage mistake: printed with the command's usage line, exit code 2. */
export class UsageError extends TlsSessionsError<'ERR_USAGE'> {
  override readonly name = 'UsageError';
  constructor(message: string) {
    super('ERR_USAGE', message);
  }
}

/** Input past a command's bound: refused before it is all read, so memory stays bounded. */
export class InputTooLargeError extends TlsSessionsError<'ERR_INPUT_TOO_LARGE'> {
  override readonly name = 'InputTooLargeError';
  constructor(what: string, maxBytes: number) {
    super('ERR_INPUT_TOO_LARGE', `${what} is larger than ${maxBytes} bytes`);
  }
}

/**
 * Reads a whole stream into one buffer, at most `maxBytes`: one byte more rejects with
 * {@link InputTooLargeError} and stops reading (stdin from /dev/zero ends there).
 */
export async function readAll(stream: Readable, maxBytes: number, what = 'standard input'): Promise<Buffer> {
  const chunks: Buffer[] = [];
  let size = 0;
  // Leaving the loop early destroys the stream: nothing more is read.
  for await (const chunk of stream) {
    const b = typeof chunk === 'string' ? Buffer.from(chunk) : (chunk as Buffer);
    size += b.length;
    if (size > maxBytes) throw new InputTooLargeError(what, maxBytes);
    chunks.push(b);
  }
  return Buffer.concat(chunks);
}

/**
 * Reads a file, at most `maxBytes`; one byte more rejects with {@link InputTooLargeError}.
 * Reads through the handle rather than trusting the size, so devices (/dev/zero), pipes and
 * growing files are bounded too.
 */
export async function readFileBounded(path: string, maxBytes: number, what = path): Promise<Buffer> {
  const handle = await open(path, 'r');
  try {
    const info = await handle.stat();
    if (info.isDirectory()) throw new Error(`${what} is a directory`);
    if (info.size > maxBytes) throw new InputTooLargeError(what, maxBytes);
    const buf = Buffer.alloc(maxBytes + 1);
    let length = 0;
    while (length < buf.length) {
      const { bytesRead } = await handle.read(buf, length, buf.length - length, null);
      if (bytesRead === 0) break;
      length += bytesRead;
    }
    if (length > maxBytes) {
      buf.fill(0);
      throw new InputTooLargeError(what, maxBytes);
    }
    return buf.subarray(0, length);
  } finally {
    await handle.close();
  }
}

/**
 * Writes a file that holds a secret: created 0600, and an existing file is made 0600 before
 * the secret goes in (a plain writeFile keeps the mode of a file that already existed).
 */
export async function writeSecretFile(path: string, data: string | Uint8Array): Promise<void> {
  const handle = await open(path, 'w', 0o600);
  try {
    await handle.chmod(0o600);
    await handle.writeFile(data);
  } finally {
    await handle.close();
  }
}
