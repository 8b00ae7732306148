/** examples/forgotten-sender: the hang of a forgotten original Sender, weft's backstop and warning, and the fix. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { runExample } from './helpers.js';

test('examples/forgotten-sender: the consumer hangs; the collected Sender is closed with a warning naming its origin; close() fixes it', async () => {
  const run = await runExample('forgotten-sender', [], { NODE_ENV: 'development' });
  assert.equal(run.code, 0, run.stderr);
  assert.equal(run.lines[1], '  received 5 messages, then nothing for 500 ms; channel ended: false; rx.isDisconnected: false');
  assert.ok(run.lines.includes('  received 5 messages; channel ended: true (weft closed the collected Sender)'));
  assert.match(run.stdout, /the warning names where the Sender was created: startProducers \(forgotten-sender\.js:\d+:\d+\)/);
  assert.ok(run.lines.includes('  received 5 messages; channel ended: true, right after the last producer closed its clone'));
  assert.match(run.lines.at(-1)!, /^check: ok/);
  // Node prints the warning itself too, with the creation stack.
  assert.match(run.stderr, /WeftLeakWarning: a Sender was garbage-collected without close\(\)/);
  assert.match(run.stderr, /It was created at:\n\s+at startProducers \(.*forgotten-sender\.js:\d+:\d+\)/);
  assert.equal(run.stderr.match(/WeftLeakWarning/g)?.length, 1, 'one forgotten handle, one warning (the other parts close theirs)');
});

test('examples/forgotten-sender: in production mode the Sender is still closed, silently', async () => {
  const run = await runExample('forgotten-sender', [], { NODE_ENV: 'production' });
  assert.equal(run.code, 0, run.stderr);
  assert.ok(run.lines.includes('  received 5 messages; channel ended: true (weft closed the collected Sender)'));
  assert.ok(run.lines.includes('  no warning: NODE_ENV is "production", where weft closes forgotten handles silently'));
  assert.doesNotMatch(run.stderr, /WeftLeakWarning/);
});
