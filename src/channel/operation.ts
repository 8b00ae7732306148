/**
 * A single parked send or receive, with its optional AbortSignal and
 * timeout: the slow path of `send`, `recv`, `sendTimeout` and `recvTimeout`.
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
import { Waiter } from './waiter.js';

/** What a parked operation is: which errors it reports. */
export type OpKind = 'send' | 'recv' | 'sendTimeout' | 'recvTimeout';

// One executor for every operation: it leaves the resolvers in these two
// slots and start() picks them up at once, so parking allocates no closure.
let nextResolve: ((value: never) => void) | undefined;
let nextReject: ((error: unknown) => void) | undefined;
function capture(resolve: (value: never) => void, reject: (error: unknown) => void): void {
  nextResolve = resolve;
  nextReject = reject;
}

export class Operation<T> extends Waiter<T> {
  private resolve!: (value: T) => void;
  private reject!: (error: unknown) => void;
  private signal: AbortSignal | undefined;
  private timer: ReturnType<typeof setTimeout> | undefined;
  private deadline = Infinity;

  constructor(
    private readonly core: ChannelCore<T>,
    owner: object,
    value: T,
    private readonly kind: OpKind,
  ) {
    super(owner, value);
  }

  /**
   * Parks the operation and returns its promise. The caller has already
   * tried the non-blocking path and checked that `signal` is not aborted.
   */
  start(signal: AbortSignal | undefined, timeoutMs: number): Promise<T> {
    const promise = new Promise<T>(capture);
    this.resolve = nextResolve as (value: T) => void;
    this.reject = nextReject!;
    nextResolve = nextReject = undefined;
    if (signal !== undefined) {
      this.signal = signal;
      onAbort(signal, this);
    }
    if (timeoutMs !== Infinity) {
      this.deadline = now() + timeoutMs;
      this.timer = setTimeout(() => this.onTimer(), delayUntil(this.deadline));
    }
    if (this.kind === 'send' || this.kind === 'sendTimeout') this.core.parkSend(this);
    else this.core.parkRecv(this);
    return promise;
  }

  received(value: T): void {
    this.cleanup();
    this.resolve(value);
  }

  sent(): void {
    this.cleanup();
    this.resolve(undefined as T);
  }

  disconnected(): void {
    this.cleanup();
    this.reject(this.disconnectError());
  }

  failed(error: Error): void {
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

  private disconnectError(): Error {
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
