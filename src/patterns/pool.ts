/**
 * A pool of worker threads running one task function: fan-out to workers,
 * fan-in of their results, built from weft's shared-memory channels.
 *
 * Dispatch follows "share your Sender": each worker owns the Receiver of
 * its own bounded task queue, and the pool holds the workers' Senders. A
 * task goes to the next worker with room (try-send, cycling round the
 * workers); when every queue is full it waits in the pool, and `submit`
 * waits with it, so backpressure reaches the caller. Results come back on
 * one shared channel all workers send to; a control channel carrying a
 * worker's id lets a worker take itself off dispatch and put itself back.
 *
 * A worker runs its tasks one at a time, in queue order, so the pool always
 * knows which task a worker is running: the oldest one it has not answered.
 * That is what makes running-task cancellation and crash recovery exact.
 *
 * @module
 */
import { offAbort, onAbort, type AbortWatcher } from '../channel/abort.js';
import { availableParallelism } from 'node:os';
import { MessageChannel, receiveMessageOnPort, type MessagePort, type ResourceLimits, type TransferListItem, type Worker, type WorkerOptions } from 'node:worker_threads';
import { bounded, type Receiver, type Sender } from '../channel/index.js';
import { InvalidValueError, TrySendError } from '../channel/errors.js';
import { sharedBounded, sharedUnbounded, spawnWorker } from '../shared/index.js';
import { PoolClosedError, WorkerExitError } from './errors.js';
import { Fifo } from './fifo.js';
import { C_OFF, C_ON, C_READY, P_STARTED, R_MOVED, R_OK, R_SKIPPED, R_THREW, fromWire, type ControlMsg, type ResultMsg, type TaskMsg, type WireError } from './pool-wire.js';
import type { Parallel, TaskResult } from './tasks.js';
import type { ComponentBody } from './component.js';

const RUNTIME = new URL('./pool-worker.js', import.meta.url);

/** How the workers call the exported function. @internal */
export interface PoolCall {
  /** `'stage'`: as a pipeline stage function, `fn(input, signal)`. */
  readonly as: 'task' | 'stage';
}

/** Pipeline stages on threads call their function with the item and a signal. @internal */
export const STAGE_CALL: PoolCall = { as: 'stage' };

/**
 * What a task function gets besides its input, in the worker.
 *
 * @example
 * ```ts
 * // task.js
 * import type { TaskContext } from 'weft';
 * export default async function fetchPage(url: string, ctx: TaskContext) {
 *   const res = await fetch(url, { signal: ctx.signal }); // aborted when the caller aborts
 *   return res.text();
 * }
 * ```
 */
export interface TaskContext {
  /** Aborts when the caller of this task aborted it (async tasks can stop early). */
  readonly signal: AbortSignal;
  /** This worker's slot in the pool, 0 to threads - 1 (a replacement worker keeps the slot). */
  readonly workerId: number;
  /** Asks the pool to stop giving this worker new tasks (those already queued to it still run). */
  takeOff(): void;
  /** Asks the pool to give this worker tasks again. */
  putBack(): void;
}

/**
 * A task function: what a pool's task module exports. Plain code, sync or
 * async; what it returns (or throws) goes back to the caller of `run`.
 *
 * @example
 * ```ts
 * // square.js
 * import type { TaskFn } from 'weft';
 * const square: TaskFn<number, number> = (n) => n * n;
 * export default square;
 * ```
 */
export type TaskFn<I, O> = (input: I, ctx: TaskContext) => O | PromiseLike<O>;

/**
 * One task as a pool component sees it (see {@link PoolComponent}): its
 * input, the task's context (`signal`, `workerId`, `takeOff`/`putBack`)
 * and how to answer it. Each task is answered once, by `resolve` or
 * `reject`; later calls return `false`.
 *
 * @example
 * ```ts
 * import type { PoolJob } from 'weft';
 * function answer(job: PoolJob<number, number>): void {
 *   if (job.signal.aborted) job.reject(job.signal.reason); // its caller gave up
 *   else job.resolve(job.input + 1);
 * }
 * ```
 */
export interface PoolJob<I, O> extends TaskContext {
  /** The task's input (a copy, or moved with `transfer`). */
  readonly input: I;
  /** Answers the task: its `run` resolves with `value` (`move(value, [buffers])` moves it back). False if it was already answered. */
  resolve(value: O): boolean;
  /** Fails the task: its `run` rejects with `error` (rebuilt on the pool's side). False if it was already answered. */
  reject(error: unknown): boolean;
}

/**
 * What a pool's task module can export instead of a function: a component
 * body whose one input, `tasks`, delivers the tasks given to this worker.
 * The component keeps its state across tasks, answers each with
 * `job.resolve` / `job.reject` whenever it likes (at once, later, in
 * batches, in any order), and can use `idle` and `step` for timed work.
 *
 * @example
 * ```ts
 * // batcher.js — answers tasks in batches of up to 8, or after 5 ms without a new one
 * import type { PoolComponent, PoolJob } from 'weft';
 * type State = { held: PoolJob<string, number>[]; fresh: boolean };
 * const flush = (s: State): void => { for (const j of s.held.splice(0)) j.resolve(j.input.length); };
 * export default {
 *   init: () => ({ held: [], fresh: false }),
 *   handle(s, msg) { s.held.push(msg.value); s.fresh = true; if (s.held.length === 8) flush(s); },
 *   idle: 5,                                                   // wake up after 5 ms without a task
 *   step(s) { if (s.fresh) s.fresh = false; else flush(s); },  // step follows each task and each wake-up
 *   cleanup: (s) => flush(s),                                  // the pool closes: answer what is held
 * } satisfies PoolComponent<string, number, State>;
 * ```
 */
