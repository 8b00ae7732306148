/**
 * Timer channels: receivers whose messages are produced by the clock.
 *
 * - `after(ms)` / `at(date)`: one message (the delivery time) at the deadline.
 * - `tick(ms)`: a message every period; a slow receiver gets at most one
 *   pending tick, the missed ones are dropped (not queued).
 * - `never()`: never ready and never disconnected; a select case on it is
 *   switched off, like a nil channel in Go.
 *
 * A timer arms a real `setTimeout` only while someone waits on it (a parked
 * receive or a select), and clears it as soon as nobody does. An `after(…)`
 * created in every iteration of a select loop therefore costs one object and
 * no timer whenever another case is ready first, and an abandoned timer never
 * keeps the process alive.
 *
 * @internal
 */
import { delayUntil, now } from './clock.js';
import { EMPTY, FULL, type ChannelCore, type Side, type TryRecvStatus, type TrySendStatus } from './core.js';
import { Observers, WaiterList, type Observer, type Waiter } from './waiter.js';

/** Shared machinery: receivers, parked waiters, and the lazily armed timer. */
abstract class ClockCore implements ChannelCore<Date> {
  readonly capacity: number | undefined = 1;
  protected readonly recvq = new WaiterList<Date>();
  protected readonly obs = new Observers();
  private timer: ReturnType<typeof setTimeout> | null = null;
  private receivers = 1;

  /** When the next message is due (performance.now() time), or Infinity. */
  protected abstract due(): number;
  /** Takes the due message. Called only when `now() >= due()`. */
  protected abstract take(at: number): Date;

  len(): number {
    return this.canRecv() ? 1 : 0;
  }
  isFull(): boolean {
    return this.canRecv();
  }
  isDisconnected(): boolean {
    return false;
  }
  acquire(_side: Side): void {
    this.receivers++;
  }
  release(_side: Side): void {
    if (--this.receivers === 0) this.disarm();
  }
  failOwner(owner: object, error: (w: Waiter<Date>) => Error): void {
    for (const w of this.recvq.takeOwnedBy(owner)) w.failed(error(w));
    this.obs.notify();
    this.sync();
  }
  trySend(_value: Date): TrySendStatus {
    return FULL;
  }
  canSend(): boolean {
    return false;
  }
  parkSend(_w: Waiter<Date>): void {
    throw new TypeError('a timer channel has no Sender');
  }

  tryRecv(): TryRecvStatus<Date> {
    const t = now();
    return t >= this.due() ? this.take(t) : EMPTY;
  }
  canRecv(): boolean {
    return now() >= this.due();
  }
  parkRecv(w: Waiter<Date>): void {
    this.recvq.push(w);
    this.sync();
  }
  cancel(w: Waiter<Date>): void {
    this.recvq.remove(w);
    this.sync();
  }
  observe(_side: Side, o: Observer): void {
    this.obs.add(o);
    this.sync();
  }
  unobserve(_side: Side, o: Observer): void {
    this.obs.delete(o);
    this.sync();
  }

  /** Arms the timer when someone waits and a message is due later; else clears it. */
  private sync(): void {
    const waited = this.recvq.size > 0 || this.obs.size > 0;
    const due = this.due();
    if (!waited || due === Infinity) return this.disarm();
    if (this.timer === null) this.timer = setTimeout(this.fire, delayUntil(due));
  }

  private disarm(): void {
    if (this.timer !== null) clearTimeout(this.timer);
    this.timer = null;
  }

  private readonly fire = (): void => {
    this.timer = null;
    const t = now();
    if (t >= this.due()) {
      const w = this.recvq.shift();
      if (w !== null) w.received(this.take(t));
      this.obs.notify();
    }
    this.sync();
  };
}

/** One message at a deadline; never ready again once taken. */
export class AfterCore extends ClockCore {
  private deadline: number;
  constructor(deadline: number) {
    super();
    this.deadline = deadline;
  }
  protected due(): number {
    return this.deadline;
  }
  protected take(): Date {
    this.deadline = Infinity;
    return new Date();
  }
}

/** A message every `period` ms; missed ticks are dropped. */
export class TickCore extends ClockCore {
  private next: number;
  private readonly period: number;
  constructor(period: number) {
    super();
    this.period = period;
    this.next = now() + period;
  }
  protected due(): number {
    return this.next;
  }
  protected take(at: number): Date {
    // Next tick on the original grid, strictly after now: late ticks collapse into one.
    const missed = Math.floor((at - this.next) / this.period) + 1;
    this.next += missed * this.period;
    return new Date();
  }
}

/** Never ready, never disconnected. */
export class NeverCore extends ClockCore {
  protected due(): number {
    return Infinity;
  }
  protected take(): Date {
    throw new Error('unreachable: never() has no messages');
  }
}
