// Components on a thread of their own (spawnThread): the same body as with
// spawn, ends for every reason, errors, crashes, terminate, hang monitor.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { threadId, type Worker } from 'node:worker_threads';
import { bounded, RecvError, SendError, sharedBounded, spawn, spawnThread, ThreadExitError, type ComponentExit } from '../../src/index.js';
import { startHangMonitor } from '../../src/monitor/index.js';
import { guard, liveWorkers, until } from './helpers.js';
import summer, { doubler } from './fixtures/thread-body.js';

const BODY = new URL('./fixtures/thread-body.js', import.meta.url);

type Sum = { n: number; seen: number; reason: string; thread: number };

test('spawnThread: the same body runs in this thread with spawn and on its own thread; both end when their inputs disconnect', async () => {
  // In this thread.
  const [tx1, numbers1] = bounded<number>(8);
  const [q1, quit1] = bounded<void>(1);
  const here = spawn(summer, { inputs: { numbers: numbers1, quit: quit1 } });
  // On a thread: the inputs are shared channels.
  const [tx2, numbers2] = sharedBounded<number>(8);
  const [q2, quit2] = sharedBounded<void>(1);
  const workers = liveWorkers();
  try {
    const there = spawnThread<Sum>(BODY, { inputs: { numbers: numbers2, quit: quit2 }, name: 'summer' });
    assert.equal(there.name, 'summer');
    assert.ok(numbers2.isClosed, 'the inputs moved into the thread');
    for (let i = 1; i <= 100; i++) {
      await tx1.send(i);
      await tx2.send(i);
    }
    for (const h of [tx1, q1, tx2, q2]) h.close();
    const a = await guard(here.done);
    const b = await guard(there.done, 20000);
    assert.deepEqual({ ...a, result: { ...a.result, thread: 0 } }, { ...b, result: { ...b.result, thread: 0 } });
    assert.deepEqual(b, { reason: 'disconnected', result: { n: 5050, seen: 100, reason: 'disconnected', thread: there.threadId } });
    assert.equal(a.result.thread, threadId);
    assert.notEqual(there.threadId, threadId);
    assert.equal(workers.live, 0, 'done settles once the thread has exited');
  } finally {
    workers.stop();
  }
});

test('spawnThread: a quit message ends it with reason quit; its senders then fail fast', async () => {
  const [tx, numbers] = sharedBounded<number>(4);
  const [quitTx, quit] = sharedBounded<void>(1);
  const c = spawnThread<Sum>(BODY, { inputs: { numbers, quit } });
  await tx.send(5);
  await until(() => tx.len === 0, 'the number was taken', 20000); // then the quit: the two are not raced
  await quitTx.send();
  const exit = await guard(c.done, 20000);
  assert.equal(exit.reason, 'quit');
  assert.equal(exit.result.n, 5);
  await assert.rejects(tx.send(1), SendError);
  tx.close();
  quitTx.close();
});

test('spawnThread: stop(reason) and an AbortSignal end it with reason aborted and that very reason as cause', async () => {
  const [tx, numbers] = sharedBounded<number>(4);
  const [quitTx, quit] = sharedBounded<void>(1);
  const c = spawnThread<Sum>(BODY, { inputs: { numbers, quit } });
  await tx.send(2);
  const why = { because: 'maintenance' };
  const exit = await guard(c.stop(why), 20000);
  assert.equal(exit.reason, 'aborted');
  assert.equal(exit.cause, why);
  assert.equal(exit.result.reason, 'aborted');

  const ac = new AbortController();
  const [tx2, numbers2] = sharedBounded<number>(4);
  const [quitTx2, quit2] = sharedBounded<void>(1);
  const d = spawnThread<Sum>(BODY, { inputs: { numbers: numbers2, quit: quit2 }, signal: ac.signal });
  const reason = new Error('shutting down');
  ac.abort(reason);
  const exit2 = await guard(d.done, 20000);
  assert.equal(exit2.reason, 'aborted');
  assert.equal(exit2.cause, reason);
  for (const h of [tx, quitTx, tx2, quitTx2]) h.close();
});

