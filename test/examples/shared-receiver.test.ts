/** examples/shared-receiver: four workers on clones of one Receiver. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { runExample } from './helpers.js';

test('examples/shared-receiver: each message reaches exactly one worker, and every worker sees the end', async () => {
  const run = await runExample('shared-receiver');
  assert.equal(run.code, 0, run.stderr);
  assert.equal(run.stderr, '');
  const got = run.lines.map((l) => /^ {2}worker (\d) got: (\d+)$/.exec(l)).filter((m) => m !== null).map((m) => ({ w: Number(m[1]), v: Number(m[2]) }));
  assert.deepEqual(got.map((g) => g.v).sort((a, b) => a - b), Array.from({ length: 20 }, (_, i) => i), 'each message once');
  for (let w = 0; w < 4; w++) {
    const mine = got.filter((g) => g.w === w).map((g) => g.v);
    assert.ok(mine.length > 0, `worker ${w} took part`);
    assert.ok(run.lines.includes(`  worker ${w}: ${mine.length} messages`), `worker ${w}'s count matches what it printed`);
  }
  assert.equal(run.lines.at(-1), 'check: ok — each of the 20 messages went to exactly one worker, all 4 workers shared them and saw the end');
});
