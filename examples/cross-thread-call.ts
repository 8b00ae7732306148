/**
 * Example 3 (article 000, "Communicate by sharing your Sender"): a
 * cross-thread procedure call — send a message that carries a Sender, then
 * wait for the answer on its Receiver.
 *
 * A price list runs as a component on a worker thread (this same file,
 * started with `spawnWorker`). It receives requests on a shared-memory
 * channel; each request carries the Sender its answer goes to, and that
 * Sender crosses threads inside the message.
 *
 * Part 1 does the call by hand: make a one-slot shared channel, put its
 * Sender in the request, await its Receiver. Part 2 lets `call()` do the
 * same (on a shared channel it makes a shared reply channel). Part 3 asks
 * the price list to close: it answers, stops, its input closes and its
 * thread exits; a later call fails at once with `ActorGoneError` instead of
 * hanging, and the request it could not deliver is handed back.
 *
 * Run: `node dist/examples/cross-thread-call.js`
 */
import { isMainThread, threadId } from 'node:worker_threads';
import { ActorGoneError, call, respond, sharedBounded, spawn, spawnWorker, workerHandles, type Receiver, type Sender } from 'weft';

interface PriceRequest {
  readonly item: string;
  readonly quantity: number;
  readonly reply: Sender<Quote>;
}

interface Quote {
  readonly item: string;
  readonly cents: number;
  readonly thread: number; // which thread computed it
}

const PRICES: Readonly<Record<string, number>> = { apple: 40, bread: 250, cheese: 725 };

if (!isMainThread) {
  // The price list: an ordinary component, on its own thread, fed by a shared channel.
  const { requests } = workerHandles<{ requests: Receiver<PriceRequest> }>();
  const priceList = spawn(
    {
      init: () => ({ answered: 0 }),
      handle(s, msg, ctx) {
        const { item, quantity, reply } = msg.value;
        respond(reply, { item, cents: (PRICES[item] ?? 0) * quantity, thread: threadId }); // also closes the reply Sender
        s.answered++;
        if (item === 'closing time') return ctx.stop(); // closes its input: callers learn it at once
      },
    },
    { inputs: { requests }, name: 'price-list' },
  );
  await priceList.done; // then the thread has nothing left to do: it exits
} else {
  const [requests, requestsRx] = sharedBounded<PriceRequest>(8);
  const worker = spawnWorker(new URL(import.meta.url), { handles: { requests: requestsRx } });
  const workerThread = worker.threadId; // read now: it becomes -1 once the thread exited
  const exited = new Promise<number>((resolve) => worker.once('exit', resolve));
  console.log(`main (thread ${threadId}): started the price list on worker thread ${workerThread}`);

  // Part 1: by hand.
  const [replyTx, replyRx] = sharedBounded<Quote>(1);
  await requests.send({ item: 'apple', quantity: 3, reply: replyTx }); // replyTx moved with the request
  const byHand = await replyRx.recv();
  replyRx.close();
  console.log(`part 1 (by hand): 3 × apple = ${byHand.cents} cents, computed on thread ${byHand.thread}`);

  // Part 2: with call(), several at once.
  const orders: Array<[string, number]> = [['bread', 2], ['cheese', 1], ['apple', 10]];
  const quotes = await Promise.all(orders.map(([item, quantity]) => call(requests, (reply) => ({ item, quantity, reply }), { timeout: 10_000 })));
  for (const [i, q] of quotes.entries()) console.log(`part 2 (call): ${orders[i]![1]} × ${q.item} = ${q.cents} cents, computed on thread ${q.thread}`);

  // Part 3: the server goes away; a call fails instead of hanging.
  await call(requests, (reply) => ({ item: 'closing time', quantity: 0, reply }), { timeout: 10_000 });
  const code = await exited;
  console.log(`part 3: asked the price list to close; it stopped and its thread exited (code ${code})`);
  let gone = '';
  let handedBack = '';
  try {
    await call(requests, (reply) => ({ item: 'apple', quantity: 1, reply }), { timeout: 10_000 });
  } catch (e) {
    if (!(e instanceof ActorGoneError)) throw e;
    gone = e.kind;
    handedBack = (e.value as PriceRequest | undefined)?.item ?? '';
  }
  requests.close();
  console.log(`part 3: a later call fails at once: ActorGoneError (${gone}), request for '${handedBack}' handed back`);

  const expected = [120, 500, 725, 400];
  const got = [byHand.cents, ...quotes.map((q) => q.cents)];
  const remote = [byHand, ...quotes].every((q) => q.thread === workerThread && q.thread !== threadId);
  if (JSON.stringify(got) !== JSON.stringify(expected) || !remote || code !== 0 || gone !== 'undelivered' || handedBack !== 'apple') {
    throw new Error(`check failed: ${JSON.stringify({ got, expected, remote, code, gone, handedBack })}`);
  }
  console.log(`check: ok — ${got.length} answers, all right, all computed on the worker thread`);
}
