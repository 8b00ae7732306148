/**
 * Example 4 (article 000, "Communicate by sharing your Sender"): a worker's
 * run loop, and the pipeline variant that shuts down when its upstream does.
 *
 * Part 1 — the worker's "non-event-loop". Each turn the worker first takes
 * one message (a job, or a quit message), then does one step of work from a
 * local queue that only it touches (a job takes three steps), and sends
 * each finished job's result back. It stops taking jobs while its queue
 * holds four (the article's "stop receiving when you have enough work"):
 * the rest wait in the bounded channel. A quit message ends the loop
 * before the next step, so no work is ever done after it.
 *
 * Part 2 — the pipeline variant, with no quit messages at all: a source
 * feeds three components in a chain. When the source closes its Sender,
 * the first component drains its input, ends, and closes its own output;
 * the next one sees its upstream end, and so on down to the sink.
 *
 * Run: `node dist/examples/run-loop.js`
 */
import { bounded, spawn, type Receiver, type Sender } from 'weft';

// ---------------------------------------------------------------- part 1

const JOBS = 12;
const RESULTS_BEFORE_QUIT = 5;
const QUEUE_LIMIT = 4;
const PARTS = 3; // each job takes three steps

interface Job {
  readonly id: string;
  left: number; // parts still to do
}

interface WorkerState {
  queue: Job[]; // local work: no lock, only this loop touches it
  parts: number;
  done: number;
  longestQueue: number;
  quitting: boolean;
  stepsAfterQuit: number;
}

async function workerRunLoop(): Promise<void> {
  console.log(`part 1: a worker's run loop (receive one message, then one step of local work)`);
  const [jobs, jobsRx] = bounded<Job>(16);
  const [quit, quitRx] = bounded<'quit'>(1);
  // A rendezvous: a step's result is handed over only when main takes it.
  const [results, resultsOut] = bounded<string>(0);
  using resultsRx = resultsOut;

  const worker = spawn(
    {
      init: (): WorkerState => ({ queue: [], parts: 0, done: 0, longestQueue: 0, quitting: false, stepsAfterQuit: 0 }),
      // While the local queue is full, leave jobs in the channel: backpressure instead of unbounded memory.
      accepts: (input, s) => input !== 'jobs' || s.queue.length < QUEUE_LIMIT,
      handle(s, msg, ctx) {
        switch (msg.input) {
          case 'quit':
            s.quitting = true;
            return ctx.stop(); // the loop ends here: no step runs after a quit
          case 'jobs':
            s.queue.push(msg.value);
            s.longestQueue = Math.max(s.longestQueue, s.queue.length);
            return;
        }
      },
      async step(s) {
        if (s.quitting) s.stepsAfterQuit++;
        const job = s.queue[0];
        if (job === undefined) return false; // nothing to do: block for the next message
        job.left--; // one part of one job per turn
        s.parts++;
        if (job.left === 0) {
          s.queue.shift();
          s.done++;
          await results.send(`${job.id} done`);
        }
        return s.queue.length > 0; // more local work: do not block next turn
      },
      cleanup: (s, stop) => {
        results.close(); // the worker owned this Sender: main's loop over results ends
        return { reason: stop.reason, parts: s.parts, done: s.done, leftInQueue: s.queue.length, longestQueue: s.longestQueue, stepsAfterQuit: s.stepsAfterQuit };
      },
      biased: true, // quit is listed first: it wins when a job is ready too
    },
    { inputs: { quit: quitRx, jobs: jobsRx }, name: 'worker' },
  );

  for (let i = 0; i < JOBS; i++) await jobs.send({ id: `job-${i}`, left: PARTS });
  jobs.close();
  console.log(`  main: sent ${JOBS} jobs of ${PARTS} parts each`);

  const seen: string[] = [];
  for await (const r of resultsRx) {
    seen.push(r);
    console.log(`  main: ${r}`);
    if (seen.length === RESULTS_BEFORE_QUIT) {
      await quit.send('quit');
      quit.close();
      console.log(`  main: sent quit`);
    }
  }
  const exit = await worker.done;
  const r = exit.result;
  console.log(
    `  worker stopped (${r.reason}): ${r.parts} steps, ${r.done} jobs done, ${r.leftInQueue} left in its local queue, ` +
      `local queue never above ${r.longestQueue}, steps after quit: ${r.stepsAfterQuit}`,
  );

  const inOrder = seen.every((line, i) => line === `job-${i} done`);
  if (r.reason !== 'quit' || r.stepsAfterQuit !== 0 || r.done !== seen.length || !inOrder || r.longestQueue > QUEUE_LIMIT) {
    throw new Error(`part 1 check failed: ${JSON.stringify({ ...r, seen })}`);
  }
  if (r.done + r.leftInQueue >= JOBS) throw new Error('part 1 check failed: the quit arrived after all the work was done');
  console.log(`  ${JOBS - r.done - r.leftInQueue} jobs were still in the channel: dropped when the worker closed its inputs`);
  console.log(`  check: ok — results in order, quit honoured before the next step, ${JOBS - r.done} of ${JOBS} jobs not finished`);
}

