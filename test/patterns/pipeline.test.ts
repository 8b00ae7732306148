import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Readable, Writable } from 'node:stream';
import { ReadableStream, WritableStream } from 'node:stream/web';
import { bounded, unbounded, SendError, type Receiver } from '../../src/index.js';
import { pipeline, stage } from '../../src/patterns/index.js';
import { deferred, guard, track, turns, until, type Equal } from './helpers.js';

/** A sink function that collects everything. */
async function collect<T>(items: Receiver<T>): Promise<T[]> {
  const out: T[] = [];
  for await (const x of items) out.push(x);
  return out;
}

function* range(n: number): Generator<number> {
  for (let i = 0; i < n; i++) yield i;
}

test('source → stages → sink function: typed across stages, resolves with the sink result', async () => {
  const out = await guard(
    pipeline(
      ['a', 'bb', 'ccc'],
      (s) => s.length, // string → number
      async (n) => n * 10, // number → number, async
      stage((n: number) => `#${n}`, { concurrency: 2 }), // number → string
      collect,
    ),
  );
  const _t: Equal<typeof out, string[]> = true;
  assert.deepEqual(out, ['#10', '#20', '#30']);
});

test('sources: a Receiver, a generator, an async generator, a Web ReadableStream, a Node Readable', async () => {
  const [tx, rx] = bounded<number>(2);
  void (async () => {
    for (const i of [1, 2, 3]) await tx.send(i);
    tx.close();
  })();
  async function* agen(): AsyncGenerator<number> {
    yield 1;
    yield 2;
    yield 3;
  }
  const web = new ReadableStream<number>({
    start(c) {
      for (const i of [1, 2, 3]) c.enqueue(i);
      c.close();
    },
  });
  const sources = { receiver: rx, generator: range(4), async: agen(), web, node: Readable.from([1, 2, 3]) };
  for (const [name, source] of Object.entries(sources)) {
    const out = await guard(pipeline(source as Iterable<number>, (n: number) => n + 1, collect), 5000, name);
    assert.deepEqual(out, name === 'generator' ? [1, 2, 3, 4] : [2, 3, 4], name);
  }
  assert.ok(rx.isClosed, 'the pipeline closes a source Receiver it consumed');
});

test('sinks: a Sender (closed at the end, so its consumer ends), a Web WritableStream, a Node Writable', async () => {
  const [tx, rx] = bounded<number>(1);
  const consumer = collect(rx);
  await guard(pipeline(range(5), (n) => n * 2, tx));
  assert.deepEqual(await guard(consumer), [0, 2, 4, 6, 8]);

  const webOut: number[] = [];
  const ws = new WritableStream<number>({ write: (n) => void webOut.push(n) }, { highWaterMark: 1 });
  await guard(pipeline(range(5), (n) => n + 1, ws));
  assert.deepEqual(webOut, [1, 2, 3, 4, 5]);

  const nodeOut: number[] = [];
  const nw = new Writable({
    objectMode: true,
    highWaterMark: 1,
    write(n: number, _enc, cb) {
      nodeOut.push(n);
      setImmediate(cb); // slow: forces the pipeline to wait for 'drain'
    },
  });
  await guard(pipeline(range(20), (n) => n, nw));
  assert.deepEqual(nodeOut, [...range(20)]);
  assert.ok(nw.writableFinished);
});

test('no stages: a source straight into a Sender or a sink function', async () => {
  const [tx, rx] = unbounded<string>();
  await guard(pipeline(['x', 'y'], tx));
  assert.deepEqual(await collect(rx), ['x', 'y']);
  assert.deepEqual(await guard(pipeline(range(3), collect)), [0, 1, 2]);
});

test('ordered concurrency: results come out in input order whatever order they complete in', async () => {
  const gates = [...range(4)].map(() => deferred());
  let active = 0;
  let maxActive = 0;
  const work = stage(
    async (i: number) => {
      active++;
      maxActive = Math.max(maxActive, active);
      await gates[i]!.promise;
      active--;
      return i;
    },
    { concurrency: 4 },
  );
  const out = track(pipeline(range(4), work, collect));
  await until(() => active === 4, 'four items in flight');
  for (const i of [3, 1, 2, 0]) {
    gates[i]!.resolve();
    await turns(1);
  }
  assert.deepEqual(await guard(out.promise), [0, 1, 2, 3]);
  assert.equal(maxActive, 4);
});

