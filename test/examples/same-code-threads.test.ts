/** examples/same-code-threads: one stage function and one component body, in this thread and on worker threads. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { runExample } from './helpers.js';

test('examples/same-code-threads: the same code gives the same result in this thread and on worker threads', async () => {
  const run = await runExample('same-code-threads');
  assert.equal(run.code, 0, run.stderr);
  assert.equal(run.stderr, '', 'no warning (no forgotten handle)');
  const line = (prefix: string): RegExpExecArray => {
    const m = new RegExp(`^${prefix}\\s+(\\d+) words, total (\\d+), best "([^"]+)", stage on (\\d+) thread\\(s\\), tally on thread (\\d+)$`, 'm').exec(run.stdout);
    assert.ok(m, `a line for ${prefix}`);
    return m;
  };
  const here = line('in this thread:');
  const there = line('on threads:');
  assert.equal(here[1], '3000');
  assert.deepEqual(there.slice(1, 4), here.slice(1, 4), 'same words, total and best');
  assert.equal(here[4], '1');
  assert.equal(here[5], '0', 'run 1 tallies on the main thread');
  assert.notEqual(there[5], '0', 'run 2 tallies on a worker thread');
  assert.ok(Number(there[4]) >= 1 && Number(there[4]) <= 2);
  assert.equal(run.lines.at(-1), 'check: ok — the same result both ways, in order, the second run off the main thread');
});
