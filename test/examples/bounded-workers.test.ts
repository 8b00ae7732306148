/** examples/bounded-workers: try-send cycling over bounded worker queues, and workers taken off / put back by id. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { runExample } from './helpers.js';

test('examples/bounded-workers: every job done once; worker 1 taken off and put back by its id, given nothing meanwhile', async () => {
  const run = await runExample('bounded-workers');
  assert.equal(run.code, 0, run.stderr);
  assert.equal(run.stderr, '', 'no warning (no forgotten handle)');

  assert.equal(run.lines[0], 'main: all 3 workers put themselves on duty', 'dispatch starts once every worker is on duty');
  const off = run.lines.findIndex((l) => /^main: worker 1 asked to be taken off \(\d+ jobs dispatched so far\)$/.test(l));
  const back = run.lines.findIndex((l) => /^main: worker 1 asked to be put back \(\d+ jobs dispatched so far\)$/.test(l));
  assert.ok(off > 0 && back > off, 'take-off, then put-back, each carrying worker 1\'s id');
  assert.equal(run.lines.filter((l) => /asked to be (taken off|put back)/.test(l)).length, 2, 'no other worker asked');
  assert.match(run.stdout, /^main: dispatched 60 jobs; every worker on duty was full \d+ time\(s\), and main waited$/m);

  const summary = /^main: results per worker: (\d+), (\d+), (\d+); worker 1 got (\d+) jobs while off, (\d+) after it was put back$/m.exec(run.stdout);
  assert.ok(summary, 'main reports the results per worker');
  const [w0, w1, w2, whileOff] = summary.slice(1, 5).map(Number) as [number, number, number, number];
  assert.equal(w0 + w1 + w2, 60, 'one result per job');
  assert.ok(w0 > 0 && w1 > 0 && w2 > 0, 'the cycling reached every worker');
  assert.equal(whileOff, 0, 'nothing dispatched to a worker that was off');
  assert.equal(run.lines.at(-1), 'check: ok — 60 jobs done once each, worker 1 taken off and put back by its id, nothing sent to it meanwhile');
});
