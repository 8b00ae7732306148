/** examples/log-pipeline.ts runs end to end and its own final check passes. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { readdir } from 'node:fs/promises';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { tempDir } from './helpers.js';

const EXAMPLE = fileURLToPath(new URL('../../examples/log-pipeline.js', import.meta.url));

test('examples/log-pipeline: four services, one durable log writer, checked end to end', async () => {
  const dir = await tempDir();
  const { stdout } = await promisify(execFile)(process.execPath, [EXAMPLE, dir], { timeout: 60_000 });
  const lines = stdout.trim().split('\n');
  assert.match(lines[0]!, /^log pipeline: 4 services → bounded\(256\) → 1 log writer → /);
  assert.match(stdout, /services done in \d+ ms: 8000 lines \(160 durable audit lines\)/);
  const rotations = Number(/(\d+) rotations/.exec(stdout)?.[1]);
  assert.ok(rotations > 0, 'the 64 KiB rotation happened');
  assert.match(lines[lines.length - 1]!, /^check: ok — 8000 lines, each service in order with none missing, all 160 audit lines on disk$/);
  const files = await readdir(dir);
  assert.equal(files.length, rotations + 1, 'one file per segment');
});
