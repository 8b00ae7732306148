/**
 * Pipeline stages: a function applied to every item, with a chosen
 * concurrency, between an input Receiver and an output Sender.
 *
 * A stage ends the way the articles' pipelines do: when its input
 * disconnects it finishes what it has, then closes its output, so the next
 * stage ends in turn. When its output has nobody left to receive, it stops
 * and closes its input, so the previous stage stops too.
 *
 * @module
 */
import { never, select, unbounded, type Receiver, type Sender } from '../channel/index.js';
import { Fair, isThenable } from './fair.js';
import { END, Inbox, NONE, put, type Ctl } from './flow.js';
import { Pool, STAGE_CALL } from './pool.js';

/**
 * A stage's work on one item. `signal` aborts when the pipeline fails or is cancelled.
 *
 * @example
 * ```ts
 * import type { StageFn } from 'weft';
 * const pause: StageFn<number, number> = (n, signal) =>
 *   new Promise((resolve, reject) => {
 *     const t = setTimeout(() => resolve(n), 1);
 *     signal.addEventListener('abort', () => { clearTimeout(t); reject(signal.reason); });
 *   });
 * console.log(await pause(7, new AbortController().signal)); // 7
 * ```
 */
export type StageFn<A, B> = (value: A, signal: AbortSignal) => B | PromiseLike<B>;

/**
 * Options of {@link stage}.
 *
 * @example
 * ```ts
 * import { stage, type StageOptions } from 'weft';
 * const options: StageOptions = { concurrency: 4, ordered: false, capacity: 32 };
 * console.log(stage(async (s: string) => s.length, options).ordered); // false
 * ```
 */
export interface StageOptions {
  /**
   * How many items are worked on at once. In this thread: calls of the
   * function in flight (default 1). On worker threads: items handed to the
   * threads and not yet answered (default 2 × `parallelism`, so a thread
   * always has its next item waiting).
   */
  readonly concurrency?: number;
  /** With more than one item in flight: keep the input order (default `true`), or emit results as they complete (`false`). */
  readonly ordered?: boolean;
  /** Capacity of this stage's output channel. Default: the pipeline's `capacity`. */
  readonly capacity?: number;
  /**
   * Worker-thread stages (a module URL given to {@link stage}): how many
   * threads run the function. Default 1. Only for module stages.
   */
  readonly parallelism?: number;
  /** Worker-thread stages: the module's export to run. Default `'default'`. */
  readonly name?: string;
  /** Worker-thread stages: milliseconds a thread gets to drop a cancelled item before it is replaced. Default 100. */
  readonly abortGrace?: number;
}

/** Where a stage's function runs: this thread, or worker threads (a module, or a pool). @internal */
export type StageWork<A, B> =
  | { readonly kind: 'here'; readonly fn: StageFn<A, B> }
  | { readonly kind: 'module'; readonly url: string; readonly parallelism: number; readonly name: string; readonly abortGrace: number }
  | { readonly kind: 'pool'; readonly pool: Pool<A, B> };

/**
 * A pipeline stage: a function and how to run it. Make one with
 * {@link stage}; a bare function in a pipeline is a stage with the defaults.
 *
 * @example
 * ```ts
 * import { stage, Stage } from 'weft';
 * const s = stage((n: number) => n + 1, { concurrency: 2 });
 * console.log(s instanceof Stage, s.concurrency, s.ordered, s.threads); // true 2 true 0
 * ```
 */
export class Stage<A, B> {
  /** @internal Use {@link stage}. */
  constructor(
    /** @internal */
    readonly work: StageWork<A, B>,
    readonly concurrency: number,
    readonly ordered: boolean,
    readonly capacity: number | undefined,
  ) {}

  /** Worker threads this stage starts for each pipeline run (0: it runs in this thread, or on a pool it was given). */
  get threads(): number {
    return this.work.kind === 'module' ? this.work.parallelism : 0;
  }
}