export type PoolComponent<I, O, S = undefined> = ComponentBody<{ tasks: Receiver<PoolJob<I, O>> }, S, unknown>;

/**
 * Options of {@link pool}.
 *
 * @example
 * ```ts
 * import { pool, type PoolOptions } from 'weft';
 * const options: PoolOptions = { threads: 2, queue: 8, name: 'resize' };
 * const images = pool<Uint8Array, Uint8Array>(new URL('./images.js', import.meta.url), options);
 * await images.close();
 * ```
 */
export interface PoolOptions {
  /** Worker threads. Default: the number of cores (`os.availableParallelism()`). */
  readonly threads?: number;
  /**
   * Most tasks a worker's queue holds besides the one it runs. Default 128.
   * The pool keeps each queue about 10 ms of work deep (it measures each
   * worker's time per task), so this caps only queues of very short tasks.
   */
  readonly queue?: number;
  /** The task module's export to run. Default `'default'`. */
  readonly name?: string;
  /**
   * Milliseconds a worker gets to finish a running task its caller aborted
   * (an async task sees `ctx.signal` abort) before the pool replaces the
   * worker. Default 100. The caller's promise rejects at once regardless.
   */
  readonly abortGrace?: number;
  /** Fan-in: results `submit` may have in flight or waiting in `results`. Default threads × (queue + 1). */
  readonly resultsCapacity?: number;
  /** Passed to each worker thread. */
  readonly resourceLimits?: ResourceLimits;
  /** Passed to each worker thread. */
  readonly execArgv?: string[];
  /** Passed to each worker thread. */
  readonly env?: WorkerOptions['env'];
  /**
   * A hang monitor (`startHangMonitor()` of `weft/monitor`) to watch the
   * workers: each registers as `<pool name> worker <n>` and reports activity
   * while it runs a task and waiting while it waits for one, so a task stuck
   * past the timeouts raises an alert with the worker's stack.
   */
  readonly monitor?: PoolMonitor;
  /** The workers' hang timeouts when `monitor` is given. Default: the monitor's defaults (250 ms / 2000 ms). */
  readonly hangTimeouts?: { readonly transientMs: number; readonly permanentMs: number };
}

/**
 * What a pool needs of a hang monitor: a token per worker, and the timeouts.
 *
 * @example
 * ```ts
 * import { pool } from 'weft';
 * import { startHangMonitor } from 'weft/monitor';
 * const monitor = startHangMonitor();
 * const p = pool<number, number>(new URL('./task.js', import.meta.url), { threads: 2, monitor });
 * ```
 */
export interface PoolMonitor {
  token(): { readonly sab: SharedArrayBuffer; readonly port: MessagePort };
}

/**
 * Options of {@link Pool.run} and {@link Pool.submit}.
 *
 * @example
 * ```ts
 * import { pool, type RunOptions } from 'weft';
 * const p = pool<ArrayBuffer, number>(new URL('./checksum.js', import.meta.url), { threads: 1 });
 * const data = new ArrayBuffer(1 << 20);
 * const options: RunOptions = { signal: AbortSignal.timeout(1000), transfer: [data] };
 * console.log(await p.run(data, options));
 * await p.close();
 * ```
 */
export interface RunOptions {
  /** Cancels the task: the call rejects with the signal's reason, whether the task was waiting, queued or running. */
  readonly signal?: AbortSignal;
  /**
   * ArrayBuffers (or MessagePorts) inside the input to move to the worker
   * instead of copying them; they become unusable here. SharedArrayBuffers
   * in the input need it too (listed or not, they are shared, not copied).
   */
  readonly transfer?: readonly TransferListItem[];
}

/** Milliseconds of work a worker's queue is kept filled with (see Pool.room). */
const TARGET_MS = 10;
/** Bounds of the answer reader's beat when every queue is deep (see Pool.beatMs). */
const MIN_BEAT_MS = 1;
const MAX_BEAT_MS = 4;

const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

/**
 * The answer reader's beat (see Pool.beatMs), from the least work queued
 * behind any worker's running task and the answers expected per ms from all
 * workers together: a quarter of that work, at most `MAX_BEAT_MS`, or 0
 * (be woken per answer) when that is under `MIN_BEAT_MS` or a beat would
 * gather fewer than two answers (longer tasks wake the pool rarely anyway).
 *
 * @internal
 */
export function answerBeat(leastAheadMs: number, answersPerMs: number): number {
  const beat = Math.min(leastAheadMs / 4, MAX_BEAT_MS);
  return beat >= MIN_BEAT_MS && beat * answersPerMs >= 2 ? beat : 0;
}

const SENT_ = 0;
const FULL_ = 1;
const FAILED_ = 2;

const WAITING = 0;
const QUEUED = 1;
const DONE = 2;

/** One task, from `run`/`submit` to its answer. */
class Rec {
  state = WAITING;
  id: number;
  worker: PoolWorker | undefined = undefined;
  resolve: ((v: unknown) => void) | undefined = undefined;
  reject: ((e: unknown) => void) | undefined = undefined;
  /** `submit` only: resolves once a worker's queue took the task. */
  admitted: (() => void) | undefined = undefined;
  signal: AbortSignal | undefined = undefined;
  onAbort: AbortWatcher | undefined = undefined;
  constructor(
    id: number,
    public input: unknown,
    readonly transfer: readonly TransferListItem[] | undefined,
    readonly fanIn: boolean,
  ) {
    this.id = id;
  }
}

