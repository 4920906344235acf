import { createRequire } from 'node:module';
import { messageOf, SessionStoreError } from './store-error.js';

const require = createRequire(import.meta.url);

/**
 * Loads an optional peer dependency, or throws `ERR_STORE_DEPENDENCY` saying how to install it.
 * Loaded on first use rather than by a static import, so that a missing package gives that
 * one-line error instead of a module resolution failure.
 */
export function loadPeer<T>(name: string, user: string): T {
  try {
    return require(name) as T;
  } catch (err) {
    const code = (err as { code?: unknown } | null)?.code;
    if (code === 'MODULE_NOT_FOUND' || code === 'ERR_MODULE_NOT_FOUND') {
      throw new SessionStoreError('ERR_STORE_DEPENDENCY', `${user} needs the '${name}' package: npm install ${name}`);
    }
    throw new SessionStoreError(
      'ERR_STORE_DEPENDENCY',
      `${user}: the '${name}' package failed to load: ${messageOf(err)}`,
    );
  }
}
