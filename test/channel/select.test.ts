import { test } from 'node:test';
import assert from 'node:assert/strict';
import {
  after,
  bounded,
  unbounded,
  never,
  ready,
  recv,
  select,
  send,
  tryReady,
  trySelect,
  RecvError,
  SelectTimeoutError,
  SendError,
  TryRecvError,
  type SelectResult,
} from '../../src/index.js';
import { activeTimers, track, turn } from '../helpers.js';

test('select receives from whichever channel has a message', async () => {
  const [tx1, rx1] = unbounded<number>();
  const [tx2, rx2] = unbounded<string>();
  setTimeout(() => tx2.trySend('two'), 2);
  const r = await select({ one: rx1, two: recv(rx2) });
  assert.equal(r.case, 'two');
  assert.equal(r.ok && r.value, 'two');
  tx1.trySend(1);
  const r2 = await select({ one: rx1, two: rx2 });
  assert.deepEqual(r2, { case: 'one', ok: true, value: 1 });
});

test('the result type is a discriminated union: no casts needed', async () => {
  const [tx, rx] = unbounded<number>();
  const [otx] = bounded<string>(1);
  tx.trySend(4);
  const r: SelectResult<{ n: typeof rx; s: ReturnType<typeof send<string>> }> = await select({ n: rx, s: send(otx, 'x') }, { biased: true });
  if (r.case === 'n' && r.ok) {
    const doubled: number = r.value * 2;
    assert.equal(doubled, 8);
  } else {
    assert.fail('biased select should take the first ready case');
  }
});

test('exactly one case completes: the losers take and send nothing', async () => {
  const [atx, arx] = unbounded<number>();
  const [btx, brx] = unbounded<number>();
  const [ctx, crx] = bounded<number>(1);
  atx.trySend(1);
  btx.trySend(2);
  for (let i = 0; i < 200; i++) {
    const r = await select({ a: arx, b: brx, c: send(ctx, i) });
    const total = arx.len + brx.len + crx.len;
    assert.equal(total, r.case === 'c' ? 3 : 1, 'one case fired, the others left their channels as they were');
    if (r.case === 'a') atx.trySend(1);
    else if (r.case === 'b') btx.trySend(2);
    else crx.tryRecv();
  }
});

test('a parked select completes one case and unregisters the rest', async () => {
  const [atx, arx] = unbounded<number>();
  const [, brx] = unbounded<number>();
  const [ctx, crx] = bounded<number>(0);
  const s = track(select({ a: arx, b: brx, c: send(ctx, 9) }));
  await turn();
  assert.equal(s.settled, false);
  atx.trySend(1);
  atx.trySend(2);
  await turn();
  assert.deepEqual(s.value, { case: 'a', ok: true, value: 1 });
  assert.equal(arx.tryRecv(), 2, 'only one message was taken');
  assert.throws(() => crx.tryRecv(), TryRecvError, 'the send case did not stay parked');
});

test('a disconnected channel counts as ready and fires with the disconnection', async () => {
  const [tx, rx] = unbounded<number>();
  const [, other] = unbounded<number>();
  const s = select({ rx, other });
  tx.close();
  const r = await s;
  assert.equal(r.case, 'rx');
  assert.equal(r.ok, false);
  assert.ok(!r.ok && r.error instanceof RecvError);
  const [stx, srx] = bounded<string>(0);
  srx.close();
  const r2 = await select({ out: send(stx, 'v'), other });
  assert.equal(r2.case, 'out');
  assert.ok(!r2.ok && r2.error instanceof SendError && r2.error.value === 'v');
});

test('trySelect is the default case: undefined when nothing is ready', () => {
  const [tx, rx] = unbounded<number>();
  assert.equal(trySelect({ rx }), undefined);
  tx.trySend(1);
  assert.deepEqual(trySelect({ rx }), { case: 'rx', ok: true, value: 1 });
});

test('timeout and deadline options reject with SelectTimeoutError, having done nothing', async () => {
  const [tx, rx] = bounded<number>(0);
  await assert.rejects(select({ rx }, { timeout: 5 }), SelectTimeoutError);
  await assert.rejects(select({ rx }, { timeout: 0 }), SelectTimeoutError);
  await assert.rejects(select({ out: send(tx, 1) }, { deadline: new Date(Date.now() + 5) }), SelectTimeoutError);
  await assert.rejects(select({ out: send(tx, 1) }, { deadline: Date.now() - 5 }), SelectTimeoutError);
  assert.throws(() => rx.tryRecv(), TryRecvError);
  await assert.rejects(select({ rx }, { timeout: -1 }), RangeError);
});

test('a timed-out or aborted select leaves no timers, listeners or waiters', async () => {
  const [tx, rx] = unbounded<number>();
  const before = activeTimers();
  for (let i = 0; i < 100; i++) await assert.rejects(select({ rx, t: never() }, { timeout: 1 }), SelectTimeoutError);
  const ac = new AbortController();
  const p = select({ rx, t: after(60_000) }, { signal: ac.signal, timeout: 60_000 });
  ac.abort('bye');
  await assert.rejects(p, (e: unknown) => e === 'bye');
  assert.equal(activeTimers(), before);
  tx.trySend(5);
  assert.equal(rx.tryRecv(), 5, 'no stale waiter swallowed the message');
});

test('biased select always takes the first ready case', async () => {
  const [atx, arx] = unbounded<number>();
  const [btx, brx] = unbounded<number>();
  for (let i = 0; i < 1000; i++) {
    atx.trySend(i);
    btx.trySend(i);
    const r = await select({ a: arx, b: brx }, { biased: true });
    assert.equal(r.case, 'a');
    brx.tryRecv();
  }
});

test('select with a send and a receive on the same rendezvous channel does not match itself', async () => {
  const [tx, rx] = bounded<number>(0);
  await assert.rejects(select({ s: send(tx, 1), r: rx }, { timeout: 10 }), SelectTimeoutError);
  const s = select({ s: send(tx, 1), r: rx });
  assert.equal(await rx.recv(), 1);
  assert.equal((await s).case, 's');
});

test('ready() reports readiness without completing the operation', async () => {
  const [tx, rx] = unbounded<number>();
  const [otx] = bounded<number>(0);
  assert.equal(tryReady({ rx, out: send(otx, 1) }), undefined);
  setTimeout(() => tx.trySend(7), 2);
  const which = await ready({ rx, out: send(otx, 1) });
  assert.equal(which, 'rx');
  assert.equal(rx.len, 1, 'ready() took nothing');
  assert.equal(tryReady({ rx }), 'rx');
  const [rtx, rrx] = bounded<number>(0);
  const p = rrx.recv();
  assert.equal(await ready({ out: send(rtx, 1) }), 'out', 'a waiting receiver makes a rendezvous send ready');
  rtx.trySend(1);
  assert.equal(await p, 1);
  await assert.rejects(ready({ rx: never() }, { timeout: 5 }), SelectTimeoutError);
  tx.close();
  rx.tryRecv();
  assert.equal(await ready({ rx }), 'rx', 'disconnection counts as ready');
});

test('select over the same channel twice delivers each message once', async () => {
  const [tx, rx] = unbounded<number>();
  const s = select({ a: rx, b: rx });
  tx.trySend(1);
  tx.trySend(2);
  const r = await s;
  assert.ok(r.ok && r.value === 1);
  assert.equal(rx.tryRecv(), 2);
});

test('select with no cases waits until its timeout', async () => {
  await assert.rejects(select({}, { timeout: 2 }), SelectTimeoutError);
});