test('spawnThread: a factory export gets its handles and data; the same factory works with spawn', async () => {
  const [tx, numbers] = sharedBounded<number>(4);
  const [out, outRx] = sharedBounded<number>(4);
  const c = spawnThread<string>(BODY, { inputs: { numbers }, export: 'doubler', handles: { out }, data: { label: 'on a thread' } });
  assert.ok(out.isClosed, 'the extra handles moved too');
  await tx.send(21);
  assert.equal(await guard(outRx.recv(), 20000), 42);
  tx.close();
  assert.deepEqual(await guard(c.done, 20000), { reason: 'disconnected', result: 'on a thread' });
  await assert.rejects(outRx.recv(), RecvError); // the factory's cleanup closed its output

  const [tx2, numbers2] = bounded<number>(4);
  const [out2, outRx2] = bounded<number>(4);
  const here = spawn(await doubler({ handles: { out: out2 }, data: { label: 'here' } }), { inputs: { numbers: numbers2 } });
  await tx2.send(4);
  assert.equal(await outRx2.recv(), 8);
  tx2.close();
  assert.equal((await guard(here.done)).result, 'here');
});

test('spawnThread: an error thrown by the body rejects done with it (name, message, stack, fields)', async () => {
  const [tx, numbers] = sharedBounded<number>(4);
  const c = spawnThread(BODY, { inputs: { numbers }, export: 'thrower' });
  await tx.send(13);
  const err = await guard(c.done.catch((e: unknown) => e), 20000);
  assert.ok(err instanceof Error);
  assert.equal(err.name, 'RangeError');
  assert.equal(err.message, 'thirteen is unlucky');
  assert.equal((err as Error & { code?: string }).code, 'E_UNLUCKY');
  assert.match(err.stack ?? '', /handle/);
  await assert.rejects(tx.send(1)); // its inputs closed
  tx.close();
});

test('spawnThread: a thread that dies rejects done with ThreadExitError; terminate() stops a busy loop', async () => {
  const [tx, numbers] = sharedBounded<number>(4);
  const c = spawnThread(BODY, { inputs: { numbers }, export: 'crasher', name: 'fragile' });
  await tx.send(13);
  const err = await guard(c.done.catch((e: unknown) => e), 20000);
  assert.ok(err instanceof ThreadExitError);
  assert.equal(err.exitCode, 3);
  assert.equal(err.component, 'fragile');
  await assert.rejects(tx.send(1)); // the dead thread's handles were released
  tx.close();

  const [tx2, numbers2] = sharedBounded<number>(4);
  const spin = spawnThread(BODY, { inputs: { numbers: numbers2 }, export: 'spinner' });
  await tx2.send(600_000); // ten minutes of sync work: stop() could not interrupt it
  await until(() => tx2.len === 0, 'the spinner took its message', 20000);
  await guard(spin.terminate('enough'), 20000);
  const e2 = await spin.done.catch((e: unknown) => e);
  assert.ok(e2 instanceof ThreadExitError);
  assert.equal(e2.cause, 'enough');
  tx2.close();
});

test('spawnThread: a module without a body, or a result that cannot be copied back, rejects done with a clear error', async () => {
  const [, numbers] = sharedBounded<number>(4);
  const bad = spawnThread(BODY, { inputs: { numbers }, export: 'notABody' });
  await assert.rejects(guard(bad.done, 20000), /must export, as "notABody", a component body/);

  const [tx, numbers2] = sharedBounded<number>(4);
  const c = spawnThread(BODY, { inputs: { numbers: numbers2 }, export: 'unclonable' });
  tx.close();
  await assert.rejects(guard(c.done, 20000), /result of its cleanup cannot be copied/);
});

