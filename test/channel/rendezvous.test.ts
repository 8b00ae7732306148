import { test } from 'node:test';
import assert from 'node:assert/strict';
import { bounded, select, send, TrySendError, TryRecvError } from '../../src/index.js';
import { track, turn } from '../helpers.js';

test('a rendezvous send completes only when a receiver has taken the value', async () => {
  const [tx, rx] = bounded<string>(0);
  const events: string[] = [];
  const sending = tx.send('v').then(() => events.push('send done'));
  await turn();
  await turn();
  assert.equal(events.length, 0, 'no receiver: the send is still waiting');
  assert.equal(rx.len, 0);
  assert.equal(rx.isEmpty, true);
  assert.equal(rx.isFull, true);
  const v = rx.tryRecv();
  events.push(`took ${v}`);
  await sending;
  assert.deepEqual(events, ['took v', 'send done']);
});

test('trySend on a rendezvous channel succeeds only when a receiver is waiting', async () => {
  const [tx, rx] = bounded<number>(0);
  assert.throws(() => tx.trySend(1), (e: unknown) => e instanceof TrySendError && e.kind === 'full');
  assert.throws(() => rx.tryRecv(), (e: unknown) => e instanceof TryRecvError && e.kind === 'empty');
  const r = rx.recv();
  tx.trySend(2);
  assert.equal(await r, 2);
});

test('parked senders hand over in FIFO order', async () => {
  const [tx, rx] = bounded<number>(0);
  const sends = [tx.send(1), tx.send(2), tx.send(3)];
  assert.deepEqual([rx.tryRecv(), await rx.recv(), await rx.recv()], [1, 2, 3]);
  await Promise.all(sends);
});

test('an aborted rendezvous send was never taken', async () => {
  const [tx, rx] = bounded<number>(0);
  const ac = new AbortController();
  const p = tx.send(1, { signal: ac.signal });
  ac.abort();
  await assert.rejects(p);
  assert.throws(() => rx.tryRecv(), TryRecvError);
});

test('a select send case on a rendezvous channel completes with the take', async () => {
  const [tx, rx] = bounded<number>(0);
  const [tx2, rx2] = bounded<number>(0);
  const s = track(select({ a: send(tx, 1), b: send(tx2, 2) }));
  await turn();
  assert.equal(s.settled, false);
  assert.equal(await rx2.recv(), 2);
  await turn();
  assert.equal(s.value?.case, 'b');
  assert.throws(() => rx.tryRecv(), TryRecvError, 'the losing send case sent nothing');
});