/** One worker thread and the pool's ends of its channels. */
class PoolWorker {
  /** Tasks queued to or running on this worker, in queue order, not yet answered. */
  readonly outstanding = new Fifo<Rec>();
  ready = false;
  /** Taken off dispatch at its own request. */
  off = false;
  alive = true;
  /** Set when the pool terminated it on purpose (abort grace, shutdown). */
  killed: unknown = undefined;
  error: unknown = undefined;
  grace: ReturnType<typeof setTimeout> | undefined = undefined;
  /** The cancelled task the grace timer is for. */
  graceFor: Rec | undefined = undefined;
  /** Estimated milliseconds per task (0: not measured yet): sets how deep its queue is kept. */
  perTask = 0;
  /** When its last answers arrived (or it got work while idle). */
  lastAt = 0;
  /** Answers handled since `lastAt` was taken (see Pool.timeAnswers). */
  answered = 0;
  readonly exited: Promise<number>;
  constructor(
    readonly slot: number,
    readonly thread: Worker,
    readonly tasks: Sender<TaskMsg>,
    readonly cancel: Sender<number>,
    readonly port: MessagePort,
    /** [P_STARTED]: the id of the task it started last; after a crash, tells which of its tasks never ran. */
    readonly progress: Int32Array,
  ) {
    this.exited = new Promise((resolve) => thread.once('exit', resolve));
  }
}

const OPEN = 0;
const CLOSING = 1;
const CLOSED = 2;

/**
 * A pool of worker threads running the task function of one module. Make
 * one with {@link pool}.
 *
 * - `run(input)` resolves with the task's result; `submit(input)` waits
 *   for room and delivers the result on {@link Pool.results} (fan-in).
 * - A task that throws rejects only its own call, with the worker's error
 *   (name, message, stack). A worker that crashes or exits is replaced; its
 *   running task rejects with {@link WorkerExitError}, and the tasks queued
 *   to it move to other workers.
 * - `close()` finishes the queued work, then stops the threads;
 *   `terminate()` stops them now and rejects what is left with
 *   {@link PoolClosedError}.
 *
 * It is a {@link Parallel}: a component can take it as an input and
 * receive the results of `submit` in its select.
 *
 * @example
 * ```ts
 * // square.js:  export default (n) => n * n;
 * import { pool } from 'weft';
 * const squares = pool<number, number>(new URL('./square.js', import.meta.url), { threads: 2 });
 * console.log(await Promise.all([1, 2, 3].map((n) => squares.run(n)))); // [1, 4, 9]
 * await squares.close();
 * ```
 */
export class Pool<I, O> implements Parallel<TaskResult<O>>, AsyncDisposable {
  /** Number of worker threads. */
  readonly threads: number;
  /** Fan-in: the results of {@link Pool.submit}, in completion order. Closed once the pool has shut down. */
  readonly results: Receiver<TaskResult<O>>;
  private readonly resultsOut: Sender<TaskResult<O>>;
  private readonly module: string;
  private readonly name: string;
  private readonly queueCap: number;
  private readonly abortGrace: number;
  private readonly fanInLimit: number;
  private readonly spawnOptions: { resourceLimits?: ResourceLimits; execArgv?: string[]; env?: WorkerOptions['env'] };
  private readonly monitor: PoolMonitor | undefined;
  private readonly hangTimeouts: PoolOptions['hangTimeouts'];
  private readonly workers: PoolWorker[] = [];
  /** Tasks waiting for room in a worker's queue. */
  private readonly waiting = new Fifo<Rec>();
  private readonly answers: Receiver<ResultMsg>;
  private readonly answersIn: Sender<ResultMsg>;
  private readonly control: Receiver<ControlMsg>;
  private readonly controlIn: Sender<ControlMsg>;
  private nextId = 1;
  private cursor = 0;
  private state = OPEN;
  /** Tasks not answered yet (waiting, queued or running). */
  private active = 0;
  /** Fan-in tasks whose result is not yet in `results`. */
  private fanInActive = 0;
  private fanInDeliveries = 0;
  private failure: unknown = undefined;
  private closing: Promise<void> | undefined;
  private drained: (() => void) | undefined;
  private readonly batch: ResultMsg[] = [];
  private readonly polled: ResultMsg[] = [];
  /** Tasks queued to `waiting` (counts bursts for pollAnswers). */
  private burst = 0;
  /** @internal Beats the answer reader slept (see Pool.beatMs); read by tests. */
  beats = 0;

  private readonly call: PoolCall['as'];

  /** @internal Use {@link pool}. */
  constructor(module: string | URL, options: PoolOptions = {}, call?: PoolCall) {
    this.call = call?.as ?? 'task';
    this.module = checkModule(module);
    this.threads = whole('threads', options.threads ?? Math.max(1, availableParallelism()), 1);
    this.queueCap = whole('queue', options.queue ?? 128, 1);
    this.abortGrace = whole('abortGrace', options.abortGrace ?? 100, 0);
    this.fanInLimit = whole('resultsCapacity', options.resultsCapacity ?? this.threads * (this.queueCap + 1), 1);
    const name = options.name ?? 'default';
    if (typeof name !== 'string' || name === '') throw new TypeError(`pool: options.name must be the name of an exported function; got ${String(name)}`);
    this.name = name;
    this.spawnOptions = {};
    this.monitor = options.monitor;
    this.hangTimeouts = options.hangTimeouts;
    if (options.resourceLimits !== undefined) this.spawnOptions.resourceLimits = options.resourceLimits;
    if (options.execArgv !== undefined) this.spawnOptions.execArgv = options.execArgv;
    if (options.env !== undefined) this.spawnOptions.env = options.env;
    [this.resultsOut, this.results] = bounded<TaskResult<O>>(this.fanInLimit);
    [this.answersIn, this.answers] = sharedUnbounded<ResultMsg>();
    [this.controlIn, this.control] = sharedUnbounded<ControlMsg>({ ringBytes: 4096 });
    for (let i = 0; i < this.threads; i++) this.workers.push(this.start(i));
    void this.readAnswers();
    void this.readControl();
  }

