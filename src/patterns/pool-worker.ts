/**
 * The worker side of a pool: the entry each pool thread runs. It loads the
 * task module, then loops: take the next task from its own queue, run the
 * task function, send the result on the pool's shared results channel.
 *
 * One task at a time, in queue order: the pool relies on it to know which
 * task a worker is running (the oldest it has not answered).
 *
 * @internal
 */
import { receiveMessageOnPort, workerData, type MessagePort, type TransferListItem } from 'node:worker_threads';
import type { Receiver } from '../channel/receiver.js';
import type { Sender } from '../channel/sender.js';
import { InvalidValueError, RecvError, TryRecvError } from '../channel/errors.js';
import { workerHandles } from '../shared/index.js';
import { C_OFF, C_ON, C_READY, P_STARTED, R_MOVED, R_OK, R_SKIPPED, R_THREW, isMoved, toWire, type ControlMsg, type ResultMsg, type TaskMsg } from './pool-wire.js';
import type { PoolComponent, PoolJob, TaskContext, TaskFn } from './pool.js';
import { bounded } from '../channel/channels.js';
import { isComponentBody, spawn } from './component.js';
import type { MonitorToken } from '../monitor/index.js';
import { joinMonitorOf, loopHooks } from './watch.js';

interface Data {
  readonly module: string;
  readonly name: string;
  /** `'stage'`: call the function as a pipeline stage, `fn(input, signal)`. */
  readonly call: 'task' | 'stage';
  readonly slot: number;
  readonly port: MessagePort;
  /** [P_STARTED]: the id of the task this worker started last (read by the pool after a crash). */
  readonly progress: Int32Array;
  /** A hang monitor to report to. */
  readonly monitor?: MonitorToken;
  readonly hangTimeouts?: { readonly transientMs: number; readonly permanentMs: number };
}

const data = workerData as Data;
const { tasks, results, control, cancel } = workerHandles<{
  tasks: Receiver<TaskMsg>;
  results: Sender<ResultMsg>;
  control: Sender<ControlMsg>;
  cancel: Receiver<number>;
}>();
const slot = data.slot;
const port = data.port;
const progress = data.progress;

const mod = (await import(data.module)) as Record<string, unknown>;
const found = mod[data.name];
/** A component with its own loop over the tasks, instead of a function. */
const body = isComponentBody(found) ? (found as unknown as PoolComponent<unknown, unknown, unknown>) : undefined;
if (typeof found !== 'function' && body === undefined) {
  throw new TypeError(
    `pool: the task module ${data.module} has no exported function named "${data.name}" ` +
      `(export one, e.g. \`export default function task(input) { ... }\`, or a component body with a handle function, ` +
      `or pass its name as the pool's \`name\` option)`,
  );
}
const fn = found as TaskFn<unknown, unknown>;
const asStage = data.call === 'stage';
/** A pipeline stage's function: the item and a signal. */
type StageCall = (input: unknown, signal: AbortSignal) => unknown;

// Hang monitoring: activity while a task runs, waiting while the queue is empty.
const member = await joinMonitorOf(data);
const loopName = `${data.name === 'default' ? 'pool' : data.name} worker ${slot}`;
// A component reports to the monitor by itself, under the same name.
const hooks = body === undefined ? loopHooks(loopName) : undefined;

/** Ids of queued tasks the pool cancelled: skipped when they come up. */
const skip = new Set<number>();
let current: Context | undefined;

class Context implements TaskContext {
  private ac: AbortController | undefined;
  private aborted = false;
  constructor(readonly id: number) {}
  get workerId(): number {
    return slot;
  }
  get signal(): AbortSignal {
    if (this.ac === undefined) {
      this.ac = new AbortController();
      if (this.aborted) this.ac.abort(cancelled());
    }
    return this.ac.signal;
  }
  abort(): void {
    if (this.aborted) return;
    this.aborted = true;
    this.ac?.abort(cancelled());
  }
  takeOff(): void {
    takeOff();
  }
  putBack(): void {
    putBack();
  }
}

function cancelled(): Error {
  const e = new Error('the pool cancelled this task (its caller aborted)');
  e.name = 'AbortError';
  return e;
}

