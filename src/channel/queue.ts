/**
 * The in-loop channel: bounded, unbounded and rendezvous in one core.
 *
 * The three flavors differ only in how many messages the buffer may hold
 * (`cap`: N, Infinity, or 0), so they share this implementation instead of
 * repeating it three times. The invariants that make it correct:
 *
 * - Receivers park only when the buffer is empty and no sender is parked.
 *   So a send first hands its value straight to the oldest parked receiver,
 *   which cannot overtake anything buffered.
 * - Senders park only when the buffer is full (always, for `cap` 0). So a
 *   receive that takes from the buffer moves the oldest parked sender's value
 *   into the freed slot, keeping FIFO order; with `cap` 0 the receiver takes
 *   the value straight from the parked sender: that is the rendezvous, and the
 *   send completes only once its value is taken.
 * - When an awaited `recv` took the value of the last parked sender, that
 *   sender's wake-up is queued behind the receiver's (`released`), so the
 *   receiver parks first and the sender's next send hands its value straight
 *   over: a one-to-one stream then costs one promise per message, not two.
 * - Parked waiters are FIFO, so messages from one sender keep their order.
 *
 * @internal
 */
import { DISCONNECTED, EMPTY, FULL, SENT, type ChannelCore, type Side, type TryRecvStatus, type TrySendStatus } from './core.js';
import { Ring } from './ring.js';
import { Observers, WaiterList, type Observer, type Waiter } from './waiter.js';

export class QueueCore<T> implements ChannelCore<T> {
  readonly capacity: number | undefined;
  private readonly cap: number;
  private readonly buf: Ring<T>;
  private senders = 1;
  private receivers = 1;
  private readonly sendq = new WaiterList<T>();
  private readonly recvq = new WaiterList<T>();
  private readonly sendObs = new Observers();
  private readonly recvObs = new Observers();

  /** @param capacity a checked capacity, or undefined for unbounded. */
  constructor(capacity: number | undefined) {
    this.capacity = capacity;
    this.cap = capacity ?? Infinity;
    this.buf = new Ring<T>(Math.min(this.cap, 16));
  }

  len(): number {
    return this.buf.length;
  }

  isFull(): boolean {
    return this.buf.length >= this.cap;
  }

  isDisconnected(): boolean {
    return this.senders === 0 || this.receivers === 0;
  }

  acquire(side: Side): void {
    if (side === 'send') this.senders++;
    else this.receivers++;
  }

  release(side: Side): void {
    if (side === 'send') {
      if (--this.senders === 0) this.disconnect(this.recvq, this.recvObs);
    } else if (--this.receivers === 0) {
      this.buf.clear();
      this.disconnect(this.sendq, this.sendObs);
    }
  }

  /** Wakes every waiter of the other side: nothing will ever match them. */
  private disconnect(q: WaiterList<T>, obs: Observers): void {
    for (const w of q.takeAll()) w.disconnected();
    obs.notify();
  }

  failOwner(owner: object, error: (w: Waiter<T>) => Error): void {
    for (const w of this.sendq.takeOwnedBy(owner)) w.failed(error(w));
    for (const w of this.recvq.takeOwnedBy(owner)) w.failed(error(w));
    // Readiness watchers (ready()) re-check and see the closed handle.
    this.sendObs.notify();
    this.recvObs.notify();
  }

  trySend(value: T): TrySendStatus {
    if (this.receivers === 0) return DISCONNECTED;
    const r = this.recvq.shift();
    if (r !== null) {
      r.received(value);
      return SENT;
    }
    if (this.buf.length < this.cap) {
      this.buf.push(value);
      this.recvObs.notify();
      return SENT;
    }
    return FULL;
  }

  tryRecv(awaited = false): TryRecvStatus<T> {
    if (this.buf.length > 0) {
      const value = this.buf.shift();
      const s = this.sendq.shift();
      if (s !== null) {
        this.buf.push(s.value);
        this.released(s, awaited);
      } else {
        this.sendObs.notify();
      }
      return value;
    }
    const s = this.sendq.shift();
    if (s !== null) {
      const value = s.value;
      this.released(s, awaited);
      return value;
    }
    return this.senders === 0 ? DISCONNECTED : EMPTY;
  }

  /**
   * Completes parked sender `s`, whose value was just taken. Deferred only for
   * an awaited `recv` and the last parked sender (see the module comment); a
   * select is never deferred to: it would often find nothing ready next time
   * and park all its cases.
   */
  private released(s: Waiter<T>, awaited: boolean): void {
    if (awaited && this.sendq.size === 0) s.sentSoon();
    else s.sent();
  }

  canSend(): boolean {
    return this.receivers === 0 || this.recvq.size > 0 || this.buf.length < this.cap;
  }

  canRecv(): boolean {
    return this.buf.length > 0 || this.sendq.size > 0 || this.senders === 0;
  }

  parkSend(w: Waiter<T>): void {
    this.sendq.push(w);
    if (this.cap === 0) this.recvObs.notify();
  }

  parkRecv(w: Waiter<T>): void {
    this.recvq.push(w);
    if (this.cap === 0) this.sendObs.notify();
  }

  cancel(w: Waiter<T>): void {
    if (w.list === this.sendq) this.sendq.remove(w);
    else if (w.list === this.recvq) this.recvq.remove(w);
  }

  observe(side: Side, o: Observer): void {
    (side === 'send' ? this.sendObs : this.recvObs).add(o);
  }

  unobserve(side: Side, o: Observer): void {
    (side === 'send' ? this.sendObs : this.recvObs).delete(o);
  }
}
