import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';

const MB = 1024 * 1024;

test('1,000,000 items through a pipeline into a slow sink: end-to-end backpressure keeps the heap flat', () => {
  // A child process: node:test's promise hooks would make this promise-heavy run ~5x slower.
  const script = fileURLToPath(new URL('./fixtures/pipeline-memory.js', import.meta.url));
  const res = spawnSync(process.execPath, ['--expose-gc', script], { encoding: 'utf8', timeout: 60_000 });
  assert.equal(res.status, 0, res.stderr);
  const { count, before, samples } = JSON.parse(res.stdout.trim()) as { count: number; before: number; samples: number[]; ms: number };
  assert.equal(count, 1_000_000);
  assert.equal(samples.length, 10);
  // Against the heap before the run: a backlog that builds up early and then stays would show too.
  // (With 2,000,000-slot links instead of 16 the first sample is already ~25 MB above it.)
  const peak = Math.max(...samples);
  const shown = samples.map((s) => (s / MB).toFixed(1)).join(', ');
  const growth = (peak - before) / MB;
  assert.ok(growth < 8, `heap grew by ${growth.toFixed(1)} MB (before: ${(before / MB).toFixed(1)} MB; samples: ${shown} MB)`);
  const drift = (samples[samples.length - 1]! - samples[0]!) / MB;
  assert.ok(drift < 4, `heap drifted by ${drift.toFixed(1)} MB over the run (samples: ${shown} MB)`);
});