/**
 * A pipeline stage with options. Three kinds, one contract (an item in,
 * its result out, in order unless `ordered: false`):
 *
 * - `stage(fn, options)`: `fn(item, signal)` runs in this thread,
 *   `concurrency` items at once;
 * - `stage(new URL('./fn.js', import.meta.url), { parallelism })`: the
 *   function the module exports (the same plain `(item, signal) => out`,
 *   sync or async) runs on `parallelism` worker threads of its own, started
 *   when the pipeline starts and stopped when the stage ends. Items and
 *   results cross threads as copies, through shared memory;
 * - `stage(pool, options)`: items go to an existing {@link Pool} with
 *   `pool.run(item, { signal })` (its task function gets `(input, ctx)`);
 *   the pipeline does not close the pool.
 *
 * On worker threads the stage keeps `concurrency` items in flight (default
 * 2 × `parallelism`) and no more, so backpressure and memory bounds hold
 * as for any stage. An error thrown by the function fails the pipeline with
 * that error (name, message and stack from the worker); a thread that
 * crashes fails it with `WorkerExitError`; a module that cannot be loaded
 * fails it with `PoolClosedError` (`kind: 'failed'`). When the pipeline
 * fails or is cancelled, the items in flight are cancelled (their `signal`
 * aborts) and the stage's threads are terminated; the pipeline settles
 * once they are gone.
 *
 * @example
 * ```ts
 * import { pipeline, stage } from 'weft';
 * const sleep = (ms: number, signal: AbortSignal) => new Promise((r) => { const t = setTimeout(r, ms); signal.addEventListener('abort', () => clearTimeout(t)); });
 * const lookup = stage(async (id: number, signal) => { await sleep(5 - id, signal); return `user-${id}`; },
 *   { concurrency: 4, ordered: false });                  // four lookups at once, results as they come
 * await pipeline([1, 2, 3, 4], lookup, async (users) => { for await (const u of users) console.log(u); });
 *
 * // hash.js exports `default (text: string) => createHash('sha256').update(text).digest('hex')`
 * const hash = stage<string, string>(new URL('./hash.js', import.meta.url), { parallelism: 2 }); // 2 threads, in order
 * await pipeline(['a', 'b', 'c'], hash, async (hashes) => { for await (const h of hashes) console.log(h); });
 * ```
 */
export function stage<A, B>(fn: StageFn<A, B>, options?: StageOptions): Stage<A, B>;
export function stage<A, B>(module: URL, options?: StageOptions): Stage<A, B>;
export function stage<A, B>(workers: Pool<A, B>, options?: StageOptions): Stage<A, B>;
export function stage<A, B>(what: StageFn<A, B> | URL | Pool<A, B>, options: StageOptions = {}): Stage<A, B> {
  const { ordered = true, capacity, parallelism, name, abortGrace } = options;
  if (capacity !== undefined && (!Number.isSafeInteger(capacity) || capacity < 0)) {
    throw new RangeError(`stage: capacity must be a whole number >= 0, got ${String(capacity)}`);
  }
  let work: StageWork<A, B>;
  let defaultConcurrency = 1;
  if (what instanceof URL) {
    const threads = parallelism ?? 1;
    if (!Number.isSafeInteger(threads) || threads < 1) throw new RangeError(`stage: parallelism must be a whole number >= 1 (worker threads), got ${String(threads)}`);
    const exportName = name ?? 'default';
    if (typeof exportName !== 'string' || exportName === '') throw new TypeError(`stage: name must be the name of a function the module exports, got ${String(exportName)}`);
    const grace = abortGrace ?? 100;
    if (!Number.isSafeInteger(grace) || grace < 0) throw new RangeError(`stage: abortGrace must be a whole number of ms >= 0, got ${String(grace)}`);
    work = { kind: 'module', url: what.href, parallelism: threads, name: exportName, abortGrace: grace };
    defaultConcurrency = 2 * threads;
  } else {
    if (parallelism !== undefined || name !== undefined || abortGrace !== undefined) {
      throw new TypeError(
        'stage: parallelism, name and abortGrace are for worker-thread stages: give the module that exports the function, ' +
          "e.g. stage(new URL('./fn.js', import.meta.url), { parallelism: 4 })",
      );
    }
    if (what instanceof Pool) {
      work = { kind: 'pool', pool: what };
      defaultConcurrency = 2 * what.threads;
    } else if (typeof what === 'function') work = { kind: 'here', fn: what };
    else throw new TypeError(`stage: expected a function, a module URL or a pool, got ${what === null ? 'null' : typeof what}`);
  }
  const concurrency = options.concurrency ?? defaultConcurrency;
  if (!Number.isSafeInteger(concurrency) || concurrency < 1) {
    throw new RangeError(`stage: concurrency must be a whole number >= 1, got ${String(concurrency)}`);
  }
  return new Stage(work, concurrency, ordered, capacity);
}

