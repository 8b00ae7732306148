/**
 * Fairness for loops that run on microtasks.
 *
 * A loop whose channel operations complete at once never leaves the
 * microtask queue, so timers, I/O and abort signals fired by timers would
 * starve. Loops call {@link Fair.turn} once per iteration; every so often it
 * yields one macrotask turn. The check is a counter increment, and a clock
 * read every 256 iterations.
 *
 * @internal
 */

const SLICE_MS = 8;
const CHECK_EVERY = 256;

const macrotask: () => Promise<void> =
  typeof setImmediate === 'function'
    ? () => new Promise((resolve) => setImmediate(resolve))
    : () => new Promise((resolve) => setTimeout(resolve, 0));

/** Per-loop bookkeeping: when the loop last let the event loop run. */
export class Fair {
  private count = 0;
  private since = performance.now();

  /** A promise to await when the loop has held the thread too long, else undefined. */
  turn(): Promise<void> | undefined {
    if (++this.count < CHECK_EVERY) return undefined;
    this.count = 0;
    const t = performance.now();
    if (t - this.since < SLICE_MS) return undefined;
    this.since = t;
    return macrotask();
  }
}

/** True for promises and other thenables: only those are worth an `await`. */
export function isThenable<T>(v: T | PromiseLike<T>): v is PromiseLike<T> {
  return typeof (v as { then?: unknown } | null)?.then === 'function';
}
