/**
 * Last-resort cleanup for test processes.
 *
 * Child processes and temp dirs made by the test kit register a synchronous hook here. The
 * hooks run when the process exits (normally, after a failed assertion, or on SIGINT, SIGTERM
 * or SIGHUP), so a failing test never leaves an `openssl` process or a temp dir behind. Explicit
 * cleanup (`stop()`, `cleanup()`) stays the normal path and unregisters its hook.
 *
 * ```ts
 * const unregister = onProcessExit(() => child.kill('SIGKILL'));
 * // ... later, after a normal cleanup:
 * unregister();
 * ```
 */

type Hook = () => void;

const hooks = new Set<Hook>();
let installed = false;

function runHooks(): void {
  for (const hook of [...hooks]) {
    try {
      hook();
    } catch {
      // One broken hook must not keep the others from running.
    }
  }
  hooks.clear();
}

function install(): void {
  if (installed) return;
  installed = true;
  process.once('exit', runHooks);
  for (const signal of ['SIGINT', 'SIGTERM', 'SIGHUP'] as const) {
    process.once(signal, () => {
      runHooks();
      // Keep the default outcome (termination) unless someone else handles the signal.
      if (process.listenerCount(signal) === 0) process.kill(process.pid, signal);
    });
  }
}

/**
 * Runs `hook` (synchronously) when the process exits, unless the returned function is called
 * first.
 */
export function onProcessExit(hook: Hook): () => void {
  install();
  hooks.add(hook);
  return () => {
    hooks.delete(hook);
  };
}
