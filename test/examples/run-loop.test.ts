/** examples/run-loop: a worker's run loop with a quit message, and a pipeline that shuts down from upstream. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { runExample } from './helpers.js';

test('examples/run-loop: the worker honours quit before its next step; the chain stops link by link from upstream', async () => {
  const run = await runExample('run-loop');
  assert.equal(run.code, 0, run.stderr);
  assert.equal(run.stderr, '', 'no warning (no forgotten handle)');

  // Part 1: results arrive in job order; the quit comes after five; no step ran after it.
  const results = run.lines.filter((l) => /^ {2}main: job-\d+ done$/.test(l)).map((l) => Number(/job-(\d+)/.exec(l)![1]));
  assert.ok(results.length >= 5, 'at least the five results main waited for');
  assert.deepEqual(results, results.map((_, i) => i), 'results in job order');
  const quitAt = run.lines.indexOf('  main: sent quit');
  assert.ok(quitAt > 0, 'main sent quit');
  const stopped = /worker stopped \(quit\): (\d+) steps, (\d+) jobs done, (\d+) left in its local queue, local queue never above (\d+), steps after quit: (\d+)$/m.exec(run.stdout);
  assert.ok(stopped, 'the worker reports how it stopped');
  const [steps, done, left, longest, afterQuit] = stopped.slice(1).map(Number) as [number, number, number, number, number];
  assert.equal(done, results.length, 'every finished job produced one result');
  assert.equal(afterQuit, 0, 'no step after the quit message');
  assert.ok(longest <= 4, 'accepts() capped the local queue');
  assert.ok(done < 12, 'the quit cut the work short');
  assert.ok(steps >= done * 3 && steps < (done + left) * 3 + 3, 'three steps per finished job, plus any partly done one');
  assert.ok(run.lines.includes(`  ${12 - done - left} jobs were still in the channel: dropped when the worker closed its inputs`));
  assert.ok(run.lines.includes(`  check: ok — results in order, quit honoured before the next step, ${12 - done} of 12 jobs not finished`));

  // Part 2: every item came through, and shutdown travelled from the source down.
  const sink = run.lines.find((l) => l.startsWith('  sink: ['));
  assert.equal(sink, `  sink: ${Array.from({ length: 10 }, (_, i) => `[${i + 1}²=${(i + 1) ** 2}]`).join(' ')}`);
  for (const name of ['increment', 'square', 'label']) {
    assert.ok(run.lines.includes(`  ${name}: upstream ended → stopped (disconnected) after 10 items, closed its output`), name);
  }
  assert.ok(run.lines.includes('  shutdown order: source → increment → square → label → sink'));
  assert.equal(run.lines.at(-1), '  check: ok — every item through every link, each link stopped because its upstream did');
});
