/**
 * Typed errors of weft's channels.
 *
 * Every error extends {@link WeftError}. Errors of failed sends carry the
 * value that was not sent in `.value`, so a failed send never loses data.
 *
 * The non-blocking calls (`tryRecv`, `trySend`) report their common outcomes
 * ("empty", "full") by throwing. Those errors are built without capturing a
 * stack trace, which makes them cheap enough for polling loops (see
 * docs/ARCHITECTURE.md for the measurement). Errors that signal a real
 * problem (disconnection, timeouts, misuse) keep their stack.
 *
 * @module
 */

/**
 * Base class of every error weft throws or rejects with.
 *
 * @example
 * ```ts
 * import { bounded, WeftError } from 'weft';
 * const [tx, rx] = bounded<number>(1);
 * rx.close();
 * try { await tx.send(1); } catch (e) { console.log(e instanceof WeftError); } // true
 * ```
 */
export class WeftError extends Error {
  override get name(): string {
    return this.constructor.name;
  }
}

/** Builds an error without paying for a stack trace (polling outcomes). */
function stackless<E extends Error>(make: () => E): E {
  const limit = Error.stackTraceLimit;
  Error.stackTraceLimit = 0;
  try {
    return make();
  } finally {
    Error.stackTraceLimit = limit;
  }
}

/**
 * A send failed because every Receiver of the channel is closed.
 * `.value` holds the value that was not sent.
 *
 * @example
 * ```ts
 * import { unbounded, SendError } from 'weft';
 * const [tx, rx] = unbounded<string>();
 * rx.close();
 * await tx.send('hi').catch((e: SendError<string>) => console.log(e.value)); // 'hi'
 * ```
 */
export class SendError<T = unknown> extends WeftError {
  /** The value that was not sent. */
  readonly value: T;
  constructor(value: T, message = 'send failed: every Receiver of this channel is closed; the value was not sent and is in error.value') {
    super(message);
    this.value = value;
  }
}

/**
 * A send was cancelled by its AbortSignal before the value was enqueued.
 * `.value` holds the value; `.cause` is the signal's reason.
 *
 * @example
 * ```ts
 * import { bounded, SendAbortedError } from 'weft';
 * const [tx] = bounded<number>(0);
 * const ac = new AbortController();
 * const p = tx.send(7, { signal: ac.signal });
 * ac.abort();
 * await p.catch((e: SendAbortedError<number>) => console.log(e.value)); // 7
 * ```
 */
export class SendAbortedError<T = unknown> extends WeftError {
  readonly value: T;
  constructor(value: T, reason: unknown) {
    super('send aborted by its AbortSignal before the value was enqueued; the value is in error.value', { cause: reason });
    this.value = value;
  }
}

/** Why a `trySend` did not send. */
export type TrySendErrorKind = 'full' | 'disconnected';

/**
 * `trySend` could not send at once: the channel is `'full'` (or, for a
 * rendezvous channel, no receiver is waiting) or `'disconnected'`.
 * `.value` holds the value. The `'full'` error carries no stack trace.
 *
 * @example
 * ```ts
 * import { bounded, TrySendError } from 'weft';
 * const [tx] = bounded<number>(1);
 * tx.trySend(1);
 * try { tx.trySend(2); } catch (e) { if (e instanceof TrySendError) console.log(e.kind, e.value); } // full 2
 * ```
 */
export class TrySendError<T = unknown> extends WeftError {
  readonly kind: TrySendErrorKind;
  readonly value: T;
  constructor(kind: TrySendErrorKind, value: T) {
    super(
      kind === 'full'
        ? 'trySend: the channel is full (or no receiver is waiting on a rendezvous channel); use send() to wait for room'
        : 'trySend: every Receiver of this channel is closed; the value was not sent and is in error.value',
    );
    this.kind = kind;
    this.value = value;
  }
  /** @internal A cheap "full" outcome for polling loops. */
  static full<T>(value: T): TrySendError<T> {
    return stackless(() => new TrySendError('full', value));
  }
}

/** Why a `sendTimeout` did not send. */
export type SendTimeoutErrorKind = 'timeout' | 'disconnected';

/**
 * `sendTimeout` gave up: the channel stayed full until the timeout, or
 * every Receiver closed. `.value` holds the value.
 *
 * @example
 * ```ts
 * import { bounded, SendTimeoutError } from 'weft';
 * const [tx] = bounded<number>(0);
 * await tx.sendTimeout(1, 10).catch((e: SendTimeoutError<number>) => console.log(e.kind)); // timeout
 * ```
 */
