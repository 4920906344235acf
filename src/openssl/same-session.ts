import { coreOf, type SSL_SESSION } from './ssl-session.js';

/**
 * True when two pointers designate the same session: C's `a == b`. Owning pointers of one
 * session are the same object, but a borrowed pointer (SSL_get0_session) is an object of its
 * own, so compare with this function. Not an OpenSSL call.
 */
export function sameSession(a: SSL_SESSION | null, b: SSL_SESSION | null): boolean {
  if (a === null || b === null) return a === b;
  return coreOf(a, 'sameSession') === coreOf(b, 'sameSession');
}
