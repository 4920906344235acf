// HOST[:PORT] parsing for the probe.
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { ProbeError, parseProbeTarget, probe } from '../../src/index.js';
import { formatTarget } from '../../src/probe/target.js';

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

  const bad = ['', ':443', 'host:0', 'host:65536', 'host:44a', 'host:', '[::1', '[::1]x', '[example.com]:443', 'a b:443', 'http://example.com'];
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
      await assert.rejects(probe(options), (err: unknown) => err instanceof ProbeError && err.code === 'ERR_PROBE_TARGET');
    });
  }
});
