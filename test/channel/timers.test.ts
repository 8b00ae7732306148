import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { after, at, tick, never, select, unbounded, TryRecvError } from '../../src/index.js';
import { activeTimers, turn } from '../helpers.js';

const indexUrl = new URL('../../src/index.js', import.meta.url).href;

test('after(ms) delivers one message no earlier than the deadline, then never again', async () => {
  const t0 = performance.now();
  const timer = after(20);
  assert.throws(() => timer.tryRecv(), (e: unknown) => e instanceof TryRecvError && e.kind === 'empty');
  const fired = await timer.recv();
  assert.ok(fired instanceof Date);
  assert.ok(performance.now() - t0 >= 19, 'not before the deadline (1 ms timer granularity)');
  assert.throws(() => timer.tryRecv(), TryRecvError);
  const r = await select({ t: timer, other: after(5) });
  assert.equal(r.case, 'other', 'a fired after() is not ready again');
  assert.equal(timer.isDisconnected, false);
});

test('after(0) is ready at once; tryRecv takes it without a timer', () => {
  const before = activeTimers();
  const timer = after(0);
  assert.ok(timer.tryRecv() instanceof Date);
  assert.equal(activeTimers(), before);
});

test('at(date) fires at an absolute time, and at a past time at once', async () => {
  const t0 = performance.now();
  await at(new Date(Date.now() + 15)).recv();
  assert.ok(performance.now() - t0 >= 14);
  assert.ok(at(Date.now() - 1000).tryRecv() instanceof Date);
  assert.throws(() => at(new Date(NaN)), RangeError);
});

test('tick(ms) delivers periodically and drops missed ticks instead of queueing them', async () => {
  const ticks = tick(10);
  await ticks.recv();
  await ticks.recv();
  // Stay away for ~10 periods: only one tick may be waiting afterwards.
  await new Promise((r) => setTimeout(r, 100));
  assert.ok(ticks.tryRecv() instanceof Date);
  assert.throws(() => ticks.tryRecv(), TryRecvError, 'missed ticks were dropped');
  await ticks.recv();
  ticks.close();
  assert.throws(() => tick(0), RangeError);
  assert.throws(() => tick(-5), RangeError);
});

test('never() is never ready and turns a select case off', async () => {
  const n = never<number>();
  assert.throws(() => n.tryRecv(), TryRecvError);
  assert.equal(n.isDisconnected, false);
  const [tx, rx] = unbounded<number>();
  setTimeout(() => tx.trySend(1), 5);
  const r = await select({ off: n, rx });
  assert.equal(r.case, 'rx');
  await assert.rejects(n.recvTimeout(5));
});

test('a timer nobody waits on runs no timer; one that loses a select is cleared', async () => {
  const before = activeTimers();
  const unused = [after(60_000), tick(60_000), at(Date.now() + 60_000), never()];
  assert.equal(activeTimers(), before, 'no timer armed until someone waits');
  const [tx, rx] = unbounded<number>();
  const p = select({ rx, t: after(60_000) });
  assert.equal(activeTimers(), before + 1, 'armed while a select waits on it');
  tx.trySend(1);
  await p;
  assert.equal(activeTimers(), before, 'cleared when the select was won by another case');
  const ac = new AbortController();
  const q = unused[0]!.recv({ signal: ac.signal });
  assert.equal(activeTimers(), before + 1);
  ac.abort();
  await assert.rejects(q);
  assert.equal(activeTimers(), before);
  await turn();
});

test('an abandoned timer does not keep the process alive', () => {
  const script = `
    import { after, tick, select, unbounded } from ${JSON.stringify(indexUrl)};
    const a = after(60_000), t = tick(60_000);
    const [tx, rx] = unbounded();
    tx.trySend(1);
    await select({ rx, a, t });
    console.log('done');
  `;
  const t0 = performance.now();
  const res = spawnSync(process.execPath, ['--input-type=module', '-e', script], { encoding: 'utf8', timeout: 30_000 });
  assert.equal(res.stdout.trim(), 'done', res.stderr);
  assert.equal(res.status, 0);
  assert.ok(performance.now() - t0 < 30_000, 'exited without waiting for the 60 s timers');
});
