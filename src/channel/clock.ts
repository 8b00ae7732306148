/**
 * Time helpers shared by timed operations and timer channels.
 *
 * All deadlines are on the monotonic `performance.now()` clock, so changes to
 * the wall clock never fire or delay a timeout. `setTimeout` cannot wait more
 * than 2^31-1 ms, so callers arm at most that long and re-arm when a timer
 * fires before their deadline.
 *
 * @internal
 */

/** Monotonic milliseconds. */
export const now = (): number => performance.now();

const MAX_DELAY = 0x7fffffff;

/** The `setTimeout` delay that reaches `deadline` (or gets as close as allowed). */
export function delayUntil(deadline: number): number {
  return Math.min(MAX_DELAY, Math.max(0, Math.ceil(deadline - now())));
}

/**
 * Checks a duration argument: a non-negative number of milliseconds
 * (Infinity means "no limit").
 */
export function checkMs(what: string, ms: number): number {
  if (typeof ms !== 'number' || Number.isNaN(ms) || ms < 0) {
    throw new RangeError(`${what}: expected a duration in milliseconds, a number >= 0 (or Infinity), got ${String(ms)}`);
  }
  return ms;
}