  /**
   * Tasks given to the pool whose result has not been taken yet: waiting
   * for a worker, queued, running, or (fan-in) waiting in `results`.
   */
  get pending(): number {
    return this.active + (this.results.isClosed ? 0 : this.results.len);
  }

  /** Tasks waiting for room in a worker's queue (neither queued nor running yet). */
  get waitingCount(): number {
    return this.waiting.length;
  }

  /** Tasks queued to or running on a worker. */
  get inFlight(): number {
    let n = 0;
    for (const w of this.workers) n += w.outstanding.length;
    return n;
  }

  /** True once `close()` or `terminate()` was called. */
  get isClosed(): boolean {
    return this.state !== OPEN;
  }

  /**
   * Runs the task function on `input` in a worker and resolves with what
   * it returns. Rejects with what it throws (an Error with the worker's
   * name, message and stack), with `signal.reason` when aborted, with
   * {@link WorkerExitError} when its worker died while running it, and with
   * {@link PoolClosedError} when the pool is closed or terminated first.
   * An input that cannot cross threads rejects with `InvalidValueError`
   * (the input is in `error.value`).
   *
   * @example
   * ```ts
   * import { pool } from 'weft';
   * const p = pool<number, number>(new URL('./square.js', import.meta.url), { threads: 1 });
   * const ac = new AbortController();
   * const nine = p.run(3, { signal: ac.signal });
   * console.log(await nine); // 9
   * await p.close();
   * ```
   */
  run(input: I, options?: RunOptions): Promise<O> {
    const rec = this.admit(input, options, false);
    if (!(rec instanceof Rec)) return rec as Promise<never>;
    const p = new Promise<O>((resolve, reject) => {
      rec.resolve = resolve as (v: unknown) => void;
      rec.reject = reject;
    });
    this.enqueue(rec);
    return p;
  }

  /**
   * Fan-out with fan-in: gives `input` to the pool and resolves once a
   * worker's queue took it; its {@link TaskResult} arrives later on
   * {@link Pool.results}. Waits while every worker's queue is full, or
   * while `resultsCapacity` results are in flight or unread: a loop of
   * `await submit(...)` runs at the pool's pace with bounded memory.
   * Rejects like {@link Pool.run} when the task cannot be given (aborted
   * before it was queued, pool closed, input that cannot cross threads).
   *
   * @example
   * ```ts
   * import { pool } from 'weft';
   * const p = pool<number, number>(new URL('./square.js', import.meta.url), { threads: 2 });
   * void (async () => { for (let n = 0; n < 100; n++) await p.submit(n); await p.close(); })();
   * let sum = 0;
   * for await (const r of p.results) if (r.ok) sum += r.value;
   * console.log(sum); // 328350
   * ```
   */
  submit(input: I, options?: RunOptions): Promise<void> {
    const rec = this.admit(input, options, true);
    if (!(rec instanceof Rec)) return rec as Promise<never>;
    const p = new Promise<void>((resolve, reject) => {
      rec.admitted = resolve;
      rec.reject = reject;
    });
    this.enqueue(rec);
    return p;
  }

  /**
   * Graceful shutdown: takes no new tasks (`run` and `submit` reject with
   * {@link PoolClosedError}), lets every task already given finish, then
   * stops the threads and closes {@link Pool.results} (after its last
   * result). Resolves once every thread has exited. Calling it again, or
   * after `terminate()`, returns the same promise.
   *
   * @example
   * ```ts
   * import { pool } from 'weft';
   * const p = pool<number, number>(new URL('./square.js', import.meta.url));
   * const pending = p.run(4);
   * await p.close();
   * console.log(await pending); // 16: queued work finished first
   * ```
   */
  close(): Promise<void> {
    if (this.closing !== undefined) return this.closing;
    this.state = CLOSING;
    this.closing = new Promise<void>((resolve) => {
      this.drained = resolve;
    }).then(() => this.stopThreads());
    this.checkDrained();
    return this.closing;
  }

  /**
   * Immediate shutdown: terminates the threads now. Every task not yet
   * answered rejects with {@link PoolClosedError} (`kind: 'terminated'`,
   * `cause: reason`). Resolves once every thread has exited.
   *
   * @example
   * ```ts
   * import { pool, PoolClosedError } from 'weft';
   * const p = pool<number, number>(new URL('./slow.js', import.meta.url), { threads: 1 });
   * const running = p.run(1).catch((e) => e instanceof PoolClosedError);
   * await p.terminate();
   * console.log(await running); // true
   * ```
   */
  terminate(reason?: unknown): Promise<void> {
    if (this.state === CLOSED) return this.closing!;
    this.state = CLOSED;
    this.failAll((input) => new PoolClosedError('terminated', input, reason));
    return this.shutNow();
  }

  /** `await using p = pool(...)`: graceful close. */
  [Symbol.asyncDispose](): Promise<void> {
    return this.close();
  }

  // ------------------------------------------------------------------------
  // Admission and dispatch
  // ------------------------------------------------------------------------

