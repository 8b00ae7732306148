// weft's own loops report to the monitor by themselves: components from spawn,
// on the main thread and on a worker thread.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Worker } from 'node:worker_threads';
import { bounded, spawn } from '../../src/index.js';
import { startHangMonitor } from '../../src/monitor/index.js';
import { guard } from '../helpers.js';
import { awaitAlert, drain, sleep, spinOnMain } from './helpers.js';

const T = { transientMs: 50, permanentMs: 300 };

function crunchOnMain(ms: number): number {
  return spinOnMain(ms);
}

test('a spawned component reports by itself: a stuck handler raises transient, then permanent with its stack', async () => {
  const m = startHangMonitor({ components: T });
  try {
    await guard(m.ready, 10000, 'ready');
    const [tx, rx] = bounded<number>(1);
    const c = spawn({ handle: (_s, msg) => void crunchOnMain(msg.value) }, { inputs: { jobs: rx }, name: 'stuck-handler' });
    await sleep(50); // the monitor sees the registration first
    await tx.send(1500);
    const t = await awaitAlert(m, (a) => a.component === 'stuck-handler');
    assert.equal(t.kind, 'transient');
    assert.equal(t.annotation, 'jobs');
    assert.equal(t.threadId, 0);
    const p = await awaitAlert(m, (a) => a.component === 'stuck-handler' && a.kind === 'permanent');
    assert.equal(p.annotation, 'jobs');
    assert.ok(p.frames !== undefined, 'frames sampled');
    const names = p.frames.map((f) => f.functionName);
    assert.ok(names.includes('crunchOnMain'), JSON.stringify(names.slice(0, 6)));
    tx.close();
    assert.equal((await guard(c.done, 5000, 'component done')).reason, 'disconnected');
  } finally {
    await guard(m.shutdown(), 10000, 'shutdown');
    m.alerts.close();
  }
});

test('a component blocked in receive is never reported; an ended one frees its registration', async () => {
  // Room for the thread's anchor and one component: a registration left behind would leave the next one unwatched.
  const m = startHangMonitor({ components: T, tableSize: 2 });
  try {
    await guard(m.ready, 10000, 'ready');
    for (const name of ['first', 'second']) {
      const [tx, rx] = bounded<number>(1);
      const c = spawn({ handle() {} }, { inputs: { rx }, name });
      await sleep(400); // idle, waiting for input: well past both timeouts
      tx.close();
      await guard(c.done, 5000, `${name} done`);
    }
    assert.deepEqual(drain(m), []);
    const [tx, rx] = bounded<number>(1);
    let release!: () => void;
    const released = new Promise<void>((r) => (release = r));
    const c = spawn(
      {
        async handle(_s, msg) {
          crunchOnMain(msg.value);
          await released; // still handling (not waiting for input) until the alert is in
        },
      },
      { inputs: { rx }, name: 'third' },
    );
    await sleep(50);
    await tx.send(150);
    const a = await awaitAlert(m, (x) => x.component === 'third');
    assert.equal(a.kind, 'transient');
    release();
    tx.close();
    await guard(c.done, 5000, 'third done');
  } finally {
    await guard(m.shutdown(), 10000, 'shutdown');
    m.alerts.close();
  }
});

test('components: false leaves spawned components unregistered', async () => {
  const m = startHangMonitor({ components: false });
  try {
    const anchor = m.register('anchor', T); // keeps the monitor running
    await guard(m.ready, 10000, 'ready');
    const [tx, rx] = bounded<number>(1);
    const c = spawn({ handle: (_s, msg) => void crunchOnMain(msg.value) }, { inputs: { rx }, name: 'unwatched' });
    await tx.send(400);
    tx.close();
    await guard(c.done, 5000, 'done');
    await sleep(100);
    assert.deepEqual(drain(m).filter((a) => a.component === 'unwatched'), []);
    anchor.unregister();
  } finally {
    await guard(m.shutdown(), 10000, 'shutdown');
    m.alerts.close();
  }
});

test('a component on a worker thread reports by itself, with the worker\'s stack', async () => {
  const m = startHangMonitor({ components: false });
  const token = m.token();
  const w = new Worker(new URL('./workers/component.js', import.meta.url), {
    workerData: { token, spinMs: 3000 }, // long enough for a sample on a loaded machine
    transferList: [token.port],
  });
  const threadId = w.threadId;
  const exited = new Promise((r) => w.once('exit', r));
  try {
    const result = new Promise<number>((resolve, reject) => {
      w.on('message', (msg: { ready?: boolean; result?: number }) => {
        if (msg.ready) setTimeout(() => w.postMessage('go'), 100);
        if (msg.result !== undefined) resolve(msg.result);
      });
      w.on('error', reject);
    });
    const a = await awaitAlert(m, (x) => x.component === 'worker-component' && x.kind === 'permanent', 15000);
    assert.equal(a.threadId, threadId);
    assert.equal(a.annotation, 'tasks');
    assert.ok(a.frames !== undefined, 'frames sampled');
    assert.ok(a.frames.some((f) => f.functionName === 'crunchInWorker' && /component\.js$/.test(f.url)), JSON.stringify(a.frames.slice(0, 4)));
    assert.equal(await guard(result, 15000, 'worker result'), 1);
    await guard(exited, 5000, 'worker exit');
    // The worker left: its component and its anchor are gone, so the monitor's tether lets it exit.
    await guard(m.exited, 10000, 'tether exit');
  } finally {
    await w.terminate();
    await guard(m.shutdown(), 10000, 'shutdown');
    m.alerts.close();
  }
});
