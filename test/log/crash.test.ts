/**
 * Crash safety: a child process writes durably from several producers and
 * prints every confirmed line; it is killed with SIGKILL at a random moment.
 * Reopening the log (which repairs it) must show every confirmed line
 * exactly once, in order per producer, whole lines only, ending in '\n'.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { listSegments, openLog } from '../../src/log/index.js';
import { CRASH_OPTIONS, crashLine } from './fixtures/crash-child.js';
import { tempDir } from './helpers.js';

const CHILD = fileURLToPath(new URL('./fixtures/crash-child.js', import.meta.url));
const PRODUCERS = 4;

interface Crash {
  acked: Map<number, number>; // producer -> highest confirmed seq
  ackCount: number;
  signal: NodeJS.Signals | null;
}

/** Runs the child, kills it `delayMs` after it is ready, and collects what it confirmed. */
function crashOnce(path: string, delayMs: number): Promise<Crash> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [CHILD, path, String(PRODUCERS), '16'], { stdio: ['ignore', 'pipe', 'inherit'] });
    let buf = '';
    let killer: ReturnType<typeof setTimeout> | undefined;
    const guard = setTimeout(() => child.kill('SIGKILL'), 10_000);
    const acked = new Map<number, number>();
    let ackCount = 0;
    child.stdout.setEncoding('utf8');
    child.stdout.on('data', (chunk: string) => {
      buf += chunk;
      let nl: number;
      while ((nl = buf.indexOf('\n')) >= 0) {
        const line = buf.slice(0, nl);
        buf = buf.slice(nl + 1);
        if (line === 'ready') {
          killer = setTimeout(() => child.kill('SIGKILL'), delayMs);
          continue;
        }
        const [p, i] = line.split(' ').map(Number) as [number, number];
        // Confirmations of one producer come in order.
        assert.equal(i, (acked.get(p) ?? -1) + 1, `producer ${p} confirmed in order`);
        acked.set(p, i);
        ackCount++;
      }
    });
    child.on('error', reject);
    child.on('exit', (_code, signal) => {
      clearTimeout(guard);
      if (killer !== undefined) clearTimeout(killer);
      resolve({ acked, ackCount, signal });
    });
  });
}

test('kill -9 at random moments loses no confirmed line and leaves no torn line', async (t) => {
  const dir = await tempDir();
  const delays = [0, 40, 90, 150, 220, 300].map((d) => d + Math.floor(Math.random() * 40));
  let totalAcked = 0;
  let repaired = 0;
  for (let run = 0; run < delays.length; run++) {
    const path = join(dir, `crash-${run}.log`);
    const crash = await crashOnce(path, delays[run]!);
    assert.equal(crash.signal, 'SIGKILL', 'the child was killed, not finished');
    totalAcked += crash.ackCount;

    // Reopen: the writer repairs a torn tail. Then read every segment.
    const [log, writer] = await openLog(path, CRASH_OPTIONS);
    if (writer.recovery.truncatedBytes > 0) repaired++;
    log.close();
    await writer.done;
    const seen = new Map<number, number>(); // producer -> last seq seen
    let bytes = 0;
    for (const file of await listSegments(path)) {
      const text = await readFile(file, 'utf8');
      bytes += text.length;
      if (text === '') continue;
      assert.ok(text.endsWith('\n'), `${file} ends with a newline`);
      for (const line of text.slice(0, -1).split('\n')) {
        const m = /^p(\d+) (\d+) /.exec(line);
        assert.ok(m, `a whole line, not a torn one: ${JSON.stringify(line.slice(0, 40))}`);
        const p = Number(m[1]);
        const i = Number(m[2]);
        assert.equal(line, crashLine(p, i), 'the line is intact');
        // Per producer: 0, 1, 2, … with no gap and no repeat.
        assert.equal(i, (seen.get(p) ?? -1) + 1, `producer ${p}: in order, once each`);
        seen.set(p, i);
      }
    }
    for (const [p, last] of crash.acked) {
      assert.ok((seen.get(p) ?? -1) >= last, `producer ${p}: confirmed up to ${last}, found up to ${seen.get(p) ?? -1}`);
    }
    t.diagnostic(
      `run ${run}: killed after ${delays[run]} ms; ${crash.ackCount} confirmed; ` +
        `${[...seen.values()].reduce((a, b) => a + b + 1, 0)} lines on disk in ${(await listSegments(path)).length} segment(s), ${bytes} bytes; ` +
        `torn tail cut: ${writer.recovery.truncatedBytes} bytes`,
    );
  }
  assert.ok(totalAcked > 0, 'some runs confirmed lines before the kill');
  t.diagnostic(`${totalAcked} confirmed lines checked; ${repaired} run(s) needed a repair`);
});
