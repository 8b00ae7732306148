import { test } from 'node:test';
import assert from 'node:assert/strict';
import {
  bounded,
  unbounded,
  TrySendError,
  TryRecvError,
  SendTimeoutError,
  RecvTimeoutError,
} from '../../src/index.js';
import { track, turn } from '../helpers.js';

test('bounded rejects invalid capacities with a RangeError that says what is allowed', () => {
  for (const bad of [-1, 1.5, NaN, Infinity, -Infinity, Number.MAX_SAFE_INTEGER + 1, '3' as unknown as number]) {
    assert.throws(() => bounded(bad), (e: unknown) => e instanceof RangeError && /whole number from 0/.test(e.message), String(bad));
  }
  assert.equal(bounded(0)[0].capacity, 0);
  assert.equal(bounded(Number.MAX_SAFE_INTEGER)[0].capacity, Number.MAX_SAFE_INTEGER);
});

test('messages arrive in order; send waits while full and completes when room appears', async () => {
  const [tx, rx] = bounded<number>(2);
  await tx.send(1);
  await tx.send(2);
  assert.equal(tx.isFull, true);
  const third = track(tx.send(3));
  await turn();
  assert.equal(third.settled, false, 'send on a full channel waits');
  assert.equal(await rx.recv(), 1);
  await turn();
  assert.equal(third.settled, true, 'a receive made room');
  assert.equal(rx.len, 2);
  assert.deepEqual([await rx.recv(), await rx.recv()], [2, 3]);
  assert.equal(rx.isEmpty, true);
});

test('a bounded channel never holds more than its capacity', async () => {
  const [tx, rx] = bounded<number>(3);
  const sends = Array.from({ length: 10 }, (_, i) => tx.send(i));
  await turn();
  assert.equal(rx.len, 3);
  const got: number[] = [];
  for (let i = 0; i < 10; i++) {
    got.push(await rx.recv());
    assert.ok(rx.len <= 3);
  }
  await Promise.all(sends);
  assert.deepEqual(got, [0, 1, 2, 3, 4, 5, 6, 7, 8, 9]);
});

test('trySend reports full with the value, and disconnected; offer returns false when full', () => {
  const [tx, rx] = bounded<string>(1);
  tx.trySend('a');
  assert.throws(() => tx.trySend('b'), (e: unknown) => e instanceof TrySendError && e.kind === 'full' && e.value === 'b');
  assert.equal(tx.offer('c'), false);
  assert.equal(rx.tryRecv(), 'a');
  assert.equal(tx.offer('d'), true);
  rx.close();
  assert.throws(() => tx.trySend('e'), (e: unknown) => e instanceof TrySendError && e.kind === 'disconnected' && e.value === 'e');
  assert.throws(() => tx.offer('f'), (e: unknown) => e instanceof TrySendError && e.kind === 'disconnected' && e.value === 'f');
});

test('tryRecv reports empty, then disconnected after the last sender closes; poll returns the fallback', () => {
  const NONE = Symbol('none');
  const [tx, rx] = unbounded<number>();
  assert.throws(() => rx.tryRecv(), (e: unknown) => e instanceof TryRecvError && e.kind === 'empty');
  assert.equal(rx.poll(NONE), NONE);
  tx.trySend(5);
  tx.close();
  assert.equal(rx.poll(NONE), 5);
  assert.throws(() => rx.tryRecv(), (e: unknown) => e instanceof TryRecvError && e.kind === 'disconnected');
  assert.throws(() => rx.poll(NONE), (e: unknown) => e instanceof TryRecvError && e.kind === 'disconnected');
});

test('sendTimeout gives the value back on timeout and succeeds when room appears in time', async () => {
  const [tx, rx] = bounded<number>(1);
  tx.trySend(0);
  await assert.rejects(tx.sendTimeout(1, 5), (e: unknown) => e instanceof SendTimeoutError && e.kind === 'timeout' && e.value === 1);
  await assert.rejects(tx.sendTimeout(1, 0), (e: unknown) => e instanceof SendTimeoutError && e.kind === 'timeout');
  assert.equal(rx.len, 1, 'a timed-out send enqueued nothing');
  const p = tx.sendTimeout(2, 10_000);
  assert.equal(await rx.recv(), 0);
  await p;
  assert.equal(rx.tryRecv(), 2);
  rx.close();
  await assert.rejects(tx.sendTimeout(3, 100), (e: unknown) => e instanceof SendTimeoutError && e.kind === 'disconnected' && e.value === 3);
  assert.throws(() => tx.sendTimeout(1, -1), RangeError);
});

