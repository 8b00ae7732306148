// Batches on shared channels: trySendMany / sendManySync / recvManySync /
// tryRecvMany move many messages under one lock hold. They keep the
// guarantees of single operations: exactly once, FIFO per sender, capacity,
// out-of-line messages, handles inside messages, and thread death in the
// middle of a batch.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { InvalidValueError, RecvError, type Receiver, type Sender } from '../../src/index.js';
import { channelStats, sharedBounded, sharedUnbounded } from '../../src/shared/index.js';
import { guard } from '../helpers.js';
import { agent, checkDelivery, rng, until } from './helpers.js';

type Msg = { p: number; i: number };

for (const [P, C, cap] of [
  [3, 2, 16],
  [2, 2, 1],
  [3, 1, 'unbounded'],
  [1, 3, 200],
] as const) {
  test(`sendManySync → recvManySync, ${P} producers × ${C} consumers, capacity ${cap}: exactly once, FIFO per producer`, async () => {
    const N = 5000;
    // A small unbounded ring: batches run across its growth.
    const [tx, rx] = cap === 'unbounded' ? sharedUnbounded<Msg>({ ringBytes: 512 }) : sharedBounded<Msg>(cap);
    const consumers = Array.from({ length: C }, (_, k) => agent('consume', { rx: rx.clone() }, { api: 'many', seed: 300 + k }));
    const producers = Array.from({ length: P }, (_, id) => agent('produce', { tx: tx.clone() }, { id, n: N, api: 'many', seed: 400 + id }));
    tx.close();
    rx.close();
    const lists = await guard(Promise.all(consumers.map((c) => c.message<{ got: number[] }>('got'))), 60000, 'consumers');
    checkDelivery(lists.map((l) => l.got), P, N);
    await Promise.all([...consumers, ...producers].map((a) => a.exited));
  });
}

test('trySendMany stops at capacity and returns how many went; tryRecvMany takes at most max, in order', () => {
  const [tx, rx] = sharedBounded<number>(5);
  const values = Array.from({ length: 12 }, (_, i) => i);
  assert.equal(tx.trySendMany(values), 5);
  assert.equal(tx.trySendMany(values, 5), 0);
  const into: number[] = [];
  assert.equal(rx.tryRecvMany(into, 3), 3);
  assert.deepEqual(into, [0, 1, 2]);
  assert.equal(tx.trySendMany(values, 5), 3);
  assert.equal(rx.tryRecvMany(into), 5);
  assert.deepEqual(into, [0, 1, 2, 3, 4, 5, 6, 7]);
  assert.equal(tx.trySendMany(values, 8), 4);
  assert.equal(rx.tryRecvMany(into, 100), 4);
  assert.deepEqual(into, values);
  assert.equal(rx.tryRecvMany(into), 0);
  tx.close();
  rx.close();
});

test('a batch larger than the ring fills it and stops; the rest goes once there is room, in order', () => {
  // Capacity is not the limit here: the ring's bytes are.
  const [tx, rx] = sharedBounded<string>(1000, { ringBytes: 512 });
  const values = Array.from({ length: 200 }, (_, i) => `value ${i} `.repeat(3));
  const got: string[] = [];
  let sent = 0;
  let rounds = 0;
  while (got.length < values.length) {
    const n = tx.trySendMany(values, sent);
    if (rounds === 0) assert.ok(n > 0 && n < values.length, `the first batch fills the 512-byte ring and stops (${n} went)`);
    sent += n;
    rx.tryRecvMany(got, 1 + (rounds % 7));
    rounds++;
  }
  assert.deepEqual(got, values);
  assert.ok(rounds > 10);
  tx.close();
  rx.close();
});

test('a batch across unbounded growth: every value arrives once, in order, and the ring grew', () => {
  const [tx, rx] = sharedUnbounded<{ k: number; s: string }>({ ringBytes: 256 });
  const values = Array.from({ length: 3000 }, (_, k) => ({ k, s: 'x'.repeat(k % 50) }));
  assert.equal(tx.trySendMany(values), values.length);
  assert.ok(channelStats(tx).ringBytes > 256, 'the ring grew');
  assert.equal(channelStats(rx).len, values.length);
  const got: { k: number; s: string }[] = [];
  while (rx.tryRecvMany(got, 700) > 0);
  assert.deepEqual(got, values);
  tx.close();
  rx.close();
});