test('unordered concurrency: results come out as they complete', async () => {
  const gates = [...range(4)].map(() => deferred());
  let active = 0;
  const work = stage(
    async (i: number) => {
      active++;
      await gates[i]!.promise;
      return i;
    },
    { concurrency: 4, ordered: false },
  );
  const out = track(pipeline(range(4), work, collect));
  await until(() => active === 4, 'four items in flight');
  for (const i of [3, 1, 2, 0]) {
    gates[i]!.resolve();
    await turns(1);
  }
  assert.deepEqual(await guard(out.promise), [3, 1, 2, 0]);
});

test('concurrency is a bound: never more than n items in flight', async () => {
  for (const ordered of [true, false]) {
    let active = 0;
    let maxActive = 0;
    const work = stage(
      async (i: number) => {
        active++;
        maxActive = Math.max(maxActive, active);
        await new Promise<void>((r) => setImmediate(r));
        if (i % 3 === 0) await new Promise<void>((r) => setImmediate(r));
        active--;
        return i;
      },
      { concurrency: 3, ordered },
    );
    const out = await guard(pipeline(range(50), work, collect));
    assert.equal(maxActive, 3);
    assert.equal(out.length, 50);
    if (ordered) assert.deepEqual(out, [...range(50)]);
    else assert.deepEqual([...out].sort((a, b) => a - b), [...range(50)]);
  }
});

test('shutdown cascades: when the producer closes the source, every stage finishes and the sink Sender closes', async () => {
  const [srcTx, src] = bounded<number>(2);
  const [outTx, out] = bounded<number>(2);
  const running = pipeline(src, (n) => n + 1, stage(async (n: number) => n * 2, { concurrency: 3 }), outTx);
  const consumer = collect(out);
  for (const n of [1, 2, 3, 4]) await srcTx.send(n);
  srcTx.close();
  await guard(running);
  assert.deepEqual(await guard(consumer), [4, 6, 8, 10]);
  assert.ok(outTx.isClosed);
});

test('an error in a stage rejects the pipeline with it, aborts the other stages, cancels the source, closes the ends', async () => {
  let sourceFinalized = false;
  function* source(): Generator<number> {
    try {
      for (let i = 0; ; i++) yield i;
    } finally {
      sourceFinalized = true;
    }
  }
  const stuck: AbortSignal[] = [];
  const boom = new Error('stage 2 failed');
  const [outTx, out] = bounded<number>(1);
  const consumer = collect(out);
  const run = pipeline(
    source(),
    stage(
      (n: number, signal) =>
        new Promise<number>((resolve, reject) => {
          if (n < 3) return resolve(n);
          stuck.push(signal); // long work that only the signal ends
          signal.addEventListener('abort', () => reject(signal.reason));
        }),
      { concurrency: 2 },
    ),
    (n) => {
      if (n === 2) throw boom;
      return n;
    },
    outTx,
  );
  await assert.rejects(guard(run), (e) => e === boom);
  assert.ok(sourceFinalized, 'the source generator was returned');
  assert.ok(stuck.length > 0 && stuck.every((s) => s.aborted), 'in-flight work saw its signal abort');
  assert.deepEqual(await guard(consumer), [0, 1], 'the sink Sender was closed: its consumer ends');
});

test('an error in the source rejects the pipeline; stages are cancelled', async () => {
  async function* source(): AsyncGenerator<number> {
    yield 1;
    throw new Error('source broke');
  }
  let sawAbort = false;
  const run = pipeline(
    source(),
    stage(
      (_n: number, signal) =>
        new Promise<number>((_, reject) =>
          signal.addEventListener('abort', () => {
            sawAbort = true;
            reject(signal.reason);
          }),
        ),
      { concurrency: 2 },
    ),
    collect,
  );
  await assert.rejects(guard(run), /source broke/);
  await until(() => sawAbort, 'the stage saw the abort');
});

test('an error in the sink rejects the pipeline and stops the source', async () => {
  let pulled = 0;
  function* source(): Generator<number> {
    for (;;) yield pulled++;
  }
  const run = pipeline(source(), (n) => n, async (items) => {
    for await (const n of items) if (n === 5) throw new Error('sink broke');
  });
  await assert.rejects(guard(run), /sink broke/);
  const after = pulled;
  await turns(3);
  assert.equal(pulled, after, 'nothing pulls the source any more');

  const ws = new WritableStream<number>({
    write(n) {
      if (n === 3) throw new Error('web sink broke');
    },
  });
  await assert.rejects(guard(pipeline(range(100), (n) => n, ws)), /web sink broke/);

  const nw = new Writable({
    objectMode: true,
    write(n: number, _e, cb) {
      cb(n === 3 ? new Error('node sink broke') : null);
    },
  });
  await assert.rejects(guard(pipeline(range(100), (n) => n, nw)), /node sink broke/);
});

