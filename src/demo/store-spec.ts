import type { SessionStore } from '../stores/session-store.js';

/** Parsed `--store` value: `memory`, `sqlite:PATH` or a `redis://` / `rediss://` URL. */
export type StoreSpec = { kind: 'memory' } | { kind: 'sqlite'; path: string } | { kind: 'redis'; url: string };

/** Parses a `--store` value; returns an error message for anything else. */
export function parseStoreSpec(text: string): StoreSpec | string {
  if (text === 'memory') return { kind: 'memory' };
  if (text.startsWith('sqlite:')) {
    const path = text.slice('sqlite:'.length);
    return path ? { kind: 'sqlite', path } : "--store sqlite: needs a file path, e.g. 'sqlite:/tmp/sessions.db'";
  }
  if (text.startsWith('redis://') || text.startsWith('rediss://')) return { kind: 'redis', url: text };
  return `--store must be 'memory', 'sqlite:PATH' or 'redis://HOST:PORT' (got '${text}')`;
}

/** Opens the store a spec names; the optional adapters are imported only when asked for. */
export async function openStore(spec: StoreSpec): Promise<SessionStore | undefined> {
  switch (spec.kind) {
    case 'memory':
      return undefined; // each component's own default MemoryStore
    case 'sqlite': {
      const { SqliteStore } = await import('../stores/sqlite-store.js');
      return new SqliteStore({ path: spec.path });
    }
    case 'redis': {
      const { RedisStore } = await import('../stores/redis-store.js');
      return new RedisStore({ url: spec.url });
    }
  }
}

/** How a spec prints in the demo's report (a Redis URL without its password). */
export function describeStore(spec: StoreSpec): string {
  if (spec.kind === 'memory') return 'memory';
  if (spec.kind === 'sqlite') return `sqlite:${spec.path}`;
  const url = new URL(spec.url);
  if (url.password) url.password = '***';
  return url.toString();
}