function takeOff(): void {
  if (!control.isClosed) control.offer([slot, C_OFF]);
}

function putBack(): void {
  if (!control.isClosed) control.offer([slot, C_ON]);
}

function noteCancel(id: number): void {
  const job = current !== undefined && current.id === id ? current : live.get(id);
  if (job !== undefined) job.abort();
  else skip.add(id);
}

function drainCancels(): void {
  for (let id = cancel.poll(-1); id !== -1; id = cancel.poll(-1)) noteCancel(id);
}

/**
 * The input of task `id`, moved through the port (posted before the task
 * was queued). Older messages on the port belong to tasks that never got
 * queued: dropped.
 */
function takeFromPort(id: number): unknown {
  for (let i = 0; ; i++) {
    const m = receiveMessageOnPort(port) as { message: { id: number; input: unknown } } | undefined;
    if (m !== undefined) {
      if (m.message.id === id) return m.message.input;
      continue;
    }
    if (i > 1000) Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, 1); // not expected: posted first
  }
}

/** Hears the pool's cancellations as they come, until `signal` aborts (or the pool closes the channel). */
async function listenForCancels(signal: AbortSignal): Promise<void> {
  for (;;) {
    let id: number;
    try {
      id = await cancel.recv({ signal });
    } catch {
      return;
    }
    noteCancel(id);
  }
}

/** Waits for an async task while listening for its cancellation. */
async function watch(p: PromiseLike<unknown>): Promise<unknown> {
  const stop = new AbortController();
  void listenForCancels(stop.signal);
  try {
    return await p;
  } finally {
    stop.abort();
  }
}

/**
 * Sends the answer of task `id` to the pool at once, one result per message:
 * a result held back to batch would be late behind a long next task, and
 * lost if that task crashed the thread — its caller would see a crash for a
 * task that succeeded.
 */
function reply(id: number, status: number, value: unknown): void {
  if (status === R_OK && isMoved(value)) {
    // The port is read in the same order as the results: post now, answer in order.
    port.postMessage(value.value, value.transfer as TransferListItem[]);
    results.sendSync([slot, id, R_MOVED, undefined]);
    return;
  }
  try {
    results.sendSync([slot, id, status, value]);
  } catch (e) {
    if (!(e instanceof InvalidValueError)) throw e;
    // It cannot cross threads: the task fails with why.
    const why = new TypeError(`pool: the task's ${status === R_OK ? 'result' : 'error'} cannot be sent back to the pool: ${e.message}`);
    results.sendSync([slot, id, R_THREW, toWire(why)]);
  }
}

/** Runs one task; returns a promise only when the task is async (sync tasks never yield). */
function runOne(id: number, input: unknown): Promise<void> | undefined {
  const ctx = new Context(id);
  current = ctx;
  let value: unknown;
  try {
    value = asStage ? (fn as unknown as StageCall)(input, ctx.signal) : fn(input, ctx);
  } catch (e) {
    current = undefined;
    reply(id, R_THREW, toWire(e));
    return undefined;
  }
  if (typeof value === 'object' && value !== null && typeof (value as PromiseLike<unknown>).then === 'function') {
    return finishAsync(id, value as PromiseLike<unknown>);
  }
  current = undefined;
  reply(id, R_OK, value);
  return undefined;
}

async function finishAsync(id: number, p: PromiseLike<unknown>): Promise<void> {
  let status = R_OK;
  let value: unknown;
  try {
    value = await watch(p);
  } catch (e) {
    status = R_THREW;
    value = toWire(e);
  }
  current = undefined;
  reply(id, status, value);
}

/** Skips a task the pool cancelled before it started. */
function skipped(id: number): boolean {
  if (skip.size === 0) return false;
  const yes = skip.has(id);
  for (const s of skip) if (s <= id) skip.delete(s);
  return yes;
}

/**
 * Takes the pool's tasks, a message (one task or a batch) at a time, and
 * hands each to `run` (awaiting it when it returns a promise), after the
 * steps every task goes through: pending cancellations are recorded, the
 * task is marked started (progress word), and one cancelled before it
 * started is answered as skipped instead. Returns true when the pool closed
 * (every Sender closed and the queue drained), false when `stop` aborted;
 * `stop` is checked before each task is marked started, so a task this
 * thread never marked goes to another worker.
 */
