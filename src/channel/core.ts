/**
 * The contract between the public handles ({@link Sender}, {@link Receiver},
 * `select`) and a channel implementation ("core").
 *
 * Every kind of channel — the in-loop queue, the timers, and the channels of
 * the other layers — implements this one interface, so the handles, select
 * and the error model are written once and behave the same everywhere.
 *
 * Non-blocking operations report outcomes with sentinels rather than
 * exceptions or result objects: the hot path allocates nothing, and the
 * handles turn sentinels into the public errors.
 *
 * @internal
 */
import type { Observer, Waiter } from './waiter.js';

/** `tryRecv` found the channel empty. */
export const EMPTY: unique symbol = Symbol('weft.empty');
/** `trySend` found no room. */
export const FULL: unique symbol = Symbol('weft.full');
/** The other side of the channel is gone. */
export const DISCONNECTED: unique symbol = Symbol('weft.disconnected');
/** `trySend` succeeded. */
export const SENT: unique symbol = Symbol('weft.sent');

export type TrySendStatus = typeof SENT | typeof FULL | typeof DISCONNECTED;
export type TryRecvStatus<T> = T | typeof EMPTY | typeof DISCONNECTED;

/** Which end of a channel a handle is. */
export type Side = 'send' | 'recv';

export interface ChannelCore<T> {
  /** Capacity in messages; undefined when unbounded. */
  readonly capacity: number | undefined;
  /** Messages buffered now. */
  len(): number;
  isFull(): boolean;
  /** True once every Sender or every Receiver is closed. */
  isDisconnected(): boolean;

  /** A handle of `side` was created (clone). */
  acquire(side: Side): void;
  /** A handle of `side` was closed; the last one disconnects that side. */
  release(side: Side): void;
  /** Fails, with `error`, every operation parked by `owner` (a handle being closed). */
  failOwner(owner: object, error: (w: Waiter<T>) => Error): void;

  trySend(value: T): TrySendStatus;
  /**
   * Takes a message if one is ready. `awaited`: the caller is an awaited
   * `recv` that will run again soon, so a rendezvous core may queue the
   * wake-up of the sender it took from behind the caller's (see QueueCore).
   */
  tryRecv(awaited?: boolean): TryRecvStatus<T>;
  /** Would `trySend` complete now (sent or disconnected)? */
  canSend(): boolean;
  /** Would `tryRecv` complete now (a message or disconnected)? */
  canRecv(): boolean;

  /** Parks a send; the core calls `w.sent()` or `w.disconnected()` later. */
  parkSend(w: Waiter<T>): void;
  /** Parks a receive; the core calls `w.received(v)` or `w.disconnected()` later. */
  parkRecv(w: Waiter<T>): void;
  /** Removes a parked waiter (abort, timeout, a select case that lost). */
  cancel(w: Waiter<T>): void;

  /** Notifies `o` once when `side` may have become ready. */
  observe(side: Side, o: Observer): void;
  unobserve(side: Side, o: Observer): void;

  // Optional: blocking operations and batches (shared channels in worker
  // threads). Cores without them make the blocking methods of Sender,
  // Receiver and selectSync throw a TypeError.

  /** How this thread blocks on this core; cores with the same domain can be waited on together. */
  readonly waitDomain?: WaitDomain;
  /** Registers this thread's interest in `side` becoming ready (counted; pair with unwatch). */
  watch?(side: Side): void;
  unwatch?(side: Side): void;
  /** Blocking send until `deadline` (performance.now() ms): SENT, DISCONNECTED, or FULL for a timeout. */
  sendSync?(value: T, deadline: number): TrySendStatus;
  /** Blocking receive until `deadline`: a value, DISCONNECTED, or EMPTY for a timeout. */
  recvSync?(deadline: number): TryRecvStatus<T>;
  /** Sends as many of `values[from..]` as fit now; how many, or DISCONNECTED if none could be. */
  trySendMany?(values: readonly T[], from: number): number | typeof DISCONNECTED;
  /** Moves up to `max` ready messages to `into`; how many, or DISCONNECTED if none and none can come. */
  tryRecvMany?(into: T[], max: number): number | typeof DISCONNECTED;

  /**
   * A one-shot reply channel that can travel wherever a request on this
   * channel goes (for `call`): a shared channel's requests may cross threads,
   * so their reply Senders must be shared too. Without it, `call` uses an
   * in-thread `bounded(1)`.
   */
  replyChannel?<R>(): readonly [ReplySender<R>, ReplyReceiver<R>];
}

/** The handle types `replyChannel` returns (kept structural: no import of the handle classes here). @internal */
export type ReplySender<R> = { readonly core: ChannelCore<R> } & object;
/** @internal */
export type ReplyReceiver<R> = { readonly core: ChannelCore<R> } & object;

/**
 * Blocking support of a family of cores (shared channels of one arena): a
 * thread blocks on one wake word, which every core it watches bumps.
 */
export interface WaitDomain {
  /** Throws a TypeError naming `what` when this thread may not block (the main thread). */
  check(what: string): void;
  /** The current value of this thread's wake word. */
  snapshot(): number;
  /** Spins briefly, then blocks until the wake word differs from `snapshot`, or until `deadline`. */
  park(snapshot: number, deadline: number): void;
}

/** The TypeError of a blocking method on a core that cannot block. @internal */
export function cannotBlock(what: string, instead: string): TypeError {
  return new TypeError(
    `${what}: blocking is only possible on shared channels (sharedBounded/sharedUnbounded) inside a worker thread; ` +
      `on in-thread channels and on the main thread use ${instead}`,
  );
}
