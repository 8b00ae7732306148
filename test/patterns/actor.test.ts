import { test } from 'node:test';
import assert from 'node:assert/strict';
import { bounded, type Sender } from '../../src/index.js';
import { actor, call, ActorGoneError, CallTimeoutError } from '../../src/patterns/index.js';
import { deferred, guard, track, turns, until } from './helpers.js';

type Counter =
  | { type: 'add'; by: number }
  | { type: 'get'; reply: Sender<number> }
  | { type: 'slowAdd'; by: number; gate: Promise<void>; reply: Sender<number> }
  | { type: 'fail'; reply: Sender<number> }
  | { type: 'shutdown'; reply: Sender<string> };

function counter(capacity = 16, signal?: AbortSignal) {
  const [tx, rx] = bounded<Counter>(capacity);
  const cleanups: string[] = [];
  const a = actor(
    rx,
    {
      init: () => ({ n: 0 }),
      handlers: {
        add: (s, c) => {
          s.n += c.by;
        },
        get: (s) => s.n,
        slowAdd: async (s, c) => {
          const before = s.n;
          await c.gate;
          s.n = before + c.by; // safe: commands are handled one at a time
          return s.n;
        },
        fail: () => {
          throw new Error('handler failed');
        },
        shutdown: (_s, _c, ctx) => {
          ctx.stop();
          return 'bye';
        },
      },
      cleanup: (s, stop) => {
        cleanups.push(stop.reason);
        return s.n;
      },
    },
    { name: 'counter', ...(signal && { signal }) },
  );
  return { tx, a, cleanups };
}

test('an actor serves typed commands: fire-and-forget and request/reply', async () => {
  const { tx, a } = counter();
  await tx.send({ type: 'add', by: 2 });
  await tx.send({ type: 'add', by: 3 });
  const n: number = await call(tx, (reply) => ({ type: 'get', reply }));
  assert.equal(n, 5);
  assert.equal(a.name, 'counter');
  tx.close();
  assert.deepEqual(await guard(a.done), { reason: 'disconnected', result: 5 });
});

test('commands are handled one at a time, in order, even with async handlers', async () => {
  const { tx, a } = counter();
  const gate = deferred();
  const slow = call(tx, (reply) => ({ type: 'slowAdd', by: 10, gate: gate.promise, reply }));
  await tx.send({ type: 'add', by: 1 }); // queued behind the slow command
  const get = track(call(tx, (reply) => ({ type: 'get', reply })));
  await turns(3);
  assert.equal(get.settled, false, 'the actor is busy with slowAdd');
  gate.resolve();
  assert.equal(await guard(slow), 10);
  assert.equal(await guard(get.promise), 11);
  tx.close();
  await guard(a.done);
});

test('the actor ends when every Sender is closed, after serving what is queued', async () => {
  const { tx, a, cleanups } = counter();
  const clone = tx.clone();
  tx.trySend({ type: 'add', by: 1 });
  const last = call(clone, (reply) => ({ type: 'get', reply }));
  tx.close();
  await turns(2);
  assert.equal(await guard(last), 1);
  clone.close();
  assert.deepEqual(await guard(a.done), { reason: 'disconnected', result: 1 });
  assert.deepEqual(cleanups, ['disconnected']);
});

test('a shutdown command: its caller gets the reply, queued callers get ActorGoneError at once, later calls are undelivered', async () => {
  const { tx, a } = counter();
  const gate = deferred();
  const busy = call(tx, (reply) => ({ type: 'slowAdd', by: 1, gate: gate.promise, reply }));
  const bye = call(tx, (reply) => ({ type: 'shutdown', reply }));
  const queued = call(tx, (reply) => ({ type: 'get', reply }));
  gate.resolve();
  assert.equal(await guard(busy), 1);
  assert.equal(await guard(bye), 'bye');
  await assert.rejects(guard(queued), (e) => e instanceof ActorGoneError && e.kind === 'no-reply');
  assert.equal((await guard(a.done)).reason, 'quit');
  await assert.rejects(guard(call(tx, (reply) => ({ type: 'get', reply }))), (e) => e instanceof ActorGoneError && e.kind === 'undelivered');
});

