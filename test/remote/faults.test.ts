/** Faults: the server crashes, a receiver process dies mid-batch, a sender process dies. */
import assert from 'node:assert/strict';
import { RecvError, RecvTimeoutError, SendError } from '../../src/index.js';
import { flush, RemoteError } from '../../src/remote/index.js';
import { connect as natsConnect, type Msg } from '@nats-io/transport-node';
import { jetstream } from '@nats-io/jetstream';
import { guard } from '../helpers.js';
import { peer } from './procs.js';
import { link, rtest, sleep, uniq, until, useServer } from './helpers.js';

const server = useServer();

rtest('kill -9 the server mid-stream, restart it on the same store: every message processed exactly once', async () => {
  const name = uniq('crash');
  // Liveness is not under test here: on a loaded machine one link can reconnect seconds after
  // the other, and a grace shorter than that gap would rightly count the sender as gone.
  const a = await link(server(), { graceMs: 15_000 });
  const b = await link(server(), { graceMs: 15_000 });
  try {
    const N = 1500;
    const tx = await a.sender<{ i: number }>(name, { capacity: 200 });
    const rx = await b.receiver<{ i: number }>(name, { prefetch: 32 });
    const seen = new Map<number, number>();
    const order: number[] = [];
    const consuming = (async () => {
      for await (const m of rx) {
        seen.set(m.i, (seen.get(m.i) ?? 0) + 1);
        order.push(m.i);
      }
    })();
    const producing = (async () => {
      for (let i = 0; i < N; i++) await tx.send({ i });
      await flush(tx);
      tx.close();
    })();
    await until(() => order.length >= 300, 30_000, '300 received');
    await server().kill();
    await sleep(500);
    await server().restart();
    await guard(producing, 60_000, 'producer');
    await guard(consuming, 60_000, 'consumer');
    const dups = [...seen].filter(([, n]) => n > 1).map(([i]) => i);
    assert.deepEqual(dups, [], 'nothing processed twice');
    assert.equal(seen.size, N, 'nothing lost');
    assert.deepEqual(order, Array.from({ length: N }, (_, i) => i), 'in order');
    rx.close();
  } finally {
    await a.close();
    await b.close();
  }
}, 120_000);

rtest('kill -9 a receiver process mid-batch: its unacknowledged messages go to another receiver', async () => {
  const name = uniq('rkill');
  const a = await link(server());
  try {
    const tx = await a.sender<number>(name, { capacity: 50, ackWaitMs: 1500 });
    const N = 30;
    for (let i = 0; i < N; i++) await tx.send(i);
    await flush(tx);
    // a slow receiver process pulls a batch of 10 and processes one message every 150 ms
    const victim = peer(['consume', server().url, name, '150'], { WEFT_TEST_PREFETCH: '10', WEFT_TEST_CAPACITY: '50' });
    await victim.waitFor((l) => victim.lines.filter((x) => 'got' in x).length >= 3 && 'got' in l, 30_000, '3 messages');
    await sleep(50); // mid-sleep: its acks are out, the rest of its batch is not
    victim.kill('SIGKILL');
    await victim.exited;
    const processedByVictim = victim.lines.filter((l) => 'got' in l).map((l) => l.got as number);
    const rx = await a.receiver<number>(name);
    tx.close();
    const rest: number[] = [];
    await guard(
      (async () => {
        for await (const v of rx) rest.push(v);
      })(),
      30_000,
      'the other receiver',
    );
    rx.close();
    const all = [...processedByVictim, ...rest].sort((x, y) => x - y);
    assert.deepEqual(all, Array.from({ length: N }, (_, i) => i), `victim ${processedByVictim.join(',')} + rest ${rest.join(',')}`);
  } finally {
    await a.close();
  }
});

rtest('kill -9 a sender process: receivers see the disconnection after the grace period, not before', async () => {
  const name = uniq('skill');
  const a = await link(server());
  try {
    const rx = await a.receiver<{ i: number }>(name, { capacity: 20 });
    const victim = peer(['produce-hang', server().url, name, '5'], { WEFT_TEST_GRACE: '1500' });
    await victim.waitFor((l) => 'sent' in l, 30_000, 'sent');
    for (let i = 0; i < 5; i++) assert.equal((await guard(rx.recv())).i, i);
    await sleep(2000);
    assert.equal(rx.isDisconnected, false, 'a live (if silent) sender keeps the channel open');
    victim.kill('SIGKILL');
    await victim.exited;
    await assert.rejects(guard(rx.recv(), 20_000), RecvError);
    rx.close();
  } finally {
    await a.close();
  }
});

