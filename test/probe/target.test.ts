// HOST[:PORT] parsing for the probe.
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { ProbeError, parseProbeTarget, probe } from '../../src/index.js';
import { formatTarget } from '../../src/probe/target.js';
import { freePort } from '../helpers/index.js';

describe('parseProbeTarget', () => {
  const good: Array<[string, string, number, string]> = [
    ['example.com', 'example.com', 443, 'example.com:443'],
    ['example.com:8443', 'example.com', 8443, 'example.com:8443'],
    ['127.0.0.1:1', '127.0.0.1', 1, '127.0.0.1:1'],
    ['[::1]:4433', '::1', 4433, '[::1]:4433'],
    ['[2001:db8::1]', '2001:db8::1', 443, '[2001:db8::1]:443'],
    ['::1', '::1', 443, '[::1]:443'],
    ['  host.test:65535 ', 'host.test', 65535, 'host.test:65535'],
  ];
  for (const [input, host, port, formatted] of good) {
    test(`'${input}'`, () => {
      const target = parseProbeTarget(input);
      assert.deepEqual(target, { host, port });
      assert.equal(formatTarget(target), formatted);
    });
  }

  const bad = [
    '',
    ':443',
    'host:0',
    'host:65536',
    'host:44a',
    'host:',
    '[::1',
    '[::1]x',
    '[example.com]:443',
    'a b:443',
    'http://example.com',
  ];
  for (const input of bad) {
    test(`'${input}' is rejected with ERR_PROBE_TARGET`, () => {
      assert.throws(
        () => parseProbeTarget(input),
        (err: unknown) => err instanceof ProbeError && err.code === 'ERR_PROBE_TARGET' && !err.message.includes('\n'),
      );
    });
  }
});

describe('probe options', () => {
  const bad: Array<[string, Parameters<typeof probe>[0]]> = [
    ['attempts 0', { host: '127.0.0.1', port: 9, attempts: 0 }],
    ['attempts 1.5', { host: '127.0.0.1', port: 9, attempts: 1.5 }],
    ['attempts 101', { host: '127.0.0.1', port: 9, attempts: 101 }],
    ['timeout 0', { host: '127.0.0.1', port: 9, timeoutMs: 0 }],
    ['no version', { host: '127.0.0.1', port: 9, versions: [] }],
  ];
  for (const [name, options] of bad) {
    test(`${name}: ERR_PROBE_TARGET before any connection`, async () => {
      await assert.rejects(
        probe(options),
        (err: unknown) => err instanceof ProbeError && err.code === 'ERR_PROBE_TARGET',
      );
    });
  }

  // Each a one-line message naming the option and the value given.
  const messages: Array<[string, Parameters<typeof probe>[0], RegExp]> = [
    [
      'timeoutMs 2^31 (Node would fire the timer after 1 ms)',
      { host: '127.0.0.1', port: 9, timeoutMs: 2 ** 31 },
      /^probe: timeoutMs must be a whole number of milliseconds from 1 to 2147483647 \(got 2147483648\)$/,
    ],
    [
      'timeoutMs Infinity',
      { host: '127.0.0.1', port: 9, timeoutMs: Number.POSITIVE_INFINITY },
      /^probe: timeoutMs must be .* \(got Infinity\)$/,
    ],
    ['timeoutMs 1.5', { host: '127.0.0.1', port: 9, timeoutMs: 1.5 }, /^probe: timeoutMs must be a whole number/],
    ['port 0', { host: '127.0.0.1', port: 0 }, /^probe: port must be an integer from 1 to 65535 \(got 0\)$/],
    [
      'port 70000',
      { host: '127.0.0.1', port: 70_000 },
      /^probe: port must be an integer from 1 to 65535 \(got 70000\)$/,
    ],
    ['port 44.5', { host: '127.0.0.1', port: 44.5 }, /^probe: port must be an integer/],
    [
      "versions ['TLSv1.1']",
      { host: '127.0.0.1', port: 9, versions: ['TLSv1.1' as 'TLSv1.2'] },
      /^probe: versions: 'TLSv1\.1' is not probed; only 'TLSv1\.3' and 'TLSv1\.2' are$/,
    ],
    ['empty host', { host: '', port: 9 }, /^probe: host must be a host name or IP address \(got ''\)$/],
    [
      'empty servername',
      { host: '127.0.0.1', port: 9, servername: ' ' },
      /^probe: servername must be a non-empty string$/,
    ],
    [
      'empty otherServername',
      { host: '127.0.0.1', port: 9, otherServername: '' },
      /^probe: otherServername must be a non-empty string$/,
    ],
  ];
  for (const [name, options, message] of messages) {
    test(`${name}: a one-line ERR_PROBE_TARGET`, async () => {
      await assert.rejects(probe(options), (err: unknown) => {
        assert.ok(err instanceof ProbeError);
        assert.equal(err.code, 'ERR_PROBE_TARGET');
        assert.match(err.message, message);
        return true;
      });
    });
  }

  test('timeoutMs 2^31 - 1 is accepted: a refused connection is reported as such, not as a timeout', async () => {
    const port = await freePort();
    await assert.rejects(
      probe({ host: '127.0.0.1', port, timeoutMs: 2 ** 31 - 1 }),
      (err: unknown) => err instanceof ProbeError && err.code === 'ERR_PROBE_CONNECT',
    );
  });
});
