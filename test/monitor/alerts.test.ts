// Hang alerts on the main thread and on a worker thread, with stack samples.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Worker } from 'node:worker_threads';
import { formatAlert, startHangMonitor } from '../../src/monitor/index.js';
import { guard } from '../helpers.js';
import { awaitAlert, drain, sleep, spinOnMain } from './helpers.js';

const T = { transientMs: 50, permanentMs: 300 };

test('transient alert for a main-thread component busy past transientMs', async () => {
  const m = startHangMonitor();
  try {
    const reg = m.register('busy-main', T);
    await guard(m.ready, 10000, 'ready');
    await sleep(50); // let the monitor see the registration
    reg.notifyActivity('job');
    spinOnMain(150);
    // Still active while the alert is awaited: a loaded machine may delay the monitor's checkpoint.
    const a = await awaitAlert(m, (x) => x.component === 'busy-main');
    reg.notifyWait();
    assert.equal(a.kind, 'transient');
    assert.equal(a.threadId, 0);
    assert.equal(a.annotation, 'job');
    assert.ok(a.durationMs > 50);
    assert.match(formatAlert(a), /transient hang: component "busy-main" on main thread busy for \d+ ms \(handling job\)/);
  } finally {
    await guard(m.shutdown(), 10000, 'shutdown');
    m.alerts.close();
  }
});

test('permanent alert on the main thread samples the spinning function', async () => {
  const m = startHangMonitor();
  try {
    const reg = m.register('stuck-main', T);
    await guard(m.ready, 10000, 'ready');
    await sleep(50);
    reg.notifyActivity();
    const start = performance.timeOrigin + performance.now();
    const x = spinOnMain(1500);
    const end = performance.timeOrigin + performance.now();
    reg.notifyWait();
    assert.equal(typeof x, 'number');
    const a = await awaitAlert(m, (y) => y.component === 'stuck-main' && y.kind === 'permanent');
    assert.ok(a.frames !== undefined && a.frames.length > 0, 'frames sampled');
    assert.ok(a.frames.some((f) => f.functionName === 'spinOnMain'), JSON.stringify(a.frames.slice(0, 3)));
    assert.match(formatAlert(a), /at spinOnMain \(.*helpers\.js:\d+:\d+\)/);
    // Raised (and sampled) while the main thread was still stuck, not after it came back.
    assert.ok(a.raisedAt > start && a.raisedAt < end, `raised at ${a.raisedAt - start} ms into a ${end - start} ms hang`);
  } finally {
    await guard(m.shutdown(), 10000, 'shutdown');
    m.alerts.close();
  }
});

test('permanent alert on a worker thread samples the spinning function; the worker resumes and computes correctly', async () => {
  const m = startHangMonitor();
  const token = m.token();
  const n = 1000;
  const stop = new SharedArrayBuffer(4);
  const w = new Worker(new URL('./workers/spinner.js', import.meta.url), {
    workerData: { token, spinMs: 1200, n, stop },
    transferList: [token.port],
  });
  const workerThreadId = w.threadId; // -1 once it has exited
  const exited = new Promise((r) => w.once('exit', r));
  try {
    const done = new Promise<number>((resolve, reject) => {
      w.on('message', (msg: { ready?: boolean; result?: number }) => {
        if (msg.ready) setTimeout(() => w.postMessage('go'), 300);
        if (msg.result !== undefined) resolve(msg.result);
      });
      w.on('error', reject);
    });
    const a = await awaitAlert(m, (y) => y.component === 'worker-spinner' && y.kind === 'permanent', 15000);
    Atomics.store(new Int32Array(stop), 0, 1);
    assert.equal(a.threadId, workerThreadId);
    assert.equal(a.annotation, 'spin');
    assert.ok(a.frames !== undefined && a.frames.length > 0, 'frames sampled');
    assert.ok(a.frames.some((f) => f.functionName === 'spinForever'), JSON.stringify(a.frames.slice(0, 4)));
    assert.ok(a.frames.some((f) => /spinner\.js$/.test(f.url)), JSON.stringify(a.frames.slice(0, 4)));
    const result = await guard(done, 15000, 'worker result');
    assert.equal(result, (n * (n - 1)) / 2);
    await guard(exited, 5000, 'worker exit');
  } finally {
    await w.terminate();
    await guard(m.shutdown(), 10000, 'shutdown');
    m.alerts.close();
  }
});

