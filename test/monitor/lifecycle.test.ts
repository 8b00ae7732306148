// The monitor thread exits in every shutdown ordering and never hangs a registrant.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Worker } from 'node:worker_threads';
import { startHangMonitor, type HangMonitor } from '../../src/monitor/index.js';
import { guard } from '../helpers.js';
import { sleep } from './helpers.js';

const T = { transientMs: 50, permanentMs: 300 };
const exitedIn = (m: HangMonitor, what: string): Promise<void> => guard(m.exited, 10000, what);

test('register then shutdown', async () => {
  const m = startHangMonitor();
  const r = m.register('a', T);
  r.notifyActivity();
  await guard(m.shutdown(), 10000, 'shutdown');
  await exitedIn(m, 'exit');
  assert.equal(m.running, false);
  r.notifyWait();
  r.unregister(); // unregister after exit: no-op
});

test('shutdown then register: a no-op registration, no throw', async () => {
  const m = startHangMonitor();
  const p = m.shutdown();
  const r = m.register('b', T);
  assert.equal(r.registered, false);
  r.notifyActivity('x');
  r.notifyWait();
  r.unregister();
  await guard(p, 10000, 'shutdown');
  const r2 = m.register('c', T);
  r2.notifyActivity();
  r2.unregister();
  await guard(m.shutdown(), 10000, 'second shutdown'); // idempotent
});

test('shutdown before the monitor thread has even started', async () => {
  const m = startHangMonitor();
  await guard(m.shutdown(), 10000, 'shutdown');
  await exitedIn(m, 'exit');
});

test('the tether: the monitor exits when every registered component is gone', async () => {
  const m = startHangMonitor({ components: false }); // watching loops would keep it running
  const a = m.register('a', T);
  const b = m.register('b', T);
  await sleep(30);
  a.unregister();
  await sleep(50);
  assert.equal(m.running, true);
  b.unregister();
  await exitedIn(m, 'tether exit');
  const c = m.register('after', T); // no-op
  c.notifyActivity();
  c.unregister();
  await guard(m.shutdown(), 10000, 'shutdown after exit');
});

test('a worker\'s registrations are dropped when it dies (tether through a worker)', async () => {
  const m = startHangMonitor({ components: false });
  const token = m.token();
  const w = new Worker(new URL('./workers/spinner.js', import.meta.url), {
    workerData: { token, spinMs: 5000, n: 10 },
    transferList: [token.port],
  });
  await guard(new Promise((r) => w.once('message', r)), 5000, 'worker ready');
  await sleep(30);
  await w.terminate(); // it never unregisters; its port closes
  await exitedIn(m, 'exit after the only worker died');
  await guard(m.shutdown(), 10000, 'shutdown');
});

test('shutdown while a worker registers and unregisters in a loop', async () => {
  const m = startHangMonitor();
  const anchor = m.register('anchor', T);
  const token = m.token();
  const w = new Worker(new URL('./workers/spinner.js', import.meta.url), {
    workerData: { token, spinMs: 0, n: 0, mode: 'register-loop' },
    transferList: [token.port],
  });
  const exited = new Promise((r) => w.once('exit', r));
  await sleep(100);
  await guard(m.shutdown(), 10000, 'shutdown during registrations');
  w.postMessage('stop');
  const done = await guard(new Promise<{ done: number }>((r) => w.once('message', r)), 5000, 'worker done');
  assert.ok(done.done > 0);
  await guard(exited, 5000, 'worker exit');
  anchor.unregister();
});

test('token after shutdown still works as a no-op', async () => {
  const m = startHangMonitor();
  await guard(m.shutdown(), 10000, 'shutdown');
  const token = m.token();
  const w = new Worker(new URL('./workers/spinner.js', import.meta.url), {
    workerData: { token, spinMs: 10, n: 100 },
    transferList: [token.port],
  });
  const exited = new Promise((r) => w.once('exit', r));
  const res = new Promise<number>((resolve, reject) => {
    w.on('message', (msg: { ready?: boolean; result?: number }) => {
      if (msg.ready) w.postMessage('go');
      if (msg.result !== undefined) resolve(msg.result);
    });
    w.on('error', reject);
  });
  assert.equal(await guard(res, 5000, 'worker result'), 4950);
  await guard(exited, 5000, 'worker exit');
});

test('many monitors start and stop without leaking threads', async () => {
  for (let i = 0; i < 5; i++) {
    const m = startHangMonitor({ periodMs: 5, tableSize: 4 });
    const r = m.register(`r${i}`, T);
    r.notifyActivity();
    await guard(m.shutdown(), 10000, `shutdown ${i}`);
  }
});

test('table size is enforced', async () => {
  const m = startHangMonitor({ tableSize: 2, components: false });
  try {
    m.register('1', T);
    m.register('2', T);
    assert.throws(() => m.register('3', T), RangeError);
  } finally {
    await guard(m.shutdown(), 10000, 'shutdown');
  }
});
