/**
 * Parked operations and the queues that hold them.
 *
 * A send or receive that cannot complete at once parks a {@link Waiter} on
 * its channel. The channel completes it later by calling one of its
 * callbacks; because everything runs on one event loop, "take the waiter off
 * the queue and complete it" is atomic, which is what makes select and
 * cancellation exact: a waiter that was cancelled is no longer on any queue,
 * so it can never receive a message, and a waiter that received a message is
 * already off its queue, so a late abort finds nothing to undo.
 *
 * Waiters are intrusive list nodes: removing one (abort, timeout, a select
 * case that lost) is O(1) and allocates nothing. Waiter is an interface, not
 * a base class: each kind of waiter declares the node fields itself, so
 * parking one runs a single constructor (a derived constructor costs a
 * measurable share of a park).
 *
 * @internal
 */
export interface Waiter<T = unknown> {
  prev: Waiter<T> | null;
  next: Waiter<T> | null;
  list: WaiterList<T> | null;
  /** The handle this operation was issued on (keeps it alive while parked). */
  readonly owner: object;
  /** For a parked send: the value to hand over. */
  readonly value: T;

  /** A receive completed with `value`. */
  received(value: T): void;
  /** A send completed: `this.value` was taken or enqueued. */
  sent(): void;
  /**
   * Like `sent()`, but the waiter may report it one microtask later. A
   * rendezvous receiver that takes from the last parked sender uses it: the
   * receiver resumes first and parks, so the sender's next send hands its
   * value straight over instead of parking again (one promise per message
   * instead of two). Waiters that can be cancelled just call `sent()`.
   */
  sentSoon(): void;
  /** The other side of the channel is gone. */
  disconnected(): void;
  /** The operation failed for another reason (its handle was closed). */
  failed(error: Error): void;
}

/** A FIFO of parked waiters with O(1) removal from anywhere. @internal */
export class WaiterList<T> {
  head: Waiter<T> | null = null;
  tail: Waiter<T> | null = null;
  size = 0;

  push(w: Waiter<T>): void {
    w.list = this;
    w.prev = this.tail;
    w.next = null;
    if (this.tail === null) this.head = w;
    else this.tail.next = w;
    this.tail = w;
    this.size++;
  }

  /** Removes and returns the oldest waiter, or null. */
  shift(): Waiter<T> | null {
    const w = this.head;
    if (w === null) return null;
    const next = w.next;
    this.head = next;
    if (next === null) this.tail = null;
    else next.prev = null;
    w.next = null;
    w.list = null;
    this.size--;
    return w;
  }

  /** Removes `w` if it is on this list. */
  remove(w: Waiter<T>): void {
    if (w.list !== this) return;
    if (w.prev === null) this.head = w.next;
    else w.prev.next = w.next;
    if (w.next === null) this.tail = w.prev;
    else w.next.prev = w.prev;
    w.prev = w.next = null;
    w.list = null;
    this.size--;
  }

  /** Removes every waiter issued on `owner` and returns them. */
  takeOwnedBy(owner: object): Waiter<T>[] {
    const out: Waiter<T>[] = [];
    for (let w = this.head; w !== null; ) {
      const next = w.next;
      if (w.owner === owner) {
        this.remove(w);
        out.push(w);
      }
      w = next;
    }
    return out;
  }

  /** Removes and returns every waiter. */
  takeAll(): Waiter<T>[] {
    const out: Waiter<T>[] = [];
    for (let w = this.shift(); w !== null; w = this.shift()) out.push(w);
    return out;
  }
}

/**
 * Someone interested in a channel becoming ready, without taking part in a
 * transfer (readiness select). Notified once, then forgotten. @internal
 */
export interface Observer {
  notify(): void;
}

/** A set of observers notified and cleared together. @internal */
export class Observers {
  private set: Set<Observer> | null = null;

  get size(): number {
    return this.set === null ? 0 : this.set.size;
  }

  add(o: Observer): void {
    (this.set ??= new Set()).add(o);
  }

  delete(o: Observer): void {
    this.set?.delete(o);
  }

  /** Notifies and forgets everyone. Cheap when nobody watches. */
  notify(): void {
    // Inlined into every send and receive: the common "nobody watches" test
    // only; the loop (iterator bytecode) stays out of the callers' inlining budget.
    if (this.set !== null) this.notifyAll();
  }

  private notifyAll(): void {
    const set = this.set!;
    if (set.size === 0) return;
    this.set = null;
    for (const o of set) o.notify();
  }
}
