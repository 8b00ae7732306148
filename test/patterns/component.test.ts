import { test } from 'node:test';
import assert from 'node:assert/strict';
import { bounded, unbounded, SendError, type Receiver } from '../../src/index.js';
import { spawn, tasks, type ComponentMessage, type StopInfo } from '../../src/patterns/index.js';
import { deferred, guard, turn, turns, until, type Equal } from './helpers.js';

test('the handler gets a typed union of which input fired; the loop ends when every input disconnects', async () => {
  const [numTx, nums] = bounded<number>(4);
  const [strTx, strs] = bounded<string>(4);
  const inputs = { nums, strs };
  const seen: string[] = [];
  const c = spawn(
    {
      init: () => ({ total: 0, text: '' }),
      handle(s, msg) {
        const _typed: Equal<typeof msg, ComponentMessage<typeof inputs>> = true;
        switch (msg.input) {
          case 'nums':
            s.total += msg.value; // number
            break;
          case 'strs':
            s.text += msg.value.toUpperCase(); // string
            break;
        }
        seen.push(msg.input);
      },
      cleanup: (s, stop) => ({ ...s, reason: stop.reason }),
    },
    { inputs },
  );
  await numTx.send(1);
  await strTx.send('a');
  await numTx.send(2);
  numTx.close();
  strTx.close();
  const exit = await guard(c.done);
  assert.deepEqual(exit, { reason: 'disconnected', result: { total: 3, text: 'A', reason: 'disconnected' } });
  assert.equal(seen.length, 3);
  assert.ok(nums.isClosed && strs.isClosed, 'the component closes the inputs it owns');
});

test('one step per turn; while work is pending, ready messages are taken between steps without blocking', async () => {
  const [tx, jobs] = bounded<number>(8);
  for (const j of [1, 2, 3]) tx.trySend(j);
  tx.close();
  const log: string[] = [];
  const c = spawn(
    {
      init: () => ({ units: 0 }),
      handle(s, msg) {
        log.push(`h${msg.value}`);
        s.units += 2; // each job is two units of local work
      },
      step(s) {
        if (s.units === 0) return false;
        s.units--;
        log.push(`s${s.units}`);
        return s.units > 0;
      },
    },
    { inputs: { jobs } },
  );
  const exit = await guard(c.done);
  assert.equal(exit.reason, 'disconnected');
  // h1 (2 units) s1 | h2 (3) s2 | h3 (4) s3 | jobs disconnected: s2 | s1 | s0 → nothing left: end
  assert.deepEqual(log, ['h1', 's1', 'h2', 's2', 'h3', 's3', 's2', 's1', 's0']);
});

test('a quit message stops the loop: no step after it, cleanup runs once, inputs close so senders fail fast', async () => {
  const [jobsTx, jobs] = bounded<string>(4);
  const [quitTx, quit] = bounded<void>(1);
  const log: string[] = [];
  let cleanups = 0;
  const c = spawn(
    {
      handle(_s, msg, ctx) {
        log.push(msg.input);
        if (msg.input === 'quit') ctx.stop();
      },
      step: () => void log.push('step'),
      cleanup: (_s, stop) => {
        cleanups++;
        log.push(`cleanup:${stop.reason}`);
      },
      biased: true,
    },
    { inputs: { quit, jobs } },
  );
  await jobsTx.send('a');
  await until(() => log.includes('step'));
  await quitTx.send();
  const exit = await guard(c.done);
  assert.equal(exit.reason, 'quit');
  assert.deepEqual(log, ['jobs', 'step', 'quit', 'cleanup:quit']);
  assert.equal(cleanups, 1);
  await assert.rejects(jobsTx.send('late'), SendError);
});

test('an AbortSignal stops a waiting component; cleanup sees the reason; ctx.signal aborts too', async () => {
  const [, jobs] = bounded<number>(1);
  const ac = new AbortController();
  let ctxSignal: AbortSignal | undefined;
  let stopInfo: StopInfo | undefined;
  const c = spawn(
    {
      init: (ctx) => void (ctxSignal = ctx.signal),
      handle() {},
      cleanup: (_s, stop) => void (stopInfo = stop),
    },
    { inputs: { jobs }, signal: ac.signal },
  );
  await turn();
  ac.abort('enough');
  const exit = await guard(c.done);
  assert.deepEqual(exit, { reason: 'aborted', result: undefined, cause: 'enough' });
  assert.deepEqual(stopInfo, { reason: 'aborted', cause: 'enough' });
  assert.equal(ctxSignal?.aborted, true);
  assert.ok(jobs.isClosed);
});

