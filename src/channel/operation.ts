/**
 * A single parked send or receive: the slow path of `send`, `recv`,
 * `sendTimeout` and `recvTimeout`. {@link Operation} is the plain park (no
 * signal, no timeout), the common case, kept to one small node and one
 * promise; {@link GuardedOperation} adds the AbortSignal and the timer.
 *
 * Completion, abort and timeout all run on the event loop, so whichever comes
 * first wins outright: an abort or timeout removes the waiter from its
 * channel before anything can be handed to it (nothing is consumed, nothing
 * enqueued), and a waiter that was completed is already off the channel, so a
 * later abort does nothing.
 *
 * @internal
 */
import { delayUntil, now } from './clock.js';
import type { ChannelCore } from './core.js';
import {
  RecvError,
  RecvTimeoutError,
  SendAbortedError,
  SendError,
  SendTimeoutError,
} from './errors.js';
import { offAbort, onAbort } from './abort.js';
import type { Waiter, WaiterList } from './waiter.js';

/** What a parked operation is: which errors it reports. */
export type OpKind = 'send' | 'recv' | 'sendTimeout' | 'recvTimeout';

/**
 * A parked send or receive without signal or timeout: the common case of
 * an awaited `send`/`recv` on a channel that is not ready, so it is kept
 * small (one node and one promise per park, nothing else).
 */
export class Operation<T> implements Waiter<T> {
  prev: Waiter<T> | null = null;
  next: Waiter<T> | null = null;
  list: WaiterList<T> | null = null;
  readonly owner: object;
  readonly value: T;
  protected readonly kind: OpKind;
  protected resolve!: (value: T) => void;
  protected reject!: (error: unknown) => void;

  constructor(owner: object, value: T, kind: OpKind) {
    this.owner = owner;
    this.value = value;
    this.kind = kind;
  }

  /** Parks on `core` and returns the promise the core will settle. The caller has already tried the non-blocking path. */
  park(core: ChannelCore<T>): Promise<T> {
    // The executor does not escape: the optimizer inlines it and allocates no closure
    // (one shared executor writing module variables measured slower).
    const promise = new Promise<T>((resolve, reject) => {
      this.resolve = resolve;
      this.reject = reject;
    });
    if (this.kind === 'send' || this.kind === 'sendTimeout') core.parkSend(this);
    else core.parkRecv(this);
    return promise;
  }

  received(value: T): void {
    this.resolve(value);
  }

  sent(): void {
    this.resolve(undefined as T);
  }

  sentSoon(): void {
    // Nothing can cancel a plain park, so a later resolve changes only the order of wake-ups.
    queueMicrotask(this.resolve as () => void);
  }

  disconnected(): void {
    this.reject(this.disconnectError());
  }

  failed(error: Error): void {
    this.reject(error);
  }

  protected disconnectError(): Error {
    switch (this.kind) {
      case 'send':
        return new SendError(this.value);
      case 'recv':
        return new RecvError();
      case 'sendTimeout':
        return new SendTimeoutError('disconnected', this.value);
      case 'recvTimeout':
        return new RecvTimeoutError('disconnected');
    }
  }
}

/** A parked operation that an AbortSignal or a timeout may end first. */
export class GuardedOperation<T> extends Operation<T> {
  private signal: AbortSignal | undefined = undefined;
  private timer: ReturnType<typeof setTimeout> | undefined = undefined;
  private deadline = Infinity;

  constructor(
    private readonly core: ChannelCore<T>,
    owner: object,
    value: T,
    kind: OpKind,
  ) {
    super(owner, value, kind);
  }

  /**
   * Parks the operation and returns its promise. The caller has already
   * tried the non-blocking path and checked that `signal` is not aborted.
   */
  start(signal: AbortSignal | undefined, timeoutMs: number): Promise<T> {
    if (signal !== undefined) {
      this.signal = signal;
      onAbort(signal, this);
    }
    if (timeoutMs !== Infinity) {
      this.deadline = now() + timeoutMs;
      this.timer = setTimeout(() => this.onTimer(), delayUntil(this.deadline));
    }
    return this.park(this.core);
  }

  override received(value: T): void {
    this.cleanup();
    this.resolve(value);
  }

  override sent(): void {
    this.cleanup();
    this.resolve(undefined as T);
  }

  /** An abort may still fire before a deferred resolve: complete now. */
  override sentSoon(): void {
    this.sent();
  }

  override disconnected(): void {
    this.cleanup();
    this.reject(this.disconnectError());
  }

  override failed(error: Error): void {
    this.cleanup();
    this.reject(error);
  }

  /** AbortSignal listener (an object listener: no closure per operation). */
  handleEvent(): void {
    const reason: unknown = this.signal?.reason;
    this.core.cancel(this);
    this.cleanup();
    const isSend = this.kind === 'send' || this.kind === 'sendTimeout';
    this.reject(isSend ? new SendAbortedError(this.value, reason) : reason);
  }

  private onTimer(): void {
    if (now() < this.deadline) {
      this.timer = setTimeout(() => this.onTimer(), delayUntil(this.deadline));
      return;
    }
    this.timer = undefined;
    this.core.cancel(this);
    this.cleanup();
    this.reject(
      this.kind === 'sendTimeout'
        ? new SendTimeoutError('timeout', this.value)
        : new RecvTimeoutError('timeout'),
    );
  }

  private cleanup(): void {
    if (this.signal !== undefined) {
      offAbort(this.signal, this);
      this.signal = undefined;
    }
    if (this.timer !== undefined) {
      clearTimeout(this.timer);
      this.timer = undefined;
    }
  }
}

/**
 * Parks a send or receive the core just refused: a plain {@link Operation}
 * when nothing can end it early, a {@link GuardedOperation} with `signal`
 * and/or a timeout of `ms` (Infinity: none).
 */
export function parkOperation<T>(core: ChannelCore<T>, owner: object, value: T, kind: OpKind, signal: AbortSignal | undefined, ms: number): Promise<T> {
  if (signal === undefined && ms === Infinity) return new Operation(owner, value, kind).park(core);
  return new GuardedOperation(core, owner, value, kind).start(signal, ms);
}