test('stop() while calls are queued and parked: every caller fails fast, none hangs', async () => {
  const { tx, a } = counter(1);
  const gate = deferred();
  const inHandler = track(call(tx, (reply) => ({ type: 'slowAdd', by: 1, gate: gate.promise, reply })));
  await turns(2);
  const queued = track(call(tx, (reply) => ({ type: 'get', reply }))); // fills the 1-slot channel
  const parked = track(call(tx, (reply) => ({ type: 'get', reply }))); // waits for room
  await turns(2);
  const stopping = a.stop('maintenance');
  await assert.rejects(guard(queued.promise), (e) => e instanceof ActorGoneError && e.kind === 'no-reply' && e.cause === 'maintenance');
  // The parked request moves into the queue as the queue is drained, so it is refused like the others.
  await assert.rejects(guard(parked.promise), (e) => e instanceof ActorGoneError && e.cause === 'maintenance');
  gate.resolve(); // the handler in progress finishes; its answer still goes out
  assert.equal(await guard(inHandler.promise), 1);
  assert.equal((await guard(stopping)).reason, 'aborted');
});

test('an AbortSignal stops an idle actor', async () => {
  const ac = new AbortController();
  const { tx, a, cleanups } = counter(4, ac.signal);
  await tx.send({ type: 'add', by: 4 });
  await until(() => tx.isEmpty);
  await turns(2); // parked again, waiting for the next command
  ac.abort();
  const exit = await guard(a.done);
  assert.equal(exit.reason, 'aborted');
  assert.equal(exit.result, 4);
  assert.deepEqual(cleanups, ['aborted']);
});

test('a handler that throws crashes the actor: its caller and queued callers get ActorGoneError with the cause; done rejects', async () => {
  const { tx, a, cleanups } = counter();
  const failing = call(tx, (reply) => ({ type: 'fail', reply }));
  const queued = call(tx, (reply) => ({ type: 'get', reply }));
  const err = await guard(failing).catch((e: unknown) => e);
  assert.ok(err instanceof ActorGoneError);
  assert.equal(err.kind, 'no-reply');
  assert.match(String((err.cause as Error).message), /handler failed/);
  await assert.rejects(guard(queued), (e) => e instanceof ActorGoneError && (e.cause as Error).message === 'handler failed');
  await assert.rejects(guard(a.done), /handler failed/);
  assert.deepEqual(cleanups, ['error']);
});

test('a command without a handler (from untyped code) crashes the actor with a TypeError', async () => {
  const { tx, a } = counter();
  await tx.send({ type: 'nope' } as unknown as Counter);
  await assert.rejects(guard(a.done), (e) => e instanceof TypeError && /no handler for command type 'nope'/.test(e.message));
});

test('a caller that timed out does not disturb the actor: its late answer is dropped', async () => {
  const { tx, a } = counter();
  const gate = deferred();
  const impatient = call(tx, (reply) => ({ type: 'slowAdd', by: 5, gate: gate.promise, reply }), { timeout: 5 });
  await assert.rejects(guard(impatient), (e) => e instanceof CallTimeoutError && e.delivered);
  gate.resolve();
  assert.equal(await guard(call(tx, (reply) => ({ type: 'get', reply }))), 5);
  tx.close();
  assert.equal((await guard(a.done)).reason, 'disconnected');
});

test('types: a handler must return its command\'s reply type, and every command type needs a handler', () => {
  const [, rx] = bounded<Counter>(1);
  rx.close();
  const ok = actor(rx, {
    handlers: {
      add: () => {},
      get: () => 1,
      slowAdd: async () => 2,
      fail: () => 3,
      shutdown: () => 'x',
    },
  });
  void ok.done.catch(() => {});
  const [, rx2] = bounded<Counter>(1);
  rx2.close();
  const bad = actor(rx2, {
    handlers: {
      add: () => {},
      // @ts-expect-error `get` answers a number
      get: () => 'one',
      slowAdd: async () => 2,
      fail: () => 3,
      shutdown: () => 'x',
    },
  });
  void bad.done.catch(() => {});
  const [, rx3] = bounded<Counter>(1);
  rx3.close();
  // @ts-expect-error `shutdown` has no handler
  const missing = actor(rx3, { handlers: { add: () => {}, get: () => 1, slowAdd: async () => 2, fail: () => 3 } });
  void missing.done.catch(() => {});
});