test('abort while the handler awaits: the handler sees ctx.signal abort and the component ends aborted', async () => {
  const [tx, jobs] = bounded<number>(1);
  const [, never] = unbounded<number>();
  const started = deferred();
  const c = spawn(
    {
      async handle(_s, _msg, ctx) {
        started.resolve();
        await never.recv({ signal: ctx.signal }); // waits forever unless aborted
      },
    },
    { inputs: { jobs } },
  );
  await tx.send(1);
  await started.promise;
  const exit = await guard(c.stop('stop now'));
  assert.deepEqual(exit, { reason: 'aborted', result: undefined, cause: 'stop now' });
});

test('a handler error stops the loop, runs cleanup with reason "error", and rejects done; parked senders are released', async () => {
  const [tx, jobs] = bounded<number>(0);
  let stopInfo: StopInfo | undefined;
  const boom = new Error('boom');
  const c = spawn(
    {
      handle(_s, msg) {
        if (msg.value === 2) throw boom;
      },
      cleanup: (_s, stop) => void (stopInfo = stop),
    },
    { inputs: { jobs } },
  );
  await tx.send(1);
  await tx.send(2);
  await assert.rejects(guard(c.done), (e) => e === boom);
  assert.deepEqual(stopInfo, { reason: 'error', cause: boom });
  await assert.rejects(tx.send(3), SendError); // nobody receives: fails instead of hanging
});

test('errors in init and cleanup reject done; init failure closes the inputs', async () => {
  const [, a] = bounded<number>(1);
  const c1 = spawn({ init: () => { throw new Error('init'); }, handle() {} }, { inputs: { a } });
  await assert.rejects(guard(c1.done), /init/);
  assert.ok(a.isClosed);

  const [tx, b] = bounded<number>(1);
  tx.close();
  const c2 = spawn({ handle() {}, cleanup: () => { throw new Error('cleanup'); } }, { inputs: { b } });
  await assert.rejects(guard(c2.done), /cleanup/);
});

test('in parallel: task results come back on the component\'s own receiver; disconnection waits for pending work', async () => {
  const [tx, jobs] = bounded<number>(4);
  const gates = [deferred(), deferred(), deferred()];
  const results: number[] = [];
  const c = spawn(
    {
      handle(_s, msg, ctx) {
        switch (msg.input) {
          case 'jobs': {
            const n = msg.value;
            ctx.inputs.squares.start(async () => {
              await gates[n]!.promise;
              return n * n;
            });
            break;
          }
          case 'squares':
            if (msg.value.ok) results.push(msg.value.value);
            break;
        }
      },
      cleanup: () => results.length,
    },
    { inputs: { jobs, squares: tasks<number>() } },
  );
  for (const n of [0, 1, 2]) await tx.send(n);
  tx.close(); // inputs gone, but three tasks are pending: the component must keep going
  await turns(3);
  assert.deepEqual(results, []);
  gates[2]!.resolve();
  gates[0]!.resolve();
  await until(() => results.length === 2);
  gates[1]!.resolve();
  const exit = await guard(c.done);
  assert.deepEqual(exit, { reason: 'disconnected', result: 3 });
  assert.deepEqual(results, [4, 0, 1]);
});

test('stopping a component cancels its running tasks and closes its task group', async () => {
  const [tx, jobs] = bounded<number>(1);
  const group = tasks<string>();
  const aborted = deferred<unknown>();
  const c = spawn(
    {
      handle(_s, msg, ctx) {
        if (msg.input === 'jobs') {
          ctx.inputs.work.start((signal) => new Promise<string>((_, reject) => signal.addEventListener('abort', () => { aborted.resolve(signal.reason); reject(signal.reason); })));
        }
      },
    },
    { inputs: { jobs, work: group } },
  );
  await tx.send(1);
  await until(() => group.active === 1);
  const exit = await guard(c.stop('bye'));
  assert.equal(exit.reason, 'aborted');
  assert.equal(await guard(aborted.promise), 'bye');
  assert.ok(group.isClosed);
  assert.throws(() => group.start(() => 'x'), /closed/);
});

