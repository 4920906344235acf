/**
 * The one shape of every error this package throws or emits: a `name`, a stable `code` to switch
 * on, a one-line message that names the problem and never holds session or key bytes.
 *
 * One policy for `cause`, so that no secret is reachable from an error: a cause that is one of
 * this package's errors is kept (it follows the same rule); any other (a backend's error, a
 * custom store's) is reduced to a plain Error with its first message line, its `name` and its
 * `code`. Clients such as ioredis attach the command's arguments (session bytes, keys) to their
 * errors; a custom store may attach anything.
 */
export class TlsSessionsError<Code extends string = string> extends Error {
  readonly code: Code;

  constructor(code: Code, message: string, options?: { cause?: unknown }) {
    super(message, options?.cause === undefined ? undefined : { cause: safeCause(options.cause) });
    this.code = code;
  }
}

/** `cause` as it may be attached to an error of this package (see {@link TlsSessionsError}). */
export function safeCause(cause: unknown): Error {
  if (cause instanceof TlsSessionsError) return cause;
  const safe = new Error(messageOf(cause));
  if (cause instanceof Error) {
    safe.name = cause.name;
    const code = (cause as { code?: unknown }).code;
    if (typeof code === 'string' || typeof code === 'number') Object.assign(safe, { code });
  }
  return safe;
}

/**
 * The first line of an unknown error's message, without anything attached to it: at most
 * `maxLength` characters (200 by default, for messages that quote a backend's or a peer's error;
 * the CLI, which prints its own errors whole, passes `Infinity`).
 */
export function messageOf(err: unknown, maxLength = 200): string {
  const text = err instanceof Error ? err.message : String(err);
  const line = text.split('\n', 1)[0] ?? '';
  return line.length > maxLength ? `${line.slice(0, maxLength)}…` : line;
}
