/** examples/ui-loop: a UI loop fed by background tasks, a frame ticker and the keyboard in one select. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { runExample } from './helpers.js';

test('examples/ui-loop: outside a terminal, plain lines; every event reaches the UI; it ends when the tasks do', async () => {
  const run = await runExample('ui-loop'); // stdout is a pipe here: the plain view
  assert.equal(run.code, 0, run.stderr);
  assert.equal(run.stderr, '');
  assert.doesNotMatch(run.stdout, /\x1b\[/, 'no terminal escapes outside a terminal');
  assert.match(run.lines[0]!, /^ui loop: 2 background tasks → bounded\(16\) → one select/);

  const events = run.lines.map((l) => /^ {2}\[(files|net)\] (.*)$/.exec(l)).filter((m) => m !== null);
  const files = events.filter((m) => m[1] === 'files').map((m) => m[2]);
  const net = events.filter((m) => m[1] === 'net').map((m) => m[2]);
  assert.deepEqual(files, ['src/app.ts', 'src/view.ts', 'README.md', 'src/app.ts', 'src/view.ts', 'README.md'].map((f) => `changed ${f}`));
  assert.deepEqual(net, Array.from({ length: 6 }, (_, i) => `message ${i + 1} from peer-${(i % 2) + 1}`));

  // Each render shows the model as it stood: counts match the events printed before it.
  let seen = 0;
  let renders = 0;
  for (const line of run.lines) {
    if (/^ {2}\[/.test(line)) seen++;
    const r = /^(?:render #(\d+)|final render): files (\d+), net (\d+), (\d+) events$/.exec(line);
    if (r === null) continue;
    assert.equal(Number(r[4]), seen, `render after ${seen} events: ${line}`);
    assert.equal(Number(r[2]) + Number(r[3]), seen);
    if (r[1] !== undefined) assert.equal(Number(r[1]), ++renders, 'renders numbered in order');
  }
  assert.equal(seen, 12);
  assert.ok(renders <= 13, 'at most one render per event, plus the first frame');
  assert.equal(run.lines.at(-2), `background tasks done: 12 events from 2 background tasks, ${renders} renders on 40 ms ticks`);
  assert.equal(run.lines.at(-1), 'check: ok — every event reached the UI once and in order per task; renders only on ticks with news');
});
