/**
 * Channel steps shared by the pipeline's loops: take the next message and
 * put one, synchronously when the channel is ready (no promise, no
 * microtask), and with "the stream ended" and "nobody listens any more" as
 * plain outcomes instead of errors. A handle closed under a loop (the
 * pipeline cancelling) reads the same way: the loop just stops.
 *
 * @internal
 */
import {
  ClosedHandleError,
  RecvError,
  SendError,
  TryRecvError,
  TrySendError,
  type Receiver,
  type Sender,
} from '../channel/index.js';

/** The input ended: disconnected and drained, or closed under the loop. */
export const END: unique symbol = Symbol('weft.end');

/** Nothing is ready now. */
export const NONE: unique symbol = Symbol('weft.none');

/**
 * A loop's reader of its input channel. It takes everything that is ready
 * at once (up to the channel's capacity) into a local batch: a full channel
 * is emptied in one step, so its producer refills it in one burst instead
 * of waking once per message. Memory stays bounded: one more channel's worth.
 */
export class Inbox<T> {
  private readonly batch: T[] = [];
  private next = 0;
  private readonly max: number;

  constructor(private readonly rx: Receiver<T>) {
    this.max = Math.max(1, rx.capacity ?? 64);
  }

  /** The next message, NONE if none is ready, END once the input ended. */
  poll(): T | typeof END | typeof NONE {
    if (this.next < this.batch.length) return this.shift();
    this.batch.length = this.next = 0;
    try {
      if (this.rx.tryRecvMany(this.batch, this.max) > 0) return this.shift();
      return this.rx.isDisconnected ? END : NONE;
    } catch (e) {
      return ended(e);
    }
  }

  /** The next message or END; a value rather than a promise when one is ready. */
  take(): T | typeof END | Promise<T | typeof END> {
    const v = this.poll();
    if (v !== NONE) return v;
    return this.rx.recvMany(this.batch, this.max).then(() => this.shift(), ended);
  }

  private shift(): T {
    const v = this.batch[this.next]!;
    this.batch[this.next++] = undefined as T; // let delivered items go
    return v;
  }
}

/** Sends `v`; false when nobody receives any more. `true` rather than a promise when there was room. */
export function put<T>(tx: Sender<T>, v: T): boolean | Promise<boolean> {
  try {
    if (tx.offer(v)) return true;
  } catch (e) {
    return gone(e);
  }
  return tx.send(v).then(yes, gone);
}

/** True for the errors that mean "this end of the flow is over", not a failure. */
export function isFlowEnd(e: unknown): boolean {
  return (
    e instanceof RecvError ||
    e instanceof SendError ||
    e instanceof ClosedHandleError ||
    (e instanceof TryRecvError && e.kind === 'disconnected') ||
    (e instanceof TrySendError && e.kind === 'disconnected')
  );
}

function ended(e: unknown): typeof END {
  if (isFlowEnd(e)) return END;
  throw e;
}

function gone(e: unknown): false {
  if (isFlowEnd(e)) return false;
  throw e;
}

function same<T>(v: T): T {
  return v;
}

function yes(): true {
  return true;
}

/** What a pipeline's loops report to the pipeline. */
export interface Ctl {
  /** Aborted when the pipeline fails, is cancelled, or its sink stopped early. */
  readonly signal: AbortSignal;
  /** Reports a failure; called before the loop closes its channels, so it wins any race with their ends. */
  fail(error: unknown): void;
}