// ---------------------------------------------------------------- part 2

const ITEMS = 10;

/**
 * One link of the chain: a component that maps its input into `out` and, when
 * its input ends (every Sender closed, queue drained), closes `out` so the
 * next link sees the end too.
 */
function link<A, B>(name: string, input: Receiver<A>, out: Sender<B>, f: (a: A) => B, order: string[]) {
  return spawn(
    {
      init: () => ({ handled: 0 }),
      async handle(s, msg) {
        await out.send(f(msg.value));
        s.handled++;
      },
      cleanup(s, stop) {
        out.close(); // the cascade: our end is the next component's end
        order.push(name);
        console.log(`  ${name}: upstream ended → stopped (${stop.reason}) after ${s.handled} items, closed its output`);
        return s.handled;
      },
    },
    { inputs: { input }, name },
  );
}

async function cascadingPipeline(): Promise<void> {
  console.log(`part 2: a pipeline that shuts down when its upstream does (no quit messages)`);
  const order: string[] = [];
  const [srcTx, aRx] = bounded<number>(4);
  const [aTx, bRx] = bounded<number>(4);
  const [bTx, cRx] = bounded<string>(4);
  const [cTx, sinkOut] = bounded<string>(4);
  using sinkRx = sinkOut; // the sink's own Receiver, closed when this function returns

  const parse = link('increment', aRx, aTx, (n: number) => n + 1, order);
  const square = link('square', bRx, bTx, (n: number) => `${n}²=${n * n}`, order);
  const tag = link('label', cRx, cTx, (s: string) => `[${s}]`, order);

  const source = (async () => {
    for (let i = 0; i < ITEMS; i++) await srcTx.send(i);
    srcTx.close(); // the only shutdown signal in the whole pipeline
    order.push('source');
    console.log(`  source: sent ${ITEMS} items, closed its Sender`);
  })();

  const out: string[] = [];
  for await (const line of sinkRx) out.push(line); // ends when the last link closes its output
  order.push('sink');
  console.log(`  sink: ${out.join(' ')}`);
  console.log(`  sink: its input ended → done`);

  await source;
  const exits = await Promise.all([parse.done, square.done, tag.done]);
  console.log(`  shutdown order: ${order.join(' → ')}`);

  const expected = Array.from({ length: ITEMS }, (_, i) => `[${i + 1}²=${(i + 1) * (i + 1)}]`);
  const cascaded = order.join(',') === 'source,increment,square,label,sink';
  if (JSON.stringify(out) !== JSON.stringify(expected) || !cascaded || exits.some((e) => e.reason !== 'disconnected' || e.result !== ITEMS)) {
    throw new Error(`part 2 check failed: ${JSON.stringify({ out, order, exits })}`);
  }
  console.log(`  check: ok — every item through every link, each link stopped because its upstream did`);
}

await workerRunLoop();
await cascadingPipeline();
