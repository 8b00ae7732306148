/**
 * What Senders and Receivers have in common: ownership of one reference to a
 * channel, closing, disposal, and the inspectors.
 *
 * @internal
 */
import type { ChannelCore, Side } from './core.js';
import { ClosedHandleError } from './errors.js';
import { track, untrack } from './leaks.js';

export abstract class Handle<T> {
  /** @internal The channel this handle refers to. */
  readonly core: ChannelCore<T>;
  /** @internal Set by `close()`. */
  closed = false;
  /** @internal */
  abstract readonly side: Side;

  /** @internal Handles are made by `bounded`, `unbounded`, the timers and `clone()`. */
  constructor(core: ChannelCore<T>, side: Side, creator: Function | undefined) {
    this.core = core;
    if (creator !== undefined) track(this, core as ChannelCore<unknown>, side, creator);
  }

  /** Number of messages buffered in the channel now (0 for rendezvous channels). */
  get len(): number {
    return this.core.len();
  }

  /** The channel's capacity in messages; `undefined` for an unbounded channel. */
  get capacity(): number | undefined {
    return this.core.capacity;
  }

  /** True when no message is buffered. */
  get isEmpty(): boolean {
    return this.core.len() === 0;
  }

  /** True when the buffer is at capacity (always true for a rendezvous channel). */
  get isFull(): boolean {
    return this.core.isFull();
  }

  /** True once every Sender or every Receiver of the channel is closed. */
  get isDisconnected(): boolean {
    return this.core.isDisconnected();
  }

  /** True once this handle was closed. */
  get isClosed(): boolean {
    return this.closed;
  }

  /** True when `other` (a Sender or Receiver) belongs to the same channel. */
  sameChannel(other: Handle<unknown>): boolean {
    return (this.core as ChannelCore<unknown>) === other.core;
  }

  /**
   * Closes this handle. Its pending operations reject with
   * {@link ClosedHandleError} (a pending send hands its value back). When the
   * last Sender closes, receivers drain what is buffered and then see the
   * disconnection; when the last Receiver closes, buffered messages are
   * dropped and senders fail with `SendError`. Closing twice does nothing.
   */
  close(): void {
    if (this.closed) return;
    this.closed = true;
    untrack(this);
    const what = this.side === 'send' ? 'send' : 'recv';
    this.core.failOwner(this, (w) => new ClosedHandleError(what, w.value));
    this.core.release(this.side);
  }

  /** Same as {@link Handle.close}, so that `using tx = …` closes at scope end. */
  [Symbol.dispose](): void {
    this.close();
  }

  /** @internal Throws if closed. */
  protected checkOpen(what: string, value?: unknown): void {
    if (this.closed) throw new ClosedHandleError(what, value);
  }
}
