// A pool whose task module exports a component: state across tasks,
// answers held by a timer, cancellation, errors, crashes, shutdown.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { pool, PoolClosedError, WorkerExitError, type Pool } from '../../src/index.js';
import { startHangMonitor } from '../../src/monitor/index.js';
import { guard } from './helpers.js';
import type { Op, Out } from './fixtures/pool-component.js';
import { waitAsync } from './fixtures/pool-task.js';

/** Waits (event-driven) until `g[i]` is non-zero. */
async function reach(g: Int32Array, i: number, what: string): Promise<void> {
  await guard(
    (async () => {
      while (Atomics.load(g, i) === 0) {
        const r = waitAsync(g, i, 0, 200);
        if (r.async) await r.value;
      }
    })(),
    20000,
    what,
  );
}

const MOD = new URL('./fixtures/pool-component.js', import.meta.url);

function make(threads = 2, abortGrace = 100): Pool<Op, Out> {
  return pool<Op, Out>(MOD, { threads, abortGrace });
}

test('pool component: run answers every task; each worker\'s component keeps its state across tasks', async () => {
  const p = make(2);
  try {
    const outs = await guard(Promise.all(Array.from({ length: 60 }, (_, x) => p.run({ op: 'count', x }))), 20000);
    assert.deepEqual(outs.map((o) => o.x), Array.from({ length: 60 }, (_, x) => x + 1));
    // Per worker, the counts it reported are 1, 2, 3, ... in order: one component, one state, per thread.
    for (const w of [0, 1]) {
      const seen = outs.filter((o) => o.worker === w).map((o) => o.seen);
      assert.deepEqual(seen, seen.map((_, i) => i + 1), `worker ${w}: ${seen.join(',')}`);
    }
    assert.equal(outs.filter((o) => o.worker === 0).length + outs.filter((o) => o.worker === 1).length, 60);
  } finally {
    await p.close();
  }
});

test('pool component: answers held back are released by its timer or in batches; submit delivers them on results', async () => {
  const p = make(1);
  try {
    const one = await guard(p.run({ op: 'hold', x: 1 }), 20000); // alone: released by the idle timer
    assert.deepEqual([one.x, one.batch], [2, 1]);
    for (let x = 0; x < 8; x++) await p.submit({ op: 'hold', x });
    const got: Out[] = [];
    for (let i = 0; i < 8; i++) {
      const r = await guard(p.results.recv(), 20000);
      assert.ok(r.ok);
      got.push(r.value);
    }
    assert.deepEqual(got.map((o) => o.x).sort((a, b) => a - b), [1, 2, 3, 4, 5, 6, 7, 8]);
    // One worker, so flushes do not interleave: the answers arrive as runs, each
    // as long as the batch its answers report (a full batch of 4, or what the timer found).
    for (let i = 0; i < got.length; ) {
      const b = got[i]!.batch!;
      assert.ok(b >= 1 && b <= 4, `batch size ${b}`);
      assert.deepEqual(got.slice(i, i + b).map((o) => o.batch), Array(b).fill(b), `answers ${i}..${i + b - 1} came as one batch`);
      i += b;
    }
  } finally {
    await p.close();
  }
});

test('pool component: a cancelled task\'s signal aborts in the component, which answers it; the worker and its state stay', async () => {
  const p = make(1, 60_000);
  try {
    const first = await p.run({ op: 'count', x: 0 });
    const ac = new AbortController();
    const gate = new Int32Array(new SharedArrayBuffer(8));
    const waiting = p.run({ op: 'wait', gate }, { signal: ac.signal, transfer: [] }); // transfer: the gate is shared, not copied
    await reach(gate, 0, 'the component took the task');
    const why = new Error('caller gave up');
    ac.abort(why);
    await assert.rejects(guard(waiting, 20000), (e) => e === why);
    await reach(gate, 1, 'the component saw the cancellation');
    const next = await guard(p.run({ op: 'count', x: 0 }), 20000);
    assert.equal(next.thread, first.thread, 'same thread');
    assert.equal(next.seen, first.seen + 2, 'same state');
  } finally {
    await p.close();
  }
});

