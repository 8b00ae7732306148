/**
 * The core channel semantics, on remote channels: several links in one
 * process stand for several processes (each link is its own connection,
 * its own presence instance, its own receive buffer).
 */
import assert from 'node:assert/strict';
import {
  after as afterMs,
  bounded,
  ready,
  RecvError,
  RecvTimeoutError,
  select,
  send as sendCase,
  SendAbortedError,
  SendError,
  TrySendError,
  unbounded,
  type Receiver,
  type Sender,
} from '../../src/index.js';
import { connect as natsConnect } from '@nats-io/transport-node';
import { call, CallError, DecodeError, EncodeError, flush, type Link } from '../../src/remote/index.js';
import { guard } from '../helpers.js';
import { link, rtest, sleep, uniq, until, useServer } from './helpers.js';

const server = useServer();

async function withLinks(n: number, fn: (links: Link[]) => Promise<void>): Promise<void> {
  const links: Link[] = [];
  try {
    for (let i = 0; i < n; i++) links.push(await link(server()));
    await fn(links);
  } finally {
    await Promise.allSettled(links.map((l) => l.close()));
  }
}

async function drain<T>(rx: Receiver<T>, ms = 20_000): Promise<T[]> {
  const out: T[] = [];
  await guard(
    (async () => {
      for await (const v of rx) out.push(v);
    })(),
    ms,
    'drain',
  );
  return out;
}

rtest('ordering per sender, three senders on three links, one receiver', async () => {
  await withLinks(4, async ([a, b, c, r]) => {
    const name = uniq('order');
    const rx = await r!.receiver<{ from: string; i: number }>(name, { capacity: 16 });
    const producers = [a!, b!, c!].map(async (l, k) => {
      const tx = await l.sender<{ from: string; i: number }>(name);
      for (let i = 0; i < 60; i++) await tx.send({ from: `p${k}`, i });
      tx.close();
    });
    const got = await drain(rx);
    await Promise.all(producers);
    assert.equal(got.length, 180);
    for (const from of ['p0', 'p1', 'p2']) {
      const seq = got.filter((m) => m.from === from).map((m) => m.i);
      assert.deepEqual(seq, Array.from({ length: 60 }, (_, i) => i), `${from} in order`);
    }
    rx.close();
  });
});

rtest('exactly once: receivers on three links share the work, nothing lost or doubled', async () => {
  await withLinks(4, async ([p, r1, r2, r3]) => {
    const name = uniq('share');
    const tx = await p!.sender<number>(name, { capacity: 20 });
    const receivers = [r1!, r2!, r3!];
    const rxs = await Promise.all(receivers.map((l) => l.receiver<number>(name, { prefetch: 4 })));
    const consumed = rxs.map(async (rx) => {
      const got: number[] = [];
      for await (const v of rx) {
        got.push(v);
        if (v % 7 === 0) await sleep(2); // uneven speed
      }
      rx.close();
      return got;
    });
    for (let i = 0; i < 300; i++) await tx.send(i);
    tx.close();
    const all = (await guard(Promise.all(consumed), 30_000)).flat().sort((x, y) => x - y);
    assert.deepEqual(all, Array.from({ length: 300 }, (_, i) => i));
  });
});

rtest('bounded backpressure: send waits while the stream holds capacity messages', async () => {
  await withLinks(2, async ([a, b]) => {
    const name = uniq('bp');
    const tx = await a!.sender<number>(name, { capacity: 3 });
    const rx = await b!.receiver<number>(name);
    for (let i = 0; i < 3; i++) await tx.send(i);
    await flush(tx);
    let done = false;
    const fourth = tx.send(3).then(() => (done = true));
    await sleep(400);
    assert.equal(done, false, 'the 4th send waits');
    assert.equal(tx.isFull, true);
    assert.throws(() => tx.trySend(99), (e: unknown) => e instanceof TrySendError && e.kind === 'full');
    assert.equal(await guard(rx.recv()), 0);
    await guard(fourth, 10_000);
    assert.deepEqual([await rx.recv(), await rx.recv(), await rx.recv()], [1, 2, 3]);
    tx.close();
    rx.close();
  });
});

