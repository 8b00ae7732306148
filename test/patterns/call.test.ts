import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { bounded, unbounded, type Sender } from '../../src/index.js';
import { call, decline, respond, ActorGoneError, CallTimeoutError } from '../../src/patterns/index.js';
import { guard, track, turns, type Equal } from './helpers.js';

type Cmd =
  | { type: 'add'; a: number; b: number; reply: Sender<number> }
  | { type: 'name'; reply: Sender<string> }
  | { type: 'log'; line: string };

test('call sends a request carrying a one-shot reply Sender and returns the typed answer', async () => {
  const [tx, rx] = bounded<Cmd>(4);
  void (async () => {
    for await (const c of rx) {
      if (c.type === 'add') respond(c.reply, c.a + c.b);
      else if (c.type === 'name') respond(c.reply, 'weft');
    }
  })();
  const sum = await call(tx, (reply) => ({ type: 'add', a: 2, b: 3, reply }));
  const name = await call(tx, (reply) => ({ type: 'name', reply }));
  const _s: Equal<typeof sum, number> = true;
  const _n: Equal<typeof name, string> = true;
  assert.equal(sum, 5);
  assert.equal(name, 'weft');
  tx.close();
});

test('a request channel of bare reply Senders works too', async () => {
  const [tx, rx] = bounded<Sender<string>>(1);
  void rx.recv().then((reply) => respond(reply, 'pong'));
  const answer = await call(tx, (reply) => reply);
  const _a: Equal<typeof answer, string> = true;
  assert.equal(answer, 'pong');
});

test('the actor is gone before the call: ActorGoneError "undelivered" at once, with the request', async () => {
  const [tx, rx] = bounded<Cmd>(4);
  rx.close();
  const err = await guard(call(tx, (reply) => ({ type: 'name', reply }))).catch((e: unknown) => e);
  assert.ok(err instanceof ActorGoneError);
  assert.equal(err.kind, 'undelivered');
  assert.equal((err.value as { type: string }).type, 'name');
});

test('the actor goes away while the call waits for room: ActorGoneError "undelivered"', async () => {
  const [tx, rx] = bounded<Cmd>(0); // rendezvous: the send waits for a receiver
  const p = track(call(tx, (reply) => ({ type: 'name', reply })));
  await turns(2);
  assert.equal(p.settled, false);
  rx.close();
  await assert.rejects(guard(p.promise), (e) => e instanceof ActorGoneError && e.kind === 'undelivered');
});

test('the reply Sender is closed without an answer: ActorGoneError "no-reply" at once', async () => {
  const [tx, rx] = bounded<Cmd>(4);
  void rx.recv().then((c) => (c as { reply: Sender<string> }).reply.close());
  await assert.rejects(guard(call(tx, (reply) => ({ type: 'name', reply }))), (e) => e instanceof ActorGoneError && e.kind === 'no-reply' && e.cause === undefined);
});

test('decline(reply, cause): the caller gets ActorGoneError with that cause', async () => {
  const [tx, rx] = bounded<Sender<number>>(1);
  const busy = new Error('busy');
  void rx.recv().then((reply) => decline(reply, busy));
  await assert.rejects(guard(call(tx, (reply) => reply)), (e) => e instanceof ActorGoneError && e.kind === 'no-reply' && e.cause === busy);
});

test('a server that drops a request: the reply Sender is collected and the caller gets ActorGoneError (needs --expose-gc)', () => {
  // In a child process, so that the collected handle's warning and the forced GCs stay there.
  const index = new URL('../../src/index.js', import.meta.url).href;
  const patterns = new URL('../../src/patterns/index.js', import.meta.url).href;
  const res = spawnSync(
    process.execPath,
    [
      '--expose-gc',
      '--input-type=module',
      '-e',
      `
      import { bounded, configure } from ${JSON.stringify(index)};
      import { call, ActorGoneError } from ${JSON.stringify(patterns)};
      configure({ leakWarnings: false });
      const [tx, rx] = bounded(1);
      void rx.recv().then(() => {});            // takes the request and forgets it
      let outcome = 'pending';
      const p = call(tx, (reply) => ({ reply })).then(
        () => (outcome = 'answered'),
        (e) => (outcome = e instanceof ActorGoneError ? e.kind : String(e)),
      );
      for (let i = 0; i < 100 && outcome === 'pending'; i++) {
        gc();
        await new Promise((r) => setTimeout(r, 5));
      }
      console.log(outcome);
      `,
    ],
    { encoding: 'utf8', timeout: 20_000 },
  );
  assert.equal(res.status, 0, res.stderr);
  assert.equal(res.stdout.trim(), 'no-reply');
});

