import { type ParseArgsConfig, parseArgs } from 'node:util';
import { UsageError } from './io.js';
import { messageOf } from '../util/errors.js';

type Options = NonNullable<ParseArgsConfig['options']>;

/** node:util parseArgs, strict, with its errors turned into {@link UsageError}s. */
export function parse<T extends Options>(
  argv: string[],
  options: T,
  allowPositionals = true,
): ReturnType<typeof parseArgs<{ args: string[]; options: T; allowPositionals: boolean; strict: true }>> {
  try {
    return parseArgs({ args: argv, options, allowPositionals, strict: true });
  } catch (err) {
    throw new UsageError(messageOf(err, Number.POSITIVE_INFINITY));
  }
}

/** Validates a value against a closed set of choices. */
export function choice<C extends string>(
  value: string | undefined,
  choices: readonly C[],
  flag: string,
): C | undefined {
  if (value === undefined) return undefined;
  if (!(choices as readonly string[]).includes(value)) {
    throw new UsageError(`${flag} must be one of ${choices.join(', ')} (got '${value}')`);
  }
  return value as C;
}