test('spawnThread: bad arguments are refused before anything moves', () => {
  const [, local] = bounded<number>(1);
  const [, shared] = sharedBounded<number>(1);
  assert.throws(() => spawnThread('./x.js' as unknown as URL, { inputs: {} }), /must be a URL/);
  assert.throws(() => spawnThread(BODY, { inputs: { a: shared, b: local } }), /in-thread channel; only shared channels/);
  assert.ok(!shared.isClosed, 'nothing was moved');
  assert.throws(() => spawnThread(BODY, { inputs: { a: shared, t: {} as never } }), /must be a Receiver of a shared channel/);
  assert.throws(() => spawnThread(BODY, { inputs: { a: shared }, data: { f: () => 1 } }), /data must be structured-cloneable/);
  assert.ok(!shared.isClosed);
  shared.close();
  local.close();
});

test('spawnThread: with a hang monitor, a component stuck in its handler on its thread raises an alert with its name and stack', async () => {
  const monitor = startHangMonitor({ components: { transientMs: 100, permanentMs: 400 } });
  const [tx, numbers] = sharedBounded<number>(4);
  const c = spawnThread<void>(BODY, { inputs: { numbers }, export: 'spinner', name: 'spinner', monitor, hangTimeouts: { transientMs: 100, permanentMs: 400 } });
  try {
    await guard(monitor.ready, 10_000, 'ready');
    await tx.send(1500);
    const alert = await guard(
      (async () => {
        for await (const a of monitor.alerts) if (a.component === 'spinner' && a.kind === 'permanent') return a;
        return undefined;
      })(),
      20000,
      'the alert',
    );
    assert.ok(alert);
    assert.equal(alert.threadId, c.threadId);
    assert.equal(alert.annotation, 'numbers');
    assert.ok((alert.frames ?? []).some((f) => f.functionName === 'spinInComponent'), JSON.stringify(alert.frames?.slice(0, 3)));
    tx.close();
    const exit: ComponentExit<void> = await guard(c.done, 20000);
    assert.equal(exit.reason, 'disconnected');
  } finally {
    await c.terminate();
    await guard(monitor.shutdown(), 15_000, 'shutdown');
  }
});

test('spawnThread: shutdown in other orders: signal aborted before it starts, inputs gone before it starts, stop() twice, await using', async () => {
  const why = new Error('not today');
  const [tx1, n1] = sharedBounded<number>(4);
  const [q1, quit1] = sharedBounded<void>(1);
  const early = spawnThread<Sum>(BODY, { inputs: { numbers: n1, quit: quit1 }, signal: AbortSignal.abort(why) });
  const e1 = await guard(early.done, 20000);
  assert.equal(e1.reason, 'aborted');
  assert.equal(e1.cause, why);
  assert.equal(e1.result.seen, 0);

  const [tx2, n2] = sharedBounded<number>(4);
  const [q2, quit2] = sharedBounded<void>(1);
  await tx2.send(7);
  tx2.close(); // every Sender gone before the thread even started: it drains what is queued, then ends
  q2.close();
  const gone = spawnThread<Sum>(BODY, { inputs: { numbers: n2, quit: quit2 } });
  assert.deepEqual((await guard(gone.done, 20000)).result.n, 7);
  assert.equal(await gone.stop('late'), await gone.done, 'stop after the end returns the same exit');

  const [tx3, n3] = sharedBounded<number>(4);
  const [q3, quit3] = sharedBounded<void>(1);
  let scoped: ReturnType<typeof spawnThread<Sum>> | undefined;
  {
    await using c = spawnThread<Sum>(BODY, { inputs: { numbers: n3, quit: quit3 } });
    scoped = c;
    await tx3.send(1);
    const first = c.stop('once');
    assert.equal(c.stop('twice'), first, 'one stop; the second returns the same promise');
  }
  const e3 = await scoped.done;
  assert.equal(e3.reason, 'aborted');
  assert.equal(e3.cause, 'once');
  for (const h of [tx1, q1, tx3, q3]) h.close();
});
