/** examples/fan-out-fan-in: producer → main → executor threads → consumer → main, all over shared channels. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { runExample } from './helpers.js';

test('examples/fan-out-fan-in: every item done once, round-robin over the executors, the consumer signals main, every thread exits', async () => {
  const run = await runExample('fan-out-fan-in');
  assert.equal(run.code, 0, run.stderr);
  assert.equal(run.stderr, '', 'no warning (no forgotten handle)');

  const sum = Array.from({ length: 30 }, (_, i) => (i + 1) ** 2).reduce((a, b) => a + b, 0);
  assert.deepEqual(run.lines, [
    'main (thread 0): 3 executors registered their Senders',
    'main: the producer is done; 30 items dispatched round-robin',
    `main: the consumer signalled all done: 30 results, sum of squares ${sum}`,
    'main: sent quit to every executor; 5 threads exited',
    'main: results per executor: 10, 10, 10',
    'check: ok — 30 items, each done once, 10 per executor, every thread exited cleanly',
  ]);
});