test('accepts gates an input: a busy component leaves messages in the channel (bounded local queue)', async () => {
  const [tx, jobs] = bounded<number>(8);
  for (let i = 0; i < 6; i++) tx.trySend(i);
  tx.close();
  let maxQueue = 0;
  const done: number[] = [];
  const c = spawn(
    {
      init: () => ({ queue: [] as { id: number; left: number }[] }),
      accepts: (input, s) => input !== 'jobs' || s.queue.length < 2,
      handle(s, msg) {
        s.queue.push({ id: msg.value, left: 3 });
        maxQueue = Math.max(maxQueue, s.queue.length);
      },
      step(s) {
        const head = s.queue[0];
        if (head === undefined) return false;
        if (--head.left === 0) done.push(s.queue.shift()!.id);
        return s.queue.length > 0;
      },
    },
    { inputs: { jobs } },
  );
  assert.equal((await guard(c.done)).reason, 'disconnected');
  assert.deepEqual(done, [0, 1, 2, 3, 4, 5]);
  assert.equal(maxQueue, 2);
});

test('idle: with no message the loop wakes after `idle` ms and steps (a monitor checkpoint)', async () => {
  const [, jobs] = bounded<number>(1);
  const annotations: string[] = [];
  let checkpoints = 0;
  const c = spawn(
    {
      idle: 1,
      handle() {},
      step(_s, ctx) {
        if (++checkpoints === 3) ctx.stop();
      },
    },
    { inputs: { jobs }, hooks: { onActivity: (a) => annotations.push(a) } },
  );
  assert.equal((await guard(c.done)).reason, 'quit');
  assert.deepEqual(annotations, ['init', 'idle', 'step', 'idle', 'step', 'idle', 'step', 'cleanup']);
});

test('hooks: onWait before each blocking wait, onActivity before each message and step', async () => {
  const [tx, jobs] = bounded<number>(4);
  const log: string[] = [];
  const c = spawn(
    { handle: () => void log.push('handle'), step: () => void log.push('step') },
    { inputs: { jobs }, hooks: { onActivity: (a) => log.push(`activity:${a}`), onWait: () => log.push('wait') } },
  );
  await until(() => log.includes('wait'));
  await tx.send(1);
  await until(() => log.filter((l) => l === 'wait').length === 2);
  tx.close();
  await guard(c.done);
  assert.deepEqual(log, [
    'activity:init',
    'wait',
    'activity:jobs',
    'handle',
    'activity:step',
    'step',
    'wait',
    'activity:jobs', // the disconnection is reported as activity on that input
    'activity:step',
    'step',
    'activity:cleanup',
  ]);
});

test('biased: when several inputs are ready, the first listed wins', async () => {
  const [quitTx, quit] = bounded<void>(1);
  const [jobsTx, jobs] = bounded<number>(4);
  jobsTx.trySend(1);
  quitTx.trySend();
  const seen: string[] = [];
  const c = spawn(
    {
      biased: true,
      handle(_s, msg, ctx) {
        seen.push(msg.input);
        if (msg.input === 'quit') ctx.stop();
      },
    },
    { inputs: { quit, jobs } },
  );
  await guard(c.done);
  assert.deepEqual(seen, ['quit']);
});

test('a disconnected input is reported and dropped while the others keep the component running', async () => {
  const [aTx, a] = bounded<number>(1);
  const [bTx, b] = bounded<number>(1);
  const events: string[] = [];
  const c = spawn(
    {
      handle: (_s, msg) => void events.push(`${msg.input}:${msg.value}`),
      disconnected: (input) => void events.push(`${input} gone`),
    },
    { inputs: { a, b } },
  );
  aTx.close();
  await until(() => events.includes('a gone'));
  await bTx.send(7);
  await until(() => events.includes('b:7'));
  bTx.close();
  assert.equal((await guard(c.done)).reason, 'disconnected');
  assert.deepEqual(events, ['a gone', 'b:7', 'b gone']);
});

test('a busy component (step always has work) still yields: a timer-driven abort stops it', async () => {
  const [tx, jobs] = bounded<number>(1);
  tx.trySend(1); // one message starts the stepping
  let steps = 0;
  const c = spawn(
    {
      handle() {},
      step: () => {
        steps++;
        return true;
      },
    },
    { inputs: { jobs }, signal: AbortSignal.timeout(20) },
  );
  const exit = await guard(c.done);
  assert.equal(exit.reason, 'aborted');
  assert.ok(steps > 0);
});