  private admit(input: I, options: RunOptions | undefined, fanIn: boolean): Rec | Promise<never> {
    if (this.state !== OPEN) {
      return Promise.reject(
        this.failure !== undefined
          ? new PoolClosedError('failed', input, this.failure)
          : new PoolClosedError(this.state === CLOSING ? 'closed' : 'terminated', input),
      );
    }
    const signal = options?.signal;
    if (signal?.aborted) return Promise.reject(signal.reason);
    const transfer = options?.transfer;
    if (transfer !== undefined && !Array.isArray(transfer)) {
      return Promise.reject(new TypeError('pool: options.transfer must be an array of ArrayBuffers or MessagePorts found in the input'));
    }
    const rec = new Rec(this.nextId++, input, transfer, fanIn);
    this.active++;
    if (signal !== undefined) {
      rec.signal = signal;
      rec.onAbort = { handleEvent: () => this.abort(rec) };
      onAbort(signal, rec.onAbort);
    }
    return rec;
  }

  private enqueue(rec: Rec): void {
    if (this.waiting.length === 0 && this.canTake(rec)) {
      // Nothing waits before it: straight to the next worker with room, alone.
      const ws = this.workers;
      for (let k = 0; k < ws.length; k++) {
        const w = ws[this.cursor]!;
        this.cursor = this.cursor + 1 === ws.length ? 0 : this.cursor + 1;
        if (!w.alive || w.off || this.room(w) <= 0) continue;
        const r = this.sendOne(w, rec);
        if (r !== FULL_) return;
      }
    }
    if (rec.state === DONE) return;
    this.waiting.push(rec);
    // A caller queueing many tasks in one synchronous loop never lets the
    // answers loop run: look at the answers now and then, so that workers
    // are refilled (and callers answered) during the burst, not after it.
    if ((++this.burst & 63) === 0) this.pollAnswers();
  }

  /** Handles the answers already there, then refills the workers. */
  private pollAnswers(): void {
    const rx = this.answers;
    if (rx.isClosed || rx.isEmpty) return;
    const batch = this.polled;
    rx.tryRecvMany(batch, 64);
    this.drainControl();
    this.answerAll(batch);
    this.pump();
  }

  /** A fan-in task is admitted only while fewer than `resultsCapacity` results are in flight or unread. */
  private canTake(rec: Rec): boolean {
    return rec.admitted === undefined || this.fanInActive < this.fanInLimit;
  }

  /**
   * How many more tasks `w` should hold: its queue is kept `TARGET_MS` of
   * work deep (at least one task, at most `queue`), so short tasks go in
   * long batches while long ones are not stuck behind a busy worker.
   */
  private room(w: PoolWorker): number {
    const per = w.perTask;
    // Not measured yet: a few, so that long tasks do not pile up on one worker before it is.
    const depth = per <= 0 ? Math.min(this.queueCap, 8) : Math.max(1, Math.min(this.queueCap, Math.ceil(TARGET_MS / per)));
    return depth + 1 - w.outstanding.length;
  }

  /** Sends one task to `w`. Returns SENT_, FULL_ (its ring had no room), or FAILED_ (the task failed). */
  private sendOne(w: PoolWorker, rec: Rec): number {
    let sent: boolean;
    if (rec.transfer !== undefined) {
      // The input goes first, on the port (the worker reads it when the task comes up).
      if (w.tasks.isFull || w.tasks.isDisconnected) return FULL_;
      try {
        w.port.postMessage({ id: rec.id, input: rec.input }, rec.transfer as TransferListItem[]);
      } catch (e) {
        this.finish(rec, false, e);
        return FAILED_;
      }
      sent = offer(w, [rec.id]);
      if (!sent) {
        // Room was checked and only this thread sends: not expected. The input already moved.
        this.finish(rec, false, new Error('pool: a worker queue refused a task with a moved input'));
        return FAILED_;
      }
      rec.input = undefined;
    } else {
      try {
        sent = offer(w, [rec.id, rec.input]);
      } catch (e) {
        this.refused(rec, e);
        return FAILED_;
      }
      if (!sent) return FULL_;
    }
    this.queued(w, rec);
    return SENT_;
  }

  /** The input cannot cross threads: this task fails (the input is in the error), the pool goes on. */
  private refused(rec: Rec, e: unknown): void {
    this.finish(rec, false, e instanceof InvalidValueError ? new InvalidValueError(e.message, rec.input, { cause: e.cause }) : e);
  }

  /** Bookkeeping once `w`'s queue took `rec`. */
  private queued(w: PoolWorker, rec: Rec): void {
    if (w.outstanding.length === 0) w.lastAt = performance.now(); // it was idle: measure from now
    rec.state = QUEUED;
    rec.worker = w;
    w.outstanding.push(rec);
    const admitted = rec.admitted;
    if (admitted !== undefined) {
      this.fanInActive++;
      rec.admitted = undefined;
      admitted();
    }
  }

  /**
   * Dispatches waiting tasks while workers have room: round the workers,
   * each getting as many as it has room for in one message.
   */
  private pump(): void {
    const q = this.waiting;
    const ws = this.workers;
    let idle = 0; // workers in a row that took nothing
    while (q.length > 0 && idle < ws.length) {
      const w = ws[this.cursor]!;
      this.cursor = this.cursor + 1 === ws.length ? 0 : this.cursor + 1;
      let room = w.alive && !w.off ? this.room(w) : 0;
      if (room <= 0) {
        idle++;
        continue;
      }
      const batch: Rec[] = [];
      const msg: unknown[] = [];
      let blocked = false;
      let moved = 0;
      while (room > 0 && q.length > 0) {
        const rec = q.peek()!;
        if (rec.state === DONE) {
          q.shift();
          continue;
        }
        if (!this.canTake(rec)) {
          blocked = true;
          break;
        }
        if (rec.transfer !== undefined) {
          // A moved input travels alone, on the port.
          if (batch.length === 0) {
            if (this.sendOne(w, rec) === FULL_) break;
            q.shift();
            moved++;
            room--;
            if (rec.state === DONE) continue; // failed: the next one may go
          }
          break;
        }
        q.shift();
        batch.push(rec);
        msg.push(rec.id, rec.input);
        room--;
        // Admit fan-in tasks one by one against the limit.
        if (rec.admitted !== undefined) this.fanInActive++;
      }
      for (const rec of batch) if (rec.admitted !== undefined) this.fanInActive--;
      if (batch.length > 0 && !this.sendBatch(w, batch, msg)) {
        // Its ring is full (large inputs): back to the front, in order; try the next worker.
        for (let i = batch.length - 1; i >= 0; i--) q.unshift(batch[i]!);
        idle++;
        continue;
      }
      if (blocked) return;
      if (batch.length === 0 && moved === 0) idle++;
      else idle = 0;
    }
  }