/** A bare function or a Stage, as a Stage. @internal */
export function toStage<A, B>(s: StageFn<A, B> | Stage<A, B>): Stage<A, B> {
  if (s instanceof Stage) return s;
  if (typeof s !== 'function') throw new TypeError(`pipeline: a stage must be a function or a stage(…), got ${typeof s}`);
  return stage(s);
}

/**
 * Runs `s` from `input` to `output` until the input ends or the output is
 * gone, then closes both. Resolves with `true` when it went through the
 * whole input. Never rejects: a failure goes to `ctl.fail` before the
 * channels close, so it wins any race with the ends they signal. A stage on
 * threads of its own resolves once they have stopped. @internal
 */
export async function runStage<A, B>(s: Stage<A, B>, input: Receiver<A>, output: Sender<B>, ctl: Ctl): Promise<boolean> {
  const work = s.work;
  let threads: Pool<A, B> | undefined;
  let whole = false;
  try {
    let fn: StageFn<A, B>;
    if (work.kind === 'here') fn = work.fn;
    else {
      const p = work.kind === 'pool' ? work.pool : (threads = stagePool<A, B>(work, s.concurrency));
      fn = (v, signal) => p.run(v, { signal });
    }
    whole = s.concurrency === 1 ? await serial(fn, input, output, ctl.signal) : await concurrent(fn, s.concurrency, s.ordered, input, output, ctl.signal);
    return whole;
  } catch (e) {
    ctl.fail(e);
    return false;
  } finally {
    input.close();
    output.close();
    // Its own threads: let them finish after a whole run, stop them otherwise.
    if (threads !== undefined) await (whole ? threads.close() : threads.terminate(ctl.signal.reason));
  }
}

/** The threads of a module stage: a pool calling its function as a stage function. */
function stagePool<A, B>(work: Extract<StageWork<A, B>, { kind: 'module' }>, concurrency: number): Pool<A, B> {
  const queue = Math.max(1, Math.ceil(concurrency / work.parallelism));
  return new Pool<A, B>(work.url, { threads: work.parallelism, queue, name: work.name, abortGrace: work.abortGrace }, STAGE_CALL);
}

/** One item at a time: take, apply, put. Awaits only what is not ready. */
async function serial<A, B>(fn: StageFn<A, B>, input: Receiver<A>, output: Sender<B>, signal: AbortSignal): Promise<boolean> {
  const fair = new Fair();
  const inbox = new Inbox(input);
  for (;;) {
    let v = inbox.take();
    if (isThenable(v)) v = await v;
    if (v === END) return !signal.aborted;
    if (signal.aborted) return false;
    let out = fn(v, signal);
    if (isThenable(out)) out = await out;
    let ok = put(output, out);
    if (isThenable(ok)) ok = await ok;
    if (!ok) return false;
    const y = fair.turn();
    if (y !== undefined) await y;
  }
}

/** One item in flight, and its outcome once settled. */
class Slot<B> {
  done = false;
  failed = false;
  value: B | undefined;
  error: unknown;
}

/**
 * Up to `concurrency` items in flight. Completions come back on a channel of
 * their own, so one select waits for "an item to start" or "a result to
 * emit" — the loop never races promises. Ordered mode emits from the head of
 * a window of in-flight slots, so at most `concurrency` results wait.
 */
