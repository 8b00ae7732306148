/** Helpers shared by the pattern tests. */
import type { Worker } from 'node:worker_threads';
export { guard, track, turn } from '../helpers.js';

/** A promise with its resolve/reject handles, to drive async work step by step. */
export interface Deferred<T> {
  promise: Promise<T>;
  resolve(v: T): void;
  reject(e: unknown): void;
}

export function deferred<T = void>(): Deferred<T> {
  let resolve!: (v: T) => void;
  let reject!: (e: unknown) => void;
  const promise = new Promise<T>((res, rej) => {
    resolve = res;
    reject = rej;
  });
  return { promise, resolve, reject };
}

/** Lets `n` macrotask turns run (pending microtasks run between them). */
export async function turns(n: number): Promise<void> {
  for (let i = 0; i < n; i++) await new Promise<void>((r) => setImmediate(r));
}

/** Resolves when `cond()` holds, checking once per macrotask turn; a hang guard rejects after `ms`. */
export async function until(cond: () => boolean, what = 'condition', ms = 5000): Promise<void> {
  const start = performance.now();
  while (!cond()) {
    if (performance.now() - start > ms) throw new Error(`${what} did not hold within ${ms} ms`);
    await new Promise<void>((r) => setImmediate(r));
  }
}

/** Compile-time type equality, for `const _: Equal<A, B> = true`. */
export type Equal<A, B> = (<T>() => T extends A ? 1 : 2) extends <T>() => T extends B ? 1 : 2 ? true : false;

/** Counts the worker threads started from now on that have not exited. */
export function liveWorkers(): { readonly live: number; stop(): void } {
  let live = 0;
  const on = (w: Worker): void => {
    live++;
    w.once('exit', () => live--);
  };
  process.on('worker', on);
  return {
    get live() {
      return live;
    },
    stop: () => process.off('worker', on),
  };
}
