import { test } from 'node:test';
import assert from 'node:assert/strict';
import {
  bounded,
  unbounded,
  select,
  send,
  RecvError,
  SendError,
  ClosedHandleError,
  TrySendError,
} from '../../src/index.js';
import { track, turn } from '../helpers.js';

for (const cap of [0, 1, 4, undefined]) {
  const name = cap === undefined ? 'unbounded' : `bounded(${cap})`;
  const make = () => (cap === undefined ? unbounded<number>() : bounded<number>(cap));

  test(`${name}: last Sender closed → receivers drain, then RecvError; blocked receivers wake`, async () => {
    const [tx, rx] = make();
    const rx2 = rx.clone();
    if (cap !== 0) tx.trySend(1);
    const tx2 = tx.clone();
    tx.close();
    assert.equal(rx.isDisconnected, false, 'a clone is still open');
    const waiting = cap === 0 ? [rx.recv(), rx2.recv()] : [rx2.recv()];
    const more = cap === 0 ? [] : [rx.recv()];
    tx2.close();
    assert.equal(rx.isDisconnected, true);
    const results = await Promise.allSettled([...waiting, ...more]);
    if (cap !== 0) assert.deepEqual(results[0], { status: 'fulfilled', value: 1 }, 'buffered message drained first');
    for (const r of results.slice(cap === 0 ? 0 : 1)) {
      assert.equal(r.status, 'rejected');
      assert.ok((r as PromiseRejectedResult).reason instanceof RecvError);
    }
    await assert.rejects(rx.recv(), RecvError);
    const seen: number[] = [];
    for await (const v of rx) seen.push(v);
    assert.deepEqual(seen, []);
  });

  test(`${name}: last Receiver closed → sends fail with their value, blocked senders wake, buffer dropped`, async () => {
    const [tx, rx] = make();
    const blocked: Promise<void>[] = [];
    if (cap !== undefined) {
      for (let i = 0; i < cap; i++) tx.trySend(i);
      blocked.push(tx.send(100), tx.send(101));
    } else {
      tx.trySend(0);
    }
    await turn();
    rx.close();
    assert.equal(tx.isDisconnected, true);
    assert.equal(tx.len, 0, 'buffered messages are dropped');
    const results = await Promise.allSettled(blocked);
    results.forEach((r, i) => {
      assert.equal(r.status, 'rejected');
      const e = (r as PromiseRejectedResult).reason as SendError<number>;
      assert.ok(e instanceof SendError);
      assert.equal(e.value, 100 + i, 'each blocked sender gets its own value back');
    });
    await assert.rejects(tx.send(7), (e: unknown) => e instanceof SendError && e.value === 7);
    assert.throws(() => tx.trySend(8), (e: unknown) => e instanceof TrySendError && e.kind === 'disconnected');
  });
}

test('handles used after close throw ClosedHandleError; close is idempotent', async () => {
  const [tx, rx] = unbounded<number>();
  const keepTx = tx.clone();
  const keepRx = rx.clone();
  tx.close();
  tx.close();
  rx.close();
  assert.equal(tx.isClosed, true);
  await assert.rejects(tx.send(1), (e: unknown) => e instanceof ClosedHandleError && e.value === 1);
  await assert.rejects(tx.sendTimeout(1, 10), ClosedHandleError);
  assert.throws(() => tx.trySend(2), (e: unknown) => e instanceof ClosedHandleError && e.value === 2);
  assert.throws(() => tx.offer(2), ClosedHandleError);
  assert.throws(() => tx.clone(), ClosedHandleError);
  await assert.rejects(rx.recv(), ClosedHandleError);
  await assert.rejects(rx.recvTimeout(10), ClosedHandleError);
  assert.throws(() => rx.tryRecv(), ClosedHandleError);
  assert.throws(() => rx.poll(0), ClosedHandleError);
  assert.throws(() => rx.tryRecvMany([]), ClosedHandleError);
  assert.throws(() => [...rx.tryIter()], ClosedHandleError);
  assert.throws(() => rx.clone(), ClosedHandleError);
  await assert.rejects(select({ rx }), ClosedHandleError);
  await assert.rejects(select({ out: send(tx, 3) }), (e: unknown) => e instanceof ClosedHandleError && e.value === 3);
  assert.equal(keepRx.isDisconnected, false, 'open clones keep the channel alive');
  keepTx.trySend(4);
  assert.equal(keepRx.tryRecv(), 4);
});

test('closing a handle rejects its own pending operations and hands values back', async () => {
  const [tx, rx] = bounded<number>(0);
  const tx2 = tx.clone();
  const pendingSend = tx.send(1);
  const other = track(tx2.send(2));
  tx.close();
  await assert.rejects(pendingSend, (e: unknown) => e instanceof ClosedHandleError && e.value === 1);
  assert.equal(await rx.recv(), 2, 'the other sender is unaffected');
  await turn();
  assert.equal(other.settled, true);

  const rx2 = rx.clone();
  const pendingRecv = rx.recv();
  const sel = select({ a: rx });
  rx.close();
  await assert.rejects(pendingRecv, ClosedHandleError);
  await assert.rejects(sel, ClosedHandleError);
  const third = tx2.send(3);
  assert.equal(await rx2.recv(), 3, 'no message went to the closed receiver');
  await third;
});

test('`using` closes handles at the end of the scope', async () => {
  const [tx, rx] = unbounded<number>();
  {
    using inner = tx.clone();
    inner.trySend(1);
  }
  tx.close();
  assert.equal(rx.tryRecv(), 1);
  await assert.rejects(rx.recv(), RecvError);
  {
    using r = rx;
    assert.equal(r.isClosed, false);
  }
  assert.equal(rx.isClosed, true);
});

test('exact counts: many clones, closed in any order, disconnect only at the last', async () => {
  const [tx, rx] = unbounded<number>();
  const senders = [tx, ...Array.from({ length: 9 }, () => tx.clone())];
  const order = senders.map((_, i) => i).sort(() => Math.random() - 0.5);
  const pending = rx.recv();
  for (const [k, i] of order.entries()) {
    senders[i]!.close();
    assert.equal(rx.isDisconnected, k === order.length - 1);
  }
  await assert.rejects(pending, RecvError);
});
