import { test } from 'node:test';
import assert from 'node:assert/strict';
import { getEventListeners } from 'node:events';
import { bounded, unbounded, select, SendAbortedError, TryRecvError } from '../../src/index.js';
import { activeTimers } from '../helpers.js';

test('an aborted recv consumes nothing and rejects with the abort reason', async () => {
  const [tx, rx] = unbounded<number>();
  const ac = new AbortController();
  const reason = new Error('stop waiting');
  const p = rx.recv({ signal: ac.signal });
  ac.abort(reason);
  await assert.rejects(p, (e: unknown) => e === reason);
  tx.trySend(1);
  assert.equal(rx.tryRecv(), 1, 'the message went to nobody else');
  assert.equal(getEventListeners(ac.signal, 'abort').length, 0);
});

test('an already-aborted signal fails at once, even when a message is ready', async () => {
  const [tx, rx] = unbounded<number>();
  tx.trySend(1);
  const signal = AbortSignal.abort('no');
  await assert.rejects(rx.recv({ signal }), (e: unknown) => e === 'no');
  assert.equal(rx.len, 1, 'nothing consumed');
  await assert.rejects(tx.send(2, { signal }), (e: unknown) => e instanceof SendAbortedError && e.value === 2 && e.cause === 'no');
  assert.equal(rx.len, 1, 'nothing enqueued');
  await assert.rejects(select({ rx }, { signal }), (e: unknown) => e === 'no');
  assert.equal(rx.len, 1);
});

test('an aborted send never enqueues and hands its value back with the reason', async () => {
  const [tx, rx] = bounded<string>(1);
  tx.trySend('first');
  const ac = new AbortController();
  const p = tx.send('second', { signal: ac.signal });
  ac.abort();
  await assert.rejects(p, (e: unknown) => e instanceof SendAbortedError && e.value === 'second' && (e.cause as Error).name === 'AbortError');
  assert.equal(rx.tryRecv(), 'first');
  assert.throws(() => rx.tryRecv(), TryRecvError);
});

test('abort after completion does nothing; listeners and timers are cleaned up', async () => {
  const [tx, rx] = unbounded<number>();
  const ac = new AbortController();
  const p = rx.recv({ signal: ac.signal });
  tx.trySend(3);
  ac.abort();
  assert.equal(await p, 3);
  const before = activeTimers();
  for (let i = 0; i < 1000; i++) {
    const r = rx.recvTimeout(10_000, { signal: ac.signal.aborted ? undefined : ac.signal });
    tx.trySend(i);
    assert.equal(await r, i);
  }
  assert.equal(activeTimers(), before, 'completed timed receives left no timer');
});

test('AbortSignal.timeout works as a deadline for recv', async () => {
  const [, rx] = unbounded<number>();
  await assert.rejects(rx.recv({ signal: AbortSignal.timeout(5) }), (e: unknown) => (e as Error).name === 'TimeoutError');
});

test('one signal shared by many parked operations: one listener, no leak warning, every operation aborted, none left', async () => {
  const warnings: Error[] = [];
  const onWarning = (w: Error): void => void warnings.push(w);
  process.on('warning', onWarning);
  try {
    const [, rx] = bounded<number>(1);
    const [tx] = bounded<number>(0);
    const ac = new AbortController();
    const ops = [
      ...Array.from({ length: 40 }, () => rx.recv({ signal: ac.signal })),
      ...Array.from({ length: 40 }, (_, i) => tx.send(i, { signal: ac.signal })),
    ];
    assert.equal(getEventListeners(ac.signal, 'abort').length, 1);
    ac.abort(new Error('stop'));
    const outcomes = await Promise.allSettled(ops);
    assert.ok(outcomes.every((o) => o.status === 'rejected'));
    assert.equal(getEventListeners(ac.signal, 'abort').length, 0);
    await new Promise((r) => setImmediate(r));
    assert.deepEqual(warnings.filter((w) => w.name === 'MaxListenersExceededWarning'), []);

    // Completed operations give their registration back: the listener goes with the last.
    const ac2 = new AbortController();
    const [t2, r2] = bounded<number>(4);
    const waiting = Array.from({ length: 20 }, () => r2.recv({ signal: ac2.signal }));
    for (let i = 0; i < 20; i++) await t2.send(i);
    assert.equal((await Promise.all(waiting)).length, 20);
    assert.equal(getEventListeners(ac2.signal, 'abort').length, 0);
  } finally {
    process.off('warning', onWarning);
  }
});
