/**
 * Typed errors of the patterns layer. Both extend weft's `WeftError`.
 *
 * @module
 */
import { WeftError } from '../channel/index.js';

/**
 * Why a call got no answer: its request was never delivered, or it was dropped unanswered.
 *
 * @example
 * ```ts
 * import type { ActorGoneErrorKind } from 'weft';
 * const retryable = (k: ActorGoneErrorKind): boolean => k === 'undelivered'; // nobody saw the request
 * console.log(retryable('no-reply')); // false
 * ```
 */
export type ActorGoneErrorKind = 'undelivered' | 'no-reply';

/**
 * A {@link call} got no answer because the other side is gone:
 *
 * - `kind: 'undelivered'` — every Receiver of the request channel was closed
 *   before the request could be sent; the request is in `.value` and was
 *   never seen by anyone, so it is safe to retry elsewhere.
 * - `kind: 'no-reply'` — the request was delivered (or buffered), but its
 *   reply Sender was closed or garbage-collected without an answer: the
 *   actor stopped, crashed, or dropped the request. `.cause` holds the
 *   actor's reason when it gave one (see {@link decline}).
 *
 * @example
 * ```ts
 * import { bounded, call, ActorGoneError, type Sender } from 'weft';
 * const [tx, rx] = bounded<{ reply: Sender<number> }>(1);
 * rx.close();                                   // the actor is gone
 * try { await call(tx, (reply) => ({ reply })); }
 * catch (e) { if (e instanceof ActorGoneError) console.log(e.kind); } // 'undelivered'
 * ```
 */
export class ActorGoneError<T = unknown> extends WeftError {
  readonly kind: ActorGoneErrorKind;
  /** The request, when it was never delivered. */
  readonly value: T | undefined;
  constructor(kind: ActorGoneErrorKind, value?: T, options?: { cause?: unknown }) {
    super(
      kind === 'undelivered'
        ? 'call: the request was not delivered: every Receiver of the request channel is closed (the actor is gone); the request is in error.value'
        : 'call: the reply Sender was closed without an answer (the actor stopped, crashed, or dropped the request)',
      options,
    );
    this.kind = kind;
    this.value = value;
  }
}

/**
 * A {@link call} gave up after its `timeout`. `delivered` tells whether the
 * request had been handed to the request channel: when `false`, nobody saw
 * it (the request is in `.value`); when `true`, the actor may still act on
 * it, and its late answer is discarded.
 *
 * @example
 * ```ts
 * import { bounded, call, CallTimeoutError, type Sender } from 'weft';
 * const [tx, rx] = bounded<Sender<number>>(1);  // nobody ever answers
 * try { await call(tx, (reply) => reply, { timeout: 10 }); }
 * catch (e) { if (e instanceof CallTimeoutError) console.log(e.delivered); } // true
 * rx.close();
 * ```
 */
export class CallTimeoutError<T = unknown> extends WeftError {
  readonly delivered: boolean;
  /** The request, when it was not delivered. */
  readonly value: T | undefined;
  constructor(delivered: boolean, value?: T) {
    super(
      delivered
        ? 'call: no reply before the timeout; the request was delivered and may still be acted on'
        : 'call: the request could not be delivered before the timeout (the request channel stayed full); it is in error.value',
    );
    this.delivered = delivered;
    this.value = value;
  }
}
