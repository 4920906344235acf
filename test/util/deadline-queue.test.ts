/**
 * The one deadline queue (src/util/deadline-queue.ts) behind the server's store budgets, its
 * ClientHello wait and `withBudget`: deadlines expire in order under one timer, a key done in
 * time never expires, and a keep-alive queue holds the process only while a deadline is pending.
 */
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { test } from 'node:test';
import { setTimeout as delay } from 'node:timers/promises';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { DeadlineQueue } from '../../src/util/deadline-queue.js';

const execFileP = promisify(execFile);

test('keys expire once each, in the order they were added, each after its own length; deleted ones never', async () => {
  const expired: string[] = [];
  const queue = new DeadlineQueue<string>(30, (key) => expired.push(key));
  const keepAlive = setInterval(() => {}, 1000); // the queue's timer is unref'd
  try {
    const started = performance.now();
    queue.add('a');
    queue.add('b');
    await delay(15);
    queue.add('c');
    assert.equal(queue.delete('b'), true);
    await delay(25);
    assert.deepEqual(expired, ['a'], 'c is still within its time');
    await delay(40);
    assert.deepEqual(expired, ['a', 'c']);
    assert.ok(performance.now() - started >= 45);
    assert.equal(queue.delete('a'), false, 'an expired key is gone');
    assert.equal(queue.delete('b'), false);
    queue.add('d');
    assert.equal(queue.delete('d'), true);
    await delay(60);
    assert.deepEqual(expired, ['a', 'c']);
  } finally {
    clearInterval(keepAlive);
  }
});

/** Runs `body` (ES module code that may import withBudget) in a child and returns its stdout. */
async function child(body: string): Promise<string> {
  const budget = fileURLToPath(new URL('../../src/util/budget.ts', import.meta.url));
  const code = `import { withBudget } from ${JSON.stringify(budget)};\n${body}`;
  const { stdout } = await execFileP(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', code], {
    timeout: 30_000,
  });
  return stdout;
}

test('withBudget keeps the process alive while a call is pending, and not after it settled', async () => {
  // Nothing else holds the process: the budget's timer must, or the rejection is never seen.
  assert.equal(
    await child(`withBudget(new Promise(() => {}), 50, 'hung').catch((e) => console.log(e.code, e.message));`),
    'ERR_STORE_TIMEOUT hung: no answer within 50 ms\n',
  );
  // A settled call leaves no timer behind: the process ends long before the 10-minute budget (the child is killed at 30 s).
  assert.equal(await child(`console.log(await withBudget(Promise.resolve('answer'), 600_000, 'quick'));`), 'answer\n');
});
