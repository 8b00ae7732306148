/**
 * The sending end of a channel.
 *
 * @module
 */
import { checkMs, now } from './clock.js';
import { DISCONNECTED, FULL, SENT, cannotBlock, type ChannelCore, type Side } from './core.js';
import { ClosedHandleError, SendAbortedError, SendError, SendTimeoutError, TrySendError } from './errors.js';
import { Handle } from './handle.js';
import { Operation, parkOperation, type OpKind } from './operation.js';

/** Options of {@link Sender.send}. */
export interface SendOptions {
  /** Cancels the send while it waits; an aborted send never enqueues its value. */
  signal?: AbortSignal;
}

/** One settled promise shared by every send that completes at once. */
const SENT_NOW: Promise<void> = Promise.resolve();

/**
 * The sending end of a channel. Share it: clone one per producer, and close
 * each clone when that producer is done. When the last Sender is closed the
 * receivers drain what is buffered and then see the channel end.
 *
 * @example
 * ```ts
 * import { bounded } from 'weft';
 * const [tx, rx] = bounded<string>(8);
 * const tx2 = tx.clone();
 * await tx.send('a');
 * await tx2.send('b');
 * tx.close(); tx2.close();
 * for await (const s of rx) console.log(s); // a, b
 * ```
 */
export class Sender<T> extends Handle<T> {
  /** @internal */
  readonly side: Side = 'send';

  /** @internal Use `bounded()` / `unbounded()` to make channels. */
  constructor(core: ChannelCore<T>, creator: Function | undefined) {
    super(core, 'send', creator);
  }

  /**
   * Sends `value`, waiting for room in a full bounded channel, or, on a
   * rendezvous channel (`bounded(0)`), until a receiver has taken it.
   *
   * Rejects with {@link SendError} (value in `.value`) when every Receiver
   * is closed, with {@link SendAbortedError} when `signal` aborts first (the
   * value was not enqueued), and with {@link ClosedHandleError} when this
   * Sender is closed.
   *
   * @example
   * ```ts
   * import { bounded } from 'weft';
   * const [tx, rx] = bounded<number>(1);
   * await tx.send(1);               // room: completes at once
   * const second = tx.send(2);      // full: waits
   * console.log(await rx.recv());   // 1 — makes room, `second` completes
   * await second;
   * ```
   */
  send(value: T, options?: SendOptions): Promise<void> {
    if (options === undefined && !this.closed) {
      // A core may refuse a value by throwing (a remote channel that cannot
      // encode it): that is a rejection of the promise, never a sync throw.
      let status;
      try {
        status = this.core.trySend(value);
      } catch (e) {
        return Promise.reject(e);
      }
      if (status === SENT) return SENT_NOW;
      if (status === FULL) return new Operation(this, value, 'send').park(this.core) as Promise<unknown> as Promise<void>;
    }
    return this.sendSlow(value, options?.signal, 'send', Infinity);
  }

  /**
   * Sends `value` if that can be done at once; otherwise throws
   * {@link TrySendError} with `.kind` `'full'` (no room, or no receiver
   * waiting on a rendezvous channel) or `'disconnected'`, and the value in
   * `.value`. The `'full'` error is built without a stack trace, so polling
   * stays cheap.
   *
   * @example
   * ```ts
   * import { bounded, TrySendError } from 'weft';
   * const [tx] = bounded<number>(1);
   * tx.trySend(1);
   * try { tx.trySend(2); } catch (e) { if (e instanceof TrySendError && e.kind === 'full') console.log('full'); }
   * ```
   */
  trySend(value: T): void {
    this.checkOpen('trySend', value);
    const status = this.core.trySend(value);
    if (status === SENT) return;
    throw status === FULL ? TrySendError.full(value) : new TrySendError('disconnected', value);
  }

  /**
   * The allocation-free, exception-free form of {@link Sender.trySend} for
   * hot polling loops: sends `value` and returns true if that can be done at
   * once, returns false when the channel is full (the value stays yours), and
   * throws {@link TrySendError} `'disconnected'` when every Receiver is
   * closed.
   *
   * @example
   * ```ts
   * import { bounded, type Sender } from 'weft';
   * // try-send cycling: hand a job to the first worker with room
   * function dispatch(workers: Sender<string>[], job: string): boolean {
   *   for (const w of workers) if (w.offer(job)) return true;
   *   return false;
   * }
   * const [a] = bounded<string>(1);
   * console.log(dispatch([a], 'job')); // true
   * ```
   */
  offer(value: T): boolean {
    this.checkOpen('offer', value);
    const status = this.core.trySend(value);
    if (status === SENT) return true;
    if (status === FULL) return false;
    throw new TrySendError('disconnected', value);
  }

  /**
   * Like {@link Sender.send}, but gives up after `ms` milliseconds with
   * {@link SendTimeoutError} (`.kind` `'timeout'`; the value was not enqueued
   * and is in `.value`). Disconnection rejects with `.kind` `'disconnected'`.
   *
   * @example
   * ```ts
   * import { bounded } from 'weft';
   * const [tx] = bounded<number>(0);             // nobody receives
   * await tx.sendTimeout(1, 20).catch((e) => console.log(e.kind)); // 'timeout'
   * ```
   */
  sendTimeout(value: T, ms: number, options?: SendOptions): Promise<void> {
    checkMs('sendTimeout', ms);
    return this.sendSlow(value, options?.signal, 'sendTimeout', ms);
  }