test('an AbortSignal cancels a running pipeline; a pre-aborted one rejects at once', async () => {
  const ac = new AbortController();
  const [srcTx, src] = bounded<number>(1);
  let stageSignal: AbortSignal | undefined;
  const run = track(
    pipeline(
      src,
      (n: number, signal) => {
        stageSignal = signal;
        return n;
      },
      collect,
      { signal: ac.signal },
    ),
  );
  await srcTx.send(1);
  await until(() => stageSignal !== undefined);
  ac.abort('cancelled');
  await assert.rejects(guard(run.promise), (e) => e === 'cancelled');
  assert.equal(stageSignal?.aborted, true);
  await assert.rejects(srcTx.send(2), SendError, 'the source Receiver is closed: its producer is told');

  let pulled = 0;
  await assert.rejects(guard(pipeline((function* () { for (;;) yield pulled++; })(), collect, { signal: AbortSignal.abort('no') })), (e) => e === 'no');
  assert.equal(pulled, 0, 'a cancelled pipeline does not start its source');
});

test('a sink that stops early ends the pipeline without error and stops the source and the stages', async () => {
  let finalized = false;
  function* endless(): Generator<number> {
    try {
      for (let i = 0; ; i++) yield i;
    } finally {
      finalized = true;
    }
  }
  let stageAborted = false;
  const first3 = await guard(
    pipeline(
      endless(),
      stage(
        async (n: number, signal) => {
          signal.addEventListener('abort', () => (stageAborted = true));
          return n;
        },
        { concurrency: 2 },
      ),
      async (items) => {
        const got: number[] = [];
        for await (const n of items) {
          got.push(n);
          if (got.length === 3) break;
        }
        return got;
      },
    ),
  );
  assert.deepEqual(first3, [0, 1, 2]);
  await until(() => finalized, 'the source was returned');
  assert.ok(stageAborted);

  // The same through a sink Sender whose consumer goes away.
  finalized = false;
  const [tx, rx] = bounded<number>(1);
  const run = pipeline(endless(), (n) => n, tx);
  await rx.recv();
  rx.close();
  await guard(run);
  await until(() => finalized, 'the source was returned');
});

test('backpressure: with a stalled sink the source is pulled only as far as the links hold', async () => {
  let pulled = 0;
  function* source(): Generator<number> {
    for (;;) yield pulled++;
  }
  const gate = deferred();
  const run = pipeline(
    source(),
    (n) => n,
    stage(async (n: number) => n, { concurrency: 4 }),
    async (items) => {
      await gate.promise; // stalled
      for await (const n of items) if (n >= 100) return;
    },
    { capacity: 8 },
  );
  await turns(20);
  // 3 links of 8, a read-ahead batch of up to 8 in each stage, 4 in flight in s2, one in hand in the pump and s1
  assert.ok(pulled <= 3 * 8 + 2 * 8 + 4 + 2, `pulled ${pulled}`);
  const stalledAt = pulled;
  await turns(20);
  assert.equal(pulled, stalledAt, 'nothing moves while the sink stalls');
  gate.resolve();
  await guard(run);
});

test('bad arguments: no sink, bad stage options', async () => {
  await assert.rejects(
    pipeline([1], ((n: number) => n) as unknown as never, 'not a sink' as unknown as never),
    TypeError,
  );
  assert.throws(() => stage((n: number) => n, { concurrency: 0 }), RangeError);
  assert.throws(() => stage((n: number) => n, { parallelism: 2 }), /for worker-thread stages: give the module/);
  assert.throws(() => stage((n: number) => n, { capacity: -1 }), RangeError);
});

test('types: each stage takes the previous stage\'s output', async () => {
  // @ts-expect-error the first stage gets strings, not numbers
  await pipeline(['a'], (n: number) => n + 1, collect).catch(() => {});
  // @ts-expect-error the sink Sender carries numbers, the stage emits strings
  await pipeline([1], (n) => String(n), bounded<number>(1)[0]).catch(() => {});
  const n = await pipeline(range(2), (x) => x * 2, (x) => x > 1, async (xs) => (await collect(xs)).filter(Boolean).length);
  const _n: Equal<typeof n, number> = true;
  const v = await pipeline(range(2), bounded<number>(2)[0]);
  const _v: Equal<typeof v, void> = true;
  const eight = await pipeline(
    [1],
    (a) => a + 1,
    (b) => `${b}`,
    (c) => c.length,
    (d) => [d],
    (e) => e[0]!,
    (f) => ({ f }),
    (g) => g.f,
    async (h) => h * 2,
    collect,
  );
  const _e: Equal<typeof eight, number[]> = true;
  assert.deepEqual(eight, [2]);
});
