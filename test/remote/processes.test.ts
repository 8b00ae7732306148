/** Two and three OS processes exchanging messages through named channels. */
import assert from 'node:assert/strict';
import { peer } from './procs.js';
import { link, rtest, uniq, useServer } from './helpers.js';

const server = useServer();

rtest('two processes: a producer and a consumer, in order, then the end', async () => {
  const name = uniq('p2');
  const consumer = peer(['consume', server().url, name]);
  const producer = peer(['produce', server().url, name, '50']);
  try {
    await consumer.waitFor((l) => 'end' in l, 30_000, 'end');
    await producer.waitFor((l) => 'done' in l, 30_000, 'done');
    const got = consumer.lines.filter((l) => 'got' in l).map((l) => (l.got as { i: number }).i);
    assert.deepEqual(got, Array.from({ length: 50 }, (_, i) => i));
    assert.equal(await consumer.exited, 0);
  } finally {
    consumer.kill();
    producer.kill();
  }
});

rtest('three processes: two producers, one consumer; per-sender order, each message once', async () => {
  const name = uniq('p3');
  // Like the original Sender of a local channel: this process holds one until
  // every producer has its own, so the first producer to finish does not end
  // the stream for the consumer before the second one started.
  const setup = await link(server());
  const hold = await setup.sender<{ from: number; i: number }>(name, { capacity: 20 });
  const consumer = peer(['consume', server().url, name]);
  const p1 = peer(['produce', server().url, name, '40']);
  const p2 = peer(['produce', server().url, name, '40']);
  try {
    await Promise.all([p1, p2].map((p) => p.waitFor((l) => 'ready' in l, 30_000, 'ready')));
    hold.close();
    await setup.close();
    await consumer.waitFor((l) => 'end' in l, 30_000, 'end');
    const got = consumer.lines.filter((l) => 'got' in l).map((l) => l.got as { from: number; i: number });
    assert.equal(got.length, 80);
    for (const p of [p1, p2]) {
      const seq = got.filter((m) => m.from === p.child.pid).map((m) => m.i);
      assert.deepEqual(seq, Array.from({ length: 40 }, (_, i) => i));
    }
  } finally {
    consumer.kill();
    p1.kill();
    p2.kill();
    await setup.close();
  }
});

rtest('request/reply across processes: the reply Sender travels inside the request', async () => {
  const name = uniq('rpc');
  const service = peer(['serve', server().url, name]);
  await service.waitFor((l) => 'ready' in l, 30_000, 'ready');
  const client = peer(['call', server().url, name, '10']);
  try {
    await client.waitFor((l) => 'done' in l, 30_000, 'done');
    const answers = client.lines.filter((l) => 'answer' in l).map((l) => l.answer);
    assert.deepEqual(answers, Array.from({ length: 10 }, (_, i) => i + 1000));
    // the client closed its Sender: the service sees the end and exits
    const served = await service.waitFor((l) => 'served' in l, 30_000, 'served');
    assert.equal(served.served, 10);
  } finally {
    service.kill();
    client.kill();
  }
});
