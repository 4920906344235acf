/**
 * Runs the CLI's `main()` in this process with captured streams, as a terminal or a pipe would
 * see it: `runMain(['probe', 'localhost:443'], { stderrTty: true })`.
 */
import { Readable, Writable } from 'node:stream';
import { main } from '../../src/cli/main.js';

/** A writable that keeps what it is given and says whether it is a terminal. */
export class Capture extends Writable {
  text = '';
  constructor(readonly isTTY = false) {
    super();
  }
  override _write(chunk: Buffer | string, _enc: BufferEncoding, done: () => void): void {
    this.text += chunk.toString();
    done();
  }
}

/** `main(args)` with empty stdin; stdout and stderr captured (terminals when asked). */
export async function runMain(
  args: string[],
  tty: { stdout?: boolean; stderr?: boolean } = {},
): Promise<{ code: number; stdout: string; stderr: string }> {
  const stdout = new Capture(tty.stdout ?? false);
  const stderr = new Capture(tty.stderr ?? false);
  const code = await main(args, { stdin: Readable.from([]), stdout, stderr });
  return { code, stdout: stdout.text, stderr: stderr.text };
}
