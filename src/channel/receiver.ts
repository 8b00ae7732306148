/**
 * The receiving end of a channel.
 *
 * @module
 */
import { checkMs, now } from './clock.js';
import { DISCONNECTED, EMPTY, cannotBlock, type ChannelCore, type Side } from './core.js';
import { ClosedHandleError, RecvError, RecvTimeoutError, TryRecvError } from './errors.js';
import { Handle } from './handle.js';
import { Operation, parkOperation, type OpKind } from './operation.js';

/** Options of {@link Receiver.recv}. */
export interface RecvOptions {
  /** Cancels the receive while it waits; an aborted receive never consumes a message. */
  signal?: AbortSignal;
}

/**
 * The receiving end of a channel. Keep it: one component owns it and loops
 * over it. Clone it only to let several consumers share the work; each
 * message goes to exactly one of them.
 *
 * @example
 * ```ts
 * import { unbounded } from 'weft';
 * const [tx, rx] = unbounded<number>();
 * void (async () => { for (let i = 0; i < 3; i++) await tx.send(i); tx.close(); })();
 * for await (const n of rx) console.log(n); // 0, 1, 2 — then the loop ends
 * ```
 */
export class Receiver<T> extends Handle<T> {
  /** @internal */
  readonly side: Side = 'recv';

  /** @internal Use `bounded()`, `unbounded()` or a timer to make receivers. */
  constructor(core: ChannelCore<T>, creator: Function | undefined) {
    super(core, 'recv', creator);
  }

  /**
   * Receives the next message, waiting for one if the channel is empty.
   *
   * Rejects with {@link RecvError} once the channel is empty and every
   * Sender is closed, with `signal.reason` when `signal` aborts first (no
   * message was consumed), and with {@link ClosedHandleError} when this
   * Receiver is closed.
   *
   * @example
   * ```ts
   * import { unbounded } from 'weft';
   * const [tx, rx] = unbounded<string>();
   * setTimeout(() => void tx.send('late'), 10);
   * console.log(await rx.recv()); // 'late'
   * ```
   */
  recv(options?: RecvOptions): Promise<T> {
    if (options === undefined && !this.closed) {
      // A core may report a bad message by throwing (a remote channel that
      // cannot decode it): that is a rejection of the promise, never a sync throw.
      let v;
      try {
        v = this.core.tryRecv(true);
      } catch (e) {
        return Promise.reject(e);
      }
      if (v === EMPTY) return new Operation(this, undefined as T, 'recv').park(this.core);
      if (v !== DISCONNECTED) return Promise.resolve(v as T);
    }
    return this.recvSlow(options?.signal, 'recv', Infinity);
  }

  /**
   * Receives a message if one is ready; otherwise throws
   * {@link TryRecvError} with `.kind` `'empty'` or `'disconnected'`. The
   * `'empty'` error is one shared instance without a stack trace: polling an
   * empty channel allocates nothing.
   *
   * @example
   * ```ts
   * import { unbounded, TryRecvError } from 'weft';
   * const [tx, rx] = unbounded<number>();
   * tx.trySend(1);
   * console.log(rx.tryRecv()); // 1
   * try { rx.tryRecv(); } catch (e) { if (e instanceof TryRecvError) console.log(e.kind); } // 'empty'
   * ```
   */
  tryRecv(): T {
    this.checkOpen('tryRecv');
    const v = this.core.tryRecv();
    if (v === EMPTY) throw TryRecvError.EMPTY;
    if (v === DISCONNECTED) throw new TryRecvError('disconnected');
    return v as T;
  }

  /**
   * The allocation-free, exception-free form of {@link Receiver.tryRecv} for
   * hot polling loops: returns the next message if one is ready, else
   * `fallback` (pick a value that cannot be a message, such as a private
   * symbol). Throws {@link TryRecvError} `'disconnected'` once the channel
   * is empty and every Sender is closed.
   *
   * @example
   * ```ts
   * import { unbounded } from 'weft';
   * const NONE = Symbol('none');
   * const [tx, rx] = unbounded<number>();
   * tx.trySend(7);
   * console.log(rx.poll(NONE), rx.poll(NONE)); // 7 Symbol(none)
   * ```
   */
  poll<D>(fallback: D): T | D {
    this.checkOpen('poll');
    const v = this.core.tryRecv();
    if (v === EMPTY) return fallback;
    if (v === DISCONNECTED) throw new TryRecvError('disconnected');
    return v as T;
  }