rtest('disconnection: senders close first → receivers drain, then RecvError; waiting receivers wake', async () => {
  await withLinks(3, async ([a, b, c]) => {
    const name = uniq('sclose');
    const tx1 = await a!.sender<number>(name, { capacity: 10 });
    const tx2 = await b!.sender<number>(name);
    const rx = await c!.receiver<number>(name);
    const rx2 = rx.clone();
    await tx1.send(1);
    await tx2.send(2);
    tx1.close();
    await sleep(200);
    assert.equal(rx.isDisconnected, false, 'one Sender is still open');
    tx2.close();
    const got = await drain(rx);
    assert.deepEqual(got.sort(), [1, 2], 'buffered messages drained first');
    await assert.rejects(guard(rx2.recv()), RecvError);
    assert.equal(rx.isDisconnected, true);
    rx.close();
    rx2.close();
  });
});

rtest('disconnection: receivers close first → parked and later sends fail with their value', async () => {
  await withLinks(2, async ([a, b]) => {
    const name = uniq('rclose');
    const tx = await a!.sender<number>(name, { capacity: 1 });
    const rx = await b!.receiver<number>(name);
    await tx.send(1);
    await flush(tx);
    const blocked = tx.send(2);
    await sleep(100);
    rx.close();
    const e = await guard(blocked.then(() => undefined, (err: unknown) => err), 10_000);
    assert.ok(e instanceof SendError, `expected SendError, got ${String(e)}`);
    assert.equal((e as SendError<number>).value, 2);
    await assert.rejects(tx.send(3), (err: unknown) => err instanceof SendError && err.value === 3);
    assert.equal(tx.isDisconnected, true);
    tx.close();
  });
});

rtest('disconnection: a Sender clone keeps the channel open until it closes', async () => {
  await withLinks(2, async ([a, b]) => {
    const name = uniq('clone');
    const tx = await a!.sender<string>(name, { capacity: 5 });
    const rx = await b!.receiver<string>(name);
    const tx2 = tx.clone();
    tx.close();
    await sleep(300);
    assert.equal(rx.isDisconnected, false);
    await tx2.send('still here');
    assert.equal(await guard(rx.recv()), 'still here');
    tx2.close();
    await assert.rejects(guard(rx.recv()), RecvError);
    rx.close();
  });
});

rtest('select over remote, local and timer cases; losing remote cases consume nothing', async () => {
  await withLinks(2, async ([a, b]) => {
    const name = uniq('select');
    const tx = await a!.sender<string>(name, { capacity: 10 });
    const rx = await b!.receiver<string>(name);
    const [ltx, lrx] = unbounded<string>();
    // the timer wins while the remote channel is empty
    const r1 = await select({ remote: rx, local: lrx, timer: afterMs(150) });
    assert.equal(r1.case, 'timer');
    // the local case wins; the remote case loses while a message is on its way
    ltx.trySend('local');
    const sending = tx.send('remote-1');
    const r2 = await select({ local: lrx, remote: rx }, { biased: true });
    assert.equal(r2.case, 'local');
    await sending;
    // the remote message was not consumed by the losing case
    const r3 = await guard(select({ remote: rx, timer: afterMs(10_000) }));
    assert.deepEqual([r3.case, r3.ok && 'value' in r3 ? r3.value : undefined], ['remote', 'remote-1']);
    // a send case on a remote channel
    const r4 = await select({ out: sendCase(tx, 'via select'), timer: afterMs(5000) });
    assert.equal(r4.case, 'out');
    assert.equal(await guard(rx.recv()), 'via select');
    // ready() waits for a remote message without taking it
    setTimeout(() => void tx.send('ready'), 50);
    assert.equal(await guard(ready({ rx })), 'rx');
    assert.equal(rx.tryRecv(), 'ready');
    tx.close();
    rx.close();
    ltx.close();
    lrx.close();
  });
});