test('a batch mixing small and out-of-line messages round-trips and gives every block back', () => {
  const [tx, rx] = sharedBounded<unknown>(64, { ringBytes: 4096, inlineMax: 256 });
  const base = channelStats(tx).bytes;
  const values: unknown[] = [];
  for (let i = 0; i < 40; i++) values.push(i % 3 === 0 ? new Uint8Array(1000 + i).fill(i) : { i, s: 'y'.repeat(i) });
  let sent = 0;
  const got: unknown[] = [];
  while (got.length < values.length) {
    sent += tx.trySendMany(values, sent);
    if (sent > got.length) assert.ok(channelStats(tx).bytes > base || values.slice(got.length, sent).every((v) => !(v instanceof Uint8Array)));
    rx.tryRecvMany(got, 5);
  }
  assert.deepEqual(got, values);
  assert.equal(channelStats(tx).bytes, base, 'out-of-line blocks freed');
  tx.close();
  rx.close();
});

test('a value that cannot cross stops the batch: the values before it are sent, it is in the error, the channel stays usable', () => {
  const [tx, rx] = sharedBounded<unknown>(16);
  const bad = (): number => 3;
  const values = [1, 2, bad, 4];
  assert.throws(
    () => tx.trySendMany(values),
    (e: unknown) => e instanceof InvalidValueError && e.value === bad,
  );
  const got: unknown[] = [];
  rx.tryRecvMany(got);
  assert.deepEqual(got, [1, 2]);
  assert.equal(tx.trySendMany(values, 3), 1);
  assert.equal(rx.tryRecv(), 4);
  tx.close();
  rx.close();
});

test('handles inside batched messages move with them: a worker answers every request on the reply Sender it carried', async () => {
  const [reqTx, reqRx] = sharedBounded<{ x: number; reply: Sender<number> }>(8);
  const server = agent('server', { rx: reqRx }, { many: true });
  const replies: Receiver<number>[] = [];
  const batch: { x: number; reply: Sender<number> }[] = [];
  for (let x = 0; x < 50; x++) {
    const [rtx, rrx] = sharedBounded<number>(1);
    replies.push(rrx);
    batch.push({ x, reply: rtx });
  }
  await guard(reqTx.sendMany(batch), 20000, 'sendMany of requests');
  // Each reply Sender moved: closed here, alive in the worker.
  assert.ok(batch.every((m) => m.reply.isClosed));
  const answers = await guard(Promise.all(replies.map((r) => r.recv())), 20000, 'replies');
  assert.deepEqual(answers, batch.map((m) => m.x * 2));
  // The worker closed each reply Sender after answering: every reply channel ends.
  for (const r of replies) {
    await guard(until(() => r.isDisconnected, 'reply channel disconnected'), 10000, 'disconnection');
    r.close();
  }
  reqTx.close();
  await server.exited;
});

test('the same handle twice in one batch: the first message takes it, the second is refused with the value', () => {
  const [tx, rx] = sharedBounded<{ h: Sender<number> }>(8);
  const [otx, orx] = sharedBounded<number>(1);
  const second = { h: otx };
  assert.throws(
    () => tx.trySendMany([{ h: otx }, second]),
    (e: unknown) => e instanceof InvalidValueError && e.value === second,
  );
  const got: { h: Sender<number> }[] = [];
  assert.equal(rx.tryRecvMany(got), 1);
  assert.equal(channelStats(orx).senders, 1, 'one Sender, in the delivered message');
  got[0]!.h.trySend(7);
  assert.equal(orx.tryRecv(), 7);
  got[0]!.h.close();
  assert.equal(orx.isDisconnected, true);
  orx.close();
  tx.close();
  rx.close();
});