  /** Sends several tasks to `w` in one message. False when its ring had no room (nothing sent). */
  private sendBatch(w: PoolWorker, batch: Rec[], msg: unknown[]): boolean {
    if (batch.length === 1) return this.sendOne(w, batch[0]!) !== FULL_;
    let sent: boolean;
    try {
      sent = offer(w, msg);
    } catch {
      // Some input cannot cross threads: send them one by one, failing only those.
      let some = false;
      for (let i = 0; i < batch.length; i++) {
        if (this.sendOne(w, batch[i]!) === FULL_) {
          if (!some) return false;
          for (let j = batch.length - 1; j >= i; j--) this.waiting.unshift(batch[j]!);
          return true;
        }
        some = true;
      }
      return true;
    }
    if (!sent) return false;
    for (const rec of batch) this.queued(w, rec);
    return true;
  }

  // ------------------------------------------------------------------------
  // Answers
  // ------------------------------------------------------------------------

  private async readAnswers(): Promise<void> {
    const rx = this.answers;
    const batch = this.batch;
    for (;;) {
      if (rx.isClosed) return;
      if (rx.tryRecvMany(batch, 64) === 0) {
        const beat = this.beatMs();
        if (beat > 0) {
          this.beats++;
          await sleep(beat);
          continue;
        }
        try {
          batch.push(await rx.recv());
        } catch {
          return; // the pool closed its end
        }
        if (!rx.isClosed) rx.tryRecvMany(batch, 63);
      }
      this.drainControl();
      this.answerAll(batch);
      this.pump();
    }
  }

  /**
   * How long the answer reader may sleep before looking again, instead of
   * being woken for each answer (0: be woken). Waking this thread costs the
   * answering worker a system call (tens of µs, as much as a postMessage),
   * paid between two of its tasks. When every worker has work queued for
   * several beats ahead, nothing runs dry while answers wait a beat, so the
   * reader takes them in batches on its own timer and the workers never
   * stop to wake it; answers are then late by at most a quarter of the
   * queue's wait, and at most `MAX_BEAT_MS`. Only while a beat gathers at
   * least two answers: with longer tasks, wake-ups are rare and cheap.
   */
  private beatMs(): number {
    let least = Infinity;
    let perMs = 0; // answers expected per ms, all workers together
    for (const w of this.workers) {
      if (!w.alive || w.off) continue;
      if (w.perTask <= 0) return 0;
      const ahead = (w.outstanding.length - 1) * w.perTask; // queued behind the running task
      if (ahead < least) least = ahead;
      perMs += 1 / w.perTask;
    }
    return answerBeat(least, perMs);
  }

  /** Every answer already in the channel (before a dead worker's tasks are settled). */
  private drainAnswers(): void {
    const batch: ResultMsg[] = [];
    if (this.answers.isClosed) return;
    this.answers.tryRecvMany(batch);
    this.answerAll(batch);
  }

  /** Settles the calls of a batch of answers (`[slot, id, status, payload]` each), then times the workers; empties `batch`. */
  private answerAll(batch: ResultMsg[]): void {
    for (let i = 0; i < batch.length; i++) {
      const m = batch[i]!;
      const w = this.workers[m[0]];
      if (w === undefined) continue;
      w.answered++;
      this.answerOne(w, m[1], m[2], m[3]);
    }
    this.timeAnswers();
    batch.length = 0;
  }

  /**
   * Updates each worker's time per task from the answers just handled: the
   * time since its last answers over how many came (answers read in a batch
   * count together, however they were split into messages).
   */
  private timeAnswers(): void {
    const now = performance.now();
    for (const w of this.workers) {
      if (w.answered === 0) continue;
      if (w.lastAt > 0) {
        const sample = (now - w.lastAt) / w.answered;
        w.perTask = w.perTask === 0 ? sample : w.perTask * 0.7 + sample * 0.3;
      }
      w.lastAt = now;
      w.answered = 0;
    }
  }

  private answerOne(w: PoolWorker, id: number, status: number, payload: unknown): void {
    let rec = w.outstanding.peek();
    if (rec !== undefined && rec.id === id) w.outstanding.shift();
    else rec = w.outstanding.take((r) => r.id === id); // a component answers in any order
    let value = payload;
    if (status === R_MOVED) value = (receiveMessageOnPort(w.port) as { message: unknown } | undefined)?.message;
    if (rec === undefined) return;
    if (w.graceFor === rec) this.clearGrace(w);
    // A cancelled task that is now the oldest may be running (its cancel crossed it): give it its grace.
    const head = w.outstanding.peek();
    if (head !== undefined && head.state === DONE && w.grace === undefined) this.armGrace(w, head);
    if (rec.state === DONE) return; // cancelled: nobody waits for it
    if (status === R_OK || status === R_MOVED) this.finish(rec, true, value);
    else if (status === R_THREW) this.finish(rec, false, fromWire(value as WireError));
    else if (status === R_SKIPPED) this.finish(rec, false, new Error('pool: a worker skipped a task that was not cancelled'));
  }