test('pool component: a cancelled task the component never answers gets its thread replaced after abortGrace (fresh state)', async () => {
  const p = make(1, 50);
  try {
    const first = await p.run({ op: 'count', x: 0 });
    const ac = new AbortController();
    const gate = new Int32Array(new SharedArrayBuffer(8));
    const ignored = p.run({ op: 'ignore', gate }, { signal: ac.signal, transfer: [] });
    await reach(gate, 0, 'the component took the task');
    ac.abort('late');
    await assert.rejects(guard(ignored, 20000), (e) => e === 'late');
    // Tasks keep running on the old thread until its grace is over; then a new thread, with a new component, takes over.
    const next = await guard(
      (async () => {
        for (;;) {
          const o = await p.run({ op: 'count', x: 0 });
          if (o.thread !== first.thread) return o;
          await new Promise((r) => setTimeout(r, 10));
        }
      })(),
      20000,
      'the replacement thread',
    );
    assert.equal(next.seen, 1);
  } finally {
    await p.close();
  }
});

test('pool component: a handler that throws, a component that quits, a thread that dies: the tasks it held fail, the pool goes on', async () => {
  const p = make(1);
  try {
    const t1 = await p.run({ op: 'count', x: 0 });
    const held = p.run({ op: 'hold', x: 1 }); // answered by the component's cleanup, which runs however it ends
    const waiting = p.run({ op: 'wait' }).catch((e: unknown) => e); // not answered by anyone: rejected for it
    const err = await guard(p.run({ op: 'throw' }).catch((e: unknown) => e), 20000);
    assert.ok(err instanceof Error);
    assert.match(err.message, /component ended before answering this task: it threw: the component broke/);
    assert.equal((err.cause as Error).name, 'RangeError');
    assert.equal((err.cause as Error).message, 'the component broke');
    assert.equal((await guard(held, 20000)).x, 2);
    const w = await guard(waiting, 20000);
    assert.ok(w instanceof Error);
    assert.match(w.message, /ended before answering this task: it threw: the component broke/);
    const t2 = await guard(p.run({ op: 'count', x: 0 }), 20000);
    assert.notEqual(t2.thread, t1.thread);
    assert.equal(t2.seen, 1);

    await assert.rejects(guard(p.run({ op: 'quit' }), 20000), /ended before answering this task: it stopped \(quit\)/);
    assert.equal((await guard(p.run({ op: 'count', x: 4 }), 20000)).x, 5);

    const dead = await guard(p.run({ op: 'exit' }).catch((e: unknown) => e), 20000);
    assert.ok(dead instanceof WorkerExitError);
    assert.equal(dead.exitCode, 5);
    assert.equal(dead.started, true);
    assert.equal((await guard(p.run({ op: 'count', x: 6 }), 20000)).x, 7);
  } finally {
    await p.close();
  }
});

test('pool component: close() lets the components answer what they hold (their cleanup), terminate() rejects it', async () => {
  const p = make(2);
  const held = [1, 2, 3].map((x) => p.run({ op: 'hold', x }));
  const waiting = p.run({ op: 'wait' }).catch((e: unknown) => e);
  const closed = p.close();
  // 'wait' is only answered on cancellation: close alone would wait for it; terminate ends it.
  const outs = await guard(Promise.all(held), 20000);
  assert.deepEqual(outs.map((o) => o.x), [2, 3, 4]);
  await p.terminate('stop');
  const e = await waiting;
  assert.ok(e instanceof PoolClosedError);
  assert.equal(e.kind, 'terminated');
  await guard(closed, 20000);
});

test('pool component: with a hang monitor, each worker\'s component reports by itself; a stuck handler raises an alert with its stack', async () => {
  const monitor = startHangMonitor({ components: { transientMs: 100, permanentMs: 400 } });
  const p = pool<Op, Out>(MOD, { threads: 1, monitor, hangTimeouts: { transientMs: 100, permanentMs: 400 } });
  try {
    await guard(monitor.ready, 10_000, 'ready');
    const stuck = p.run({ op: 'spin', ms: 1500, x: 1 });
    const alert = await guard(
      (async () => {
        for await (const a of monitor.alerts) if (a.component === 'pool worker 0' && a.kind === 'permanent') return a;
        return undefined;
      })(),
      20000,
      'the alert',
    );
    assert.ok(alert);
    assert.notEqual(alert.threadId, 0);
    assert.equal(alert.annotation, 'tasks');
    assert.ok((alert.frames ?? []).some((f) => f.functionName === 'spinInPoolComponent'), JSON.stringify(alert.frames?.slice(0, 3)));
    assert.equal((await guard(stuck, 20000)).x, 2);
  } finally {
    await guard(p.close(), 15_000, 'pool close');
    await guard(monitor.shutdown(), 15_000, 'shutdown');
  }
});
