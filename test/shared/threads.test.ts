// Core semantics across threads: ordering, exactly-once, capacity,
// rendezvous, disconnection in every order, select fairness, cancellation,
// request/reply through three threads.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { RecvError, SendError, TryRecvError, type Receiver, type Sender } from '../../src/index.js';
import { channelStats, sharedBounded, sharedStats, sharedUnbounded, spawnWorker } from '../../src/shared/index.js';
import { guard } from '../helpers.js';
import { agent, checkDelivery, rng, until } from './helpers.js';

type Msg = { p: number; i: number };

function channel(cap: number | 'unbounded'): [Sender<Msg>, Receiver<Msg>] {
  return cap === 'unbounded' ? sharedUnbounded<Msg>({ ringBytes: 1024 }) : sharedBounded<Msg>(cap);
}

for (const [P, C, cap, api] of [
  [1, 1, 1, 'sync'],
  [1, 1, 0, 'sync'],
  [2, 2, 16, 'sync'],
  [3, 1, 'unbounded', 'mixed'],
  [1, 3, 4, 'mixed'],
  [2, 2, 0, 'mixed'],
  [4, 4, 64, 'mixed'],
] as const) {
  test(`MPMC ${P}×${C} threads, capacity ${cap}, ${api}: exactly once, FIFO per producer`, async () => {
    const N = cap === 0 ? 1500 : 6000;
    const [tx, rx] = channel(cap);
    const consumers = Array.from({ length: C }, (_, k) => agent('consume', { rx: rx.clone() }, { api, seed: 100 + k }));
    const producers = Array.from({ length: P }, (_, id) => agent('produce', { tx: tx.clone() }, { id, n: N, api, seed: 200 + id }));
    tx.close();
    rx.close();
    const lists = await guard(Promise.all(consumers.map((c) => c.message<{ got: number[] }>('got'))), 60000, 'consumers');
    checkDelivery(lists.map((l) => l.got), P, N);
    await Promise.all([...consumers, ...producers].map((a) => a.exited));
  });
}

// Random schedules: a fresh base seed each run (printed, so a failure can be replayed with
// WEFT_STRESS_SEED), each round drawing its own thread counts, capacity and per-thread
// operation mix (sync, async, batches, try, timeouts) with random pauses.
test('random schedules: random producers, consumers, capacities and operation mixes — exactly once, FIFO per producer', async (t) => {
  const base = Number(process.env['WEFT_STRESS_SEED'] ?? Math.floor(Math.random() * 2 ** 31));
  t.diagnostic(`WEFT_STRESS_SEED=${base}`);
  const rand = rng(base);
  const caps = [0, 1, 3, 16, 'unbounded'] as const;
  for (let round = 0; round < 5; round++) {
    const P = 1 + Math.floor(rand() * 3);
    const C = 1 + Math.floor(rand() * 3);
    const cap = caps[Math.floor(rand() * caps.length)]!;
    const N = cap === 0 ? 400 : 1500;
    const seed = Math.floor(rand() * 2 ** 31);
    const [tx, rx] = channel(cap);
    const consumers = Array.from({ length: C }, (_, k) => agent('consume', { rx: rx.clone() }, { api: 'mixed', jitter: true, seed: seed + k }));
    const producers = Array.from({ length: P }, (_, id) => agent('produce', { tx: tx.clone() }, { id, n: N, api: 'mixed', jitter: true, seed: seed + 100 + id }));
    tx.close();
    rx.close();
    const what = `round ${round}: ${P} producers, ${C} consumers, capacity ${cap}`;
    const lists = await guard(Promise.all(consumers.map((c) => c.message<{ got: number[] }>('got'))), 60000, what);
    checkDelivery(
      lists.map((l) => l.got),
      P,
      N,
    );
    await Promise.all([...consumers, ...producers].map((a) => a.exited));
  }
});

test('main thread async producer → worker consumers, and worker producer → main async consumer', async () => {
  const N = 5000;
  const [tx, rx] = sharedBounded<Msg>(8);
  const c = agent('consume', { rx }, { api: 'sync' });
  for (let i = 0; i < N; i++) await tx.send({ p: 0, i });
  tx.close();
  checkDelivery([(await c.message<{ got: number[] }>('got')).got], 1, N);
  const [tx2, rx2] = sharedBounded<Msg>(8);
  const p = agent('produce', { tx: tx2 }, { id: 0, n: N, api: 'sync' });
  const got: number[] = [];
  for await (const m of rx2) got.push(m.p, m.i);
  checkDelivery([got], 1, N);
  await Promise.all([c.exited, p.exited]);
});

