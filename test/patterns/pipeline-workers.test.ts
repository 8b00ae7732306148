// Pipeline stages on worker threads: the same function in this thread and
// on threads, order with parallelism > 1, errors, crashes, cancellation,
// shutdown in every order, backpressure with a slow sink.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { threadId, type Worker } from 'node:worker_threads';
import { pool, PoolClosedError, WorkerExitError, type Receiver } from '../../src/index.js';
import { pipeline, stage } from '../../src/patterns/index.js';
import { guard, liveWorkers, until } from './helpers.js';
import square, { jumbled } from './fixtures/stage-fns.js';

const FNS = new URL('./fixtures/stage-fns.js', import.meta.url);

async function collect<T>(items: Receiver<T>): Promise<T[]> {
  const out: T[] = [];
  for await (const x of items) out.push(x);
  return out;
}

function range(n: number): number[] {
  return Array.from({ length: n }, (_, i) => i);
}

test('worker stage: one function gives the same results in this thread and on 2 threads; the threads are gone when it resolves', async () => {
  const workers = liveWorkers();
  try {
    const here = await guard(pipeline(range(200), stage(square), collect));
    const there = await guard(pipeline(range(200), stage<number, number>(FNS, { parallelism: 2 }), collect), 20000);
    assert.deepEqual(there, here);
    assert.deepEqual(there.slice(0, 4), [0, 1, 4, 9]);
    assert.equal(workers.live, 0);
  } finally {
    workers.stop();
  }
});

test('worker stage: ordered by default with parallelism 2, items run off the main thread; ordered: false delivers every item', async () => {
  const ordered = await guard(pipeline(range(120), stage<number, { n: number; sq: number; thread: number }>(FNS, { parallelism: 2, name: 'jumbled' }), collect), 20000);
  assert.deepEqual(ordered.map((r) => r.n), range(120));
  assert.ok(ordered.every((r) => r.sq === r.n * r.n && r.thread !== threadId));
  assert.equal(new Set(ordered.map((r) => r.thread)).size, 2, 'both threads took items');
  // The same async function in this thread, with the same concurrency, gives the same results.
  const here = await guard(pipeline(range(120), stage(jumbled, { concurrency: 4 }), collect));
  assert.deepEqual(here.map((r) => r.sq), ordered.map((r) => r.sq));

  const loose = await guard(pipeline(range(120), stage<number, { n: number }>(FNS, { parallelism: 2, name: 'jumbled', ordered: false, concurrency: 6 }), collect), 20000);
  assert.deepEqual(loose.map((r) => r.n).sort((a, b) => a - b), range(120));
});

test('worker stage: an error thrown on a thread rejects the pipeline with it and stops the source and the other stages', async () => {
  const workers = liveWorkers();
  let sourceClosed = false;
  let after = 0;
  function* source(): Generator<number> {
    try {
      for (let i = 0; ; i++) yield i;
    } finally {
      sourceClosed = true;
    }
  }
  try {
    const err = await guard(
      pipeline(source(), stage<number, number>(FNS, { parallelism: 2, name: 'failOn13' }), (n: number) => (after++, n), collect).then(
        () => assert.fail('the pipeline should reject'),
        (e: unknown) => e,
      ),
      20000,
    );
    assert.ok(err instanceof Error);
    assert.equal(err.name, 'RangeError');
    assert.equal(err.message, 'thirteen is unlucky');
    assert.equal((err as Error & { code?: string }).code, 'E_UNLUCKY');
    assert.match(err.stack ?? '', /failOn13/);
    assert.ok(sourceClosed, 'the source was cancelled');
    assert.ok(after <= 13, 'nothing past the failed item went through');
    assert.equal(workers.live, 0, 'the stage threads are gone when the pipeline rejects');
  } finally {
    workers.stop();
  }
});

test('worker stage: a thread that dies rejects the pipeline with WorkerExitError', async () => {
  const err = await guard(
    pipeline(range(100), stage<number, number>(FNS, { parallelism: 2, name: 'crashOn13' }), collect).then(
      () => assert.fail('the pipeline should reject'),
      (e: unknown) => e,
    ),
    20000,
  );
  assert.ok(err instanceof WorkerExitError);
  assert.equal(err.exitCode, 7);
  assert.equal(err.started, true);
});

