/** examples/condvar-vs-channel: the same producer/consumer with a condition variable and with a channel. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { runExample } from './helpers.js';

test('examples/condvar-vs-channel: both versions deliver the same items, bounded, to the end', async () => {
  const run = await runExample('condvar-vs-channel');
  assert.equal(run.code, 0, run.stderr);
  assert.equal(run.stderr, '');
  const five = Array.from({ length: 5 }, (_, i) => `item ${i}`).join(', ');
  assert.ok(run.lines.includes(`  queue + condition: ${five}`));
  assert.ok(run.lines.includes(`  channel:           ${five}`));
  const queued = [...run.stdout.matchAll(/:\s+12 items, at most (\d) queued/g)].map((m) => Number(m[1]));
  assert.equal(queued.length, 2, 'both round-2 versions moved all 12 items');
  for (const q of queued) assert.ok(q >= 1 && q <= 2, 'the bound of 2 held');
  assert.match(run.lines.at(-1)!, /^check: ok — same items both ways, in order per producer, never more than 2 queued/);
});
