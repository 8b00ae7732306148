/**
 * Example 11 (article 003, "Channels - Message Passing"): producer and
 * consumer with a condition variable, versus with a channel.
 *
 * In one event loop there is no mutex to take (code between two `await`s
 * already runs alone), but the rest of the article's shared-state version
 * carries over as it is: a shared queue, a condition to wait on, and the
 * "check, wait, check again" loop. `Condition` below is the smallest such
 * thing (a list of parked waiters, `notifyOne`, `notifyAll`).
 *
 * Round 1 is the article's program: one producer, five items. The
 * shared-state consumer has to know that five items will come, because a
 * queue has no notion of "no more". The channel's consumer just loops until
 * the channel ends.
 *
 * Round 2 asks for what production code needs: three producers, a bound of
 * two items in flight (backpressure), and an end. The shared-state version
 * grows a second condition ("not full"), a count of live producers and the
 * wake-up rules between them — it becomes a hand-made channel. The channel
 * version changes one line (`bounded(2)`) and clones its Sender.
 *
 * Run: `node dist/examples/condvar-vs-channel.js`
 */
import { bounded, unbounded, type Sender } from 'weft';

/** A condition variable for one event loop: `wait()` parks until a notify. */
class Condition {
  private readonly waiters: Array<() => void> = [];
  wait(): Promise<void> {
    return new Promise((resolve) => this.waiters.push(resolve));
  }
  notifyOne(): void {
    this.waiters.shift()?.();
  }
  notifyAll(): void {
    for (const wake of this.waiters.splice(0)) wake();
  }
}

const yieldTurn = (): Promise<void> => new Promise((resolve) => setImmediate(resolve));

// ---------------------------------------------------------------- round 1

async function round1SharedState(): Promise<string[]> {
  const queue: string[] = [];
  const cvar = new Condition();
  void (async () => {
    for (let i = 0; i < 5; i++) {
      queue.push(`item ${i}`);
      cvar.notifyOne();
      await yieldTurn();
    }
  })();
  const got: string[] = [];
  for (let n = 0; n < 5; n++) { // the consumer must know the count
    while (queue.length === 0) await cvar.wait(); // check, wait, check again
    got.push(queue.shift()!);
  }
  return got;
}

async function round1Channel(): Promise<string[]> {
  const [tx, rx] = unbounded<string>();
  void (async () => {
    using out = tx; // closing it is the end of the stream
    for (let i = 0; i < 5; i++) {
      out.trySend(`item ${i}`);
      await yieldTurn();
    }
  })();
  const got: string[] = [];
  for await (const msg of rx) got.push(msg); // no count, no condition: ends when the Sender closes
  return got;
}

// ---------------------------------------------------------------- round 2

const PRODUCERS = 3;
const PER_PRODUCER = 4;
const BOUND = 2;

async function round2SharedState(): Promise<{ got: string[]; maxQueued: number }> {
  const queue: string[] = [];
  const notEmpty = new Condition();
  const notFull = new Condition();
  let producersLeft = PRODUCERS; // the end of the stream, tracked by hand
  let maxQueued = 0;

  const producer = async (id: number): Promise<void> => {
    for (let i = 0; i < PER_PRODUCER; i++) {
      while (queue.length >= BOUND) await notFull.wait();
      queue.push(`p${id}:${i}`);
      maxQueued = Math.max(maxQueued, queue.length);
      notEmpty.notifyOne();
      await yieldTurn();
    }
    if (--producersLeft === 0) notEmpty.notifyAll(); // forget this and the consumer waits forever
  };
  const producers = Array.from({ length: PRODUCERS }, (_, id) => producer(id));

  const got: string[] = [];
  for (;;) {
    while (queue.length === 0 && producersLeft > 0) await notEmpty.wait();
    if (queue.length === 0) break; // empty and nobody left to produce
    got.push(queue.shift()!);
    notFull.notifyOne(); // forget this and a producer waits forever
  }
  await Promise.all(producers);
  return { got, maxQueued };
}

async function round2Channel(): Promise<{ got: string[]; maxQueued: number }> {
  const [tx, rx] = bounded<string>(BOUND); // the bound is the backpressure
  let maxQueued = 0;
  const producer = async (id: number, mine: Sender<string>): Promise<void> => {
    using out = mine;
    for (let i = 0; i < PER_PRODUCER; i++) {
      await out.send(`p${id}:${i}`); // waits while the channel is full
      maxQueued = Math.max(maxQueued, rx.len);
      await yieldTurn();
    }
  };
  const producers = Array.from({ length: PRODUCERS }, (_, id) => producer(id, tx.clone()));
  tx.close();

  const got: string[] = [];
  for await (const msg of rx) got.push(msg); // ends when the last producer's Sender closes
  await Promise.all(producers);
  return { got, maxQueued };
}

// ---------------------------------------------------------------- run and check

function inOrderPerProducer(got: string[]): boolean {
  const next = new Array<number>(PRODUCERS).fill(0);
  for (const item of got) {
    const [, p, i] = /^p(\d+):(\d+)$/.exec(item)!;
    if (Number(i) !== next[Number(p)]) return false;
    next[Number(p)]!++;
  }
  return next.every((n) => n === PER_PRODUCER);
}

console.log('round 1: one producer, five items');
const a = await round1SharedState();
console.log(`  queue + condition: ${a.join(', ')}`);
const b = await round1Channel();
console.log(`  channel:           ${b.join(', ')}`);

console.log(`round 2: ${PRODUCERS} producers, at most ${BOUND} items queued, and an end`);
const c = await round2SharedState();
console.log(`  queue + 2 conditions + a producer count: ${c.got.length} items, at most ${c.maxQueued} queued`);
const d = await round2Channel();
console.log(`  bounded(${BOUND}) channel, cloned Senders:  ${d.got.length} items, at most ${d.maxQueued} queued`);

const five = Array.from({ length: 5 }, (_, i) => `item ${i}`);
const ok =
  JSON.stringify(a) === JSON.stringify(five) && JSON.stringify(b) === JSON.stringify(five) &&
  inOrderPerProducer(c.got) && inOrderPerProducer(d.got) &&
  c.maxQueued <= BOUND && d.maxQueued <= BOUND;
if (!ok) throw new Error(`check failed: ${JSON.stringify({ a, b, c, d })}`);
console.log(`check: ok — same items both ways, in order per producer, never more than ${BOUND} queued; the channel needed no condition and no count`);