  /**
   * Another Sender for the same channel. The channel stays open for its
   * receivers until every clone is closed.
   *
   * @example
   * ```ts
   * import { unbounded } from 'weft';
   * const [tx, rx] = unbounded<number>();
   * const worker = tx.clone();
   * worker.close();
   * console.log(rx.isDisconnected); // false: `tx` is still open
   * ```
   */
  clone(): Sender<T> {
    this.checkOpen('clone');
    this.core.acquire('send');
    return new Sender(this.core, this.clone);
  }

  /**
   * Sends every value of `values`, in order, waiting for room as needed
   * (`send` for each, but values that fit now go in one batch). Rejects like
   * {@link Sender.send}; on failure the error's `.value` is the first value
   * not sent, and the values before it were sent.
   *
   * @example
   * ```ts
   * import { bounded } from 'weft';
   * const [tx, rx] = bounded<number>(2);
   * const done = tx.sendMany([1, 2, 3]);
   * console.log(await rx.recv(), await rx.recv(), await rx.recv()); // 1 2 3
   * await done;
   * ```
   */
  async sendMany(values: readonly T[], options?: SendOptions): Promise<void> {
    let i = 0;
    while (i < values.length) {
      if (!this.closed) {
        const n = this.trySendBatch(values, i);
        if (n !== DISCONNECTED) i += n;
        if (i >= values.length) return;
      }
      await this.send(values[i]!, options);
      i++;
    }
  }

  /**
   * Sends as many of `values` (from index `from`) as can be sent at once,
   * in order, and returns how many were sent; never waits. On shared
   * channels the batch goes through one lock. Throws {@link TrySendError}
   * `'disconnected'` (value: the first value not sent) if every Receiver is
   * closed and nothing was sent.
   *
   * @example
   * ```ts
   * import { bounded } from 'weft';
   * const [tx] = bounded<number>(2);
   * console.log(tx.trySendMany([1, 2, 3])); // 2
   * ```
   */
  trySendMany(values: readonly T[], from = 0): number {
    this.checkOpen('trySendMany', values[from]);
    const n = this.trySendBatch(values, from);
    if (n === DISCONNECTED) throw new TrySendError('disconnected', values[from] as T);
    return n;
  }

  private trySendBatch(values: readonly T[], from: number): number | typeof DISCONNECTED {
    if (from >= values.length) return 0;
    const core = this.core;
    if (core.trySendMany !== undefined) return core.trySendMany(values, from);
    let n = 0;
    for (let i = from; i < values.length; i++) {
      const status = core.trySend(values[i]!);
      if (status === SENT) n++;
      else if (status === DISCONNECTED) return n === 0 ? DISCONNECTED : n;
      else break;
    }
    return n;
  }

  /**
   * Blocking send, for worker threads and shared channels: waits (spinning
   * briefly, then parked in `Atomics.wait`) until there is room, or on a
   * rendezvous channel until a receiver took the value. Throws
   * {@link SendError} when every Receiver is closed, and a TypeError on the
   * main thread or on an in-thread channel (which cannot block).
   *
   * @example
   * ```ts
   * // in a worker
   * import { reviveSender } from 'weft';
   * const tx = reviveSender<number>(token);
   * tx.sendSync(42);
   * ```
   */
  sendSync(value: T): void {
    this.sendSyncUntil(value, Infinity, 'sendSync');
  }

  /**
   * Like {@link Sender.sendSync}, but gives up after `ms` milliseconds with
   * {@link SendTimeoutError} (`'timeout'`: nothing was sent; `'disconnected'`).
   */
  sendTimeoutSync(value: T, ms: number): void {
    checkMs('sendTimeoutSync', ms);
    this.sendSyncUntil(value, now() + ms, 'sendTimeoutSync');
  }

  /** Blocking form of {@link Sender.sendMany}: sends every value in order. */
  sendManySync(values: readonly T[]): void {
    let i = 0;
    while (i < values.length) {
      this.checkOpen('sendManySync', values[i]);
      const n = this.trySendBatch(values, i);
      if (n !== DISCONNECTED) i += n;
      if (i >= values.length) return;
      this.sendSyncUntil(values[i]!, Infinity, 'sendManySync');
      i++;
    }
  }

  private sendSyncUntil(value: T, deadline: number, what: string): void {
    this.checkOpen(what, value);
    const core = this.core;
    if (core.sendSync === undefined) throw cannotBlock(what, 'await send()');
    const status = core.sendSync(value, deadline);
    if (status === SENT) return;
    // Without a deadline the only other outcome is disconnection.
    if (deadline === Infinity) throw new SendError(value);
    throw new SendTimeoutError(status === DISCONNECTED ? 'disconnected' : 'timeout', value);
  }

  private sendSlow(value: T, signal: AbortSignal | undefined, kind: OpKind, ms: number): Promise<void> {
    if (this.closed) return Promise.reject(new ClosedHandleError(kind, value));
    if (signal?.aborted) return Promise.reject(new SendAbortedError(value, signal.reason));
    let status;
    try {
      status = this.core.trySend(value);
    } catch (e) {
      return Promise.reject(e);
    }
    if (status === SENT) return SENT_NOW;
    if (status === DISCONNECTED) {
      return Promise.reject(kind === 'send' ? new SendError(value) : new SendTimeoutError('disconnected', value));
    }
    if (ms === 0) return Promise.reject(new SendTimeoutError('timeout', value));
    return parkOperation(this.core, this, value, kind, signal, ms) as Promise<unknown> as Promise<void>;
  }
}
