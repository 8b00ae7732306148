/** examples/hang-monitor.ts runs end to end: the hang is reported with its stack, and its own check passes. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';

const EXAMPLE = fileURLToPath(new URL('../../examples/hang-monitor.js', import.meta.url));

test('examples/hang-monitor: a hung component is reported transient, then permanent with the spinning function on top', async () => {
  const { stdout } = await promisify(execFile)(process.execPath, [EXAMPLE], { timeout: 60_000 });
  const lines = stdout.trim().split('\n');
  assert.match(lines[0]!, /^hang monitor: 3 components on the main thread/);
  assert.match(stdout, /^transient hang: component "indexer" on main thread busy for \d+ ms \(handling tokens\)$/m);
  assert.match(stdout, /^permanent hang: component "indexer" on main thread busy for \d+ ms \(handling tokens\)\n {4}at spinUntilUnlocked \(file:\/\/.*hang-monitor\.js:\d+:\d+\)$/m);
  assert.match(stdout, /^indexed 12 documents$/m);
  assert.match(lines[lines.length - 1]!, /^check: ok — 12 documents indexed, the hang in "indexer" reported transient then permanent, its stack names spinUntilUnlocked$/);
});