rtest('a message a losing select case left behind goes to another receiver', async () => {
  await withLinks(3, async ([a, b, c]) => {
    const name = uniq('leftover');
    const tx = await a!.sender<number>(name, { capacity: 10 });
    const rxB = await b!.receiver<number>(name);
    // B selects and loses to a timer while the message is on its way
    const r = await select({ rx: rxB, t: afterMs(5) });
    assert.equal(r.case, 't');
    await tx.send(42);
    await flush(tx);
    // B goes idle; C asks. After B's linger, C gets the message.
    const rxC = await c!.receiver<number>(name);
    assert.equal(await guard(rxC.recv(), 15_000), 42);
    rxB.close();
    rxC.close();
    tx.close();
  });
});

rtest('cancellation: an aborted recv consumes nothing; recvTimeout times out; aborted send never enqueues', async () => {
  await withLinks(2, async ([a, b]) => {
    const name = uniq('cancel');
    const tx = await a!.sender<number>(name, { capacity: 1 });
    const rx = await b!.receiver<number>(name);
    const ac = new AbortController();
    const p = rx.recv({ signal: ac.signal });
    setTimeout(() => ac.abort(new Error('stop')), 50);
    await assert.rejects(p, /stop/);
    await assert.rejects(rx.recvTimeout(100), (e: unknown) => e instanceof RecvTimeoutError && e.kind === 'timeout');
    await tx.send(1);
    await flush(tx);
    const ac2 = new AbortController();
    const blocked = tx.send(2, { signal: ac2.signal });
    setTimeout(() => ac2.abort('no'), 100);
    await assert.rejects(blocked, (e: unknown) => e instanceof SendAbortedError && e.value === 2);
    assert.equal(await guard(rx.recv()), 1);
    tx.close();
    await assert.rejects(guard(rx.recv()), RecvError, 'the aborted 2 was never enqueued');
    rx.close();
  });
});

rtest('unbounded remote channel: trySend never reports full', async () => {
  await withLinks(2, async ([a, b]) => {
    const name = uniq('unb');
    const tx = await a!.sender<number>(name, { capacity: 'unbounded' });
    const rx = await b!.receiver<number>(name);
    for (let i = 0; i < 200; i++) tx.trySend(i);
    tx.close();
    assert.deepEqual(await drain(rx), Array.from({ length: 200 }, (_, i) => i));
    rx.close();
  });
});

rtest('codec at the edges: unencodable and oversize values are refused at send, with the value', async () => {
  await withLinks(1, async ([a]) => {
    const name = uniq('codec');
    const [tx, rx] = await a!.bounded<unknown>(name, 5);
    const fn = (): void => undefined;
    await assert.rejects(tx.send({ f: fn }), (e: unknown) => e instanceof EncodeError && e.kind === 'unsupported' && (e.value as { f: unknown }).f === fn);
    const big = 'x'.repeat(2 * 1024 * 1024);
    await assert.rejects(tx.send(big), (e: unknown) => e instanceof EncodeError && e.kind === 'too-large' && e.value === big);
    assert.throws(() => tx.trySend(Symbol('s')), EncodeError);
    const v = { n: 1n, d: new Date(7), m: new Map([[1, new Set(['a'])]]), b: new Uint8Array([1, 2]) };
    await tx.send(v);
    assert.deepStrictEqual(await guard(rx.recv()), v);
    tx.close();
    rx.close();
  });
});