test('timeout waiting for the reply: CallTimeoutError (delivered); the late answer is discarded', async () => {
  const [tx, rx] = bounded<Sender<number>>(1);
  const err = await guard(call(tx, (reply) => reply, { timeout: 5 })).catch((e: unknown) => e);
  assert.ok(err instanceof CallTimeoutError);
  assert.equal(err.delivered, true);
  const reply = await rx.recv();
  assert.equal(respond(reply, 1), false, 'the caller is gone: respond reports it and does not throw');
});

test('timeout while the request channel stays full: CallTimeoutError (not delivered), nothing enqueued', async () => {
  const [tx, rx] = bounded<Cmd>(1);
  tx.trySend({ type: 'log', line: 'filler' });
  const err = await guard(call(tx, (reply) => ({ type: 'name', reply }), { timeout: 5 })).catch((e: unknown) => e);
  assert.ok(err instanceof CallTimeoutError);
  assert.equal(err.delivered, false);
  assert.equal((err.value as { type: string }).type, 'name');
  assert.equal(rx.len, 1);
  assert.deepEqual(rx.tryRecv(), { type: 'log', line: 'filler' });
});

test('abort: rejects with the signal reason; a pre-aborted call sends nothing', async () => {
  const [tx, rx] = bounded<Sender<number>>(1);
  const ac = new AbortController();
  const p = track(call(tx, (reply) => reply, { signal: ac.signal }));
  await turns(1);
  ac.abort('cancelled');
  await assert.rejects(guard(p.promise), (e) => e === 'cancelled');
  const reply = await rx.recv();
  assert.equal(respond(reply, 1), false);

  await assert.rejects(call(tx, (r) => r, { signal: AbortSignal.abort('early') }), (e) => e === 'early');
  assert.equal(rx.len, 0);
});

test('abort while waiting for room: rejects with the reason, the request is not enqueued', async () => {
  const [tx, rx] = bounded<Sender<number>>(0);
  const ac = new AbortController();
  const p = track(call(tx, (reply) => reply, { signal: ac.signal }));
  await turns(1);
  ac.abort('stop');
  await assert.rejects(guard(p.promise), (e) => e === 'stop');
  assert.equal(rx.len, 0);
});

test('respond: true once; false when already answered or the caller left; never throws for that', async () => {
  const [tx, rx] = bounded<Sender<number>>(1);
  const p = call(tx, (reply) => reply);
  const reply = await rx.recv();
  assert.equal(respond(reply, 1), true);
  assert.equal(respond(reply, 2), false);
  assert.equal(await p, 1);
  const [orphan, gone] = unbounded<number>();
  gone.close();
  assert.equal(respond(orphan, 3), false);
});

test('a build function that throws: call rejects with its error and sends nothing', async () => {
  const [tx, rx] = bounded<Sender<number>>(1);
  await assert.rejects(
    call(tx, () => {
      throw new Error('bad request');
    }),
    /bad request/,
  );
  assert.equal(rx.len, 0);
  await assert.rejects(call(tx, (r) => r, { timeout: -1 }), RangeError);
});

test('types: the answer type follows the request; a request the channel does not carry does not compile', async () => {
  const [tx, rx] = bounded<Cmd>(4);
  rx.close();
  // @ts-expect-error 'nam' is not a command type
  await call(tx, (reply) => ({ type: 'nam', reply })).catch(() => {});
  // @ts-expect-error 'add' needs `a` and `b`
  await call(tx, (reply) => ({ type: 'add', reply })).catch(() => {});
  // @ts-expect-error the reply Sender is not for sending
  await call(tx, (reply) => (reply.trySend(1), { type: 'name', reply })).catch(() => {});
});