async function concurrent<A, B>(
  fn: StageFn<A, B>,
  concurrency: number,
  ordered: boolean,
  input: Receiver<A>,
  output: Sender<B>,
  signal: AbortSignal,
): Promise<boolean> {
  const [doneTx, done] = unbounded<Slot<B>>();
  const off = never<A>(); // the input case, switched off while the window is full
  const window = ordered ? new Window<Slot<B>>(concurrency) : null;
  const inbox = new Inbox(input);
  let inflight = 0;
  let ended = false;
  const start = (v: A): void => {
    const slot = new Slot<B>();
    inflight++;
    window?.push(slot);
    launch(fn, v, signal, slot, doneTx);
  };
  // Emits completed results: the slot's own (unordered) or the done head of the window (ordered).
  const emit = (slot: Slot<B>): boolean | Promise<boolean> => {
    if (window === null) {
      inflight--;
      return deliver(slot, output);
    }
    while (window.size > 0 && window.head().done) {
      inflight--;
      const ok = deliver(window.shift(), output);
      if (isThenable(ok)) return ok.then((sent) => sent && emit(slot));
      if (!ok) return false;
    }
    return true;
  };
  const fair = new Fair();
  try {
    for (;;) {
      const y = fair.turn();
      if (y !== undefined) await y;
      while (!ended && inflight < concurrency) {
        const v = inbox.poll();
        if (v === NONE) break;
        if (v === END) ended = true;
        else start(v);
      }
      if (ended && inflight === 0) return !signal.aborted;
      if (signal.aborted) return false;
      const ready = done.poll(NONE); // emit what has completed without a select
      if (ready !== NONE) {
        let ok = emit(ready);
        if (isThenable(ok)) ok = await ok;
        if (!ok) return false;
        continue;
      }
      const listen = !ended && inflight < concurrency;
      const r = await select({ input: listen ? input : off, done }, { signal }).catch(() => undefined);
      if (r === undefined) return false; // cancelled: aborted, or a handle was closed under us
      if (r.case === 'input') {
        if (r.ok) start(r.value);
        else ended = true;
      } else if (r.ok) {
        let ok = emit(r.value);
        if (isThenable(ok)) ok = await ok;
        if (!ok) return false;
      }
    }
  } finally {
    doneTx.close();
    done.close();
    off.close();
  }
}

function launch<A, B>(fn: StageFn<A, B>, v: A, signal: AbortSignal, slot: Slot<B>, doneTx: Sender<Slot<B>>): void {
  let out: B | PromiseLike<B>;
  try {
    out = fn(v, signal);
  } catch (e) {
    return settle(slot, doneTx, false, e);
  }
  if (!isThenable(out)) return settle(slot, doneTx, true, out);
  out.then(
    (value) => settle(slot, doneTx, true, value),
    (error: unknown) => settle(slot, doneTx, false, error),
  );
}

function settle<B>(slot: Slot<B>, doneTx: Sender<Slot<B>>, ok: boolean, x: unknown): void {
  slot.done = true;
  if (ok) slot.value = x as B;
  else [slot.failed, slot.error] = [true, x];
  if (!doneTx.isClosed) doneTx.offer(slot);
}

/** Puts a settled slot's value on the output, or throws its error. */
function deliver<B>(slot: Slot<B>, output: Sender<B>): boolean | Promise<boolean> {
  if (slot.failed) throw slot.error;
  return put(output, slot.value as B);
}

/** A fixed-size FIFO of in-flight slots (ordered mode). */
class Window<T> {
  private readonly slots: (T | undefined)[];
  private start = 0;
  size = 0;
  constructor(capacity: number) {
    this.slots = new Array<T | undefined>(capacity).fill(undefined);
  }
  push(v: T): void {
    this.slots[(this.start + this.size++) % this.slots.length] = v;
  }
  head(): T {
    return this.slots[this.start] as T;
  }
  shift(): T {
    const v = this.slots[this.start] as T;
    this.slots[this.start] = undefined;
    this.start = (this.start + 1) % this.slots.length;
    this.size--;
    return v;
  }
}