  /**
   * Like {@link Receiver.recv}, but gives up after `ms` milliseconds with
   * {@link RecvTimeoutError} `.kind` `'timeout'` — having consumed nothing —
   * or `'disconnected'` once the channel is empty and every Sender closed.
   *
   * @example
   * ```ts
   * import { unbounded } from 'weft';
   * const [, rx] = unbounded<number>();
   * await rx.recvTimeout(10).catch((e) => console.log(e.kind)); // 'timeout'
   * ```
   */
  recvTimeout(ms: number, options?: RecvOptions): Promise<T> {
    checkMs('recvTimeout', ms);
    return this.recvSlow(options?.signal, 'recvTimeout', ms);
  }

  /**
   * Moves every message that is ready now (at most `max`) to the end of
   * `into`, and returns how many it moved. Never waits and allocates nothing
   * but `into`'s growth. Returns 0 when the channel is empty or disconnected.
   * On shared channels the messages are taken under one lock hold (up to
   * 1024 at a time).
   *
   * @example
   * ```ts
   * import { unbounded } from 'weft';
   * const [tx, rx] = unbounded<number>();
   * for (let i = 0; i < 5; i++) tx.trySend(i);
   * const batch: number[] = [];
   * console.log(rx.tryRecvMany(batch, 3), batch); // 3 [0, 1, 2]
   * ```
   */
  tryRecvMany(into: T[], max = Infinity): number {
    this.checkOpen('tryRecvMany');
    const core = this.core;
    if (core.tryRecvMany !== undefined) {
      // Shared channels: the whole batch under one lock.
      const n = core.tryRecvMany(into, max);
      return n === DISCONNECTED ? 0 : n;
    }
    let n = 0;
    while (n < max) {
      const v = this.core.tryRecv();
      if (v === EMPTY || v === DISCONNECTED) break;
      into.push(v as T);
      n++;
    }
    return n;
  }

  /**
   * Waits for at least one message, then moves it and every other message
   * ready now (at most `max` in all) to the end of `into`. Resolves with the
   * count; rejects like {@link Receiver.recv}.
   *
   * @example
   * ```ts
   * import { unbounded } from 'weft';
   * const [tx, rx] = unbounded<number>();
   * tx.trySend(1); tx.trySend(2);
   * const batch: number[] = [];
   * console.log(await rx.recvMany(batch, 100)); // 2
   * ```
   */
  async recvMany(into: T[], max = Infinity, options?: RecvOptions): Promise<number> {
    if (max < 1) return 0;
    if (options === undefined && !this.closed) {
      // What is ready now, in one batch (one lock hold on a shared channel).
      const ready = this.tryRecvMany(into, max);
      if (ready > 0) return ready;
    }
    into.push(await this.recv(options));
    // Closed while the first message was on its way: it is ours; report it, take no more.
    return 1 + (this.closed ? 0 : this.tryRecvMany(into, max - 1));
  }

  /**
   * Iterates over the messages that are ready now, without waiting.
   *
   * @example
   * ```ts
   * import { unbounded } from 'weft';
   * const [tx, rx] = unbounded<number>();
   * tx.trySend(1); tx.trySend(2);
   * console.log([...rx.tryIter()]); // [1, 2]
   * ```
   */
  *tryIter(): IterableIterator<T> {
    this.checkOpen('tryIter');
    for (;;) {
      const v = this.core.tryRecv();
      if (v === EMPTY || v === DISCONNECTED) return;
      yield v as T;
    }
  }

  /**
   * Iterates over messages until the channel is disconnected and drained.
   * Leaving the loop early (`break`) does not close the Receiver.
   *
   * @example
   * ```ts
   * import { bounded } from 'weft';
   * const [tx, rx] = bounded<number>(4);
   * void tx.send(1).then(() => tx.close());
   * for await (const n of rx) console.log(n); // 1
   * ```
   */
  [Symbol.asyncIterator](): AsyncIterableIterator<T> {
    return new RecvIterator(this);
  }

