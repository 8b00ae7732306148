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
  /** How many items the function works on at once (in this thread). Default 1. */
  readonly concurrency?: number;
  /** With concurrency > 1: keep the input order (default `true`), or emit results as they complete (`false`). */
  readonly ordered?: boolean;
  /** Capacity of this stage's output channel. Default: the pipeline's `capacity`. */
  readonly capacity?: number;
  /** Reserved for the worker-thread variant (threads running this stage). Only 1 for now. */
  readonly parallelism?: number;
  /** Reserved for the worker-thread variant (the pool to run on). Must be left out for now. */
  readonly workers?: never;
}

/**
 * A pipeline stage: a function and how to run it. Make one with
 * {@link stage}; a bare function in a pipeline is a stage with the defaults.
 *
 * @example
 * ```ts
 * import { stage, Stage } from 'weft';
 * const s = stage((n: number) => n + 1, { concurrency: 2 });
 * console.log(s instanceof Stage, s.concurrency, s.ordered); // true 2 true
 * ```
 */
export class Stage<A, B> {
  /** @internal Use {@link stage}. */
  constructor(
    readonly fn: StageFn<A, B>,
    readonly concurrency: number,
    readonly ordered: boolean,
    readonly capacity: number | undefined,
  ) {}
}

/**
 * A stage with options: `concurrency` items processed at once, `ordered`
 * or not, and the capacity of its output channel.
 *
 * @example
 * ```ts
 * import { pipeline, stage } from 'weft';
 * const sleep = (ms: number, signal: AbortSignal) => new Promise((r) => { const t = setTimeout(r, ms); signal.addEventListener('abort', () => clearTimeout(t)); });
 * const lookup = stage(async (id: number, signal) => { await sleep(5 - id, signal); return `user-${id}`; },
 *   { concurrency: 4, ordered: false });                  // four lookups at once, results as they come
 * await pipeline([1, 2, 3, 4], lookup, async (users) => { for await (const u of users) console.log(u); });
 * ```
 */
export function stage<A, B>(fn: StageFn<A, B>, options: StageOptions = {}): Stage<A, B> {
  const { concurrency = 1, ordered = true, capacity, parallelism = 1, workers } = options;
  if (!Number.isSafeInteger(concurrency) || concurrency < 1) {
    throw new RangeError(`stage: concurrency must be a whole number >= 1, got ${String(concurrency)}`);
  }
  if (capacity !== undefined && (!Number.isSafeInteger(capacity) || capacity < 0)) {
    throw new RangeError(`stage: capacity must be a whole number >= 0, got ${String(capacity)}`);
  }
  if (parallelism !== 1 || workers !== undefined) {
    throw new RangeError('stage: `parallelism` and `workers` are reserved for worker-thread stages, which are not available yet');
  }
  return new Stage(fn, concurrency, ordered, capacity);
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
 * channels close, so it wins any race with the ends they signal. @internal
 */
export async function runStage<A, B>(s: Stage<A, B>, input: Receiver<A>, output: Sender<B>, ctl: Ctl): Promise<boolean> {
  try {
    return s.concurrency === 1 ? await serial(s.fn, input, output, ctl.signal) : await concurrent(s, input, output, ctl.signal);
  } catch (e) {
    ctl.fail(e);
    return false;
  } finally {
    input.close();
    output.close();
  }
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
async function concurrent<A, B>(s: Stage<A, B>, input: Receiver<A>, output: Sender<B>, signal: AbortSignal): Promise<boolean> {
  const [doneTx, done] = unbounded<Slot<B>>();
  const off = never<A>(); // the input case, switched off while the window is full
  const window = s.ordered ? new Window<Slot<B>>(s.concurrency) : null;
  const inbox = new Inbox(input);
  let inflight = 0;
  let ended = false;
  const start = (v: A): void => {
    const slot = new Slot<B>();
    inflight++;
    window?.push(slot);
    launch(s.fn, v, signal, slot, doneTx);
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
      while (!ended && inflight < s.concurrency) {
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
      const listen = !ended && inflight < s.concurrency;
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