// A receiver that is the channel's only one takes without the consumer lock
// (see SharedCore.lockC); handing out a second one must turn that off at once.
// Long messages (copied under the consumer lock) make two takes at once likely if it were skipped.
// The carried one goes through a buffered channel, or through a rendezvous
// channel whose send is still pending (the offer's count on the Receiver is
// in the channel's count, but in no thread) while this thread keeps taking.
for (const [cap, box] of [[4, 1], ['unbounded', 1], [4, 0], ['unbounded', 0]] as const) {
  const via = box === 0 ? 'a rendezvous send still pending' : 'a buffered channel';
  test(`the only receiver, then three, then one again (capacity ${cap}, one carried by ${via}): exactly once, FIFO, through every change`, async () => {
    const N = 20000;
    const opts = { ringBytes: 65536, inlineMax: 16384 };
    const [tx, rx] = cap === 'unbounded' ? sharedUnbounded<Msg>(opts) : sharedBounded<Msg>(cap, opts);
    const p = agent('produce', { tx }, { id: 0, n: N, api: 'sync', jitter: true, seed: 31, pad: 8000 });
    const mine: number[] = [];
    const take = async (k: number) => {
      for (let j = 0; j < k; j++) {
        const m = await rx.recv();
        mine.push(m.p, m.i);
      }
    };
    await guard(take(500), 20000, 'alone');
    // A second receiver in a worker, and one that travels inside a message to another worker.
    const c1 = agent('consume', { rx: rx.clone() }, { api: 'sync', take: 6000 });
    const [btx, brx] = sharedBounded<{ rx: Receiver<Msg> }>(box);
    const c2 = agent('consumeCarried', { box: brx.clone() }, { take: 4000 });
    // A rendezvous offer is made only to a waiting receiver: let it wait first.
    if (box === 0) await until(() => channelStats(brx).waitingReceivers === 1, 'the carrier to wait');
    brx.close();
    const carried = btx.send({ rx: rx.clone() });
    // Beside them, as fast as they take: polling, so that takes collide. With
    // the rendezvous, awaiting instead: the offer is made (again, if taking it
    // back raced with the carrier) by this thread's event loop, and stays
    // pending while this thread takes.
    const none = Symbol('none');
    if (box === 0) await guard(take(6000), 20000, 'beside the others');
    for (let got = 0; box === 1 && got < 6000; ) {
      const m = rx.poll(none);
      if (m === none) continue;
      mine.push(m.p, m.i);
      got++;
    }
    await guard(carried, 20000, 'the carried receiver to be taken');
    btx.close();
    // The others stop and close theirs: alone again for the rest.
    const theirs = await guard(Promise.all([c1.message<{ got: number[] }>('got'), c2.message<{ got: number[] }>('got')]), 20000, 'the other receivers');
    for (;;) {
      try {
        const m = await guard(rx.recv(), 20000, 'alone again');
        mine.push(m.p, m.i);
      } catch (e) {
        if (e instanceof RecvError) break;
        throw e;
      }
    }
    checkDelivery([mine, ...theirs.map((t) => t.got)], 1, N);
    rx.close();
    await Promise.all([p.exited, c1.exited, c2.exited]);
  });
}

test('a sender that sends and closes at once, against a receiver polling: disconnection never overtakes a message', async () => {
  const R = 400;
  const [ctx, crx] = sharedBounded<{ rx: Receiver<number> }>(1);
  const w = agent('bursts', { carrier: ctx }, { n: R });
  for (let r = 0; r < R; r++) {
    const { rx } = await guard(crx.recv(), 20000, `round ${r}: the next channel`);
    const got: number[] = [];
    for (;;) {
      try {
        got.push(rx.tryRecv());
      } catch (e) {
        if (e instanceof TryRecvError && e.kind === 'disconnected') break;
        if (!(e instanceof TryRecvError)) throw e;
      }
    }
    assert.deepEqual(got, [r * 3, r * 3 + 1, r * 3 + 2], `round ${r}`);
    rx.close();
  }
  crx.close();
  await w.exited;
});

