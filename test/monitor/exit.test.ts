// A running monitor never keeps a process from ending, and ending never crashes it.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';

const FIXTURE = fileURLToPath(new URL('./fixtures/no-shutdown.js', import.meta.url));
const run = promisify(execFile);

for (const how of ['the event loop empties', 'process.exit()'] as const) {
  test(`a process whose stack was sampled ends cleanly without shutdown when ${how}`, async () => {
    for (let i = 0; i < 3; i++) {
      // execFile rejects on a non-zero exit code, a signal (an abort) or the timeout (a process that never ends)
      const { stdout } = await run(process.execPath, how === 'process.exit()' ? [FIXTURE, 'exit'] : [FIXTURE], { timeout: 30_000 });
      assert.equal(stdout.trim(), 'permanent alert, frames: true');
    }
  });
}