rtest('garbage published on the subject: a DecodeError on the receiver, and the channel goes on', async () => {
  await withLinks(1, async ([a]) => {
    const name = uniq('garbage');
    const [tx, rx] = await a!.bounded<number>(name, 10);
    const raw = await natsConnect({ servers: server().url });
    try {
      await tx.send(1);
      await flush(tx);
      raw.publish(`weft.ch.${name}.m`, new TextEncoder().encode('not weft at all'));
      raw.publish(`weft.ch.${name}.m`, Uint8Array.of(0xe7, 1, 0, 0x09, 0xff, 0xff));
      await raw.flush();
      await tx.send(2);
      assert.equal(await guard(rx.recv()), 1);
      await assert.rejects(guard(rx.recv()), (e: unknown) => e instanceof DecodeError && e.channel === name);
      await assert.rejects(guard(rx.recv()), DecodeError);
      assert.equal(await guard(rx.recv()), 2);
      tx.close();
      await assert.rejects(guard(rx.recv()), RecvError);
    } finally {
      await raw.close();
      rx.close();
    }
  });
});

rtest('a local Sender travels inside a message: request/reply across links', async () => {
  await withLinks(2, async ([client, service]) => {
    const name = uniq('rpc');
    type Req = { a: number; b: number; reply: Sender<number> };
    const requests = await service!.receiver<Req>(name, { capacity: 10 });
    const serving = (async () => {
      for await (const req of requests) {
        await req.reply.send(req.a + req.b);
        req.reply.close();
      }
    })();
    const tx = await client!.sender<Req>(name);
    // by hand
    const [rtx, rrx] = bounded<number>(1);
    await tx.send({ a: 2, b: 3, reply: rtx });
    rtx.close();
    assert.equal(await guard(rrx.recv()), 5);
    await assert.rejects(guard(rrx.recv()), RecvError, 'the reply Sender was closed by the service');
    rrx.close();
    // with call()
    const sums = await Promise.all([1, 2, 3].map((i) => call(tx, (reply: Sender<number>) => ({ a: i, b: 10, reply }), { timeout: 10_000 })));
    assert.deepEqual(sums, [11, 12, 13]);
    tx.close();
    await guard(serving);
    requests.close();
  });
});

rtest('call(): no-reply when the reply Sender is closed unanswered; timeout when nobody serves', async () => {
  await withLinks(2, async ([client, service]) => {
    const name = uniq('rpc2');
    type Req = { reply: Sender<string> };
    const requests = await service!.receiver<Req>(name, { capacity: 10 });
    const tx = await client!.sender<Req>(name);
    const p = call(tx, (reply: Sender<string>) => ({ reply }), { timeout: 10_000 });
    const req = await guard(requests.recv());
    req.reply.close();
    await assert.rejects(p, (e: unknown) => e instanceof CallError && e.kind === 'no-reply');
    await assert.rejects(call(tx, (reply: Sender<string>) => ({ reply }), { timeout: 300 }), (e: unknown) => e instanceof CallError && e.kind === 'timeout');
    tx.close();
    requests.close();
  });
});

rtest('a named channel handle travels inside a message (remote → remote)', async () => {
  await withLinks(3, async ([a, b, c]) => {
    const control = uniq('ctl');
    const data = uniq('data');
    const ctlRx = await b!.receiver<{ out: Sender<string> }>(control, { capacity: 4 });
    const ctlTx = await a!.sender<{ out: Sender<string> }>(control);
    const dataRx = await c!.receiver<string>(data, { capacity: 4 });
    const dataTx = await a!.sender<string>(data);
    await ctlTx.send({ out: dataTx });
    dataTx.close(); // the copy in the message keeps the channel's send side alive
    const { out } = await guard(ctlRx.recv());
    await out.send('hello from b');
    assert.equal(await guard(dataRx.recv()), 'hello from b');
    out.close();
    await assert.rejects(guard(dataRx.recv(), 15_000), RecvError);
    ctlTx.close();
    ctlRx.close();
    dataRx.close();
  });
});

rtest('a sender link that vanishes without close counts as gone after the grace period', async () => {
  await withLinks(1, async ([r]) => {
    const name = uniq('grace');
    const rx = await r!.receiver<number>(name, { capacity: 4 });
    const doomed = await link(server());
    const tx = await doomed.sender<number>(name);
    await tx.send(7);
    await flush(tx);
    // drop the connection without any close marker: like a crash
    await doomed.nc.close();
    assert.equal(await guard(rx.recv()), 7);
    await assert.rejects(guard(rx.recv(), 20_000), RecvError);
    rx.close();
  });
});

