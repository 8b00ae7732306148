/**
 * Example 6 (article 001, "Still communicating by moving senders"): a
 * component that owns a worker pool and gets the results back on a second
 * receiver that is part of its select.
 *
 * The component is a prime counter. Its first input is a channel of ranges
 * to count; its second input is a worker pool (this same file is the
 * pool's task module: its default export runs on the worker threads). A
 * range received is handed to the pool with `submit`; a result arrives as a
 * message on the pool input, in the same loop, so the component's state is
 * only ever touched by its own loop. `accepts` keeps at most four ranges in
 * flight: the rest wait in the channel (backpressure to the sender).
 *
 * When every range Sender is closed, the component waits for what the pool
 * still has pending, then stops; its cleanup closes the pool it owns.
 *
 * Run: `node dist/examples/pool-component.js`
 */
import { isMainThread, threadId } from 'node:worker_threads';
import { bounded, pool, spawn, type TaskContext } from 'weft';

interface Range {
  readonly from: number;
  readonly to: number; // exclusive
}

interface Count extends Range {
  readonly primes: number;
  readonly thread: number;
}

function countPrimes({ from, to }: Range): number {
  let n = 0;
  for (let x = Math.max(2, from); x < to; x++) {
    let prime = true;
    for (let d = 2; d * d <= x; d++) if (x % d === 0) { prime = false; break; }
    if (prime) n++;
  }
  return n;
}

/** The pool's task: runs on a worker thread. */
export default function countRange(range: Range, _ctx: TaskContext): Count {
  return { ...range, primes: countPrimes(range), thread: threadId };
}

const RANGES = 24;
const WIDTH = 20_000;
const MAX_IN_FLIGHT = 4;

if (isMainThread) {
  const [ranges, rangesRx] = bounded<Range>(2);
  const counters = pool<Range, Count>(new URL(import.meta.url), { threads: 2 });

  const counter = spawn(
    {
      init: () => ({ total: 0, counted: 0, maxInFlight: 0, threads: new Set<number>() }),
      accepts: (input, _s, ctx) => input !== 'ranges' || ctx.inputs.counting.pending < MAX_IN_FLIGHT,
      async handle(s, msg, ctx) {
        switch (msg.input) {
          case 'ranges':
            await ctx.inputs.counting.submit(msg.value); // its result comes back on 'counting'
            s.maxInFlight = Math.max(s.maxInFlight, ctx.inputs.counting.pending);
            return;
          case 'counting': {
            const r = msg.value;
            if (!r.ok) throw r.error;
            s.total += r.value.primes;
            s.counted++;
            s.threads.add(r.value.thread);
            return;
          }
        }
      },
      async cleanup(s, stop) {
        await counters.close(); // the component owns the pool: its threads end with it
        return { reason: stop.reason, total: s.total, counted: s.counted, maxInFlight: s.maxInFlight, threads: s.threads.size };
      },
    },
    { inputs: { ranges: rangesRx, counting: counters }, name: 'prime-counter' },
  );

  for (let i = 0; i < RANGES; i++) await ranges.send({ from: i * WIDTH, to: (i + 1) * WIDTH });
  ranges.close(); // the only shutdown signal
  console.log(`main: sent ${RANGES} ranges of ${WIDTH} numbers, closed the channel`);

  const { result: r } = await counter.done;
  console.log(`prime-counter: stopped (${r.reason}) after ${r.counted} results from ${r.threads} worker thread(s)`);
  console.log(`prime-counter: at most ${r.maxInFlight} ranges in flight in the pool`);
  console.log(`prime-counter: ${r.total} primes below ${RANGES * WIDTH}`);

  const expected = countPrimes({ from: 0, to: RANGES * WIDTH }); // the same count, on this thread
  if (r.reason !== 'disconnected' || r.counted !== RANGES || r.total !== expected || r.maxInFlight > MAX_IN_FLIGHT) {
    throw new Error(`check failed: ${JSON.stringify({ ...r, expected })}`);
  }
  console.log(`check: ok — every range counted once, the total matches a count on the main thread (${expected})`);
}