test('worker stage: a module without that export rejects with PoolClosedError failed', async () => {
  const err = await guard(pipeline([1, 2], stage<number, number>(FNS, { name: 'nope' }), collect).catch((e: unknown) => e), 20000);
  assert.ok(err instanceof PoolClosedError);
  assert.equal(err.kind, 'failed');
  assert.match(String((err.cause as Error).message), /no exported function named "nope"/);
});

test('worker stage: cancelling the pipeline while threads are stuck in sync code rejects with the reason and terminates them', async () => {
  const workers = liveWorkers();
  try {
    const ac = new AbortController();
    const run = pipeline(range(10), stage<number, number>(FNS, { parallelism: 2, name: 'stuck' }), collect, { signal: ac.signal });
    await until(() => workers.live === 2, 'both stage threads started', 20000);
    ac.abort(new Error('stop now'));
    await assert.rejects(guard(run, 20000), /stop now/);
    assert.equal(workers.live, 0);
  } finally {
    workers.stop();
  }
});

test('worker stage: shutdown from the sink side: a sink that stops early resolves and stops the threads', async () => {
  const workers = liveWorkers();
  try {
    const first = await guard(
      pipeline(
        range(100_000),
        stage<number, number>(FNS, { parallelism: 2 }),
        async (items) => {
          const out: number[] = [];
          for await (const x of items) if (out.push(x) === 5) return out;
          return out;
        },
      ),
      20000,
    );
    assert.deepEqual(first, [0, 1, 4, 9, 16]);
    assert.equal(workers.live, 0);
  } finally {
    workers.stop();
  }
});

test('worker stage: a later in-thread stage failing rejects the pipeline and stops the worker stage', async () => {
  const workers = liveWorkers();
  try {
    const run = pipeline(
      range(1000),
      stage<number, number>(FNS, { parallelism: 2 }),
      (n: number) => {
        if (n === 49) throw new Error('downstream failed');
        return n;
      },
      collect,
    );
    await assert.rejects(guard(run, 20000), /downstream failed/);
    assert.equal(workers.live, 0);
  } finally {
    workers.stop();
  }
});

test('worker stage on an existing pool: items go through pool.run; the pool stays open for its owner', async () => {
  const p = pool<number, number>(FNS, { threads: 2, name: 'plusOne' });
  try {
    const out = await guard(pipeline(range(50), stage(p), (n: number) => n * 2, collect), 20000);
    assert.deepEqual(out, range(50).map((n) => (n + 1) * 2));
    assert.equal(p.isClosed, false);
    assert.equal(await p.run(41), 42);
  } finally {
    await p.close();
  }
});

test('worker stage: backpressure end to end: with a slow sink the source is pulled only as fast as the sink takes', async () => {
  let pulled = 0;
  let taken = 0;
  let most = 0;
  function* source(): Generator<number> {
    for (let i = 0; i < 300; i++) {
      pulled++;
      most = Math.max(most, pulled - taken);
      yield i;
    }
  }
  const capacity = 4;
  const concurrency = 4;
  const out = await guard(
    pipeline(
      source(),
      stage<number, number>(FNS, { parallelism: 2, concurrency }),
      async (items) => {
        let sum = 0;
        for await (const x of items) {
          taken++;
          sum += x;
          if (taken % 10 === 0) await new Promise((r) => setTimeout(r, 2)); // a slow consumer
        }
        return sum;
      },
      { capacity },
    ),
    30000,
  );
  assert.equal(out, range(300).reduce((s, n) => s + n * n, 0));
  // Held at most: each link's channel and one read-ahead of it, plus the items in flight.
  const bound = 2 * capacity * 2 + concurrency + 2;
  assert.ok(most <= bound, `at most ${bound} items between source and sink, saw ${most}`);
});

test('worker stage: bad options say what to pass', () => {
  assert.throws(() => stage(FNS, { parallelism: 0 }), /parallelism must be a whole number >= 1/);
  assert.throws(() => stage(FNS, { name: '' }), /name must be the name of a function/);
  assert.throws(() => stage((n: number) => n, { name: 'x' }), /give the module that exports the function/);
  assert.throws(() => stage('./fn.js' as unknown as URL), /expected a function, a module URL or a pool/);
});
