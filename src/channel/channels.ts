/**
 * Making channels: `bounded`, `unbounded`, and the timer receivers.
 *
 * @module
 */
import { checkMs, now } from './clock.js';
import { QueueCore } from './queue.js';
import { Receiver } from './receiver.js';
import { keepChannelClassesAlive } from './resident.js';
import { Sender } from './sender.js';
import { AfterCore, NeverCore, TickCore } from './timers.js';

keepChannelClassesAlive();

/**
 * A channel with room for `capacity` messages. `send` waits while it is
 * full, which is how backpressure reaches producers. `bounded(0)` is a
 * rendezvous channel: a send completes only when a receiver has taken the
 * value.
 *
 * @param capacity a safe integer >= 0
 * @throws RangeError for a negative, fractional, NaN, infinite or unsafe capacity
 *
 * @example
 * ```ts
 * import { bounded } from 'weft';
 * const [tx, rx] = bounded<number>(0);   // rendezvous
 * const sending = tx.send(1);             // waits for a receiver
 * console.log(await rx.recv());           // 1
 * await sending;                          // completed by the take
 * ```
 */
export function bounded<T>(capacity: number): [Sender<T>, Receiver<T>] {
  if (typeof capacity !== 'number' || !Number.isSafeInteger(capacity) || capacity < 0) {
    throw new RangeError(
      `bounded(capacity): capacity must be a whole number from 0 to ${Number.MAX_SAFE_INTEGER} ` +
        `(0 makes a rendezvous channel); got ${String(capacity)}. Use unbounded() for no limit.`,
    );
  }
  const core = new QueueCore<T>(capacity);
  return [new Sender(core, bounded), new Receiver(core, bounded)];
}

/**
 * A channel without a capacity limit: `send` never waits. Prefer
 * {@link bounded} in production, so a slow consumer slows its producers
 * instead of filling memory.
 *
 * @example
 * ```ts
 * import { unbounded } from 'weft';
 * const [tx, rx] = unbounded<string>();
 * tx.trySend('never blocks');
 * console.log(rx.tryRecv()); // 'never blocks'
 * ```
 */
export function unbounded<T>(): [Sender<T>, Receiver<T>] {
  const core = new QueueCore<T>(undefined);
  return [new Sender(core, unbounded), new Receiver(core, unbounded)];
}

/**
 * A receiver that gets one message — the time of delivery — after `ms`
 * milliseconds, and none after that. Use it as a timeout case in `select`.
 * No timer runs unless someone waits on it.
 *
 * @example
 * ```ts
 * import { after, select, unbounded } from 'weft';
 * const [, jobs] = unbounded<string>();
 * const r = await select({ job: jobs, timeout: after(50) });
 * console.log(r.case); // 'timeout'
 * ```
 */
export function after(ms: number): Receiver<Date> {
  checkMs('after', ms);
  return new Receiver(new AfterCore(now() + ms), undefined);
}

/**
 * Like {@link after}, with an absolute time: one message at `when`.
 *
 * @example
 * ```ts
 * import { at } from 'weft';
 * const fired = await at(new Date(Date.now() + 20)).recv();
 * console.log(fired instanceof Date); // true
 * ```
 */
export function at(when: Date | number): Receiver<Date> {
  const t = typeof when === 'number' ? when : when.getTime();
  if (Number.isNaN(t)) throw new RangeError('at(when): expected a valid Date or epoch milliseconds');
  return new Receiver(new AfterCore(now() + (t - Date.now())), undefined);
}

/**
 * A receiver that gets a message every `ms` milliseconds. A slow receiver
 * finds at most one tick waiting; missed ticks are dropped, not queued.
 * Close it when done; no timer runs while nobody waits on it.
 *
 * @example
 * ```ts
 * import { tick } from 'weft';
 * const ticks = tick(10);
 * for (let i = 0; i < 3; i++) await ticks.recv();
 * ticks.close();
 * ```
 */
export function tick(ms: number): Receiver<Date> {
  checkMs('tick', ms);
  if (!(ms > 0) || ms === Infinity) throw new RangeError(`tick(ms): the period must be a finite number > 0, got ${ms}`);
  return new Receiver(new TickCore(ms), undefined);
}

/**
 * A receiver that is never ready and never disconnected. In a select it
 * switches a case off (like a nil channel in Go).
 *
 * @example
 * ```ts
 * import { never, select, unbounded, type Receiver } from 'weft';
 * const [tx, rx] = unbounded<number>();
 * const maybeTimeout: Receiver<Date> | null = null;
 * tx.trySend(1);
 * const r = await select({ rx, timeout: maybeTimeout ?? never() });
 * console.log(r.case); // 'rx'
 * ```
 */
export function never<T = never>(): Receiver<T> {
  return new Receiver(new NeverCore(), undefined) as unknown as Receiver<T>;
}