test('a sampled main thread resumes normally and computes a correct result', async () => {
  const m = startHangMonitor();
  try {
    const reg = m.register('sampled', T);
    await guard(m.ready, 10000, 'ready');
    await sleep(50);
    reg.notifyActivity();
    let sum = 0;
    const end = Date.now() + 1500; // long enough for a sample on a loaded machine
    while (Date.now() < end) {
      sum = 0;
      for (let i = 0; i < 10000; i++) sum += i;
    }
    reg.notifyWait();
    assert.equal(sum, (10000 * 9999) / 2);
    const a = await awaitAlert(m, (y) => y.kind === 'permanent');
    assert.ok(a.frames !== undefined);
    // the main thread still runs timers and promises afterwards
    await sleep(5);
    assert.deepEqual(await Promise.resolve([1, 2].map((v) => v * 2)), [2, 4]);
  } finally {
    await guard(m.shutdown(), 10000, 'shutdown');
    m.alerts.close();
  }
});

test('notifyWait suppresses alerts; activity after an alert re-arms it', async () => {
  const m = startHangMonitor();
  try {
    const reg = m.register('waiter', T);
    await guard(m.ready, 10000, 'ready');
    await sleep(50);
    reg.notifyActivity();
    reg.notifyWait();
    await sleep(400); // idle while waiting: never reported
    assert.deepEqual(drain(m), []);

    // Active (not waiting) while the alerts are awaited, so the monitor cannot miss the window.
    reg.notifyActivity('first');
    const a1 = await awaitAlert(m, (y) => y.component === 'waiter');
    assert.equal(a1.kind, 'transient');
    assert.equal(a1.annotation, 'first');
    reg.notifyActivity('second'); // progress: re-armed, so a new transient alert follows
    const a2 = await awaitAlert(m, (y) => y.component === 'waiter' && y.annotation === 'second');
    assert.equal(a2.kind, 'transient');
    reg.notifyWait();
  } finally {
    await guard(m.shutdown(), 10000, 'shutdown');
    m.alerts.close();
  }
});

test('no alert after unregister', async () => {
  const m = startHangMonitor();
  try {
    const anchor = m.register('anchor', T); // keeps the monitor tethered
    const reg = m.register('gone', T);
    await guard(m.ready, 10000, 'ready');
    await sleep(50);
    reg.notifyActivity();
    reg.unregister();
    reg.notifyActivity(); // no-op after unregister
    spinOnMain(150);
    await sleep(400);
    assert.deepEqual(drain(m).filter((a) => a.component === 'gone'), []);
    assert.equal(reg.registered, false);
    assert.equal(m.running, true);
    anchor.unregister();
  } finally {
    await guard(m.shutdown(), 10000, 'shutdown');
    m.alerts.close();
  }
});

test('no alert after shutdown; the alerts channel disconnects', async () => {
  const m = startHangMonitor();
  const reg = m.register('late', T);
  await sleep(30);
  await guard(m.shutdown(), 10000, 'shutdown');
  reg.notifyActivity();
  spinOnMain(150);
  await sleep(100);
  assert.deepEqual(drain(m), []);
  await assert.rejects(guard(m.alerts.recv(), 2000, 'recv'));
  assert.equal(reg.registered, false);
  reg.unregister();
});

test('profile: samples registered threads at a rate; the spinning function dominates the main thread\'s samples', async () => {
  const m = startHangMonitor({ components: false });
  try {
    const reg = m.register('profiled', T);
    await guard(m.ready, 10000, 'ready');
    const samples = m.profile({ durationMs: 400, intervalMs: 20 });
    await sleep(30);
    reg.notifyActivity();
    spinOnMain(600); // covers the rest of the window
    reg.notifyWait();
    const got = await guard(samples, 10000, 'profile');
    const main = got.filter((s) => s.threadId === 0);
    assert.ok(main.length >= 2, `${main.length} samples`);
    const spinning = main.filter((s) => s.frames.some((f) => f.functionName === 'spinOnMain'));
    assert.ok(spinning.length >= main.length / 2, `${spinning.length} of ${main.length} samples in spinOnMain`);
    for (const s of got) assert.ok(s.at > 0 && s.frames.length > 0);
    assert.throws(() => m.profile({ durationMs: -1 }), RangeError);
    reg.unregister();
  } finally {
    await guard(m.shutdown(), 10000, 'shutdown');
    m.alerts.close();
  }
  assert.deepEqual(await m.profile({ durationMs: 100 }), []); // a gone monitor: no samples
});

test('sampleStacks: false sends permanent alerts without frames', async () => {
  const m = startHangMonitor({ sampleStacks: false, components: false });
  try {
    const reg = m.register('unsampled', T);
    await guard(m.ready, 10000, 'ready');
    await sleep(50);
    reg.notifyActivity('x');
    const a = await awaitAlert(m, (y) => y.component === 'unsampled' && y.kind === 'permanent');
    reg.notifyWait();
    assert.equal(a.frames, undefined);
    assert.equal(a.annotation, 'x');
  } finally {
    await guard(m.shutdown(), 10000, 'shutdown');
    m.alerts.close();
  }
});
