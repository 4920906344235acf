/**
 * Free TCP ports on loopback.
 *
 * ```ts
 * const port = await freePort();
 * ```
 *
 * The port is free when returned but nothing reserves it: prefer letting a server bind port 0
 * and reading the port back (`startSServer` and `startNodeServer` do) when you can.
 */
import { createServer } from 'node:net';

/** Returns a TCP port that was free on 127.0.0.1 a moment ago. */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.unref();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      if (address === null || typeof address === 'string') {
        server.close();
        reject(new Error('loopback listener has no TCP address'));
        return;
      }
      server.close((err) => (err ? reject(err) : resolve(address.port)));
    });
  });
}