test('recvTimeout times out without consuming, and receives what arrives in time', async () => {
  const [tx, rx] = unbounded<number>();
  await assert.rejects(rx.recvTimeout(5), (e: unknown) => e instanceof RecvTimeoutError && e.kind === 'timeout');
  await assert.rejects(rx.recvTimeout(0), (e: unknown) => e instanceof RecvTimeoutError && e.kind === 'timeout');
  setTimeout(() => tx.trySend(9), 5);
  assert.equal(await rx.recvTimeout(10_000), 9);
  tx.trySend(10);
  assert.equal(await rx.recvTimeout(0), 10);
  tx.close();
  await assert.rejects(rx.recvTimeout(100), (e: unknown) => e instanceof RecvTimeoutError && e.kind === 'disconnected');
  assert.throws(() => rx.recvTimeout(NaN), RangeError);
});

test('a parked receiver gets the value directly and in arrival order', async () => {
  const [tx, rx] = unbounded<number>();
  const a = rx.recv();
  const b = rx.recv();
  tx.trySend(1);
  tx.trySend(2);
  assert.deepEqual(await Promise.all([a, b]), [1, 2]);
  assert.equal(rx.len, 0);
});

test('unbounded: a backlog of a million messages comes out complete and in order', async () => {
  const [tx, rx] = unbounded<number>();
  assert.equal(tx.capacity, undefined);
  assert.equal(tx.isFull, false);
  const n = 1_000_000;
  for (let i = 0; i < n; i++) tx.trySend(i);
  assert.equal(rx.len, n);
  for (let i = 0; i < n; i++) if (rx.tryRecv() !== i) assert.fail(`message ${i} out of order`);
  assert.equal(rx.isEmpty, true);
});

test('tryRecvMany, recvMany and tryIter drain what is ready', async () => {
  const [tx, rx] = unbounded<number>();
  for (let i = 0; i < 5; i++) tx.trySend(i);
  const into: number[] = [];
  assert.equal(rx.tryRecvMany(into, 2), 2);
  assert.deepEqual(into, [0, 1]);
  assert.deepEqual([...rx.tryIter()], [2, 3, 4]);
  assert.equal(rx.tryRecvMany(into), 0);
  setTimeout(() => {
    tx.trySend(7);
    tx.trySend(8);
  }, 1);
  const batch: number[] = [];
  assert.equal(await rx.recvMany(batch, 10), 2, 'waits for the first message, then takes what else is ready');
  assert.deepEqual(batch, [7, 8]);
  tx.trySend(9);
  tx.trySend(10);
  assert.equal(await rx.recvMany(batch, 1), 1, 'at most max');
  assert.deepEqual(batch, [7, 8, 9]);
  assert.equal(await rx.recvMany(batch, 0), 0);
});

test('undefined and null are ordinary messages', async () => {
  const [tx, rx] = bounded<unknown>(4);
  await tx.send(undefined);
  tx.trySend(null);
  assert.equal(tx.offer(undefined), true);
  assert.equal(await rx.recv(), undefined);
  assert.equal(rx.tryRecv(), null);
  assert.equal(rx.poll(Symbol.for('none')), undefined);
  const p = rx.recv();
  await tx.send(undefined);
  assert.equal(await p, undefined);
  tx.close();
  const seen: unknown[] = [];
  for await (const v of rx) seen.push(v);
  assert.deepEqual(seen, []);
});

test('async iteration yields until the channel is disconnected and drained; break leaves the receiver open', async () => {
  const [tx, rx] = bounded<number>(2);
  const producer = (async () => {
    for (let i = 0; i < 5; i++) await tx.send(i);
    tx.close();
  })();
  const seen: number[] = [];
  for await (const v of rx) {
    seen.push(v);
    if (v === 1) break;
  }
  assert.equal(rx.isClosed, false);
  for await (const v of rx) seen.push(v);
  await producer;
  assert.deepEqual(seen, [0, 1, 2, 3, 4]);
});

test('inspectors: len, capacity, isEmpty, isFull, sameChannel', () => {
  const [tx, rx] = bounded<number>(2);
  const [tx2] = bounded<number>(2);
  assert.equal(tx.capacity, 2);
  assert.equal(rx.isEmpty, true);
  tx.trySend(1);
  assert.equal(tx.len, 1);
  assert.equal(rx.len, 1);
  assert.equal(tx.isFull, false);
  tx.trySend(2);
  assert.equal(rx.isFull, true);
  assert.equal(tx.sameChannel(rx), true);
  assert.equal(rx.sameChannel(tx.clone()), true);
  assert.equal(tx.sameChannel(tx2), false);
});
