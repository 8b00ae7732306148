/**
 * Example 1 (article 000, "Communicate by sharing your Sender"): the
 * fan-out / fan-in workflow, on worker threads.
 *
 *   producer ─→ main ─→ executors (3 threads) ─→ consumer ─→ main
 *
 * 1. A producer thread sends work to the main thread.
 * 2. Main distributes it among a pool of executors. It holds no shared
 *    receiver: each executor makes its own channel and shares the Sender
 *    half with main (sent inside a message), so the pool is a queue of
 *    Senders — take one from the front, send, put it at the back.
 * 3. Executors do the work and send results on clones of one Sender.
 * 4. The consumer owns the single Receiver of results (fan-in) and keeps
 *    track of the work done; at the end it signals main on a Sender main
 *    shared with it.
 * 5. Main, told all is done, sends each executor a quit message.
 *
 * Every thread is this same file, started with `spawnWorker` and a role.
 * Run: `node dist/examples/fan-out-fan-in.js`
 */
import { isMainThread, threadId, workerData, type Worker } from 'node:worker_threads';
import { never, RecvError, select, sharedUnbounded, spawnWorker, workerHandles, type HandleMap, type Receiver, type Sender } from 'weft';

type Work = { readonly type: 'work'; readonly n: number } | { readonly type: 'quit' };
interface Result { readonly n: number; readonly square: number; readonly executor: number }
interface Registration { readonly id: number; readonly work: Sender<Work> }
interface Summary { count: number; sum: number; readonly seen: number[]; readonly perExecutor: number[] }

const ITEMS = 30;
const EXECUTORS = 3;
const role = isMainThread ? 'main' : (workerData as { role: string; id: number }).role;

/** A blocking receive that says "the channel ended" with `undefined`. */
function next<T>(rx: Receiver<T>): T | undefined {
  try {
    return rx.recvSync();
  } catch (e) {
    if (e instanceof RecvError) return undefined;
    throw e;
  }
}

if (role === 'producer') {
  const { work } = workerHandles<{ work: Sender<number> }>();
  for (let n = 1; n <= ITEMS; n++) work.sendSync(n);
  work.close(); // main sees the end of the work
} else if (role === 'executor') {
  const id = (workerData as { id: number }).id;
  const { register, results } = workerHandles<{ register: Sender<Registration>; results: Sender<Result> }>();
  const [workTx, workRx] = sharedUnbounded<Work>(); // its own channel: main gets the Sender half
  register.sendSync({ id, work: workTx });
  register.close();
  for (let msg = next(workRx); msg !== undefined && msg.type !== 'quit'; msg = next(workRx)) {
    results.sendSync({ n: msg.n, square: msg.n * msg.n, executor: id });
  }
  workRx.close();
  results.close(); // once every executor did, the consumer's loop ends
} else if (role === 'consumer') {
  const { results, done } = workerHandles<{ results: Receiver<Result>; done: Sender<Summary> }>();
  const s: Summary = { count: 0, sum: 0, seen: [], perExecutor: Array<number>(EXECUTORS).fill(0) };
  for (let r = next(results); r !== undefined; r = next(results)) {
    s.count++;
    s.sum += r.square;
    s.seen.push(r.n);
    s.perExecutor[r.executor]!++;
    if (s.count === ITEMS) done.sendSync(s); // the end: tell main
  }
  done.close();
  results.close();
} else {
  const exits: Promise<number>[] = [];
  const start = (handles: HandleMap, data: { role: string; id?: number }): void => {
    const w: Worker = spawnWorker(new URL(import.meta.url), { handles, workerData: data });
    exits.push(new Promise((resolve) => w.once('exit', resolve)));
  };

  const [work, workRx] = sharedUnbounded<number>();
  const [register, registrations] = sharedUnbounded<Registration>();
  const [results, resultsRx] = sharedUnbounded<Result>();
  const [done, doneRx] = sharedUnbounded<Summary>();
  start({ results: resultsRx, done }, { role: 'consumer' });
  for (let id = 0; id < EXECUTORS; id++) start({ register: register.clone(), results: results.clone() }, { role: 'executor', id });
  register.close();
  results.close(); // main keeps none: only the executors hold result Senders

  // The pool: a queue of the Senders the executors shared.
  const executors: Sender<Work>[] = [];
  for await (const r of registrations) executors[r.id] = r.work; // ends when the executors closed theirs
  console.log(`main (thread ${threadId}): ${executors.length} executors registered their Senders`);
  start({ work }, { role: 'producer' });

  // Receive work, or the consumer's signal.
  const queue = [...executors];
  let dispatched = 0;
  let summary: Summary | undefined;
  let input: Receiver<number> = workRx;
  let signal: Receiver<Summary> = doneRx;
  while (summary === undefined || input === workRx) {
    const r = await select({ work: input, done: signal });
    if (r.case === 'done') {
      if (!r.ok) throw new Error('the consumer ended without signalling');
      summary = r.value;
      signal = never<Summary>(); // one signal is all it sends
    } else if (r.ok) {
      const executor = queue.shift()!;
      await executor.send({ type: 'work', n: r.value });
      queue.push(executor);
      dispatched++;
    } else {
      console.log(`main: the producer is done; ${dispatched} items dispatched round-robin`);
      input = never<number>(); // that case is off from now on
    }
  }
  console.log(`main: the consumer signalled all done: ${summary.count} results, sum of squares ${summary.sum}`);
  for (const e of executors) {
    await e.send({ type: 'quit' });
    e.close();
  }
  doneRx.close();
  workRx.close();
  const codes = await Promise.all(exits);
  console.log(`main: sent quit to every executor; ${codes.length} threads exited`);
  console.log(`main: results per executor: ${summary.perExecutor.join(', ')}`);

  const expectedSum = (ITEMS * (ITEMS + 1) * (2 * ITEMS + 1)) / 6;
  const everyOnce = [...summary.seen].sort((a, b) => a - b).every((n, i) => n === i + 1);
  const roundRobin = summary.perExecutor.every((c) => c === ITEMS / EXECUTORS);
  if (summary.count !== ITEMS || summary.sum !== expectedSum || !everyOnce || !roundRobin || codes.some((c) => c !== 0)) {
    throw new Error(`check failed: ${JSON.stringify({ summary, expectedSum, codes })}`);
  }
  console.log(`check: ok — ${ITEMS} items, each done once, ${ITEMS / EXECUTORS} per executor, every thread exited cleanly`);
}
