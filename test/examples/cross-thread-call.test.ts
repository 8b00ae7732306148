/** examples/cross-thread-call: a request carrying its reply Sender to a component on a worker thread, by hand and with call(). */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { runExample } from './helpers.js';

test('examples/cross-thread-call: answers come back from the worker thread; a call after it stopped fails with ActorGoneError', async () => {
  const run = await runExample('cross-thread-call');
  assert.equal(run.code, 0, run.stderr);
  assert.equal(run.stderr, '', 'no warning (no forgotten handle)');

  const started = /^main \(thread (\d+)\): started the price list on worker thread (\d+)$/.exec(run.lines[0] ?? '');
  assert.ok(started, 'main says which thread the price list runs on');
  const [mainThread, workerThread] = [Number(started[1]), Number(started[2])];
  assert.notEqual(mainThread, workerThread);

  const answers = run.lines
    .map((l) => /^part \d \((by hand|call)\): (\d+) × (\w+) = (\d+) cents, computed on thread (\d+)$/.exec(l))
    .filter((m) => m !== null)
    .map((m) => ({ how: m[1], qty: Number(m[2]), item: m[3], cents: Number(m[4]), thread: Number(m[5]) }));
  const prices: Record<string, number> = { apple: 40, bread: 250, cheese: 725 };
  assert.deepEqual(answers.map((a) => `${a.how}:${a.qty}×${a.item}`), ['by hand:3×apple', 'call:2×bread', 'call:1×cheese', 'call:10×apple']);
  for (const a of answers) {
    assert.equal(a.cents, a.qty * prices[a.item!]!, `${a.item} priced right`);
    assert.equal(a.thread, workerThread, 'answered on the worker thread');
  }
  assert.ok(run.lines.includes('part 3: asked the price list to close; it stopped and its thread exited (code 0)'));
  assert.ok(run.lines.includes("part 3: a later call fails at once: ActorGoneError (undelivered), request for 'apple' handed back"));
  assert.equal(run.lines.at(-1), 'check: ok — 4 answers, all right, all computed on the worker thread');
});