test('a producer terminated in the middle of batched sends: every value reported sent arrives once, in order, whole', async () => {
  const rand = rng(31);
  for (let round = 0; round < 10; round++) {
    const [tx, rx] =
      round % 2 === 0 ? sharedBounded<unknown>(8 + (round % 5) * 8, { ringBytes: 2048 }) : sharedUnbounded<unknown>({ ringBytes: 512 });
    const progress = new Int32Array(new SharedArrayBuffer(4));
    const at = 50 + Math.floor(rand() * 400);
    const a = agent('forever', { tx }, { op: 'sendMany', progress: progress.buffer });
    const got: { i: number; pad: string }[] = [];
    const receiving = (async () => {
      for (;;) {
        try {
          await rx.recvMany(got, 64);
        } catch (e) {
          if (e instanceof RecvError) return;
          throw e;
        }
      }
    })();
    await until(() => Atomics.load(progress, 0) >= at, 'the producer to make progress');
    await a.worker.terminate();
    await a.exited;
    await guard(receiving, 10000, 'receiving until the dead producer is seen');
    const done = Atomics.load(progress, 0);
    // The batch in flight may have gone in part or whole without being reported (at most 24).
    assert.ok(got.length >= done && got.length <= done + 24, `round ${round}: ${got.length} received, ${done} reported sent`);
    got.forEach((m, i) => assert.deepEqual(m, { i, pad: 'p'.repeat(i % 200) }));
    rx.close();
  }
});

test('a consumer terminated in the middle of batched receives: the survivor gets the rest exactly once, in order, and the channel keeps working', async () => {
  const rand = rng(41);
  for (let round = 0; round < 10; round++) {
    const [tx, rx] = round % 2 === 0 ? sharedBounded<number>(4 + (round % 3) * 30, { ringBytes: 1024 }) : sharedUnbounded<number>({ ringBytes: 256 });
    const progress = new Int32Array(new SharedArrayBuffer(4));
    const at = 20 + Math.floor(rand() * 300);
    const a = agent('forever', { rx: rx.clone() }, { op: 'recvMany', progress: progress.buffer });
    let sent = 0;
    let stop = false;
    const sending = (async () => {
      const batch: number[] = [];
      while (!stop) {
        batch.length = 0;
        for (let k = 0; k < 16; k++) batch.push(sent + k);
        await tx.sendMany(batch);
        sent += batch.length;
        await new Promise((r) => setImmediate(r));
      }
    })();
    await until(() => Atomics.load(progress, 0) >= at, 'the worker to receive');
    await a.worker.terminate();
    await a.exited;
    const mine: number[] = [];
    const draining = (async () => {
      for (;;) {
        try {
          await rx.recvMany(mine, 50);
        } catch (e) {
          if (e instanceof RecvError) return;
          throw e;
        }
      }
    })();
    stop = true;
    await guard(sending, 10000, 'sending while a receiver dies');
    await guard(tx.sendMany(Array.from({ length: 40 }, (_, k) => sent + k)), 10000, 'sends after the death');
    sent += 40;
    tx.close();
    await guard(draining, 10000, 'the surviving receiver');
    const theirs = Atomics.load(progress, 0);
    for (let k = 1; k < mine.length; k++) assert.ok(mine[k]! > mine[k - 1]!, 'in order, no duplicates');
    // Lost: only what the dead receiver took in its last batch and never reported (at most 32).
    const lost = sent - theirs - mine.length;
    assert.ok(lost >= 0 && lost <= 32, `round ${round}: ${mine.length} + ${theirs} of ${sent}`);
    assert.ok(mine.slice(-40).every((v, k) => v === sent - 40 + k), 'the sends after the death all arrive');
    rx.close();
  }
});

test('recvMany on the main thread takes what is ready in one batch, and waits for the first message otherwise', async () => {
  const [tx, rx] = sharedBounded<number>(64);
  tx.trySendMany([1, 2, 3, 4, 5]);
  const got: number[] = [];
  assert.equal(await rx.recvMany(got, 3), 3);
  assert.equal(await rx.recvMany(got, 10), 2);
  assert.deepEqual(got, [1, 2, 3, 4, 5]);
  const later = rx.recvMany(got, 10);
  setTimeout(() => tx.trySendMany([6, 7]), 5);
  const n = await guard(later, 10000, 'recvMany waiting for a message');
  assert.ok(n >= 1 && n <= 2);
  while (got.length < 7) await rx.recvMany(got, 10);
  assert.deepEqual(got, [1, 2, 3, 4, 5, 6, 7]);
  tx.close();
  await assert.rejects(rx.recvMany(got, 10), RecvError);
  rx.close();
});