test('capacity holds across threads: a blocked producer fills exactly `capacity`', async () => {
  const [tx, rx] = sharedBounded<Msg>(3);
  const p = agent('produce', { tx }, { id: 0, n: 10, api: 'sync' });
  // The producer is parked (its thread waits for room) only after it filled the channel.
  await until(() => channelStats(rx).waitingSenders > 0, 'the producer to block');
  assert.equal(rx.len, 3);
  assert.equal(rx.isFull, true);
  const got: number[] = [];
  for await (const m of rx) got.push(m.p, m.i);
  checkDelivery([got], 1, 10);
  await p.exited;
});

test('rendezvous across threads: a blocking send completes only when the main thread takes it', async () => {
  const [tx, rx] = sharedBounded<Msg>(0);
  const p = agent('produce', { tx }, { id: 0, n: 3, api: 'sync' });
  let done = false;
  void p.message('done').then(() => (done = true));
  // Blocked in its first send: nobody has taken anything yet.
  await until(() => channelStats(rx).waitingSenders > 0, 'the producer to block');
  assert.equal(done, false);
  const got: number[] = [];
  for await (const m of rx) got.push(m.p, m.i);
  checkDelivery([got], 1, 3);
  await p.exited;
});

test('disconnection: the last sender in a worker closes → main drains then RecvError', async () => {
  const [tx, rx] = sharedBounded<Msg>(100);
  const p = agent('produce', { tx }, { id: 0, n: 50, api: 'sync' });
  await p.message('done');
  assert.equal(rx.isDisconnected, true);
  for (let i = 0; i < 50; i++) assert.equal((await rx.recv()).i, i);
  await assert.rejects(rx.recv(), RecvError);
  await p.exited;
});

for (const how of ['closes it', 'is terminated mid-receive', 'is terminated before it starts']) {
  test(`disconnection: the only receiver lives in a worker that ${how} → a pending send in main fails with SendError`, async () => {
    const [tx, rx] = sharedBounded<Msg>(1);
    const c = agent('consume', { rx }, { api: 'sync', take: how === 'closes it' ? 20 : undefined });
    let sent = 0;
    const pending = (async () => {
      for (let i = 0; ; i++) {
        await tx.send({ p: 0, i });
        sent++;
      }
    })();
    if (how === 'is terminated mid-receive') {
      await until(() => sent >= 20, 'the consumer to run');
      await c.worker.terminate();
    } else if (how === 'is terminated before it starts') {
      await c.worker.terminate();
    }
    const e = await guard(pending.then(() => undefined, (err: unknown) => err), 10000, 'send after the receiver left');
    assert.ok(e instanceof SendError, String(e));
    assert.equal((e as SendError<Msg>).value.i, sent, 'the failed send hands its value back');
    assert.equal(tx.isDisconnected, true);
    if (how === 'closes it') assert.equal((await c.message<{ got: number[] }>('got')).got.length, 40);
    tx.close();
    await c.exited;
  });
}

test('disconnection: a worker that exits without closing its handles releases them', async () => {
  const [tx, rx] = sharedBounded<Msg>(4);
  const [ptx, prx] = sharedBounded<number>(1);
  // 'forever' with op tryRecv never closes; terminate it.
  const a = agent('forever', { rx: prx, tx }, { op: 'tryRecv' });
  await a.message('ready');
  assert.equal(rx.isDisconnected, false);
  await a.worker.terminate();
  await guard(rx.recv().then(() => assert.fail('no message'), (e) => assert.ok(e instanceof RecvError)), 10000);
  assert.equal(ptx.isDisconnected, true);
  rx.close();
  ptx.close();
});

test('select fairness across threads: a blocking select over two busy channels takes from both', async () => {
  const [atx, arx] = sharedBounded<Msg>(16);
  const [btx, brx] = sharedBounded<Msg>(16);
  const N = 3000;
  const s = agent('selectConsume', { a: arx, b: brx }, { api: 'sync' });
  for (let i = 0; i < N; i++) await Promise.all([atx.send({ p: 0, i }), btx.send({ p: 1, i })]);
  atx.close();
  btx.close();
  const r = await s.message<{ counts: { a: number; b: number }; got: Msg[] }>('counts');
  assert.equal(r.counts.a, N);
  assert.equal(r.counts.b, N);
  await s.exited;
});

