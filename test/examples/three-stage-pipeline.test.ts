/** examples/three-stage-pipeline: generate → square → collect, by hand and with pipeline(). */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { runExample } from './helpers.js';

test('examples/three-stage-pipeline: both versions output the squares of 0..19 in order and end by closing', async () => {
  const run = await runExample('three-stage-pipeline');
  assert.equal(run.code, 0, run.stderr);
  assert.equal(run.stderr, '');
  const squares = `[${Array.from({ length: 20 }, (_, i) => i * i).join(', ')}]`;
  assert.deepEqual(run.lines, [
    `by hand:       Pipeline output: ${squares}`,
    `with pipeline: Pipeline output: ${squares}`,
    'check: ok — both produced the 20 squares of 0..19 in order, and both ended by closing, with no quit message',
  ]);
});
