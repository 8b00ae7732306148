/** A pool given a hang monitor: its workers report by themselves; a stuck task is caught with its stack. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { pool } from '../../src/index.js';
import { startHangMonitor } from '../../src/monitor/index.js';
import { guard } from '../helpers.js';
import { awaitAlert, drain } from './helpers.js';

test('pool workers report to the monitor: a stuck task raises transient then permanent alerts with the task\'s stack; idle workers never do', async () => {
  const monitor = startHangMonitor({ components: { transientMs: 100, permanentMs: 400 } });
  const p = pool<number, number>(new URL('./workers/pool-spin.js', import.meta.url), { threads: 2, monitor, hangTimeouts: { transientMs: 100, permanentMs: 400 } });
  try {
    await guard(monitor.ready, 10_000, 'ready');
    assert.equal(await p.run(1), 1); // quick tasks: no alert
    await new Promise((r) => setTimeout(r, 600)); // idle workers wait: never reported
    assert.deepEqual(drain(monitor).filter((a) => a.component.includes('worker')), []);
    const stuck = p.run(1500);
    const t = await awaitAlert(monitor, (a) => /^pool worker \d+$/.test(a.component) && a.kind === 'transient', 15_000);
    const a = await awaitAlert(monitor, (x) => x.component === t.component && x.kind === 'permanent', 15_000);
    assert.notEqual(a.threadId, 0);
    assert.equal(a.annotation, 'task');
    assert.ok((a.frames ?? []).some((f) => f.functionName === 'spinInPoolTask'), JSON.stringify(a.frames?.slice(0, 3)));
    assert.equal(await guard(stuck, 15_000, 'stuck task'), 1500);
  } finally {
    await guard(p.close(), 15_000, 'pool close');
    await guard(monitor.shutdown(), 15_000, 'shutdown');
  }
});
