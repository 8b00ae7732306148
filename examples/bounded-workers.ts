/**
 * Example 2 (article 000, "Your workers might not have unlimited memory"):
 * bounded workers on worker threads.
 *
 * Each worker thread owns the Receiver of its own bounded shared channel
 * (two jobs deep); main holds their Senders. Main never blocks on one full
 * worker: it try-sends to each worker in turn, starting after the last one
 * it used, and only when every worker on duty is full does it wait — for a
 * result (a worker made room) or a control message.
 *
 * The control channel: main shares one Sender, and each worker wraps its
 * clone together with its id (the article's `ExecutorControlChan`), so a
 * worker just sends "take me off" or "put me back" and main receives the
 * message with the worker's id. Each worker puts itself on duty when it
 * starts; main dispatches once all are. Worker 1 asks to be taken off after
 * its first job, rebuilds a cache for a moment (its thread blocks), then
 * asks to be put back; main gives it nothing new in between.
 *
 * Every thread is this same file, started with `spawnWorker`.
 * Run: `node dist/examples/bounded-workers.js`
 */
import { isMainThread, workerData } from 'node:worker_threads';
import { never, RecvError, select, sharedBounded, sharedUnbounded, spawnWorker, workerHandles, type Receiver, type Sender } from 'weft';

interface Result { readonly job: number; readonly worker: number }
type Control = 'take-off' | 'put-back';
interface ControlMessage { readonly id: number; readonly msg: Control }

const WORKERS = 3;
const JOBS = 60;
const CAPACITY = 2;
const RESTING = 1; // the worker that asks to be taken off

const sleep = (ms: number): void => void Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, ms);

/** A control Sender tagged with the worker's id: the worker sends a message, main gets both. */
class WorkerControlChan {
  constructor(private readonly id: number, private readonly tx: Sender<ControlMessage>) {}
  send(msg: Control): void {
    this.tx.sendSync({ id: this.id, msg });
  }
  close(): void {
    this.tx.close();
  }
}

if (!isMainThread) {
  const id = workerData as number;
  const { jobs, results, control } = workerHandles<{ jobs: Receiver<number>; results: Sender<Result>; control: Sender<ControlMessage> }>();
  const chan = new WorkerControlChan(id, control);
  chan.send('put-back'); // ready: put me on duty
  let done = 0;
  for (;;) {
    let job: number;
    try {
      job = jobs.recvSync();
    } catch (e) {
      if (e instanceof RecvError) break; // main closed our Sender: no more work
      throw e;
    }
    sleep(2); // the work
    results.sendSync({ job, worker: id });
    if (id === RESTING && ++done === 1) {
      chan.send('take-off');
      sleep(30); // rebuilding a cache: whatever is queued to us waits
      chan.send('put-back');
    }
  }
  chan.close();
  results.close();
} else {
  const [controlTx, controlRx] = sharedUnbounded<ControlMessage>();
  const [resultsTx, resultsRx] = sharedUnbounded<Result>();
  const workers: Sender<number>[] = [];
  for (let id = 0; id < WORKERS; id++) {
    const [tx, rx] = sharedBounded<number>(CAPACITY);
    spawnWorker(new URL(import.meta.url), { workerData: id, handles: { jobs: rx, results: resultsTx.clone(), control: controlTx.clone() } });
    workers.push(tx);
  }
  controlTx.close();
  resultsTx.close();

  const onDuty = Array<boolean>(WORKERS).fill(false); // until each says it is ready
  const log: string[] = []; // what main did, in order: 'job:<worker>', 'take-off:<id>', 'put-back:<id>'
  const doneBy = new Map<number, number>();
  let waits = 0;
  const onControl = ({ id, msg }: ControlMessage): void => {
    onDuty[id] = msg === 'put-back';
    log.push(`${msg}:${id}`);
    console.log(`main: worker ${id} asked to be ${msg === 'take-off' ? 'taken off' : 'put back'} (${log.filter((l) => l.startsWith('job')).length} jobs dispatched so far)`);
  };
  const onResult = (r: Result): void => void doneBy.set(r.job, r.worker);
  for await (const m of controlRx) {
    onDuty[m.id] = true;
    if (onDuty.every(Boolean)) break;
  }
  console.log(`main: all ${WORKERS} workers put themselves on duty`);

  let next = 0; // where the cycling starts
  for (let job = 0; job < JOBS; job++) {
    for (;;) {
      for (let m = controlRx.poll(undefined); m !== undefined; m = controlRx.poll(undefined)) onControl(m);
      let sentTo = -1;
      for (let k = 0; k < WORKERS && sentTo < 0; k++) {
        const w = (next + k) % WORKERS;
        if (onDuty[w] && workers[w]!.offer(job)) sentTo = w; // try-send: never blocks
      }
      if (sentTo >= 0) {
        log.push(`job:${sentTo}`);
        next = (sentTo + 1) % WORKERS;
        break;
      }
      waits++; // every worker on duty is full: wait for room or a control message
      const r = await select({ result: resultsRx, control: controlRx });
      if (!r.ok) throw new Error(`the ${r.case} channel ended early`);
      if (r.case === 'result') onResult(r.value);
      else onControl(r.value);
    }
  }
  for (const w of workers) w.close(); // the workers end once their queue is drained
  console.log(`main: dispatched ${JOBS} jobs; every worker on duty was full ${waits} time(s), and main waited`);

  let results: Receiver<Result> = resultsRx;
  let control: Receiver<ControlMessage> = controlRx;
  while (results === resultsRx || control === controlRx) {
    const r = await select({ result: results, control });
    if (r.case === 'result') r.ok ? onResult(r.value) : (results = never());
    else r.ok ? onControl(r.value) : (control = never());
  }
  resultsRx.close();
  controlRx.close();

  const off = log.indexOf(`take-off:${RESTING}`);
  const back = log.indexOf(`put-back:${RESTING}`);
  const whileOff = off < 0 ? -1 : log.slice(off, back < 0 ? undefined : back).filter((l) => l === `job:${RESTING}`).length;
  const perWorker = Array.from({ length: WORKERS }, (_, w) => [...doneBy.values()].filter((x) => x === w).length);
  const afterBack = back < 0 ? 0 : log.slice(back).filter((l) => l === `job:${RESTING}`).length;
  console.log(`main: results per worker: ${perWorker.join(', ')}; worker ${RESTING} got ${whileOff} jobs while off, ${afterBack} after it was put back`);
  if (doneBy.size !== JOBS || off < 0 || back < off || whileOff !== 0 || perWorker.some((n) => n === 0)) {
    throw new Error(`check failed: ${JSON.stringify({ done: doneBy.size, log, perWorker })}`);
  }
  console.log(`check: ok — ${JOBS} jobs done once each, worker ${RESTING} taken off and put back by its id, nothing sent to it meanwhile`);
}