  /**
   * Another Receiver for the same channel; the clones share the messages
   * (each message goes to exactly one of them).
   *
   * @example
   * ```ts
   * import { unbounded } from 'weft';
   * const [tx, rx] = unbounded<number>();
   * const rx2 = rx.clone();
   * tx.trySend(1);
   * console.log(rx2.tryRecv()); // 1 — and `rx` will not see it
   * ```
   */
  clone(): Receiver<T> {
    this.checkOpen('clone');
    this.core.acquire('recv');
    return new Receiver(this.core, this.clone);
  }

  /**
   * Blocking receive, for worker threads and shared channels: waits
   * (spinning briefly, then parked in `Atomics.wait`) for the next message.
   * Throws {@link RecvError} once the channel is empty and every Sender is
   * closed, and a TypeError on the main thread or on an in-thread channel
   * (which cannot block).
   *
   * @example
   * ```ts
   * // in a worker
   * import { reviveReceiver } from 'weft';
   * const rx = reviveReceiver<number>(token);
   * for (;;) console.log(rx.recvSync());
   * ```
   */
  recvSync(): T {
    return this.recvSyncUntil(Infinity, 'recvSync');
  }

  /**
   * Like {@link Receiver.recvSync}, but gives up after `ms` milliseconds
   * with {@link RecvTimeoutError} (`'timeout'`, nothing consumed, or
   * `'disconnected'`).
   */
  recvTimeoutSync(ms: number): T {
    checkMs('recvTimeoutSync', ms);
    return this.recvSyncUntil(now() + ms, 'recvTimeoutSync');
  }

  /**
   * Blocking form of {@link Receiver.recvMany}: waits for one message, then
   * moves it and every other message ready now (at most `max`) into `into`.
   */
  recvManySync(into: T[], max = Infinity): number {
    if (max < 1) return 0;
    // What is ready now, in one batch; else wait for one, then take the rest.
    if (this.core.recvSync !== undefined) {
      const ready = this.tryRecvMany(into, max);
      if (ready > 0) return ready;
    }
    into.push(this.recvSync());
    return 1 + this.tryRecvMany(into, max - 1);
  }

  private recvSyncUntil(deadline: number, what: string): T {
    this.checkOpen(what);
    const core = this.core;
    if (core.recvSync === undefined) throw cannotBlock(what, 'await recv()');
    const v = core.recvSync(deadline);
    if (v === DISCONNECTED) throw deadline === Infinity ? new RecvError() : new RecvTimeoutError('disconnected');
    if (v === EMPTY) throw new RecvTimeoutError('timeout');
    return v as T;
  }

  private recvSlow(signal: AbortSignal | undefined, kind: OpKind, ms: number): Promise<T> {
    if (this.closed) return Promise.reject(new ClosedHandleError(kind));
    if (signal?.aborted) return Promise.reject(signal.reason);
    let v;
    try {
      v = this.core.tryRecv();
    } catch (e) {
      return Promise.reject(e);
    }
    if (v === DISCONNECTED) {
      return Promise.reject(kind === 'recv' ? new RecvError() : new RecvTimeoutError('disconnected'));
    }
    if (v !== EMPTY) return Promise.resolve(v as T);
    if (ms === 0) return Promise.reject(new RecvTimeoutError('timeout'));
    return parkOperation(this.core, this, undefined as T, kind, signal, ms);
  }
}

const DONE: IteratorReturnResult<undefined> = Object.freeze({ done: true, value: undefined });

/** The async iterator of a Receiver: `recv` until disconnection. */
class RecvIterator<T> implements AsyncIterableIterator<T> {
  constructor(private readonly rx: Receiver<T>) {}

  next(): Promise<IteratorResult<T>> {
    return this.rx.recv().then(
      (value) => ({ done: false, value }),
      (e: unknown) => {
        if (e instanceof RecvError) return DONE;
        throw e;
      },
    );
  }

  return(): Promise<IteratorResult<T>> {
    return Promise.resolve(DONE);
  }

  [Symbol.asyncIterator](): AsyncIterableIterator<T> {
    return this;
  }
}