test('a pre-aborted signal: init and cleanup still run, the component ends aborted without handling', async () => {
  const [tx, jobs] = bounded<number>(1);
  tx.trySend(1);
  const log: string[] = [];
  const c = spawn(
    { init: () => void log.push('init'), handle: () => void log.push('handle'), cleanup: () => void log.push('cleanup') },
    { inputs: { jobs }, signal: AbortSignal.abort('early') },
  );
  const exit = await guard(c.done);
  assert.equal(exit.reason, 'aborted');
  assert.deepEqual(log, ['init', 'cleanup']);
});

test('ctx.stop() from a step quits; `await using` stops a component at scope end', async () => {
  const [, jobs] = bounded<number>(1);
  const c = spawn({ handle() {}, step: (_s, ctx) => ctx.stop(), idle: 0 }, { inputs: { jobs } });
  assert.equal((await guard(c.done)).reason, 'quit');

  const [, more] = bounded<number>(1);
  let cleaned = false;
  {
    await using d = spawn({ handle() {}, cleanup: () => void (cleaned = true) }, { inputs: { more } });
    void d;
  }
  assert.ok(cleaned);
});

/** Shutdown in every order: jobs disconnect (A), a quit message (B), an abort (C). */
const orders = [
  ['A', 'B', 'C'],
  ['A', 'C', 'B'],
  ['B', 'A', 'C'],
  ['B', 'C', 'A'],
  ['C', 'A', 'B'],
  ['C', 'B', 'A'],
];
for (const order of orders) {
  test(`shutdown order ${order.join(' → ')}: ends once, with the first stopping event's reason, inputs closed`, async () => {
    const [jobsTx, jobs] = bounded<number>(4);
    const [quitTx, quit] = bounded<string>(1);
    const ac = new AbortController();
    let cleanups = 0;
    const c = spawn(
      {
        handle(_s, msg, ctx) {
          if (msg.input === 'quit') ctx.stop();
        },
        cleanup: () => void cleanups++,
      },
      { inputs: { jobs, quit }, signal: ac.signal },
    );
    const actions: Record<string, () => void> = {
      A: () => jobsTx.close(),
      B: () => void quitTx.send('quit').catch(() => {}),
      C: () => ac.abort('abort'),
    };
    for (const a of order) {
      actions[a]!();
      await turns(2);
    }
    const exit = await guard(c.done);
    const first = order.find((a) => a !== 'A'); // A alone does not stop: `quit` is still connected
    assert.equal(exit.reason, first === 'B' ? 'quit' : 'aborted');
    assert.equal(cleanups, 1);
    assert.ok(jobs.isClosed && quit.isClosed);
  });
}

test('a component with only Receiver inputs that are all already disconnected ends at once', async () => {
  const [tx, rx]: [unknown, Receiver<number>] = bounded<number>(1);
  (tx as { close(): void }).close();
  const c = spawn({ handle() {} }, { inputs: { rx } });
  assert.equal((await guard(c.done)).reason, 'disconnected');
});

test('types: state is inferred from init (even one that uses ctx), messages narrow by input, cleanup types the result', async () => {
  const [tx, nums] = bounded<number>(1);
  const group = tasks<string>();
  tx.close();
  const c = spawn(
    {
      init: (ctx) => ({ names: Object.keys(ctx.inputs), seen: 0 }),
      handle(s, msg) {
        const _s: Equal<typeof s, { names: string[]; seen: number }> = true;
        if (msg.input === 'nums') {
          const _v: Equal<typeof msg.value, number> = true;
        } else {
          const _input: Equal<typeof msg.input, 'work'> = true;
          if (msg.value.ok) {
            const _v: Equal<typeof msg.value.value, string> = true;
          }
        }
        s.seen++;
      },
      accepts: (input) => input === 'nums' || input === 'work',
      cleanup: (s) => s.names,
    },
    { inputs: { nums, work: group } },
  );
  const exit = await guard(c.done);
  const _r: Equal<typeof exit.result, string[]> = true;
  assert.deepEqual(exit.result, ['nums', 'work']);

  const never = (): void => {
    const [, rx] = bounded<number>(1);
    spawn(
      {
        handle(_s, msg) {
          // @ts-expect-error a number has no toUpperCase
          msg.value.toUpperCase();
          // @ts-expect-error there is no input named 'other'
          if (msg.input === 'other') return;
        },
      },
      { inputs: { rx } },
    );
  };
  void never;
});
