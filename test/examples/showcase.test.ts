/** `npm start`'s showcase runs end to end (smaller) and checks itself: nothing lost, ledger matches the log, the hang caught. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';

const MAIN = fileURLToPath(new URL('../../examples/showcase/main.js', import.meta.url));

test('showcase: an order desk across threads, with its live view in plain lines', async () => {
  const child = spawn(process.execPath, [MAIN], {
    env: { ...process.env, SHOWCASE_ORDERS: '4000', CI: 'true' },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let out = '';
  child.stdout.on('data', (b: Buffer) => (out += b.toString()));
  child.stderr.on('data', (b: Buffer) => (out += b.toString()));
  const timer = setTimeout(() => child.kill('SIGKILL'), 120_000);
  const code = await new Promise<number | null>((resolve) => child.once('exit', resolve));
  clearTimeout(timer);
  assert.equal(code, 0, out);
  assert.match(out, /check: ok — nothing lost, nothing doubled, ledger matches the log, hang caught/);
  assert.match(out, /permanent hang: component "auditor" on thread \d+/);
  assert.match(out, /at reconcileLedgerSlowly/);
  assert.match(out, /audits: 16 answered across threads, 0 mismatches/);
  assert.doesNotMatch(out, /Warning/);
});