rtest('max message size of the server is enforced at send', async () => {
  await withLinks(1, async ([a]) => {
    const name = uniq('maxsize');
    const small = await link(server(), { maxMessageBytes: 1000 });
    try {
      const [tx, rx] = await small.bounded<string>(name, 2);
      await assert.rejects(tx.send('y'.repeat(1500)), (e: unknown) => e instanceof EncodeError && e.kind === 'too-large');
      await tx.send('ok');
      assert.equal(await guard(rx.recv()), 'ok');
      tx.close();
      rx.close();
    } finally {
      await small.close();
    }
    void a;
  });
});

rtest('len and isFull reflect the stream; the link flushes', async () => {
  await withLinks(1, async ([a]) => {
    const name = uniq('len');
    const [tx, rx] = await a!.bounded<number>(name, 4);
    for (let i = 0; i < 4; i++) await tx.send(i);
    await a!.flush();
    await until(() => tx.isFull, 10_000, 'isFull');
    assert.equal(tx.capacity, 4);
    assert.equal(await guard(rx.recv()), 0);
    tx.close();
    rx.close();
  });
});

rtest('a local Receiver travels inside a message: the other link receives from it', async () => {
  await withLinks(2, async ([owner, holder]) => {
    const name = uniq('rxship');
    const ship = await owner!.sender<{ feed: Receiver<number> }>(name, { capacity: 2 });
    const incoming = await holder!.receiver<{ feed: Receiver<number> }>(name);
    const [ltx, lrx] = bounded<number>(8);
    await ship.send({ feed: lrx });
    lrx.close(); // the export holds its own clone
    const { feed } = await guard(incoming.recv());
    for (let i = 0; i < 5; i++) ltx.trySend(i);
    const got: number[] = [];
    for (let i = 0; i < 5; i++) got.push(await guard(feed.recv()));
    assert.deepEqual(got, [0, 1, 2, 3, 4]);
    ltx.close();
    await assert.rejects(guard(feed.recv()), RecvError, 'the owner closed the channel');
    feed.close();
    ship.close();
    incoming.close();
  });
});

rtest('link.close() waits until a closed Sender\'s messages are stored: none lost', async () => {
  const name = uniq('closewait');
  const producer = await link(server());
  const consumer = await link(server());
  try {
    const rx = await consumer.receiver<number>(name, { capacity: 4, prefetch: 2 });
    const tx = await producer.sender<number>(name);
    // Sends complete when accepted into the send window; with room for 4 in
    // the stream, most of these are still in the window when tx closes.
    const n = 20;
    const sending = (async () => {
      for (let i = 0; i < n; i++) await tx.send(i);
      tx.close();
      await producer.close();
    })();
    const got: number[] = [];
    await guard(
      (async () => {
        for await (const v of rx) {
          got.push(v);
          await sleep(50); // slow: the last sends wait in the window for room
        }
      })(),
      30_000,
      'drain',
    );
    await guard(sending, 30_000, 'producer close');
    assert.deepEqual(got, Array.from({ length: n }, (_, i) => i));
    rx.close();
  } finally {
    await Promise.allSettled([producer.close(), consumer.close()]);
  }
});

rtest('link.close({ timeoutMs }) checks its argument', async () => {
  const l = await link(server());
  try {
    assert.throws(() => l.close({ timeoutMs: -1 }), RangeError);
    assert.throws(() => l.close({ timeoutMs: Number.NaN }), /timeoutMs must be a number >= 0/);
  } finally {
    await l.close({ timeoutMs: 5000 });
  }
});

rtest('a wait limited to 2^32 ms (past the timer range) is not cut short', async () => {
  const l = await link(server());
  try {
    // the settle comes after 50 ms; a limit of 2^32 ms must not end the wait before it
    await l.untilSettled(sleep(50), 2 ** 32);
  } finally {
    await l.close({ timeoutMs: 2 ** 32 });
  }
});