  /** Settles a task: its caller's promise, or its fan-in result. */
  private finish(rec: Rec, ok: boolean, value: unknown): void {
    if (rec.state === DONE) return;
    rec.state = DONE;
    rec.input = undefined;
    this.active--;
    if (rec.onAbort !== undefined) offAbort(rec.signal!, rec.onAbort);
    if (rec.fanIn) {
      if (rec.admitted !== undefined) {
        // Never admitted: the submit call itself fails.
        rec.admitted = undefined;
        rec.reject!(value);
      } else this.deliver(ok ? { ok: true, value: value as O } : { ok: false, error: value });
    } else if (ok) rec.resolve!(value);
    else rec.reject!(value);
    this.checkDrained();
  }

  /** Puts a fan-in result in `results`; frees its slot once it is there (or nobody reads `results` anymore). */
  private deliver(r: TaskResult<O>): void {
    const free = (): void => {
      this.fanInActive--;
      if (--this.fanInDeliveries === 0 && this.afterDeliveries !== undefined) this.afterDeliveries();
      this.pump();
    };
    this.fanInDeliveries++;
    const out = this.resultsOut;
    let done = true;
    try {
      if (!out.isClosed && !out.offer(r)) {
        done = false;
        out.send(r).then(free, free);
      }
    } catch {
      // every Receiver of `results` is closed: nobody wants it
    }
    if (done) free();
  }

  // ------------------------------------------------------------------------
  // Cancellation
  // ------------------------------------------------------------------------

  private abort(rec: Rec): void {
    if (rec.state === DONE) return;
    const reason = rec.signal!.reason as unknown;
    if (rec.state === WAITING) return this.finish(rec, false, reason); // pump drops it
    this.abortQueued(rec, reason);
  }

  /** Fails a task a worker has (queued or running) and tells the worker. */
  private abortQueued(rec: Rec, reason: unknown): void {
    const w = rec.worker!;
    this.finish(rec, false, reason);
    if (!w.alive || w.cancel.isDisconnected) return;
    w.cancel.offer(rec.id);
    if (w.outstanding.peek() === rec && w.grace === undefined) this.armGrace(w, rec);
  }

  /** `rec` (cancelled) may be running on `w`: it gets `abortGrace` ms to stop, then its thread is replaced. */
  private armGrace(w: PoolWorker, rec: Rec): void {
    w.graceFor = rec;
    w.grace = setTimeout(() => {
      w.grace = undefined;
      w.graceFor = undefined;
      if (w.alive && w.outstanding.peek() === rec) this.kill(w, 'it kept running a cancelled task past abortGrace');
    }, this.abortGrace);
  }

  private clearGrace(w: PoolWorker): void {
    if (w.grace !== undefined) clearTimeout(w.grace);
    w.grace = undefined;
    w.graceFor = undefined;
  }

  // ------------------------------------------------------------------------
  // Workers
  // ------------------------------------------------------------------------

  private start(slot: number): PoolWorker {
    // Room for `queue` tasks besides the running one, one message each at worst.
    const [tasksIn, tasksOut] = sharedBounded<TaskMsg>(this.queueCap + 1);
    const progress = new Int32Array(new SharedArrayBuffer(4));
    const [cancelIn, cancelOut] = sharedUnbounded<number>({ ringBytes: 4096 });
    const { port1, port2 } = new MessageChannel();
    const token = this.monitor?.token();
    const thread = spawnWorker(RUNTIME, {
      ...this.spawnOptions,
      handles: { tasks: tasksOut, results: this.answersIn.clone(), control: this.controlIn.clone(), cancel: cancelOut },
      workerData: { module: this.module, name: this.name, call: this.call, slot, port: port2, progress, monitor: token, hangTimeouts: this.hangTimeouts },
      transferList: token === undefined ? [port2] : [port2, token.port],
    });
    const w = new PoolWorker(slot, thread, tasksIn, cancelIn, port1, progress);
    thread.on('error', (e) => {
      w.error = e;
    });
    thread.once('exit', (code) => this.exited(w, code));
    return w;
  }

  /** Terminates a worker on purpose; its exit is handled like a crash (and it is replaced). */
  private kill(w: PoolWorker, why: string): void {
    w.killed = why;
    void w.thread.terminate();
  }

  private async readControl(): Promise<void> {
    for (;;) {
      let m: ControlMsg;
      try {
        m = await this.control.recv();
      } catch {
        return;
      }
      this.onControl(m);
      this.drainControl();
    }
  }

  /**
   * Control messages already sent. Read before each batch of answers: a
   * worker that took itself off and then answered is off before its answer
   * lets anything new be dispatched.
   */
  private drainControl(): void {
    const c = this.control;
    if (c.isClosed || c.isEmpty) return;
    for (let m = c.poll(undefined); m !== undefined; m = c.isClosed ? undefined : c.poll(undefined)) this.onControl(m);
  }

  private onControl(m: ControlMsg): void {
    const w = this.workers[m[0]];
    if (w === undefined || !w.alive) return;
    if (m[1] === C_READY) {
      w.ready = true;
      if (w.outstanding.length > 0) w.lastAt = performance.now(); // thread start-up is not task time
    }
    else if (m[1] === C_OFF) w.off = true;
    else if (m[1] === C_ON) {
      w.off = false;
      this.pump();
    }
  }