async function intake(run: (id: number, input: unknown) => Promise<void> | undefined, stop?: AbortSignal): Promise<boolean> {
  control.offer([slot, C_READY]);
  for (;;) {
    let t: TaskMsg | undefined;
    try {
      t = tasks.poll(undefined);
      if (t === undefined) {
        hooks?.onWait();
        t = await tasks.recv(stop === undefined ? undefined : { signal: stop });
      }
      hooks?.onActivity('task');
    } catch (e) {
      if (e instanceof RecvError || (e instanceof TryRecvError && e.kind === 'disconnected')) return true;
      if (stop?.aborted) return false;
      throw e;
    }
    const moved = t.length === 1; // one task whose input was moved through the port
    for (let i = 0; i < t.length; i += 2) {
      if (stop?.aborted) return false;
      const id = t[i] as number;
      if (!cancel.isEmpty) drainCancels();
      const input = moved ? takeFromPort(id) : t[i + 1];
      Atomics.store(progress, P_STARTED, id);
      if (skipped(id)) reply(id, R_SKIPPED, undefined);
      else {
        const p = run(id, input);
        if (p !== undefined) await p;
      }
    }
  }
}

async function loop(): Promise<void> {
  await intake(runOne);
  hooks?.detach();
  member?.leave();
}

// ---------------------------------------------------------------------------
// A component as the worker's code
// ---------------------------------------------------------------------------

/** Tasks handed to the component and not answered yet, by id. */
const live = new Map<number, Job>();

/** One task as the component sees it: its input, a signal, and how to answer. */
class Job extends Context implements PoolJob<unknown, unknown> {
  private answered = false;
  constructor(
    id: number,
    readonly input: unknown,
  ) {
    super(id);
  }
  resolve(value: unknown): boolean {
    return this.answer(R_OK, value);
  }
  reject(error: unknown): boolean {
    return this.answer(R_THREW, error);
  }
  private answer(status: number, value: unknown): boolean {
    if (this.answered) return false;
    this.answered = true;
    live.delete(this.id);
    reply(this.id, status, status === R_THREW ? toWire(value) : value);
    return true;
  }
}

/**
 * Feeds the tasks to a component, one message each, over a rendezvous
 * channel: a task counts as started (progress word) just before the
 * component is offered it, so after a crash no task runs twice. The
 * component answers each task when it likes, in any order.
 */
async function componentLoop(b: PoolComponent<unknown, unknown, unknown>): Promise<void> {
  const [jobsTx, jobs] = bounded<PoolJob<unknown, unknown>>(0);
  const c = spawn(b, { inputs: { tasks: jobs }, name: loopName });
  let poolClosing = false;
  const stopCancels = new AbortController();
  void listenForCancels(stopCancels.signal);
  const over = new AbortController(); // the component ended: stop taking tasks
  /** Offers a task to the component; a refusal means it ended (its jobs are answered below). */
  const offer = async (id: number, input: unknown): Promise<void> => {
    const job = new Job(id, input);
    live.set(id, job);
    try {
      await jobsTx.send(job);
    } catch {
      over.abort();
    }
  };
  const fed = intake(offer, over.signal)
    .then((closed) => {
      poolClosing = closed;
    })
    .finally(() => jobsTx.close());
  let ended: unknown;
  let failed = false;
  try {
    const exit = await c.done;
    ended = `it stopped (${exit.reason})`;
  } catch (e) {
    [failed, ended] = [true, e];
  }
  over.abort();
  stopCancels.abort();
  await fed;
  const how = failed ? `it threw${ended instanceof Error ? `: ${ended.message}` : ''}` : String(ended);
  for (const job of [...live.values()]) {
    const why = new Error(`pool: the worker's component ended before answering this task: ${how}`);
    job.reject(failed ? Object.assign(why, { cause: ended }) : why);
  }
  member?.leave();
  // Ended while the pool still runs: this thread is done for; the pool starts another.
  if (!poolClosing) throw failed ? ended : new Error(`pool: the worker's component ended while the pool was open (${String(ended)})`);
}

await (body === undefined ? loop() : componentLoop(body));
tasks.close();
cancel.close();
results.close();
control.close();
port.close();
