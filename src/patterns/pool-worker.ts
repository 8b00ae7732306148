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
import { InvalidValueError } from '../channel/errors.js';
import { workerHandles } from '../shared/index.js';
import { C_OFF, C_ON, C_READY, R_MOVED, R_OK, R_SKIPPED, R_THREW, isMoved, toWire, type ControlMsg, type ResultMsg, type TaskMsg } from './pool-wire.js';
import type { TaskContext, TaskFn } from './pool.js';

interface Data {
  readonly module: string;
  readonly name: string;
  readonly slot: number;
  readonly port: MessagePort;
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

const mod = (await import(data.module)) as Record<string, unknown>;
const found = mod[data.name];
if (typeof found !== 'function') {
  throw new TypeError(
    `pool: the task module ${data.module} has no exported function named "${data.name}" ` +
      `(export one, e.g. \`export default function task(input) { ... }\`, or pass its name as the pool's \`name\` option)`,
  );
}
const fn = found as TaskFn<unknown, unknown>;

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
  if (current !== undefined && current.id === id) current.abort();
  else skip.add(id);
}

function drainCancels(): void {
  for (let id = cancel.poll(-1); id !== -1; id = cancel.poll(-1)) noteCancel(id);
}

function clonable(v: unknown): boolean {
  try {
    structuredClone(v);
    return true;
  } catch {
    return false;
  }
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

/** Waits for an async task while listening for its cancellation. */
async function watch(p: PromiseLike<unknown>): Promise<unknown> {
  const stop = new AbortController();
  void (async () => {
    for (;;) {
      let id: number;
      try {
        id = await cancel.recv({ signal: stop.signal });
      } catch {
        return;
      }
      noteCancel(id);
    }
  })();
  try {
    return await p;
  } finally {
    stop.abort();
  }
}

function reply(id: number, status: number, value: unknown): void {
  if (status === R_OK && isMoved(value)) {
    port.postMessage(value.value, value.transfer as TransferListItem[]);
    results.sendSync([slot, id, R_MOVED]);
    return;
  }
  try {
    results.sendSync(status === R_OK && value === undefined ? [slot, id, R_OK] : [slot, id, status, value]);
  } catch (e) {
    if (!(e instanceof InvalidValueError)) throw e;
    const why = new TypeError(`pool: the task's ${status === R_OK ? 'result' : 'error'} cannot be sent back to the pool: ${e.message}`);
    results.sendSync([slot, id, R_THREW, toWire(why, clonable)]);
  }
}

const NONE: TaskMsg = [-1];

async function loop(): Promise<void> {
  control.offer([slot, C_READY]);
  for (;;) {
    let t: TaskMsg;
    try {
      t = tasks.poll(NONE);
      if (t === NONE) t = await tasks.recv();
    } catch {
      return; // every Sender closed and the queue drained: the pool is shutting down
    }
    const id = t[0];
    if (!cancel.isEmpty) drainCancels();
    if (skip.size > 0) {
      const skipped = skip.has(id);
      for (const s of skip) if (s <= id) skip.delete(s);
      if (skipped) {
        if (t.length === 1) takeFromPort(id);
        results.sendSync([slot, id, R_SKIPPED]);
        continue;
      }
    }
    const input = t.length === 1 ? takeFromPort(id) : t[1];
    const ctx = new Context(id);
    current = ctx;
    let status = R_OK;
    let out: unknown;
    try {
      out = fn(input, ctx);
      if (typeof out === 'object' && out !== null && typeof (out as PromiseLike<unknown>).then === 'function') {
        out = await watch(out as PromiseLike<unknown>);
      }
    } catch (e) {
      status = R_THREW;
      out = toWire(e, clonable);
    }
    current = undefined;
    reply(id, status, out);
  }
}

await loop();
tasks.close();
cancel.close();
results.close();
control.close();
port.close();
