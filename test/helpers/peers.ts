/**
 * Tests that need a program outside Node (redis-server, redis-cli, nginx): what a missing one
 * does. Each peer's module says why it is missing (a sentence naming the peer and the package
 * .ci/run installs) or `undefined` when it is there. Outside CI a test whose peer is missing is
 * skipped with that sentence in the report. Under CI (`CI=true`) it is not skipped: it runs and
 * fails at the peer's launcher with the same sentence, so that a run missing a peer cannot pass.
 *
 * ```ts
 * const skip = skipUnlessPeer(redisSkipReason());     // test('...', { skip }, ...)
 * // in the launcher, before spawning:
 * requirePeer(redisSkipReason());                     // throws PeerMissingError when missing
 * ```
 */

/** Whether this is a CI run (`CI=true` or `CI=1`): there a missing peer fails. */
export const IN_CI = /^(true|1)$/i.test(process.env['CI'] ?? '');

/** A peer program a test needs is missing; `message` names it and how .ci/run installs it. */
export class PeerMissingError extends Error {
  override name = 'PeerMissingError';
}

/**
 * The `skip` option of a test that needs a peer: `missing` outside CI (skipped, the reason in
 * the report), `undefined` when the peer is there or under CI (the test runs, and its launcher
 * fails with {@link requirePeer} if the peer is missing).
 */
export function skipUnlessPeer(missing: string | undefined): string | undefined {
  return IN_CI ? undefined : missing;
}

/** Throws {@link PeerMissingError} with `missing` when a peer is missing; launchers call it first. */
export function requirePeer(missing: string | undefined): void {
  if (missing === undefined) return;
  throw new PeerMissingError(
    IN_CI ? `${missing}; under CI a missing peer fails the test rather than skip it` : missing,
  );
}