export class SendTimeoutError<T = unknown> extends WeftError {
  readonly kind: SendTimeoutErrorKind;
  readonly value: T;
  constructor(kind: SendTimeoutErrorKind, value: T) {
    super(
      kind === 'timeout'
        ? 'sendTimeout: no room in the channel before the timeout; the value was not sent and is in error.value'
        : 'sendTimeout: every Receiver of this channel is closed; the value was not sent and is in error.value',
    );
    this.kind = kind;
    this.value = value;
  }
}

/**
 * A receive failed because the channel is empty and every Sender is closed:
 * no message will ever arrive.
 *
 * @example
 * ```ts
 * import { unbounded, RecvError } from 'weft';
 * const [tx, rx] = unbounded<number>();
 * tx.close();
 * await rx.recv().catch((e) => console.log(e instanceof RecvError)); // true
 * ```
 */
export class RecvError extends WeftError {
  constructor(message = 'recv failed: the channel is empty and every Sender is closed') {
    super(message);
  }
}

/** Why a `tryRecv` returned nothing. */
export type TryRecvErrorKind = 'empty' | 'disconnected';

/**
 * `tryRecv` found nothing: the channel is `'empty'`, or empty and
 * `'disconnected'`. The `'empty'` error is a shared instance without a
 * stack trace, so polling an empty channel allocates nothing.
 *
 * @example
 * ```ts
 * import { unbounded, TryRecvError } from 'weft';
 * const [, rx] = unbounded<number>();
 * try { rx.tryRecv(); } catch (e) { if (e instanceof TryRecvError) console.log(e.kind); } // empty
 * ```
 */
export class TryRecvError extends WeftError {
  readonly kind: TryRecvErrorKind;
  constructor(kind: TryRecvErrorKind) {
    super(
      kind === 'empty'
        ? 'tryRecv: the channel is empty; use recv() to wait for a message'
        : 'tryRecv: the channel is empty and every Sender is closed',
    );
    this.kind = kind;
  }
  /** @internal The shared "empty" outcome. */
  static readonly EMPTY: TryRecvError = stackless(() => Object.freeze(new TryRecvError('empty')));
}

/** Why a `recvTimeout` returned nothing. */
export type RecvTimeoutErrorKind = 'timeout' | 'disconnected';

/**
 * `recvTimeout` gave up: no message before the timeout, or the channel is
 * empty and every Sender is closed. A timed-out receive never consumed a
 * message.
 *
 * @example
 * ```ts
 * import { unbounded, RecvTimeoutError } from 'weft';
 * const [, rx] = unbounded<number>();
 * await rx.recvTimeout(5).catch((e: RecvTimeoutError) => console.log(e.kind)); // timeout
 * ```
 */
export class RecvTimeoutError extends WeftError {
  readonly kind: RecvTimeoutErrorKind;
  constructor(kind: RecvTimeoutErrorKind) {
    super(
      kind === 'timeout'
        ? 'recvTimeout: no message arrived before the timeout'
        : 'recvTimeout: the channel is empty and every Sender is closed',
    );
    this.kind = kind;
  }
}

/**
 * A `select` with a `timeout` or `deadline` option found no ready case in
 * time. No case fired: nothing was sent and nothing received.
 *
 * @example
 * ```ts
 * import { select, unbounded, SelectTimeoutError } from 'weft';
 * const [, rx] = unbounded<number>();
 * await select({ rx }, { timeout: 5 }).catch((e) => console.log(e instanceof SelectTimeoutError)); // true
 * ```
 */
export class SelectTimeoutError extends WeftError {
  constructor() {
    super('select: no case became ready before the timeout; nothing was sent or received');
  }
}

/**
 * A handle was used after `close()` (or after it was disposed). Pending
 * operations of a handle that is closed reject with this error too; for a
 * send, `.value` holds the value that was not sent.
 *
 * @example
 * ```ts
 * import { unbounded, ClosedHandleError } from 'weft';
 * const [tx] = unbounded<number>();
 * tx.close();
 * try { tx.clone(); } catch (e) { console.log(e instanceof ClosedHandleError); } // true
 * ```
 */
export class ClosedHandleError<T = unknown> extends WeftError {
  readonly value: T | undefined;
  constructor(what: string, value?: T) {
    super(`${what}: this handle is closed; keep using an open clone, or clone before closing`);
    this.value = value;
  }
}

/**
 * A value that cannot be carried by the channel (for example a function on a
 * cross-thread channel). `.value` holds it.
 *
 * @example
 * ```ts
 * import { InvalidValueError } from 'weft';
 * const e = new InvalidValueError('functions cannot cross threads', () => 1);
 * console.log(e.message);
 * ```
 */
export class InvalidValueError<T = unknown> extends WeftError {
  readonly value: T;
  constructor(message: string, value: T, options?: { cause?: unknown }) {
    super(message, options);
    this.value = value;
  }
}
