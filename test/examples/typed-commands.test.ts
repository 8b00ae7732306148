/** examples/typed-commands: a discriminated union of commands, by hand and with actor(). */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { runExample } from './helpers.js';

test('examples/typed-commands: shutdown by command or by disconnection; the actor answers, then refuses', async () => {
  const run = await runExample('typed-commands');
  assert.equal(run.code, 0, run.stderr);
  assert.equal(run.stderr, '');
  assert.deepEqual(run.lines.slice(0, 7), [
    'part 1: a worker looping over typed commands',
    '  worker A: processing task-1',
    '  worker A: processing task-2',
    '  worker A: shutting down',
    '  worker B: processing task-3',
    '  worker B: channel closed unexpectedly',
    '  check: ok — worker A stopped on its shutdown command, worker B saw its channel close',
  ]);
  const part2 = run.lines.slice(7);
  assert.ok(part2.includes(`  caller: stats → 3 processed, ${'alphabetagamma'.length} bytes`));
  assert.ok(part2.includes(`  caller: shutdown → final stats 4 processed, ${'alphabetagammadelta'.length} bytes`));
  assert.ok(part2.includes('  actor: stopped (quit) after 4 commands'));
  assert.ok(part2.includes('  caller: the stats request queued behind the shutdown → ActorGoneError (no-reply)'));
  assert.ok(part2.includes('  caller: a call after the actor stopped → ActorGoneError (undelivered)'));
  assert.equal(run.lines.at(-1), '  check: ok — replies typed per command, shutdown answered, nothing left hanging after it');
});
