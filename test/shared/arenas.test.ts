// A thread can hold handles of two arenas: its own, and its parent's when the
// parent made its first shared channel after starting it. Requests on a
// channel must carry only handles of that channel's arena, so `call` makes its
// reply channel there.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { once } from 'node:events';
import { Worker } from 'node:worker_threads';
import { sharedBounded, transfer, type Sender } from '../../src/index.js';
import { guard } from '../helpers.js';

interface Ask {
  n: number;
  reply: Sender<number>;
}

test('call from a thread whose own arena differs from the channel\'s gets its answer', async () => {
  // The worker starts before this thread has an arena, so it makes its own.
  const worker = new Worker(new URL('./workers/two-arenas.js', import.meta.url));
  try {
    const [ready] = (await guard(once(worker, 'message'), 20_000, 'worker ready')) as [unknown];
    assert.equal(ready, 'ready');
    const [tx, rx] = sharedBounded<Ask>(4);
    const served = (async () => {
      const ask = await rx.recv();
      await ask.reply.send(ask.n + 1);
      ask.reply.close();
    })();
    worker.postMessage(transfer(tx));
    const [report] = (await guard(once(worker, 'message'), 20_000, 'worker report')) as [{ answer?: number; error?: string }];
    assert.deepEqual(report, { answer: 42 });
    await guard(served, 5_000, 'actor done');
    rx.close();
  } finally {
    await worker.terminate();
  }
});
