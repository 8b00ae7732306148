/**
 * Work a component starts "in parallel" to its own loop, with the results
 * coming back on a receiver of its own (article 001: a component that owns a
 * thread pool). In this thread, "in parallel" means an async task; a worker
 * pool implements the same {@link Parallel} contract, so a component takes
 * either as an input.
 *
 * @module
 */
import { ClosedHandleError, unbounded, type Receiver, type Sender } from '../channel/index.js';

/**
 * Anything a component can start work on and get results back from: the
 * in-thread {@link TaskGroup} today, a worker pool later. Pass it as one of
 * a component's inputs; its results then arrive as messages of that input,
 * and the component closes it when it stops.
 *
 * @example
 * ```ts
 * import { tasks, type Parallel, type TaskResult } from 'weft';
 * const work: Parallel<TaskResult<number>> = tasks<number>();
 * console.log(work.pending); // 0
 * work.close();
 * ```
 */
export interface Parallel<T> {
  /** Where results arrive. The component selects on it. */
  readonly results: Receiver<T>;
  /** Work started whose result has not been received yet (running, or waiting in `results`). */
  readonly pending: number;
  /** Cancels what is running and closes `results`. */
  close(reason?: unknown): void;
}

/**
 * The outcome of one task: its value, or what it threw.
 *
 * @example
 * ```ts
 * import type { TaskResult } from 'weft';
 * const show = (r: TaskResult<number>): string => (r.ok ? `= ${r.value}` : `failed: ${String(r.error)}`);
 * console.log(show({ ok: true, value: 3 })); // '= 3'
 * ```
 */
export type TaskResult<T> = { readonly ok: true; readonly value: T } | { readonly ok: false; readonly error: unknown };

/**
 * A task: gets a signal that aborts when its group is closed.
 *
 * @example
 * ```ts
 * import { tasks, type Task } from 'weft';
 * const wait: Task<string> = (signal) => new Promise((resolve) => signal.addEventListener('abort', () => resolve('cancelled')));
 * const group = tasks<string>();
 * group.start(wait);
 * group.close();
 * ```
 */
export type Task<T> = (signal: AbortSignal) => T | PromiseLike<T>;

/**
 * In-thread parallel work: each {@link TaskGroup.start} runs an async task
 * next to the component's loop, and its {@link TaskResult} arrives on
 * {@link TaskGroup.results}. Limit how much runs at once from the loop (a
 * component's `accepts` can stop taking new jobs while `pending` is high).
 *
 * @example
 * ```ts
 * import { tasks } from 'weft';
 * const group = tasks<number>();
 * group.start(async () => 6 * 7);
 * const r = await group.results.recv();
 * if (r.ok) console.log(r.value); // 42
 * group.close();
 * ```
 */
export class TaskGroup<T> implements Parallel<TaskResult<T>> {
  readonly results: Receiver<TaskResult<T>>;
  private readonly tx: Sender<TaskResult<T>>;
  private readonly ac = new AbortController();
  private running = 0;

  /** @internal Use {@link tasks}. */
  constructor() {
    [this.tx, this.results] = unbounded<TaskResult<T>>();
  }

  /** Tasks started and not finished. */
  get active(): number {
    return this.running;
  }

  get pending(): number {
    return this.running + (this.results.isClosed ? 0 : this.results.len);
  }

  /** True once {@link TaskGroup.close} was called. */
  get isClosed(): boolean {
    return this.ac.signal.aborted;
  }

  /**
   * Starts `task` on the next microtask, so it runs next to the caller
   * rather than inside it. Throws `ClosedHandleError` once the group is closed.
   */
  start(task: Task<T>): void {
    if (this.isClosed) throw new ClosedHandleError('TaskGroup.start');
    this.running++;
    const signal = this.ac.signal;
    Promise.resolve()
      .then(() => task(signal))
      .then(
        (value) => this.finish({ ok: true, value }),
        (error: unknown) => this.finish({ ok: false, error }),
      );
  }

  close(reason?: unknown): void {
    if (this.isClosed) return;
    this.ac.abort(reason);
    this.tx.close();
    this.results.close();
  }

  private finish(r: TaskResult<T>): void {
    this.running--;
    if (!this.isClosed) this.tx.offer(r); // unbounded: always room
  }
}

/**
 * Makes a {@link TaskGroup}: in-thread parallel work whose results come back
 * on a receiver.
 *
 * @example
 * ```ts
 * import { tasks } from 'weft';
 * const group = tasks<string>();
 * group.start(() => 'done');
 * console.log(await group.results.recv()); // { ok: true, value: 'done' }
 * group.close();
 * ```
 */
export function tasks<T>(): TaskGroup<T> {
  return new TaskGroup<T>();
}