rtest('kill -9 the only receiver process: senders see SendError after the grace period', async () => {
  const name = uniq('rgone');
  const a = await link(server());
  try {
    const tx = await a.sender<number>(name, { capacity: 20 });
    const victim = peer(['consume', server().url, name], { WEFT_TEST_GRACE: '1500' });
    await victim.waitFor((l) => 'ready' in l, 30_000, 'ready');
    await tx.send(1);
    await victim.waitFor((l) => 'got' in l, 30_000, 'got');
    victim.kill('SIGKILL');
    await victim.exited;
    const err = await guard(
      (async () => {
        for (;;) {
          try {
            await tx.send(2);
          } catch (e) {
            return e;
          }
          await sleep(100);
        }
      })(),
      20_000,
      'SendError',
    );
    assert.ok(err instanceof SendError);
    tx.close();
  } finally {
    await a.close();
  }
});

rtest('link.close({ timeoutMs }) is bounded while the server is down, and rejects with the number of messages not stored', async () => {
  const name = uniq('lost');
  const a = await link(server(), { graceMs: 15_000 });
  const b = await link(server(), { graceMs: 15_000 });
  try {
    const tx = await a.sender<number>(name, { capacity: 200 });
    const rx = await b.receiver<number>(name, { prefetch: 4 });
    for (let i = 0; i < 3; i++) await tx.send(i);
    await guard(flush(tx), 20_000, 'flush');
    await server().kill();
    // Accepted into the send window (the channel has room), never stored.
    for (let i = 3; i < 8; i++) await guard(tx.send(i), 10_000, 'send while down');
    const err = await guard(a.close({ timeoutMs: 300 }).then(() => undefined, (e: unknown) => e), 30_000, 'close');
    assert.ok(err instanceof RemoteError, `close() must reject with a RemoteError, got ${String(err)}`);
    assert.equal(err.kind, 'flush');
    assert.match(err.message, /^close: 5 sent message\(s\) were not stored/);
    await server().restart();
    // The stored ones arrive; the five that close() reported lost never do.
    const got: number[] = [];
    for (let i = 0; i < 3; i++) got.push(await guard(rx.recv(), 30_000, 'recv after restart'));
    assert.deepEqual(got, [0, 1, 2]);
    await assert.rejects(rx.recvTimeout(1000), RecvTimeoutError);
    rx.close();
  } finally {
    await Promise.allSettled([a.close(), b.close()]);
  }
}, 120_000);

rtest('a message the restarted server stores again (it forgot the id of the removed original) is not delivered twice', async () => {
  const name = uniq('again');
  const a = await link(server(), { graceMs: 15_000 });
  const b = await link(server(), { graceMs: 15_000 });
  try {
    const tx = await a.sender<{ i: number }>(name, { capacity: 100 });
    const rx = await b.receiver<{ i: number }>(name);
    // Watch the sender's publish go by, to repeat it later as its retry would be.
    const spy = await natsConnect({ servers: server().url });
    const seen: Msg[] = [];
    spy.subscribe(`weft.ch.${name}.m`, { callback: (_e, m) => void seen.push(m) });
    await spy.flush();
    await tx.send({ i: 1 });
    await guard(flush(tx), 20_000, 'flush');
    assert.deepEqual(await guard(rx.recv(), 20_000, 'recv'), { i: 1 });
    const stream = `weft-ch-${name}`;
    await until(async () => (await b.streamMessages(stream)) === 0, 20_000, 'the ack removed the message');
    await until(() => seen.length === 1, 20_000, 'the publish seen');
    const original = seen[0]!;
    const id = original.headers?.get('Nats-Msg-Id') ?? '';
    assert.notEqual(id, '', 'the sender gives each message an id');
    await spy.close();
    await server().kill();
    await server().restart();
    // The retry of a sender whose confirmation was lost in the crash: same subject, data and id.
    const retry = await natsConnect({ servers: server().url });
    try {
      const ack = await jetstream(retry).publish(original.subject, original.data, { msgID: id, timeout: 20_000 });
      // The restarted server stored it again: only the receiver can tell it is a repeat.
      assert.equal(ack.duplicate, false, 'the server forgot the id of the removed original');
    } finally {
      await retry.close();
    }
    await assert.rejects(rx.recvTimeout(1500), RecvTimeoutError);
    await until(async () => (await b.streamMessages(stream)) === 0, 20_000, 'the repeat acknowledged away');
    rx.close();
    tx.close();
  } finally {
    await Promise.allSettled([a.close(), b.close()]);
  }
}, 120_000);