test('select fairness: when both cases are always ready each is chosen about half the time', async () => {
  const [atx, arx] = sharedUnbounded<number>();
  const [btx, brx] = sharedUnbounded<number>();
  const N = 4000;
  for (let i = 0; i < N; i++) {
    atx.trySend(i);
    btx.trySend(i);
  }
  atx.close();
  btx.close();
  // Blocking select in a worker: while both channels hold messages it picks at random.
  const s = agent('selectConsume', { a: arx, b: brx }, { api: 'sync' });
  const r = await guard(s.message<{ counts: { a: number; b: number }; order: number[] }>('counts'), 30000, 'select consumer');
  assert.deepEqual(r.counts, { a: N, b: N });
  const firstB = r.order.slice(0, N).filter((c) => c === 1).length;
  assert.ok(firstB > N * 0.4 && firstB < N * 0.6, `case b chosen ${firstB} times of the first ${N}`);
  await s.exited;
  // Async select over shared channels on the main thread.
  const [ctx, crx] = sharedUnbounded<number>();
  const [dtx, drx] = sharedUnbounded<number>();
  const counts = { c: 0, d: 0 };
  const { select } = await import('../../src/index.js');
  for (let i = 0; i < 2000; i++) {
    ctx.trySend(i);
    dtx.trySend(i);
    const x = await select({ c: crx, d: drx });
    counts[x.case]++;
    (x.case === 'c' ? drx : crx).tryRecv();
  }
  assert.ok(counts.c > 800 && counts.d > 800, JSON.stringify(counts));
  for (const h of [ctx, crx, dtx, drx]) h.close();
});

test('cancellation across threads: timed-out and aborted receives in main never lose a message sent by a worker', async () => {
  const N = 3000;
  const [tx, rx] = sharedBounded<Msg>(2);
  const p = agent('produce', { tx }, { id: 0, n: N, api: 'mixed', jitter: true });
  const got: number[] = [];
  let timeouts = 0;
  for (;;) {
    try {
      const ac = new AbortController();
      const t = setTimeout(() => ac.abort(), Math.random() < 0.5 ? 0 : 1);
      const m = Math.random() < 0.5 ? await rx.recvTimeout(Math.random() < 0.3 ? 0 : 1) : await rx.recv({ signal: ac.signal });
      clearTimeout(t);
      got.push(m.p, m.i);
    } catch (e) {
      if (e instanceof RecvError || (e as { kind?: string }).kind === 'disconnected') break;
      timeouts++;
    }
  }
  checkDelivery([got], 1, N);
  assert.ok(timeouts > 0);
  await p.exited;
});

test('request/reply through three threads with reply Senders inside messages', async () => {
  for (const api of ['sync', 'async', 'rendezvous']) {
    const [reqTx, reqRx] = sharedBounded<{ x: number; reply: Sender<number> }>(4);
    const [nextTx, nextRx] = sharedBounded<{ x: number; reply: Sender<number> }>(api === 'rendezvous' ? 0 : 4);
    const server = agent('server', { rx: nextRx });
    const middle = agent('middle', { rx: reqRx, next: nextTx }, { api });
    for (let x = 0; x < 300; x++) {
      const [rtx, rrx] = sharedBounded<number>(1);
      await reqTx.send({ x, reply: rtx });
      assert.equal(rtx.isClosed, true, 'the reply Sender moved');
      assert.equal(await guard(rrx.recv(), 10000, 'reply'), x * 2 + 1);
      await assert.rejects(rrx.recv(), RecvError, 'the replier closed its Sender');
      rrx.close();
    }
    reqTx.close();
    await Promise.all([middle.message('done'), server.message('done')]);
    await Promise.all([middle.exited, server.exited]);
  }
});

test('ping-pong worker ↔ worker (blocking) and main ↔ worker (async)', async () => {
  const [pingTx, pingRx] = sharedBounded<number>(1);
  const [pongTx, pongRx] = sharedBounded<number>(1);
  const w = agent('pong', { ping: pingRx, pong: pongTx });
  let v = 0;
  for (let i = 0; i < 2000; i++) {
    await pingTx.send(v);
    v = await pongRx.recv();
  }
  assert.equal(v, 2000);
  pingTx.close();
  pongRx.close();
  await w.exited;
});

