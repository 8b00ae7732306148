import { test } from 'node:test';
import assert from 'node:assert/strict';
import { bounded, ClosedHandleError, RecvError, select, send, SendAbortedError, TrySendError, TryRecvError } from '../../src/index.js';
import { activeTimers, guard, track, turn } from '../helpers.js';

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

test('a guarded rendezvous send racing its take: the take wins, a later abort changes nothing', async () => {
  const [tx, rx] = bounded<number>(0);
  const ac = new AbortController();
  const p = track(tx.send(1, { signal: ac.signal }));
  assert.equal(rx.tryRecv(), 1);
  ac.abort(new Error('too late'));
  await guard(p.promise, 5000, 'send completed by the take');
  assert.equal(p.error, undefined);
  assert.equal(activeTimers(), 0);
});

test('a guarded rendezvous send racing its take: the abort wins, the take finds nothing', async () => {
  const [tx, rx] = bounded<number>(0);
  const ac = new AbortController();
  const p = tx.send(1, { signal: ac.signal });
  const q = tx.sendTimeout(2, 60_000);
  ac.abort(new Error('first'));
  // The aborted send is gone; the next parked one is taken instead.
  assert.equal(rx.tryRecv(), 2);
  await assert.rejects(p, (e: unknown) => e instanceof SendAbortedError && e.value === 1 && (e.cause as Error).message === 'first');
  await q;
  assert.throws(() => rx.tryRecv(), TryRecvError);
  assert.equal(activeTimers(), 0, 'the completed sendTimeout left no timer');
});

test('plain and guarded parked sends keep one FIFO on a rendezvous channel', async () => {
  const [tx, rx] = bounded<number>(0);
  const ac = new AbortController();
  const sends = [tx.send(1), tx.send(2, { signal: ac.signal }), tx.sendTimeout(3, 60_000), tx.send(4)];
  const got = [await rx.recv(), rx.tryRecv(), await rx.recv(), await rx.recv()];
  assert.deepEqual(got, [1, 2, 3, 4]);
  await Promise.all(sends);
  ac.abort();
  assert.equal(activeTimers(), 0);
});

test('a receiver parked first gets the value handed straight over, and the send completes at once', async () => {
  const [tx, rx] = bounded<string>(0);
  const r = track(rx.recv());
  await turn();
  assert.equal(r.settled, false);
  const s = track(tx.send('x'));
  await turn();
  assert.equal(s.settled, true, 'a waiting receiver took the value: the send is done');
  assert.equal(r.value, 'x');
  assert.equal(rx.len, 0);
});

test('closing a Sender fails its plain parked sends and hands every value back', async () => {
  const [tx, rx] = bounded<number>(0);
  const tx2 = tx.clone();
  const a = tx2.send(1);
  const b = tx2.send(2);
  tx2.close();
  await assert.rejects(a, (e: unknown) => e instanceof ClosedHandleError && e.value === 1);
  await assert.rejects(b, (e: unknown) => e instanceof ClosedHandleError && e.value === 2);
  assert.throws(() => rx.tryRecv(), (e: unknown) => e instanceof TryRecvError && e.kind === 'empty');
  const r = rx.recv();
  tx.close();
  await assert.rejects(r, RecvError, 'the last Sender is gone: the parked receive ends');
});

test('a select over rendezvous receives takes one parked sender; the other send still waits, with its value', async () => {
  const [txA, rxA] = bounded<number>(0);
  const [txB, rxB] = bounded<number>(0);
  const a = track(txA.send(1));
  const b = track(txB.send(2));
  const r = await select({ a: rxA, b: rxB });
  assert.equal(r.ok, true);
  await turn();
  const [won, lost] = r.case === 'a' ? [a, b] : [b, a];
  assert.equal(won.settled, true);
  assert.equal(lost.settled, false, 'the losing case took nothing: its sender is still parked');
  const rest = r.case === 'a' ? await rxB.recv() : await rxA.recv();
  assert.equal(rest, r.case === 'a' ? 2 : 1);
  await Promise.all([a.promise, b.promise]);
});

test('importing weft leaves nothing that keeps the process alive', async () => {
  const { spawn } = await import('node:child_process');
  const url = new URL('../../src/index.js', import.meta.url).href;
  const child = spawn(process.execPath, ['--input-type=module', '-e', `await import(${JSON.stringify(url)}); console.log('loaded');`], {
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  let out = '';
  child.stdout.on('data', (d: Buffer) => (out += d.toString()));
  const code = await guard(new Promise<number | null>((resolve) => child.on('exit', resolve)), 30_000, 'a process that only imports weft exits');
  assert.equal(code, 0);
  assert.equal(out.trim(), 'loaded');
});
