/**
 * The workers process: a pool of worker components, each running its own
 * loop over a local channel, fed by a dispatcher that fans the remote `jobs`
 * out to them — article 000's "queue of worker Senders": take the first
 * worker, send, put it at the back. Every worker shares a clone of the
 * remote `results` Sender (fan-in towards the consumer) and closes it when
 * its own input ends; the dispatcher closes the workers' inputs when `jobs`
 * ends.
 */
import { bounded, type Receiver, type Sender } from 'weft';
import { link, names, ready, sleep, type Job, type StepDone } from './shared.js';

const run = process.env.RUN ?? 'demo';
const POOL = Number(process.env.POOL ?? 3);

async function worker(id: string, input: Receiver<Job>, results: Sender<StepDone>): Promise<void> {
  using out = results; // closed when this worker's loop ends
  for await (const job of input) {
    await sleep(2 + ((job.workflow * 7 + job.step) % 5)); // "work"
    await out.send({ workflow: job.workflow, step: job.step, worker: id, result: job.workflow * 100 + job.step });
  }
  input.close();
}

const nats = await link();
const { jobs: jobsName, results: resultsName } = names(run);
const jobs = await nats.receiver<Job>(jobsName);
const results = await nats.sender<StepDone>(resultsName);
ready();

// the pool: one local bounded channel per worker; the dispatcher keeps their Senders in a queue
const queue: Sender<Job>[] = [];
const running: Promise<void>[] = [];
for (let i = 0; i < POOL; i++) {
  const [tx, rx] = bounded<Job>(4);
  queue.push(tx);
  running.push(worker(`${process.pid}/w${i}`, rx, results.clone()));
}
results.close(); // the workers hold the clones

let dispatched = 0;
for await (const job of jobs) {
  const next = queue.shift()!;
  await next.send(job);
  queue.push(next);
  dispatched++;
}
jobs.close();
for (const tx of queue) tx.close(); // the workers' loops end after their last job
await Promise.all(running);
await nats.close();
console.log(`workers: ${POOL} workers executed ${dispatched} steps`);