test('channels made and dropped in four threads at once: memory is reused and no two channels overlap', async () => {
  const before = sharedStats();
  const workers = [1, 2, 3].map((seed) => agent('churn', {}, { n: 150, seed }));
  // The main thread churns too, with async operations.
  for (let r = 0; r < 150; r++) {
    const [tx, rx] = r % 2 === 0 ? sharedBounded<Uint8Array>(4, { ringBytes: 256 + ((r * 97) % 4096) }) : sharedUnbounded<Uint8Array>({ ringBytes: 256 });
    for (let k = 0; k < 6; k++) {
      const v = new Uint8Array((r * 31 + k * 500) % 3000).fill((r + k) & 255);
      await tx.send(v);
      const got = await rx.recv();
      assert.ok(got.length === v.length && got.every((x) => x === ((r + k) & 255)), `main round ${r}: whole`);
    }
    tx.close();
    rx.close();
  }
  const done = await guard(Promise.all(workers.map((w) => w.message<{ churned: number }>('churned'))), 60000, 'churning workers');
  assert.deepEqual(done.map((d) => d.churned), [150, 150, 150]);
  await Promise.all(workers.map((w) => w.exited));
  assert.equal(sharedStats().channels, before.channels, 'every channel made here was freed');
  // Frees the main thread had to postpone land within a few ms.
  await until(() => sharedStats().bytesInUse === before.bytesInUse, 'the memory to be back on the free lists');
  assert.ok(sharedStats().arenaBytes < before.arenaBytes + (2 << 20), 'freed memory was reused instead of growing the arena');
});

test('messages far larger than the ring cross threads whole, both ways; stats show depth, waiting threads and memory', async () => {
  const [inTx, inRx] = sharedBounded<unknown>(2, { ringBytes: 4096 });
  const [outTx, outRx] = sharedBounded<unknown>(2, { ringBytes: 4096 });
  const w = spawnWorker(new URL('./workers/echo.js', import.meta.url), { handles: { input: inRx, output: outTx }, workerData: { mode: 'sync' } });
  const exited = new Promise((r) => w.once('exit', r)); // before anything can let it exit
  // The worker parks in recvSync: one waiting receiver, nothing buffered.
  await until(() => channelStats(inTx).waitingReceivers === 1, 'the worker to wait');
  assert.equal(channelStats(inTx).len, 0);
  const base = channelStats(outRx).bytes;
  for (const size of [5000, 1 << 20, 8 << 20]) {
    const v = new Float64Array(size / 8).map((_, i) => i * 0.5);
    await inTx.send({ size, v });
    // Echoed and buffered, not yet received: its out-of-line block counts in the channel's memory.
    await until(() => channelStats(outRx).len === 1, 'the echo');
    assert.ok(channelStats(outRx).bytes >= base + size);
    assert.deepEqual(await outRx.recv(), { size, v });
    assert.equal(channelStats(outRx).bytes, base, 'given back once received');
  }
  inTx.close();
  await assert.rejects(outRx.recv(), RecvError);
  outRx.close();
  await exited;
});

test('rendezvous: a send whose receiver leaves before taking the value fails, it never reports success', async () => {
  for (let round = 0; round < 6; round++) {
    // Main thread sends (async); the only receiver, in a worker, takes k values then exits.
    const k = 3 + round;
    const [tx, rx] = sharedBounded<number>(0);
    const cell = new SharedArrayBuffer(4);
    const a = agent('forever', { rx }, { op: 'recv', progress: cell, endAfter: k, end: 'exit' });
    let completed = 0;
    const e = await guard(
      (async () => {
        for (let i = 0; ; i++) {
          try {
            await tx.send(i);
          } catch (err) {
            return err;
          }
          completed++;
        }
      })(),
      10000,
      'sending to a receiver that leaves',
    );
    assert.ok(e instanceof SendError, String(e));
    assert.equal(completed, k, 'exactly the values taken count as sent');
    assert.equal(Atomics.load(new Int32Array(cell), 0), k);
    assert.equal((e as SendError<number>).value, k);
    tx.close();
    await a.exited;
    // A worker blocked in sendSync; the main thread takes k values, then closes its receiver.
    const [tx2, rx2] = sharedBounded<unknown>(0);
    const cell2 = new SharedArrayBuffer(4);
    const p = agent('forever', { tx: tx2 }, { op: 'send', progress: cell2 });
    for (let i = 0; i < k; i++) assert.equal(((await rx2.recv()) as { i: number }).i, i);
    // Its next offer is in the slot or about to be: closing must fail that send.
    await until(() => channelStats(rx2).waitingSenders > 0 || rx2.len > 0 || Atomics.load(new Int32Array(cell2), 0) > k, 'the next offer');
    rx2.close();
    const code = await guard(p.exited, 10000, 'the blocked worker sender');
    assert.notEqual(code, 0, 'its sendSync threw SendError');
    assert.equal(Atomics.load(new Int32Array(cell2), 0), k, 'only the taken values count as sent');
  }
});