  private exited(w: PoolWorker, code: number): void {
    w.alive = false;
    this.clearGrace(w);
    // Whatever it answered before dying is in the results channel: settle that first.
    this.drainAnswers();
    // It ran its tasks one at a time in queue order, storing each id as it
    // started: those up to that id ran (or were running), the rest never started.
    const started = Atomics.load(w.progress, P_STARTED);
    const startFailed = !w.ready && w.killed === undefined && this.state !== CLOSED && !this.stopping;
    const replace = this.workers[w.slot] === w && this.state !== CLOSED && !this.stopping && !startFailed;
    const retry: Rec[] = [];
    while (w.outstanding.length > 0) {
      const rec = w.outstanding.shift()!;
      if (rec.state === DONE) continue;
      const ran = rec.id <= started;
      if (!ran && (replace || startFailed) && rec.transfer === undefined) {
        // Never ran: back to the front of the line (a new id keeps each worker's ids increasing).
        rec.state = WAITING;
        rec.worker = undefined;
        rec.id = this.nextId++;
        retry.push(rec); // a fan-in one keeps its place among the admitted
      } else {
        this.finish(rec, false, new WorkerExitError(code, ran, w.slot, w.killed ?? w.error));
      }
    }
    w.tasks.close();
    w.cancel.close();
    w.port.close();
    for (let i = retry.length - 1; i >= 0; i--) this.waiting.unshift(retry[i]!);
    if (startFailed) return this.fail(w.error ?? new Error(`a worker exited with code ${code} before it was ready`));
    if (!replace) return;
    this.workers[w.slot] = this.start(w.slot);
    this.pump();
  }

  /** A worker could not start (the module failed to load): the pool cannot work. */
  private fail(error: unknown): void {
    this.failure = error;
    this.state = CLOSED;
    this.failAll((input) => new PoolClosedError('failed', input, error));
    void this.shutNow();
  }

  private shutNow(): Promise<void> {
    const done = this.stopThreads(true);
    const d = this.drained;
    this.drained = undefined;
    if (d !== undefined) d(); // a close() in progress resolves once the threads are gone
    else this.closing = done;
    return this.closing!;
  }

  private failAll(make: (input: unknown) => unknown): void {
    const recs: Rec[] = [];
    while (this.waiting.length > 0) recs.push(this.waiting.shift()!);
    for (const w of this.workers) while (w.outstanding.length > 0) recs.push(w.outstanding.shift()!);
    for (const rec of recs) if (rec.state !== DONE) this.finish(rec, false, make(rec.input));
  }

  private checkDrained(): void {
    if (this.state === CLOSING && this.active === 0 && this.drained !== undefined) {
      const d = this.drained;
      this.drained = undefined;
      d();
    }
  }

  private stopping = false;
  private stopped: Promise<void> | undefined;

  /** Stops every thread: gently (close their queues; they exit once drained) or at once. */
  private stopThreads(now = false): Promise<void> {
    this.stopping = true;
    for (const w of this.workers) {
      if (!w.alive) continue;
      if (now) void w.thread.terminate();
      else w.tasks.close();
    }
    if (this.stopped === undefined) {
      this.stopped = (async () => {
        // A worker that does not exit by itself (its module keeps timers alive) is stopped.
        const slow = setTimeout(() => {
          for (const w of this.workers) if (w.alive) void w.thread.terminate();
        }, 2000);
        await Promise.all(this.workers.map((w) => w.exited));
        clearTimeout(slow);
        this.answers.close();
        this.answersIn.close();
        this.control.close();
        this.controlIn.close();
        this.state = CLOSED;
        const closeResults = (): void => this.resultsOut.close();
        if (this.fanInDeliveries === 0) closeResults();
        else this.afterDeliveries = closeResults;
      })();
    }
    return this.stopped;
  }

  private afterDeliveries: (() => void) | undefined;
}

/** `w.tasks.offer(msg)`, with a worker that is gone (its exit not handled yet) counting as full. */
function offer(w: PoolWorker, msg: TaskMsg): boolean {
  try {
    return w.tasks.offer(msg);
  } catch (e) {
    if (e instanceof TrySendError && e.kind === 'disconnected') return false;
    throw e;
  }
}

function whole(what: string, v: number, min: number): number {
  if (typeof v !== 'number' || !Number.isInteger(v) || v < min) {
    throw new RangeError(`pool: options.${what} must be a whole number ≥ ${min}; got ${String(v)}`);
  }
  return v;
}

function checkModule(m: string | URL): string {
  if (m instanceof URL) return m.href;
  if (typeof m === 'string' && /^(file|data):/.test(m)) return m;
  throw new TypeError(
    `pool: the task module must be a file: URL, e.g. new URL('./task.js', import.meta.url); got ${String(m)} ` +
      '(a relative path would be resolved from weft\'s own folder, not yours)',
  );
}

/**
 * Starts a pool of `threads` worker threads, each running the function the
 * module at `module` exports (its default export, or `options.name`). The
 * function is plain code, sync or async: `(input, ctx) => output`.
 *
 * @example
 * ```ts
 * // hash.js
 * import { createHash } from 'node:crypto';
 * export default (text: string) => createHash('sha256').update(text).digest('hex');
 *
 * // main.js
 * import { pool } from 'weft';
 * const hashes = pool<string, string>(new URL('./hash.js', import.meta.url), { threads: 2 });
 * console.log(await hashes.run('hello'));
 * await hashes.close();
 * ```
 */
export function pool<I, O>(module: string | URL, options?: PoolOptions): Pool<I, O> {
  return new Pool<I, O>(module, options);
}
