import assert from 'node:assert/strict';
import { RecvError, SendError, TryRecvError, TrySendError } from '../../src/index.js';
import { guard } from '../helpers.js';
import { link, rtest, uniq, useServer } from './helpers.js';

const server = useServer();

rtest('send on one link, receive on another, in order', async () => {
  const a = await link(server());
  const b = await link(server());
  try {
    const name = uniq('basic');
    const tx = await a.sender<{ i: number; s: string }>(name, { capacity: 10 });
    const rx = await b.receiver<{ i: number; s: string }>(name);
    const producing = (async () => {
      for (let i = 0; i < 25; i++) await tx.send({ i, s: `m${i}` });
      tx.close();
    })();
    const got: number[] = [];
    for (let i = 0; i < 25; i++) got.push((await guard(rx.recv(), 10_000)).i);
    assert.deepEqual(got, Array.from({ length: 25 }, (_, i) => i));
    await guard(producing, 10_000);
    await assert.rejects(guard(rx.recv(), 10_000), RecvError);
    rx.close();
  } finally {
    await a.close();
    await b.close();
  }
});

rtest('tryRecv is empty, then returns what arrived; trySend reports full', async () => {
  const a = await link(server());
  try {
    const name = uniq('try');
    const [tx, rx] = await a.bounded<number>(name, 2);
    assert.throws(() => rx.tryRecv(), (e: unknown) => e instanceof TryRecvError && e.kind === 'empty');
    await tx.send(1);
    await tx.send(2);
    // a third send must wait: the stream holds 2
    let third = false;
    const p = tx.send(3).then(() => (third = true));
    await new Promise((r) => setTimeout(r, 300));
    assert.equal(third, false, 'send waits while the channel is full');
    assert.throws(() => tx.trySend(4), (e: unknown) => e instanceof TrySendError && e.kind === 'full');
    assert.equal(await guard(rx.recv(), 10_000), 1);
    await guard(p, 10_000);
    assert.equal(await guard(rx.recv(), 10_000), 2);
    assert.equal(await guard(rx.recv(), 10_000), 3);
    tx.close();
    rx.close();
  } finally {
    await a.close();
  }
});

rtest('the last Receiver closing makes sends fail with SendError', async () => {
  const a = await link(server());
  const b = await link(server());
  try {
    const name = uniq('rgone');
    const tx = await a.sender<number>(name, { capacity: 5 });
    const rx = await b.receiver<number>(name);
    await tx.send(1);
    rx.close();
    const e = await guard(
      (async () => {
        for (;;) {
          try {
            await tx.send(2);
          } catch (err) {
            return err;
          }
          await new Promise((r) => setTimeout(r, 50));
        }
      })(),
      10_000,
    );
    assert.ok(e instanceof SendError);
    assert.equal((e as SendError<number>).value, 2);
    tx.close();
  } finally {
    await a.close();
    await b.close();
  }
});
