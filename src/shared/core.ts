/**
 * SharedCore: a channel in shared memory, implementing the same ChannelCore
 * contract as the in-loop QueueCore, so Sender/Receiver/select, errors,
 * inspectors, AbortSignal and timeouts work unchanged across threads.
 *
 * How a message travels (see layout.ts for the memory):
 * 1. The sender encodes the value OUTSIDE any lock into this thread's
 *    scratch (codec.ts). A value the codec refuses, or one above the
 *    channel's maximum, throws InvalidValueError: nothing was sent.
 * 2. It takes the producer lock (P_LOCK), checks capacity and room, copies
 *    the bytes into the ring, stores the record's sequence number (the
 *    commit), advances ENQ/TAIL, unlocks, and bumps the wake word of every
 *    thread waiting for data (only if the channel's waiter count says
 *    someone waits). A batch writes many records in one lock hold and
 *    advances ENQ/TAIL once (writeLocked).
 * 3. A receiver takes the consumer lock (C_LOCK), checks that the record at
 *    HEAD carries the expected sequence number, copies the body to its
 *    scratch, stores `~seq` (its commit), advances DEQ/HEAD, unlocks, wakes
 *    waiting senders, and decodes outside the lock. A batch takes many
 *    records in one lock hold (takeLocked).
 *
 * Atomic operations per lock hold, each for a reason: the lock's
 * compare-exchange and its release (an exchange, which also tells whether
 * a waiter asked to be notified); per record, the producer's commit store
 * (what makes the record visible to a consumer that reads it with
 * Atomics.load); once per hold, the consumer's stores of DEQ (blocked
 * senders wait for it to change) and HEAD (what tells producers that space
 * is free, after its consumed marks have landed). Everything else is a
 * plain store that one of these publishes (see writeLocked, dequeueLocked).
 *
 * Producers and consumers have separate locks and separate cache lines: a
 * single producer and a single consumer never contend on a lock.
 *
 * Waiting: async operations park in this thread's waiter lists and set this
 * thread's bit on the channel side; the thread's Waker (context.ts) waits
 * on the thread's wake word with Atomics.waitAsync and retries. Blocking
 * operations (workers only) spin adaptively, then Atomics.wait on the same
 * wake word. A waiter is only ever completed by its own thread after it did
 * the operation on shared memory itself: no cross-thread hand-off, so a
 * cancelled or losing select case can never have consumed anything.
 *
 * Thread death: every lock word holds its owner's tid. A thread that finds
 * the owner dead takes the lock over and repairs (repairP/repairC): it can
 * tell from the records' commit words exactly how far the dead owner got.
 * Handle counts per thread slot let any live thread release a dead
 * thread's handles (releaseDeadSlot).
 *
 * @internal
 */
import { DISCONNECTED, EMPTY, FULL, SENT, type ChannelCore, type Side, type TryRecvStatus, type TrySendStatus, type WaitDomain } from '../channel/core.js';
import { InvalidValueError } from '../channel/errors.js';
import { Operation } from '../channel/operation.js';
import { Observers, WaiterList, type Observer, type Waiter } from '../channel/waiter.js';
import { now } from '../channel/clock.js';
import { align, type Arena } from './arena.js';
import { Decoder, Encoder, MessageTooLargeError } from './codec.js';
import { isMainThread, Spin, type ThreadContext } from './context.js';
import {
  BODY_MASK, C_BLOCK, C_BYTES, C_CAP, C_DROPPED, C_DROP_SEQ, C_INLINE_MAX, C_KIND, C_LOCK, C_MAGIC, C_MAX_MSG, C_MAX_RING, C_RECEIVERS,
  C_RECV_WAITERS, C_REFS, C_RING, C_SEND_WAITERS, C_SENDERS, C_SERIAL, C_SLOT, CHANNEL_MAGIC, DEQ, ENQ, F_HANDLES, HEADER_ALIGN,
  F_LINK, F_OOL, F_PAD, FIRST_SEQ, FLAG_SHIFT, HEAD, KIND_BOUNDED, KIND_RENDEZVOUS, KIND_UNBOUNDED, LINK_RESERVE,
  P_LOCK, P_RING, RING_HEADER, TAIL, headerWords, recordSize, recvBits, recvCounts, sendBits, sendCounts,
} from './layout.js';
import { found, hostHooks, type DecodedRef, type HandleRef } from './hooks.js';
import { Sender } from '../channel/sender.js';
import { Receiver } from '../channel/receiver.js';

/**
 * Options of {@link sharedBounded} and {@link sharedUnbounded}.
 *
 * @example
 * ```ts
 * import { sharedBounded, sharedUnbounded } from 'weft';
 * // Room for 1024 messages of about 1 KiB inline; refuse anything above 1 MiB.
 * const [tx, rx] = sharedBounded<Uint8Array>(1024, { ringBytes: 1 << 20, maxMessageBytes: 1 << 20 });
 * // Grows up to 16 MiB, then sends wait for room.
 * const [utx, urx] = sharedUnbounded<string>({ maxBytes: 16 << 20 });
 * ```
 */
export interface SharedChannelOptions {
  /**
   * Bytes of the ring that holds messages inline. Default: about 128 bytes
   * per slot of capacity, between 4 KiB and 1 MiB (unbounded: 64 KiB to start).
   */
  ringBytes?: number;
  /** Unbounded channels: the most bytes the ring may grow to. Default 64 MiB. */
  maxBytes?: number;
  /** Largest encoded message accepted; larger values are refused with InvalidValueError. Default 64 MiB. */
  maxMessageBytes?: number;
  /** Messages larger than this go out of line (one block each). Default: a quarter of the ring, at most 64 KiB. */
  inlineMax?: number;
}

// Byte payloads of 1 KiB and more are copied once, from the sender's array
// straight into shared memory (Encoder.writeTo), not through the scratch.
const encoder = new Encoder({ host: hostHooks, byReference: 1024 });
const decoder = new Decoder({ host: hostHooks });

/** Where the last dequeued message's body is, in this thread's scratch. */
let bodyLen = 0;
let bodyFlags = 0;

/** Makes the one-shot reply channels of `call` in an arena (set by channels.ts, which builds on this module). */
let makeReply: (<R>(ctx: ThreadContext) => readonly [Sender<R>, Receiver<R>]) | undefined;
/** @internal */
export function setReplyChannelFactory(f: <R>(ctx: ThreadContext) => readonly [Sender<R>, Receiver<R>]): void {
  makeReply = f;
}

/**
 * Memory and depth of one shared channel, from {@link channelStats}.
 *
 * @example
 * ```ts
 * import { sharedBounded, channelStats, type ChannelStats } from 'weft';
 * const [tx] = sharedBounded<string>(64);
 * const s: ChannelStats = channelStats(tx);
 * if (s.waitingSenders > 0) console.log(`full: ${s.len}/${s.capacity}`);
 * ```
 */
export interface ChannelStats {
  /** Messages buffered now. */
  len: number;
  capacity: number | undefined;
  /** Current ring size in bytes. */
  ringBytes: number;
  /** Bytes of shared memory the channel uses now (rings and out-of-line messages). */
  bytes: number;
  /** Sender handles open now, in every thread (tokens and handles in messages included). */
  senders: number;
  /** Receiver handles open now, in every thread. */
  receivers: number;
  /** Threads with a send (or select send case) waiting for room now. */
  waitingSenders: number;
  /** Threads with a receive (or select receive case) waiting for a message now. */
  waitingReceivers: number;
}

export class SharedCore<T> implements ChannelCore<T> {
  /** Marks shared cores for the codec hook (hooks.ts cannot import this module). */
  readonly isShared = true;

  /**
   * `call` on a shared channel: the reply Sender may cross threads, so it is
   * shared too, and in this channel's arena, the only one a handle inside
   * its messages may belong to.
   */
  replyChannel<R>(): readonly [Sender<R>, Receiver<R>] {
    if (makeReply === undefined) throw new Error('weft: the shared layer is not loaded');
    return makeReply<R>(this.ctx);
  }
  readonly capacity: number | undefined;
  readonly kind: number;
  /** Word index of the header. */
  readonly hw: number;
  readonly base: number;
  readonly slot: number;
  readonly serial: number;
  readonly a: Arena;
  readonly ctx: ThreadContext;
  readonly waitDomain: WaitDomain;
  private readonly bw: number;
  private readonly cap: number;
  private readonly inlineMax: number;
  private readonly maxMsg: number;
  /** Handles this thread holds on the channel. */
  localSenders = 0;
  localReceivers = 0;
  /** Set once this thread holds no handle anymore (the memory may be reused by another channel). */
  detached = false;
  /** This thread holds the channel's only Receiver (see lockC). */
  private sole = false;
  private readonly sendq = new WaiterList<T>();
  private readonly recvq = new WaiterList<T>();
  private readonly sendObs = new Observers();
  private readonly recvObs = new Observers();
  private parked = false;
  /**
   * The consumers' DEQ and HEAD as this thread last read them, and the ENQ
   * and TAIL it read them at. Both only ever advance, so a stale copy only
   * underestimates the room: producers check capacity and ring room against
   * it and re-read the shared words (on the consumers' cache line, written
   * for every message taken) only when it says "full", or when the copy is
   * so old that 32-bit positions might have wrapped around it.
   */
  private deqSeen = FIRST_SEQ;
  private headSeen = 0;
  private seqSeenAt = FIRST_SEQ;
  private tailSeenAt = 0;
  private seenOnce = false;
  /** Rendezvous sends waiting for their offer to be taken: waiter → offer. */
  private readonly offers = new Map<Waiter<T>, Offer>();

  constructor(ctx: ThreadContext, base: number, slot: number, serial: number) {
    const a = ctx.arena;
    this.ctx = ctx;
    this.a = a;
    this.bw = a.bitWords;
    const words = headerWords(this.bw, a.maxThreads);
    if (!(Number.isInteger(base) && base > 0 && (base & (HEADER_ALIGN - 1)) === 0 && base + words * 4 <= a.sab.byteLength)) {
      throw new TypeError(`weft: channel offset ${base} lies outside the arena: corrupted or forged handle`);
    }
    a.ensure(base + words * 4);
    const h = a.i32;
    const hw = base >> 2;
    if (h[hw + C_MAGIC] !== CHANNEL_MAGIC || h[hw + C_SLOT] !== slot || h[hw + C_SERIAL] !== serial) {
      throw new TypeError('weft: no live channel at this reference: corrupted, forged or stale handle');
    }
    this.base = base;
    this.hw = hw;
    this.slot = slot;
    this.serial = serial;
    this.kind = h[hw + C_KIND]!;
    const cap = h[hw + C_CAP]!;
    this.cap = this.kind === KIND_UNBOUNDED ? Infinity : this.kind === KIND_RENDEZVOUS ? 1 : cap;
    this.capacity = this.kind === KIND_UNBOUNDED ? undefined : this.kind === KIND_RENDEZVOUS ? 0 : cap;
    this.inlineMax = h[hw + C_INLINE_MAX]!;
    this.maxMsg = h[hw + C_MAX_MSG]!;
    this.waitDomain = ctx.waitDomain;
  }

  /** Allocates and initialises a channel; this thread holds one Sender and one Receiver. */
  static create<T>(ctx: ThreadContext, kind: number, capacity: number, options: SharedChannelOptions = {}): SharedCore<T> {
    const a = ctx.arena;
    const bw = a.bitWords;
    const words = headerWords(bw, a.maxThreads);
    let ringBytes = options.ringBytes;
    if (ringBytes === undefined) {
      ringBytes = kind === KIND_UNBOUNDED ? 64 * 1024 : Math.min(1 << 20, Math.max(4096, Math.max(1, capacity) * 128));
    }
    ringBytes = pow2(Math.max(256, ringBytes));
    const maxRing = kind === KIND_UNBOUNDED ? pow2(Math.max(ringBytes, options.maxBytes ?? 64 << 20)) : ringBytes;
    if (maxRing > 1 << 30) throw new RangeError('maxBytes: at most 1 GiB');
    const maxMsg = Math.floor(options.maxMessageBytes ?? 64 << 20);
    if (!(maxMsg >= 1 && maxMsg <= 2 ** 31 - 64)) throw new RangeError('maxMessageBytes: expected a number of bytes from 1 to 2^31');
    const inlineMax = Math.max(0, Math.min(options.inlineMax ?? Math.min(64 * 1024, ringBytes >> 2), (ringBytes >> 1) - 64, BODY_MASK));
    // The header starts on a cache line, or its "lines" would straddle real ones.
    const block = a.alloc(words * 4 + HEADER_ALIGN - 8);
    const base = align(block, HEADER_ALIGN);
    if (block === 0) throw new RangeError('weft: the shared-memory arena is full (raise maxBytes in configureShared)');
    const ring = allocRing(a, ringBytes, 0, FIRST_SEQ);
    if (ring === 0) {
      a.free(block);
      throw new RangeError('weft: the shared-memory arena is full (raise maxBytes in configureShared)');
    }
    a.u8.fill(0, base, base + words * 4);
    const h = a.i32;
    const hw = base >> 2;
    h[hw + C_KIND] = kind;
    h[hw + C_BLOCK] = block;
    h[hw + C_CAP] = kind === KIND_BOUNDED ? capacity : kind === KIND_RENDEZVOUS ? 0 : -1;
    h[hw + C_MAX_RING] = maxRing;
    h[hw + C_INLINE_MAX] = inlineMax;
    h[hw + C_MAX_MSG] = maxMsg;
    h[hw + C_SENDERS] = 1;
    h[hw + C_RECEIVERS] = 1;
    h[hw + C_REFS] = 2;
    h[hw + C_BYTES] = a.blockBytes(ring);
    h[hw + TAIL] = 0;
    h[hw + HEAD] = 0;
    h[hw + ENQ] = FIRST_SEQ;
    h[hw + DEQ] = FIRST_SEQ;
    h[hw + P_RING] = ring;
    h[hw + C_RING] = ring;
    h[hw + sendCounts(bw) + a.slot] = 1;
    h[hw + recvCounts(bw, a.maxThreads) + a.slot] = 1;
    const entry = a.addChannel(base);
    if (entry === undefined) {
      a.free(ring);
      a.free(block);
      throw new RangeError(`weft: too many shared channels at once (maxChannels ${a.maxChannels})`);
    }
    h[hw + C_SLOT] = entry.slot;
    h[hw + C_SERIAL] = entry.serial;
    Atomics.store(h, hw + C_MAGIC, CHANNEL_MAGIC);
    const core = new SharedCore<T>(ctx, base, entry.slot, entry.serial);
    core.localSenders = 1;
    core.localReceivers = 1;
    ctx.cores.set(entry.slot, { serial: entry.serial, core });
    return core;
  }

  /** This thread's core for channel (slot, serial), creating it if needed. */
  static lookup<T>(ctx: ThreadContext, slot: number, serial: number): SharedCore<T> {
    const cached = ctx.cores.get(slot);
    if (cached !== undefined && cached.serial === serial && !(cached.core as SharedCore<T>).detached) return cached.core as SharedCore<T>;
    const base = ctx.arena.channelOffset(slot, serial);
    if (base === 0) throw new TypeError('weft: the handle refers to a channel that does not exist (anymore): corrupted, forged or stale reference');
    const core = new SharedCore<T>(ctx, base, slot, serial);
    ctx.cores.set(slot, { serial, core });
    return core;
  }

  // ------------------------------------------------------------------------
  // Inspectors
  // ------------------------------------------------------------------------

  len(): number {
    if (this.detached || this.kind === KIND_RENDEZVOUS) return 0;
    const h = this.a.i32;
    return Math.max(0, (Atomics.load(h, this.hw + ENQ) - Atomics.load(h, this.hw + DEQ)) | 0);
  }

  isFull(): boolean {
    if (this.kind === KIND_RENDEZVOUS) return true;
    if (this.kind === KIND_UNBOUNDED) return false;
    return this.len() >= this.cap;
  }

  isDisconnected(): boolean {
    if (this.detached) return true;
    const h = this.a.i32;
    return Atomics.load(h, this.hw + C_SENDERS) <= 0 || Atomics.load(h, this.hw + C_RECEIVERS) <= 0;
  }

  /** Stats of this channel. */
  stats(): ChannelStats {
    const h = this.a.i32;
    const hw = this.hw;
    return {
      len: this.len(),
      capacity: this.capacity,
      ringBytes: this.detached ? 0 : h[(Atomics.load(h, hw + P_RING) >> 2)]!,
      bytes: this.detached ? 0 : Atomics.load(h, hw + C_BYTES),
      senders: this.detached ? 0 : Atomics.load(h, hw + C_SENDERS),
      receivers: this.detached ? 0 : Atomics.load(h, hw + C_RECEIVERS),
      waitingSenders: this.detached ? 0 : watchers(this.a, hw, sendBits(this.bw)),
      waitingReceivers: this.detached ? 0 : watchers(this.a, hw, recvBits(this.bw)),
    };
  }

  // ------------------------------------------------------------------------
  // Handle counts
  // ------------------------------------------------------------------------

  acquire(side: Side): void {
    this.acquireShared(side);
    this.adopt(side);
  }

  /** A count that no thread holds yet (a transfer token, a handle inside a message). */
  acquireShared(side: Side): void {
    const h = this.a.i32;
    // Only this thread could add a Receiver while it held the only one: it may no longer (see lockC).
    if (side === 'recv') this.sole = false;
    Atomics.add(h, this.hw + C_REFS, 1);
    Atomics.add(h, this.hw + (side === 'send' ? C_SENDERS : C_RECEIVERS), 1);
  }

  /** This thread takes over a count that already exists (a revived token or a handle from a message). */
  adopt(side: Side): void {
    const h = this.a.i32;
    if (side === 'send') {
      this.localSenders++;
      Atomics.add(h, this.hw + sendCounts(this.bw) + this.a.slot, 1);
    } else {
      this.localReceivers++;
      Atomics.add(h, this.hw + recvCounts(this.bw, this.a.maxThreads) + this.a.slot, 1);
    }
  }

  release(side: Side): void {
    if (this.detached) return;
    const h = this.a.i32;
    if (side === 'send') {
      this.localSenders--;
      Atomics.sub(h, this.hw + sendCounts(this.bw) + this.a.slot, 1);
    } else {
      this.localReceivers--;
      this.sole = false;
      Atomics.sub(h, this.hw + recvCounts(this.bw, this.a.maxThreads) + this.a.slot, 1);
    }
    const last = this.localSenders + this.localReceivers === 0;
    if (last) {
      this.detached = true;
      this.ctx.waker.delete(this);
      const cached = this.ctx.cores.get(this.slot);
      if (cached?.core === this) this.ctx.cores.delete(this.slot);
      this.unwatchAll();
    }
    releaseShared(this.a, this.hw, side, 1);
    if (!last && side === 'send' && this.localSenders === 0) this.pumpSoon();
  }

  failOwner(owner: object, error: (w: Waiter<T>) => Error): void {
    for (const w of this.sendq.takeOwnedBy(owner)) {
      if (this.offers.has(w)) {
        if (this.retract(w)) w.failed(error(w));
        else w.sent();
      } else w.failed(error(w));
    }
    for (const w of this.recvq.takeOwnedBy(owner)) w.failed(error(w));
    this.settled();
  }

  /** After waiters left without a wake-up (cancel, close): stop watching, let the process exit if idle. */
  private settled(): void {
    this.updateWatch();
    if (this.recvq.size + this.sendq.size + this.recvObs.size + this.sendObs.size === 0) this.ctx.waker.delete(this);
  }

  // ------------------------------------------------------------------------
  // Sending
  // ------------------------------------------------------------------------

  trySend(value: T): TrySendStatus {
    // Sends of this thread still parked go first (per-sender FIFO): room
    // freed by another thread is only seen by them when the waker pumps.
    if (this.sendq.size > 0) return Atomics.load(this.a.i32, this.hw + C_RECEIVERS) <= 0 ? DISCONNECTED : FULL;
    return this.trySendNow(value);
  }

  private trySendNow(value: T): TrySendStatus {
    const h = this.a.i32;
    const hw = this.hw;
    if (h[hw + C_RECEIVERS]! <= 0) return DISCONNECTED; // a hint (plain reads: see writeOneLocked)
    if (this.kind === KIND_RENDEZVOUS) {
      // Rendezvous try-send: only when a receiver is waiting (see docs/SHARED.md).
      if (!anyWatcher(this.a, hw, recvBits(this.bw), C_RECV_WAITERS) || Atomics.load(h, hw + ENQ) !== Atomics.load(h, hw + DEQ)) return FULL;
    } else if (this.kind === KIND_BOUNDED && this.fullAt(h, h[hw + ENQ]!)) {
      return FULL; // a hint: the write checks again, under the lock
    }
    const n = this.encode(value);
    const st = this.commit(n, this.kind === KIND_RENDEZVOUS);
    if (st > 0) {
      if (this.kind === KIND_RENDEZVOUS) return this.awaitTake(batchSeq);
      this.moved();
      return SENT;
    }
    return st === 0 ? FULL : DISCONNECTED;
  }

  /**
   * Rendezvous try-send: the value is in the slot and a receiver was
   * waiting. The send counts only once a receiver took it, so wait a few
   * microseconds for the take, then take the value back (FULL). Reporting
   * success earlier would lose the value if that receiver chose another
   * select case, or died, before taking it.
   */
  private awaitTake(seq: number): TrySendStatus {
    const h = this.a.i32;
    const hw = this.hw;
    for (let i = 0; i < 1000; i++) {
      if (((Atomics.load(h, hw + DEQ) - seq) | 0) > 0) break;
    }
    const handles = takeFound();
    if (((Atomics.load(h, hw + DEQ) - seq) | 0) > 0) {
      // Gone from the slot: taken by a receiver, or dropped by the last one leaving.
      if (this.dropped(seq)) return DISCONNECTED;
      closeAll(handles);
      return SENT;
    }
    // Not taken yet: take it back (false: a receiver took it meanwhile; retractSeq closed the moved handles).
    if (this.retractSeq(seq, handles)) return Atomics.load(h, hw + C_RECEIVERS) <= 0 ? DISCONNECTED : FULL;
    return SENT;
  }

  /** Encodes `value` into the thread's encoder; returns its length. Refusals throw InvalidValueError. */
  private encode(value: T): number {
    if (found.length !== 0) found.length = 0;
    if (typeof value === 'number' && this.maxMsg >= 9) return encoder.encodeNumber(value); // ≤ 9 bytes, no handles
    let n: number;
    try {
      n = encoder.encode(value);
    } catch (e) {
      found.length = 0;
      throw new InvalidValueError(
        `send: this value cannot cross threads: ${e instanceof Error ? e.message : String(e)}; the value was not sent and is in error.value`,
        value,
        { cause: e },
      );
    }
    if (n > this.maxMsg) {
      found.length = 0;
      throw new InvalidValueError(
        `send: the encoded value is ${n} bytes, more than this channel's maxMessageBytes (${this.maxMsg}); the value was not sent and is in error.value`,
        value,
        { cause: new MessageTooLargeError(n, this.maxMsg) },
      );
    }
    for (const r of found) {
      if (r.core.a !== this.a) {
        found.length = 0;
        throw new InvalidValueError('send: a handle inside this value belongs to another arena; send it with transfer()/revive() instead', value);
      }
    }
    return n;
  }

  /**
   * Puts the encoded message (encoder bytes + `found` handles) in the ring.
   * Returns 1 when written (its sequence number is then in `batchSeq`: any
   * int32, it wraps around), 0 when there is no room, -1 when every
   * receiver is gone. `rendezvousTry`: only if a receiver waits.
   */
  private commit(n: number, rendezvousTry: boolean): number {
    const a = this.a;
    const hw = this.hw;
    if (found.length === 0 && n <= this.inlineMax && !rendezvousTry) {
      // The common message: inline, no handles. Written straight from the
      // encoder, without staging it as a batch of one.
      const got = a.lock(hw + P_LOCK);
      if (got < 0) return 0;
      let st: number;
      try {
        if (got === 1) repairP(a, hw);
        st = this.writeOneLocked(n);
      } finally {
        a.unlock(hw + P_LOCK);
      }
      if (st > 0) {
        this.wake(true);
        return 1;
      }
      if (st !== GROW) return st;
      // An unbounded ring that must grow: the general path does it.
    }
    const b = batch;
    b.clear();
    if (!b.add(a, n, false, this.inlineMax)) {
      throw new InvalidValueError(`send: no shared memory left for a ${n}-byte message (the arena is full)`, undefined);
    }
    const got = a.lock(hw + P_LOCK);
    if (got < 0) {
      b.freeFrom(a, 0);
      return 0;
    }
    let written: number;
    try {
      if (got === 1) repairP(a, hw);
      written = this.writeLocked(b, rendezvousTry);
    } finally {
      a.unlock(hw + P_LOCK);
    }
    if (written <= 0) {
      b.freeFrom(a, 0);
      return written;
    }
    if (b.oolBytes !== 0) Atomics.add(a.i32, hw + C_BYTES, b.oolBytes);
    this.wake(true);
    return 1;
  }

  /** Sends as many of `values[from..]` as there is room for now, under one lock; returns how many. */
  trySendMany(values: readonly T[], from: number): number | typeof DISCONNECTED {
    if (this.kind === KIND_RENDEZVOUS || this.sendq.size > 0) {
      // Rendezvous sends complete one at a time (each waits for its taker);
      // parked sends of this thread go first.
      let sent = 0;
      for (let i = from; i < values.length; i++) {
        const st = this.trySend(values[i]!);
        if (st === SENT) sent++;
        else if (st === DISCONNECTED) return sent === 0 ? DISCONNECTED : sent;
        else break;
      }
      return sent;
    }
    const a = this.a;
    const hw = this.hw;
    const b = batch;
    let sent = 0;
    let i = from;
    while (i < values.length) {
      if (Atomics.load(a.i32, hw + C_RECEIVERS) <= 0) return sent === 0 ? DISCONNECTED : sent;
      // Encode no more than there is room for (a hint: the writer checks again under the lock).
      let room = MAX_BATCH;
      if (this.kind === KIND_BOUNDED) {
        room = Math.min(room, this.cap - ((Atomics.load(a.i32, hw + ENQ) - Atomics.load(a.i32, hw + DEQ)) | 0));
        if (room <= 0) break;
      }
      const ringBytes = this.ringBytesNow();
      const end = Math.min(values.length, i + room);
      b.clear();
      let failure: unknown;
      let failed = false;
      for (let j = i; j < end; j++) {
        let n: number;
        try {
          n = this.encode(values[j]!);
        } catch (e) {
          failure = e;
          failed = true;
          break;
        }
        // The same handle in two messages of one batch: the second must wait until the first moved it.
        if (found.length !== 0 && b.holdsAny(found)) {
          found.length = 0;
          break;
        }
        if (!b.add(a, n, true, this.inlineMax)) {
          found.length = 0;
          if (b.count === 0) {
            failure = new InvalidValueError(`send: no shared memory left for a ${n}-byte message (the arena is full)`, values[j]);
            failed = true;
          }
          break;
        }
        // Inline bytes beyond what the ring can hold would only be encoded in vain.
        if (b.used >= ringBytes >> 1) break;
      }
      let written = 0;
      if (b.count !== 0) {
        const got = a.lock(hw + P_LOCK);
        if (got >= 0) {
          try {
            if (got === 1) repairP(a, hw);
            written = this.writeLocked(b, false);
          } finally {
            a.unlock(hw + P_LOCK);
          }
        }
        if (written < 0) {
          b.freeFrom(a, 0);
          return sent === 0 ? DISCONNECTED : sent;
        }
        b.freeFrom(a, written);
        if (written > 0) {
          const oolBytes = b.oolBytesOf(a, written);
          if (oolBytes !== 0) Atomics.add(a.i32, hw + C_BYTES, oolBytes);
          this.wake(true);
          b.moveHandles(written);
        }
      }
      sent += written;
      i += written;
      if (written < b.count || b.count === 0) {
        // Full, or stopped before a value that failed to encode: report the
        // failure only once everything before it was sent.
        if (failed && written === b.count) throw failure;
        break;
      }
      if (failed) throw failure;
    }
    return sent;
  }

  /** Current ring size (producer side; a hint outside the lock). */
  private ringBytesNow(): number {
    const ring = this.a.i32[this.hw + P_RING]!;
    return ringView(this.a, ring)[ring >> 2]!;
  }

  /** Re-reads the consumers' DEQ/HEAD (see deqSeen) when there is no copy yet, or the copy is old enough for wrap-around to matter. */
  private refreshSeen(h: Int32Array, seq: number, tail: number): void {
    if (this.seenOnce && ((seq - this.seqSeenAt) >>> 0) <= STALE && ((tail - this.tailSeenAt) >>> 0) <= STALE) return;
    this.seenOnce = true;
    this.deqSeen = Atomics.load(h, this.hw + DEQ);
    this.headSeen = Atomics.load(h, this.hw + HEAD);
    this.seqSeenAt = seq;
    this.tailSeenAt = tail;
  }

  /**
   * Is the channel full by count for message `seq`? Asks the copy of DEQ
   * first, and reads the consumers' DEQ again only when the copy says full.
   */
  private fullAt(h: Int32Array, seq: number): boolean {
    return ((seq - this.deqSeen) | 0) >= this.cap && this.fullAfterReading(h, seq);
  }

  /** {@link fullAt} once the copy of DEQ said full. */
  private fullAfterReading(h: Int32Array, seq: number): boolean {
    this.deqSeen = Atomics.load(h, this.hw + DEQ);
    this.seqSeenAt = seq;
    return ((seq - this.deqSeen) | 0) >= this.cap;
  }

  /**
   * Do `bytes` more fit in a ring of `size` bytes from `tail`? Asks the copy
   * of HEAD first, and reads the consumers' HEAD again while the copy says
   * no and HEAD keeps moving.
   */
  private roomAt(h: Int32Array, tail: number, bytes: number, size: number): boolean {
    return ((tail - this.headSeen) | 0) + bytes <= size || this.roomAfterReading(h, tail, bytes, size);
  }

  /** {@link roomAt} once the copy of HEAD said no. */
  private roomAfterReading(h: Int32Array, tail: number, bytes: number, size: number): boolean {
    for (;;) {
      const fresh = Atomics.load(h, this.hw + HEAD);
      if (fresh === this.headSeen) return false;
      this.headSeen = fresh;
      this.tailSeenAt = tail;
      if (((tail - fresh) | 0) + bytes <= size) return true;
    }
  }

  /**
   * Under P_LOCK: writes the messages of `b` in order, as many as capacity
   * and room allow; returns how many (0: none fit), or -1 when every
   * receiver is gone. `batchSeq` is left at the first one's sequence number.
   *
   * Memory order. Each record's commit word is stored with Atomics.store
   * (seq-cst) after plain stores of its body, header word and the clearing
   * of the next record's commit word: a consumer that reads the commit
   * (Atomics.load) sees all of them. ENQ and TAIL are plain stores, once
   * per batch: other producers read them under P_LOCK (whose unlock is an
   * atomic exchange that publishes them), consumers only as hints backed by
   * the commit words (canRecv/peekCommitted). A producer that dies
   * leaves every record committed before it died visible to the thread
   * that takes P_LOCK over, and repairP finds them by walking from TAIL.
   */
  private writeLocked(b: Batch, rendezvousTry: boolean): number {
    const a = this.a;
    const hw = this.hw;
    let h = a.i32;
    if (h[hw + C_RECEIVERS]! <= 0) return -1; // plain: see writeOneLocked
    const first = h[hw + ENQ]!;
    let seq = first;
    let tail = h[hw + TAIL]!;
    this.refreshSeen(h, seq, tail);
    if (rendezvousTry && !anyWatcher(a, hw, recvBits(this.bw), C_RECV_WAITERS)) return 0;
    // 8 bytes stay free after every record: the next record's commit word,
    // cleared before this record is committed (see below).
    const reserve = (this.kind === KIND_UNBOUNDED ? LINK_RESERVE : 0) + 8;
    let ring = h[hw + P_RING]!;
    h = ringView(a, ring); // another producer may have grown it
    let size = h[ring >> 2]!;
    let k = 0;
    const count = b.count;
    outer: for (; k < count; k++) {
      if (this.fullAt(h, seq)) break;
      const body = b.body[k]!;
      const need = recordSize(body);
      let mask = size - 1;
      let off = tail & mask;
      let pad = off + need > size ? size - off : 0;
      while (!this.roomAt(h, tail, pad + need + reserve, size)) {
        if (this.kind !== KIND_UNBOUNDED) break outer;
        // Growing publishes what is written so far: the link record must
        // carry the next sequence number, and repairP follows links only
        // from a consistent TAIL/ENQ.
        h[hw + ENQ] = seq;
        h[hw + TAIL] = tail;
        if (!this.grow(ring, size, tail, need)) break outer;
        ring = a.i32[hw + P_RING]!;
        h = ringView(a, ring);
        size = h[ring >> 2]!;
        tail = h[hw + TAIL]!;
        mask = size - 1;
        off = tail & mask;
        pad = off + need > size ? size - off : 0;
      }
      const data = ring + RING_HEADER;
      const at = placeRecord(h, data, off, pad, seq);
      tail += pad;
      // Body: [ool offset, length] | [handle count, refs...] | payload
      let p = at + 8;
      const ool = b.ool[k]!;
      const n = b.n[k]!;
      if (ool !== 0) {
        h[p >> 2] = ool;
        h[(p >> 2) + 1] = n;
        p += 8;
      }
      const r0 = k === 0 ? 0 : b.refEnd[k - 1]!;
      const nh = b.refEnd[k]! - r0;
      if (nh !== 0) {
        h[p >> 2] = nh;
        p += 4;
        for (let r = r0; r < r0 + nh; r++) {
          const ref = b.refs[r]!;
          // The message holds a count on each handle's channel while in flight.
          (ref.core as SharedCore<unknown>).acquireShared(ref.side === 0 ? 'send' : 'recv');
          h[p >> 2] = ref.core.slot;
          h[(p >> 2) + 1] = ref.core.serial;
          h[(p >> 2) + 2] = ref.side;
          p += 12;
        }
      }
      if (ool === 0) b.copyOut(a, h, k, p, n);
      h[at >> 2] = body | (b.flags[k]! << FLAG_SHIFT);
      // Stale commit words: the word where the NEXT record's commit will go
      // still holds old bytes (a body of an earlier lap), which could equal
      // the next sequence number by chance. A consumer that reaches it
      // before the next record is written must see "not committed": clear
      // it first (a plain store: the commit below publishes it).
      commitRecord(h, data, at, ((tail + need) & mask) === 0, need, seq);
      seq = (seq + 1) | 0;
      tail += need;
    }
    if (k === 0) return 0;
    // ENQ before TAIL: a thread that takes over from a producer that died in
    // between finds the records from TAIL on already counted (see repairP).
    h[hw + ENQ] = seq;
    h[hw + TAIL] = tail;
    batchSeq = first;
    return k;
  }

  /**
   * Under P_LOCK: {@link writeLocked} for one inline message without
   * handles, still in the encoder. Same records, same order of stores, same
   * return values, plus GROW when an unbounded ring has no room (nothing was
   * written: the caller retries on the general path, which grows it).
   */
  private writeOneLocked(n: number): number {
    const a = this.a;
    const hw = this.hw;
    let h = a.i32;
    // Plain reads, here and for the hints before the lock (an Atomics op costs
    // several plain ones). Under P_LOCK this one cannot miss the last
    // receiver's leaving if the drop ran before: the drop holds P_LOCK, so
    // taking the lock orders this read after that decrement. A leaving that
    // races with this write is the drop's to handle, as it would be anyway.
    if (h[hw + C_RECEIVERS]! <= 0) return -1;
    const seq = h[hw + ENQ]!;
    let tail = h[hw + TAIL]!;
    this.refreshSeen(h, seq, tail);
    if (this.fullAt(h, seq)) return 0;
    const reserve = (this.kind === KIND_UNBOUNDED ? LINK_RESERVE : 0) + 8;
    const ring = h[hw + P_RING]!;
    h = ringView(a, ring);
    const size = h[ring >> 2]!;
    const need = recordSize(n);
    const mask = size - 1;
    const off = tail & mask;
    const pad = off + need > size ? size - off : 0;
    if (!this.roomAt(h, tail, pad + need + reserve, size)) return this.kind === KIND_UNBOUNDED ? GROW : 0;
    const data = ring + RING_HEADER;
    const at = placeRecord(h, data, off, pad, seq);
    tail += pad;
    writeEncoded(a.u8, at + 8, n, h);
    h[at >> 2] = n;
    commitRecord(h, data, at, ((tail + need) & mask) === 0, need, seq);
    h[hw + ENQ] = (seq + 1) | 0;
    h[hw + TAIL] = tail + need;
    batchSeq = seq;
    return 1;
  }

  /** Unbounded growth (under P_LOCK): a LINK record sends consumers on to a ring twice as big. */
  private grow(ring: number, size: number, tail: number, need: number): boolean {
    const a = this.a;
    const hw = this.hw;
    const maxRing = a.i32[hw + C_MAX_RING]!;
    let next = size * 2;
    while (next < need * 2 + LINK_RESERVE * 2 && next < maxRing) next *= 2;
    if (next > maxRing) return false;
    // The new ring starts where the link ends.
    const mask = size - 1;
    let off = tail & mask;
    let pad = off + 16 > size ? size - off : 0;
    const start = tail + pad + 16;
    const seq = a.i32[hw + ENQ]!;
    const nring = allocRing(a, next, start, seq);
    if (nring === 0) return false;
    const h = a.i32;
    const data = ring + RING_HEADER;
    let pos = tail;
    if (pad !== 0) {
      writePad(h, data, data + off, pad, seq); // the link goes at the start
      pos += pad;
      h[hw + TAIL] = pos;
      off = 0;
    }
    const at = data + off;
    h[at >> 2] = 8 | (F_LINK << FLAG_SHIFT);
    h[(at >> 2) + 2] = nring;
    Atomics.store(h, (at >> 2) + 1, seq); // commit the link
    Atomics.store(h, hw + P_RING, nring);
    Atomics.store(h, hw + TAIL, start);
    Atomics.add(h, hw + C_BYTES, a.blockBytes(nring));
    retireRing(a, ring);
    return true;
  }

  /** After a successful send: handles that travelled in the message are closed here (moved). */
  private moved(): void {
    if (found.length !== 0) closeAll(takeFound());
  }

  // ------------------------------------------------------------------------
  // Receiving
  // ------------------------------------------------------------------------

  /**
   * Takes one message if one is ready. The sender count is read only once
   * nothing was found, which saves an atomic load on every message taken
   * (noSenders): nothing there and senders left is EMPTY; nothing there and
   * no sender left looks once more before it says DISCONNECTED, since a
   * sender may have committed its last message and closed between the first
   * look and the count; that commit comes before the count's decrement, so
   * the second look sees it.
   */
  tryRecv(): TryRecvStatus<T> {
    const a = this.a;
    const hw = this.hw;
    const got = this.lockC();
    if (got < 0) return EMPTY;
    let took: boolean;
    let senders = 1;
    let handles: DecodedRef[] | undefined;
    try {
      if (got === 1) repairC(a, hw);
      took = this.dequeueLocked();
      if (!took) {
        senders = Atomics.load(a.i32, hw + C_SENDERS);
        if (senders <= 0) took = this.dequeueLocked(); // see noSenders
      }
      if (took && (bodyFlags & F_HANDLES) !== 0) handles = this.adoptHandles();
    } finally {
      this.unlockC(got);
    }
    if (!took) return senders <= 0 ? DISCONNECTED : EMPTY;
    this.wake(false);
    return this.decodeBody(handles) as T;
  }

  /**
   * Takes the consumer side, as {@link Arena.lock} does C_LOCK (0: taken,
   * 1: taken over from a dead owner, repair first, -1: busy), or returns
   * SOLE without the lock's two atomic operations when this thread holds
   * the channel's only Receiver. That is learnt under the lock (so a dead
   * receiver's half-done take has been repaired), and stays true until this
   * thread adds a Receiver count itself: only a Receiver's holder can make
   * another (clone, transfer token, a handle sent in a message), so no other
   * thread can start taking meanwhile, and nobody else takes C_LOCK (the
   * last receiver's drop needs this one gone; rendezvous channels, whose
   * senders take back offers under C_LOCK, always lock). The claim is a
   * plain store of this thread's id: should the thread die mid-take, the
   * drop that follows finds a dead owner and repairs as usual.
   */
  private lockC(): number {
    const a = this.a;
    if (this.sole) {
      a.i32[this.hw + C_LOCK] = a.tid;
      return SOLE;
    }
    const got = a.lock(this.hw + C_LOCK);
    // Holding the lock, any dead receiver's leftovers repaired by the
    // caller: if the only Receiver is this thread's, it stays so until this
    // thread makes another (see acquireShared).
    if (got >= 0 && this.kind !== KIND_RENDEZVOUS && this.localReceivers > 0) {
      this.sole = a.i32[this.hw + C_RECEIVERS] === 1;
    }
    return got;
  }

  /** Ends what {@link SharedCore.lockC} began. */
  private unlockC(got: number): void {
    if (got === SOLE) this.a.i32[this.hw + C_LOCK] = 0;
    else this.a.unlock(this.hw + C_LOCK);
  }

  /**
   * Under C_LOCK: takes the record at HEAD (following PAD and LINK records)
   * into this thread's scratch. False when empty. (Not the sequence number:
   * that wraps around through 0 and negative numbers.)
   */
  private dequeueLocked(): boolean {
    const a = this.a;
    const hw = this.hw;
    let h = a.i32;
    for (;;) {
      const ring = h[hw + C_RING]!;
      h = ringView(a, ring); // another consumer may have followed a link into memory this thread has not mapped
      const size = h[ring >> 2]!;
      const head = h[hw + HEAD]!;
      const off = head & (size - 1);
      const at = ring + RING_HEADER + off;
      const seq = h[hw + DEQ]!;
      if (Atomics.load(h, (at >> 2) + 1) !== seq) return false;
      const w0 = h[at >> 2]!;
      const flags = w0 >>> FLAG_SHIFT;
      const len = w0 & BODY_MASK;
      if ((flags & F_PAD) !== 0) {
        Atomics.store(h, hw + HEAD, head + (size - off));
        continue;
      }
      if ((flags & F_LINK) !== 0) {
        const next = h[(at >> 2) + 2]!;
        a.ensure(next + RING_HEADER);
        h = a.i32;
        const start = h[(next >> 2) + 1]!;
        Atomics.store(h, hw + C_RING, next);
        Atomics.store(h, hw + HEAD, start);
        Atomics.sub(h, hw + C_BYTES, a.blockBytes(ring));
        retireRing(a, ring);
        h = a.i32;
        continue;
      }
      const ctx = this.ctx;
      const s = ctx.scratchFor(len);
      if (len <= SMALL_COPY) {
        // Whole words: the record is padded to 8 bytes and scratch is larger than it.
        const d = ctx.scratch32;
        const from = (at + 8) >> 2;
        for (let i = 0, w = (len + 3) >> 2; i < w; i++) d[i] = h[from + i]!;
      } else {
        s.set(a.u8.subarray(at + 8, at + 8 + len), 0);
      }
      bodyLen = len;
      bodyFlags = flags;
      // The consumed mark is a plain store, published by the atomic stores
      // below. DEQ is atomic: blocked senders wait for it to change (the
      // wake-up handshake needs it); HEAD is atomic: a producer reads it
      // before it reuses this space, so it never overwrites a record whose
      // mark has not landed. DEQ before HEAD, for repairC.
      h[(at >> 2) + 1] = ~seq; // COMMIT (consumed)
      Atomics.store(h, hw + DEQ, (seq + 1) | 0);
      Atomics.store(h, hw + HEAD, head + recordSize(len));
      return true;
    }
  }

  /**
   * Under C_LOCK, right after the commit: this thread adopts the counts of
   * the handles in the message whose body is at `s[off..]`.
   */
  private adoptHandles(s: Uint8Array = this.ctx.scratch, off = 0, flags = bodyFlags): DecodedRef[] {
    let p = off + ((flags & F_OOL) !== 0 ? 8 : 0);
    const nh = int32At(s, p);
    p += 4;
    const out: DecodedRef[] = [];
    const a = this.a;
    for (let i = 0; i < nh; i++, p += 12) {
      const slot = int32At(s, p);
      const serial = int32At(s, p + 4);
      const side = int32At(s, p + 8);
      const off = a.channelOffset(slot, serial);
      if (off === 0) continue; // cannot happen while the message holds a count
      const rhw = off >> 2;
      const bw = a.bitWords;
      Atomics.add(a.i32, rhw + (side === 0 ? sendCounts(bw) : recvCounts(bw, a.maxThreads)) + a.slot, 1);
      out.push({ slot, serial, side });
    }
    return out;
  }

  /** Decodes the body in scratch (after the lock is released). */
  private decodeBody(handles: DecodedRef[] | undefined): unknown {
    return this.decodeAt(this.ctx.scratch, 0, bodyLen, bodyFlags, handles);
  }

  /**
   * Decodes the body copied to `s[off .. off + len)` (after the lock is
   * released). An out-of-line message is decoded straight from its block,
   * which is then freed: its bytes are copied once, into the value.
   */
  private decodeAt(s: Uint8Array, off: number, len: number, flags: number, handles: DecodedRef[] | undefined): unknown {
    let p = off;
    let ool = 0;
    let n = 0;
    if ((flags & F_OOL) !== 0) {
      ool = int32At(s, p);
      n = int32At(s, p + 4);
      p += 8;
    }
    if ((flags & F_HANDLES) !== 0) p += 4 + 12 * int32At(s, p);
    if (handles !== undefined) hostHooks.beginDecode(handles, reviveRef(this.ctx));
    try {
      if (ool === 0) return decoder.decode(s, p, len - (p - off));
      const a = this.a;
      a.ensure(ool + n);
      return decoder.decode(a.u8, ool, n);
    } finally {
      if (handles !== undefined) hostHooks.endDecode();
      if (ool !== 0) {
        Atomics.sub(this.a.i32, this.hw + C_BYTES, this.a.blockBytes(ool & ~7));
        this.a.free(ool & ~7);
      }
    }
  }

  /**
   * Takes up to `max` messages under one lock hold, decodes them after it,
   * and pushes them to `into`, in order. Returns how many; DISCONNECTED when
   * there were none and every sender is gone.
   */
  tryRecvMany(into: T[], max: number): number | typeof DISCONNECTED {
    if (this.kind === KIND_RENDEZVOUS || max <= 1) {
      let got = 0;
      while (got < max) {
        const v = this.tryRecv();
        if (v === EMPTY) break;
        if (v === DISCONNECTED) return got === 0 ? DISCONNECTED : got;
        into.push(v as T);
        got++;
      }
      return got;
    }
    const a = this.a;
    const hw = this.hw;
    const got = this.lockC();
    if (got < 0) return 0;
    const t = taken;
    t.count = 0;
    t.used = 0;
    let senders = 1;
    try {
      if (got === 1) repairC(a, hw);
      this.takeLocked(t, Math.min(max, MAX_BATCH));
      if (t.count === 0) {
        senders = Atomics.load(a.i32, hw + C_SENDERS);
        if (senders <= 0) this.takeLocked(t, Math.min(max, MAX_BATCH)); // see noSenders
      }
    } finally {
      this.unlockC(got);
    }
    const count = t.count;
    if (count === 0) return senders <= 0 ? DISCONNECTED : 0;
    this.wake(false);
    let k = 0;
    try {
      for (; k < count; k++) into.push(this.decodeAt(t.u8, t.at[k]!, t.len[k]!, t.flags[k]!, t.handles[k]) as T);
    } catch (e) {
      // Corrupted memory: give back what the remaining messages hold.
      for (k++; k < count; k++) discardBody(a, t.u8, t.flags[k]!, hw, t.at[k]!);
      throw e;
    } finally {
      t.handles.fill(undefined, 0, count);
    }
    return count;
  }

  /**
   * Under C_LOCK: copies up to `max` committed records out of the ring into
   * `t`, marking each consumed, then publishes DEQ and HEAD once (and before
   * skipping a PAD or following a LINK, see repairC).
   */
  private takeLocked(t: Taken, max: number): void {
    const a = this.a;
    const hw = this.hw;
    let h = a.i32;
    let ring = h[hw + C_RING]!;
    h = ringView(a, ring);
    let size = h[ring >> 2]!;
    let head = h[hw + HEAD]!;
    let deq = h[hw + DEQ]!;
    while (t.count < max) {
      const off = head & (size - 1);
      const at = ring + RING_HEADER + off;
      if (Atomics.load(h, (at >> 2) + 1) !== deq) break;
      const w0 = h[at >> 2]!;
      const flags = w0 >>> FLAG_SHIFT;
      const len = w0 & BODY_MASK;
      if ((flags & F_PAD) !== 0) {
        Atomics.store(h, hw + DEQ, deq);
        head += size - off;
        Atomics.store(h, hw + HEAD, head);
        continue;
      }
      if ((flags & F_LINK) !== 0) {
        Atomics.store(h, hw + DEQ, deq);
        const next = h[(at >> 2) + 2]!;
        a.ensure(next + RING_HEADER);
        h = a.i32;
        head = h[(next >> 2) + 1]!;
        Atomics.store(h, hw + C_RING, next);
        Atomics.store(h, hw + HEAD, head);
        Atomics.sub(h, hw + C_BYTES, a.blockBytes(ring));
        retireRing(a, ring);
        ring = next;
        h = ringView(a, ring);
        size = h[ring >> 2]!;
        continue;
      }
      const k = t.count++;
      const to = t.reserve(len);
      if (len <= SMALL_COPY) {
        const d = t.i32;
        const from = (at + 8) >> 2;
        for (let i = to >> 2, e = i + ((len + 3) >> 2), f = from; i < e; i++, f++) d[i] = h[f]!;
      } else {
        t.u8.set(a.u8.subarray(at + 8, at + 8 + len), to);
      }
      t.at[k] = to;
      t.len[k] = len;
      t.flags[k] = flags;
      h[(at >> 2) + 1] = ~deq; // COMMIT (consumed): published with HEAD below
      if ((flags & F_HANDLES) !== 0) t.handles[k] = this.adoptHandles(t.u8, to, flags);
      deq = (deq + 1) | 0;
      head += recordSize(len);
    }
    if (t.count === 0) return;
    Atomics.store(h, hw + DEQ, deq); // atomic: see dequeueLocked
    Atomics.store(h, hw + HEAD, head);
  }

  canSend(): boolean {
    const h = this.a.i32;
    const hw = this.hw;
    if (this.detached || Atomics.load(h, hw + C_RECEIVERS) <= 0) return true;
    const inFlight = (Atomics.load(h, hw + ENQ) - Atomics.load(h, hw + DEQ)) | 0;
    if (this.kind === KIND_RENDEZVOUS) return inFlight === 0 && anyWatcher(this.a, hw, recvBits(this.bw), C_RECV_WAITERS);
    return inFlight < this.cap;
  }

  canRecv(): boolean {
    if (this.detached) return true;
    const h = this.a.i32;
    const hw = this.hw;
    if (Atomics.load(h, hw + C_SENDERS) <= 0) return true;
    if (Atomics.load(h, hw + ENQ) !== Atomics.load(h, hw + DEQ)) return true;
    // A producer that died between its commit and ENQ leaves a committed record ENQ does not count.
    return peekCommitted(this.a, hw);
  }

  // Made once: a receiver that waits for every message must not allocate a closure each time.
  private readonly canRecvSpinFn = (): boolean => this.canRecvSpin();
  private readonly canRecvFn = (): boolean => this.canRecv();

  /**
   * {@link canRecv} for spinning: the commit word at HEAD alone (every
   * record, pads and links included, is committed before ENQ counts it),
   * which keeps a spinning receiver off the producers' cache line. It can
   * miss a message while another receiver moves HEAD and DEQ between its two
   * reads, so the check right before parking is canRecv.
   */
  private canRecvSpin(): boolean {
    if (this.detached || Atomics.load(this.a.i32, this.hw + C_SENDERS) <= 0) return true;
    return peekCommitted(this.a, this.hw);
  }

  // ------------------------------------------------------------------------
  // Parking (async)
  // ------------------------------------------------------------------------

  parkSend(w: Waiter<T>): void {
    this.sendq.push(w);
    this.updateWatch();
    this.park();
  }

  parkRecv(w: Waiter<T>): void {
    this.recvq.push(w);
    this.updateWatch();
    this.park();
  }

  cancel(w: Waiter<T>): void {
    if (w.list === this.sendq) {
      this.sendq.remove(w);
      if (this.offers.has(w) && !this.retract(w)) {
        this.settled();
        w.sent(); // the receiver took it first: the send happened
        return;
      }
    } else if (w.list === this.recvq) this.recvq.remove(w);
    this.settled();
  }

  observe(side: Side, o: Observer): void {
    (side === 'send' ? this.sendObs : this.recvObs).add(o);
    this.updateWatch();
    this.park();
  }

  unobserve(side: Side, o: Observer): void {
    (side === 'send' ? this.sendObs : this.recvObs).delete(o);
    this.settled();
  }

  private park(): void {
    // Retry once now that our bit is set: anything committed before it was
    // set did not wake us.
    if (this.pump()) this.ctx.waker.add(this);
  }

  private pumpScheduled = false;
  /** Retries soon (after a local change that may have made local waiters ready). */
  private pumpSoon(): void {
    if (this.pumpScheduled) return;
    this.pumpScheduled = true;
    queueMicrotask(() => {
      this.pumpScheduled = false;
      if (this.pump()) this.ctx.waker.add(this);
    });
  }

  /** Retries parked operations of this thread; true while some remain parked. */
  pump(): boolean {
    if (this.detached) return false;
    // Receivers, oldest first.
    while (this.recvq.head !== null) {
      let v: TryRecvStatus<T>;
      try {
        v = this.tryRecv();
      } catch (e) {
        this.recvq.shift()!.failed(e as Error);
        continue;
      }
      if (v === EMPTY) break;
      if (v === DISCONNECTED) {
        for (const w of this.recvq.takeAll()) w.disconnected();
        break;
      }
      this.recvq.shift()!.received(v as T);
    }
    // Senders, oldest first.
    while (this.sendq.head !== null) {
      const w = this.sendq.head;
      const offer = this.offers.get(w);
      if (offer !== undefined) {
        // A rendezvous send completes when its value was taken.
        if (((Atomics.load(this.a.i32, this.hw + DEQ) - offer.seq) | 0) <= 0) break;
        this.offers.delete(w);
        this.sendq.shift();
        if (this.dropped(offer.seq)) {
          w.disconnected();
          continue;
        }
        closeAll(offer.handles);
        w.sent();
        continue;
      }
      let st: TrySendStatus;
      try {
        if (this.kind === KIND_RENDEZVOUS && w instanceof Operation) st = this.offer(w);
        else st = this.trySendNow(w.value);
      } catch (e) {
        this.sendq.shift();
        w.failed(e as Error);
        continue;
      }
      if (st === FULL) break;
      if (st === DISCONNECTED) {
        this.sendq.shift();
        w.disconnected();
        continue;
      }
      if (this.offers.has(w)) continue; // offered: wait for the take
      this.sendq.shift();
      w.sent();
    }
    if (this.recvObs.size > 0 && this.canRecv()) this.recvObs.notify();
    if (this.sendObs.size > 0 && this.canSend()) this.sendObs.notify();
    this.updateWatch();
    const more = this.recvq.size + this.sendq.size + this.recvObs.size + this.sendObs.size > 0;
    this.parked = more;
    return more;
  }

  /** Rendezvous: puts `w`'s value in the slot; the send completes when a receiver takes it. */
  private offer(w: Waiter<T>): TrySendStatus {
    const h = this.a.i32;
    if (Atomics.load(h, this.hw + C_RECEIVERS) <= 0) return DISCONNECTED;
    if (Atomics.load(h, this.hw + ENQ) !== Atomics.load(h, this.hw + DEQ)) return FULL;
    const n = this.encode(w.value);
    const st = this.commit(n, false);
    if (st === 0) {
      found.length = 0;
      return FULL;
    }
    if (st < 0) {
      found.length = 0;
      return DISCONNECTED;
    }
    this.offers.set(w, { seq: batchSeq, handles: takeFound() });
    return SENT;
  }

  /** Was the record `seq` dropped by the last receiver's leaving (rather than received)? */
  private dropped(seq: number): boolean {
    const h = this.a.i32;
    return Atomics.load(h, this.hw + C_DROPPED) === 2 && ((seq - h[this.hw + C_DROP_SEQ]!) | 0) >= 0;
  }

  /**
   * Takes a rendezvous offer back if no receiver took it yet (true), or
   * reports that one did (false). Runs under C_LOCK, like a receiver.
   */
  private retract(w: Waiter<T>): boolean {
    const offer = this.offers.get(w)!;
    this.offers.delete(w);
    return this.retractSeq(offer.seq, offer.handles);
  }

  private retractSeq(seq: number, handles: readonly { close(): void }[]): boolean {
    const a = this.a;
    const hw = this.hw;
    // A worker waits for the lock; the main thread may give up (-1): then
    // treat it as taken only if it really was.
    for (;;) {
      if (this.dropped(seq)) return true; // the drop already gave back what it held
      const got = a.lock(hw + C_LOCK);
      if (got < 0) {
        if (((Atomics.load(a.i32, hw + DEQ) - seq) | 0) > 0) {
          if (this.dropped(seq)) return true;
          closeAll(handles);
          return false;
        }
        continue;
      }
      let took = false;
      try {
        if (got === 1) repairC(a, hw);
        if (a.i32[hw + DEQ] === seq) took = this.dequeueLocked();
      } finally {
        a.unlock(hw + C_LOCK);
      }
      if (took) {
        // Ours again: give back what the message held.
        discardBody(a, this.ctx.scratch, bodyFlags, hw);
        this.wake(false);
        return true;
      }
      if (this.dropped(seq)) return true;
      closeAll(handles);
      return false;
    }
  }

  /**
   * Watching: this thread's bit on a channel side is set while anything of
   * this thread waits on that side: parked async operations/observers (one
   * count while any exist) and blocking operations or selects (one count
   * each). Notifiers wake exactly the threads whose bit is set, and skip the
   * notify entirely when the side's waiter count is 0.
   */
  private readonly watchN = [0, 0]; // [send, recv]
  private readonly asyncWatch = [false, false];

  /** Sets or clears this thread's async watch on each side. */
  private updateWatch(): void {
    if (this.detached) return;
    const r = this.recvq.size + this.recvObs.size > 0;
    const s = this.sendq.size + this.sendObs.size > 0;
    if (r !== this.asyncWatch[1]) {
      this.asyncWatch[1] = r;
      if (r) this.watch('recv');
      else this.unwatch('recv');
    }
    if (s !== this.asyncWatch[0]) {
      this.asyncWatch[0] = s;
      if (s) this.watch('send');
      else this.unwatch('send');
    }
  }

  private unwatchAll(): void {
    for (const side of ['send', 'recv'] as const) {
      const i = side === 'send' ? 0 : 1;
      if (this.watchN[i]! > 0) this.clearBit(side);
      this.watchN[i] = 0;
      this.asyncWatch[i] = false;
    }
  }

  /** Registers this thread's interest in `side` becoming ready (counted). */
  watch(side: Side): void {
    if (this.detached) return;
    const i = side === 'send' ? 0 : 1;
    if (this.watchN[i]!++ === 0) this.setBit(side);
  }

  unwatch(side: Side): void {
    if (this.detached) return;
    const i = side === 'send' ? 0 : 1;
    if (--this.watchN[i]! === 0) this.clearBit(side);
  }

  private setBit(side: Side): void {
    const a = this.a;
    const h = a.i32;
    const bits = this.hw + (side === 'send' ? sendBits(this.bw) : recvBits(this.bw)) + (a.slot >> 5);
    const bit = 1 << (a.slot & 31);
    // The count first, then the bit (only this thread sets its bit, so the
    // load tells whether it is set): a thread that dies between the two
    // leaves the count one too high, which costs a useless scan of the bits,
    // never one too low, which would skip a wake-up. releaseDeadSlot takes
    // one off only for a bit it finds set. The bits are the exact record
    // (see watchers); the count is the cheap "anyone at all?" of wake().
    if ((Atomics.load(h, bits) & bit) === 0) {
      Atomics.add(h, this.hw + (side === 'send' ? C_SEND_WAITERS : C_RECV_WAITERS), 1);
      Atomics.or(h, bits, bit);
    }
    // On a rendezvous channel a waiting receiver is what lets senders proceed.
    if (side === 'recv' && this.kind === KIND_RENDEZVOUS) wakeBits(a, this.hw, sendBits(this.bw), C_SEND_WAITERS);
  }

  private clearBit(side: Side): void {
    const a = this.a;
    const h = a.i32;
    const bits = this.hw + (side === 'send' ? sendBits(this.bw) : recvBits(this.bw)) + (a.slot >> 5);
    const bit = 1 << (a.slot & 31);
    const old = Atomics.and(h, bits, ~bit);
    if ((old & bit) !== 0) Atomics.sub(h, this.hw + (side === 'send' ? C_SEND_WAITERS : C_RECV_WAITERS), 1);
  }

  /** After a commit: wake threads waiting for data (`enqueued`) or for room. */
  private wake(enqueued: boolean): void {
    const a = this.a;
    if (enqueued) {
      if (Atomics.load(a.i32, this.hw + C_RECV_WAITERS) !== 0) wakeBits(a, this.hw, recvBits(this.bw), C_RECV_WAITERS);
    } else if (Atomics.load(a.i32, this.hw + C_SEND_WAITERS) !== 0) {
      wakeBits(a, this.hw, sendBits(this.bw), C_SEND_WAITERS);
    }
  }

  // ------------------------------------------------------------------------
  // Blocking (workers only)
  // ------------------------------------------------------------------------

  sendSync(value: T, deadline: number): TrySendStatus {
    this.waitDomain.check('sendSync');
    if (this.a.i32[this.hw + C_RECEIVERS]! <= 0) return DISCONNECTED; // a hint, checked again under the lock
    const n = this.encode(value);
    if (found.length === 0 && this.kind !== KIND_RENDEZVOUS) {
      // The common case, room now and no handles to move: no waiting state
      // to set up. (No closures in this method: V8 would allocate their
      // context on every call, and a stream of sends would feed the collector.)
      const st = this.commit(n, false);
      if (st > 0) return SENT;
      if (st < 0) return DISCONNECTED;
    }
    return this.sendSyncWait(n, deadline);
  }

  /** sendSync once the message is encoded (`n` bytes, handles in `found`) and there was no room right away. */
  private sendSyncWait(n: number, deadline: number): TrySendStatus {
    const a = this.a;
    const hw = this.hw;
    const h = () => a.i32;
    const handles = found.slice();
    const restore = () => {
      found.length = 0;
      for (const r of handles) found.push(r);
    };
    const rendezvous = this.kind === KIND_RENDEZVOUS;
    let seq = 0;
    // Phase 1: get the message into the ring.
    for (;;) {
      restore();
      // The baseline is read BEFORE trying: a receive between a failed try
      // and the wait changes DEQ, so the wait returns at once instead of
      // missing it (the receiver did not wake us: we were not watching yet).
      const deq = Atomics.load(h(), hw + DEQ);
      const st = this.commit(n, false);
      if (st < 0) {
        found.length = 0;
        return DISCONNECTED;
      }
      if (st > 0) {
        seq = batchSeq;
        break;
      }
      if (now() >= deadline) {
        found.length = 0;
        return FULL;
      }
      this.blockUntil('send', deadline, () => Atomics.load(h(), hw + DEQ) !== deq || Atomics.load(h(), hw + C_RECEIVERS) <= 0);
    }
    if (!rendezvous) {
      restore();
      this.moved();
      return SENT;
    }
    // Phase 2 (rendezvous): wait until a receiver took it.
    const moved = handles.map((r) => r.handle);
    found.length = 0;
    const taken = () => ((Atomics.load(h(), hw + DEQ) - seq) | 0) > 0;
    while (!taken()) {
      if (now() >= deadline) {
        if (this.retractSeq(seq, moved)) return Atomics.load(h(), hw + C_RECEIVERS) <= 0 ? DISCONNECTED : FULL;
        return SENT;
      }
      this.blockUntil('send', deadline, taken);
    }
    // Taken by the last receiver's leaving, not by a receive: the send failed.
    if (this.dropped(seq)) return DISCONNECTED;
    closeAll(moved);
    return SENT;
  }

  recvSync(deadline: number): TryRecvStatus<T> {
    this.waitDomain.check('recvSync');
    for (;;) {
      if (this.kind === KIND_RENDEZVOUS) this.watch('recv'); // senders offer only to waiting receivers
      let v: TryRecvStatus<T>;
      try {
        v = this.tryRecv();
      } finally {
        if (this.kind === KIND_RENDEZVOUS) this.unwatch('recv');
      }
      if (v !== EMPTY) return v;
      if (now() >= deadline) return EMPTY;
      if (this.kind === KIND_RENDEZVOUS) this.watch('recv');
      try {
        this.blockUntil('recv', deadline, this.canRecvSpinFn, this.canRecvFn);
        v = this.tryRecv();
      } finally {
        if (this.kind === KIND_RENDEZVOUS) this.unwatch('recv');
      }
      if (v !== EMPTY) return v;
    }
  }

  /**
   * Spins (adaptively) until `ready()`, then parks on this thread's wake
   * word until woken or `deadline`. Returns when `ready()` may be true.
   */
  private blockUntil(side: Side, deadline: number, ready: () => boolean, readyExact: () => boolean = ready): void {
    const spin = this.ctx.spin;
    for (let i = 0; i < spin.limit; i++) {
      if (ready()) {
        spin.won();
        return;
      }
      Spin.pause();
    }
    spin.lost();
    const a = this.a;
    this.watch(side);
    try {
      const v = Atomics.load(a.i32, a.wakeIndex);
      if (readyExact()) return;
      const ms = deadline - now();
      if (ms <= 0) return;
      a.parkSelf();
      Atomics.wait(a.i32, a.wakeIndex, v, ms === Infinity ? undefined : ms);
    } finally {
      this.unwatch(side);
    }
  }
}

/**
 * Bodies up to this many bytes are copied a word at a time: for small copies
 * a plain loop beats TypedArray#set + subarray on views of a growable buffer.
 */
const SMALL_COPY = 256;
/** {@link SharedCore.lockC}: the consumer side claimed by its only Receiver, without the lock. */
const SOLE = 2;

/** writeOneLocked: an unbounded ring must grow first. */
const GROW = -2;

/** A cached DEQ/HEAD read more than this many messages or bytes ago is read again (32-bit wrap-around stays far). */
const STALE = 1 << 28;
/** The encoder's scratch as words, cached by identity (reading `.buffer` costs more than a small copy). */
let encoderSrc: Uint8Array | undefined;
let encoder32: Int32Array = new Int32Array(0);

/** Most records one lock hold writes or takes before publishing (bounds repair's search, see repairP). */
const MAX_BATCH = 1024;
/** Repair recognises a dead owner's unpublished records within this many sequence numbers. */
const REPAIR_WINDOW = 1 << 16;

/**
 * Under P_LOCK: a PAD record of `pad` bytes at `at`, which sends consumers
 * back to the ring's start (`data`), committed with `seq`: it carries the
 * number of the record that follows it there. The commit word at the start
 * is cleared first (see "stale commit words" in writeLocked).
 */
function writePad(h: Int32Array, data: number, at: number, pad: number, seq: number): void {
  h[(data >> 2) + 1] = cleared(seq);
  h[at >> 2] = (pad - 8) | (F_PAD << FLAG_SHIFT);
  Atomics.store(h, (at >> 2) + 1, seq);
}

/**
 * Under P_LOCK, once the body and header word of the `need`-byte record at
 * `at` are written: clears the commit word of the record after it (at the
 * ring's start when this one ends the ring), then commits this one.
 */
function commitRecord(h: Int32Array, data: number, at: number, endsRing: boolean, need: number, seq: number): void {
  const next = endsRing ? data : at + need;
  h[(next >> 2) + 1] = cleared((seq + 1) | 0);
  Atomics.store(h, (at >> 2) + 1, seq); // COMMIT
}

/**
 * Under P_LOCK: where the record that would start at offset `off` of the
 * ring whose records begin at `data` goes: there, or at the start when it
 * would run past the end (`pad` > 0), after a PAD record filling the rest.
 */
function placeRecord(h: Int32Array, data: number, off: number, pad: number, seq: number): number {
  if (pad === 0) return data + off;
  writePad(h, data, data + off, pad, seq);
  return data;
}

/**
 * The value a commit word holds before the record with sequence number `s`
 * is written there. It must differ from `s` and from `~s` (consumed) by far
 * more than REPAIR_WINDOW, so neither a consumer nor repair can mistake it
 * for a record — whatever `s` is, sequence numbers wrap around.
 */
function cleared(s: number): number {
  const c = (s ^ (1 << 31)) | 0;
  // c is 2^31 away from s; make sure ~c is far from s too.
  const d = (c + s + 1) | 0; // c - ~s
  return d > -(1 << 29) && d < 1 << 29 ? (s + (1 << 30)) | 0 : c;
}

/** Reads the little-endian int32 at byte `p` of `s`. */
function int32At(s: Uint8Array, p: number): number {
  return s[p]! | (s[p + 1]! << 8) | (s[p + 2]! << 16) | (s[p + 3]! << 24);
}

/** Message bodies taken from a ring under one lock hold, in this thread (one take at a time). */
class Taken {
  count = 0;
  used = 0;
  readonly at: number[] = [];
  readonly len: number[] = [];
  readonly flags: number[] = [];
  readonly handles: (DecodedRef[] | undefined)[] = [];
  u8 = new Uint8Array(16384);
  i32 = new Int32Array(this.u8.buffer);

  /** Room for a body of `len` bytes (8-aligned, whole words readable); returns its offset. */
  reserve(len: number): number {
    const at = this.used;
    const end = at + ((len + 7) & ~7);
    if (end > this.u8.length) {
      const bigger = new Uint8Array(Math.max(end, this.u8.length * 2));
      bigger.set(this.u8.subarray(0, at));
      this.u8 = bigger;
      this.i32 = new Int32Array(bigger.buffer);
    }
    this.used = end;
    return at;
  }
}

const taken = new Taken();

/** Sequence number of the first record of the last write (commit). */
let batchSeq = 0;

/**
 * Messages encoded for one locked write, in this thread (one write at a
 * time). A batch encodes every value first, outside the lock, into a
 * staging buffer; a single send leaves its bytes in the encoder.
 */
class Batch {
  count = 0;
  /** Encoded length of each message. */
  readonly n: number[] = [];
  /** Record body length (handle references and out-of-line reference included). */
  readonly body: number[] = [];
  readonly flags: number[] = [];
  /** Out-of-line block, 0 when inline. */
  readonly ool: number[] = [];
  /** Byte offset of the inline bytes in `u8`; -1 while they are still in the encoder. */
  readonly at: number[] = [];
  /** End (exclusive) of each message's handles in `refs`. */
  readonly refEnd: number[] = [];
  readonly refs: HandleRef[] = [];
  /** Bytes of the out-of-line blocks (arena block sizes). */
  oolBytes = 0;
  /** Staging bytes in use. */
  used = 0;
  u8 = new Uint8Array(16384);
  i32 = new Int32Array(this.u8.buffer);

  clear(): void {
    this.count = 0;
    if (this.refs.length !== 0) this.refs.length = 0;
    this.used = 0;
    this.oolBytes = 0;
  }

  /**
   * Adds the message in the encoder (its handles in `found`). A message
   * above `inlineMax` is written to an out-of-line block now, outside the
   * lock. `stage`: copy the bytes to staging (the encoder is about to be
   * reused). False when the arena has no room for the block.
   */
  add(a: Arena, n: number, stage: boolean, inlineMax: number): boolean {
    const nh = found.length;
    const handleBytes = nh === 0 ? 0 : 4 + 12 * nh;
    let body = handleBytes + n;
    let ool = 0;
    let at = -1;
    if (body > inlineMax) {
      // The message starts 0-7 bytes into its block so that its first large
      // payload lands 8-aligned: copies to and from shared memory run several
      // times faster aligned. The record holds the start; the block is
      // `start & ~7` (blocks are 8-aligned).
      const ext = encoder.externalOffset;
      const shift = ext < 0 ? 0 : -ext & 7;
      const block = a.alloc(n + shift);
      if (block === 0) return false;
      ool = block + shift;
      a.ensure(ool + n);
      writeEncoded(a.u8, ool, n);
      body = 8 + handleBytes;
      this.oolBytes += a.blockBytes(block);
    } else if (stage) {
      at = this.used;
      const end = at + ((n + 7) & ~7);
      if (end > this.u8.length) {
        const bigger = new Uint8Array(Math.max(end, this.u8.length * 2));
        bigger.set(this.u8.subarray(0, at));
        this.u8 = bigger;
        this.i32 = new Int32Array(bigger.buffer);
      }
      writeEncoded(this.u8, at, n, this.i32);
      this.used = end;
    }
    const k = this.count++;
    this.n[k] = n;
    this.body[k] = body;
    this.flags[k] = (ool !== 0 ? F_OOL : 0) | (nh !== 0 ? F_HANDLES : 0);
    this.ool[k] = ool;
    this.at[k] = at;
    for (let i = 0; i < nh; i++) this.refs.push(found[i]!);
    this.refEnd[k] = this.refs.length;
    return true;
  }

  /** Is one of `refs` already in this batch? */
  holdsAny(refs: readonly HandleRef[]): boolean {
    for (const r of refs) for (const q of this.refs) if (q.handle === r.handle) return true;
    return false;
  }

  /** Copies message `k`'s inline bytes to the arena at byte `p` (4-aligned). */
  copyOut(a: Arena, h: Int32Array, k: number, p: number, n: number): void {
    const at = this.at[k]!;
    if (at < 0) {
      writeEncoded(a.u8, p, n, h);
      return;
    }
    if (n > SMALL_COPY) {
      a.u8.set(this.u8.subarray(at, at + n), p);
      return;
    }
    // Whole words: staging offsets are 8-aligned and padded.
    const src = this.i32;
    const from = at >> 2;
    const to = p >> 2;
    const w = (n + 3) >> 2;
    for (let i = 0; i < w; i++) h[to + i] = src[from + i]!;
  }

  /** Bytes of the out-of-line blocks of the first `k` messages. */
  oolBytesOf(a: Arena, k: number): number {
    if (this.oolBytes === 0) return 0;
    let s = 0;
    for (let i = 0; i < k; i++) if (this.ool[i] !== 0) s += a.blockBytes(this.ool[i]! & ~7);
    return s;
  }

  /** Frees the out-of-line blocks of the messages from `k` on (not written). */
  freeFrom(a: Arena, k: number): void {
    if (this.oolBytes === 0) return;
    for (let i = k; i < this.count; i++) if (this.ool[i] !== 0) a.free(this.ool[i]! & ~7);
  }

  /** The first `k` messages were sent: the handles they carried moved with them. */
  moveHandles(k: number): void {
    const end = k === 0 ? 0 : this.refEnd[k - 1]!;
    if (end === 0) return;
    const handles = this.refs.slice(0, end).map((r) => r.handle);
    this.refs.length = 0;
    for (const h of handles) h.close();
  }
}

const batch = new Batch();

/** Copies the encoder's last message (`n` bytes) to `dst` at `at` (4-aligned; `dst32` is `dst` as words). */
function writeEncoded(dst: Uint8Array, at: number, n: number, dst32?: Int32Array): void {
  if (encoder.external !== 0) {
    encoder.writeTo(dst, at);
    return;
  }
  const src = encoder.bytes;
  if (n > SMALL_COPY || dst32 === undefined) {
    dst.set(n === src.length ? src : src.subarray(0, n), at);
    return;
  }
  if (src !== encoderSrc) {
    encoderSrc = src;
    encoder32 = new Int32Array(src.buffer, 0, src.buffer.byteLength >> 2);
  }
  const to = at >> 2;
  const w = n >> 2;
  for (let i = 0; i < w; i++) dst32[to + i] = encoder32[i]!;
  // The last bytes one by one: they need not fill a word of the encoder's buffer.
  for (let b = w << 2; b < n; b++) dst[at + b] = src[b]!;
}

/** Makes the local handle for a reference whose count this thread adopted in adoptHandles. */
function reviveRef(ctx: ThreadContext): (r: DecodedRef) => unknown {
  return (r) => {
    const core = SharedCore.lookup<unknown>(ctx, r.slot, r.serial);
    if (r.side === 0) {
      core.localSenders++;
      return new Sender(core, reviveRef);
    }
    core.localReceivers++;
    return new Receiver(core, reviveRef);
  };
}

interface Offer {
  seq: number;
  handles: readonly { close(): void }[];
}

const NO_HANDLES: readonly { close(): void }[] = Object.freeze([]);

/** The local handles of the message just encoded (`found`), which it moves; `found` is left empty. No allocation for the common message without handles. */
function takeFound(): readonly { close(): void }[] {
  if (found.length === 0) return NO_HANDLES;
  const handles = found.map((r) => r.handle);
  found.length = 0;
  return handles;
}

function closeAll(handles: readonly { close(): void }[]): void {
  for (const h of handles) h.close();
}

function pow2(n: number): number {
  let p = 1;
  while (p < n) p *= 2;
  return p;
}

/**
 * Maps the ring at `ring` whole into this thread's views and returns the
 * Int32 view. Another thread may have allocated it (growing the arena)
 * after this thread last looked: its header can lie inside the current
 * view while its body does not, so the header alone is not enough.
 */
function ringView(a: Arena, ring: number): Int32Array {
  a.ensure(ring + RING_HEADER);
  a.ensure(ring + RING_HEADER + a.i32[ring >> 2]!);
  return a.i32;
}

/**
 * Allocates a zeroed ring of `size` bytes whose first position is `start`
 * and whose first record will have sequence number `seq`.
 */
function allocRing(a: Arena, size: number, start: number, seq: number): number {
  const r = a.alloc(RING_HEADER + size);
  if (r === 0) return 0;
  a.ensure(r + RING_HEADER + size);
  a.u8.fill(0, r, r + RING_HEADER + size);
  a.i32[r >> 2] = size;
  a.i32[(r >> 2) + 1] = start;
  a.i32[((r + RING_HEADER + (start & (size - 1))) >> 2) + 1] = cleared(seq);
  return r;
}

/**
 * An old ring of an unbounded channel is freed once both sides left it:
 * the producer (after it linked the next ring) and the consumer (after it
 * followed the link). Freeing on the consumer's pass alone would let a
 * thread that takes over a dead producer's lock read a freed ring.
 */
function retireRing(a: Arena, ring: number): void {
  if (Atomics.add(a.i32, (ring >> 2) + 2, 1) === 1) a.free(ring);
}

/** Wakes every thread whose bit is set in the bitmap at `bitsOff` (header-relative). */
function wakeBits(a: Arena, hw: number, bitsOff: number, countOff: number): void {
  const h = a.i32;
  if (Atomics.load(h, hw + countOff) === 0) return;
  const words = a.bitWords;
  for (let w = 0; w < words; w++) {
    let bits = Atomics.load(h, hw + bitsOff + w);
    while (bits !== 0) {
      const b = 31 - Math.clz32(bits & -bits);
      bits &= bits - 1;
      a.wakeSlot(w * 32 + b);
    }
  }
}

/** Threads watching the side whose bits start at `bitsOff`, counted from the bits (exact, unlike the count words). */
function watchers(a: Arena, hw: number, bitsOff: number): number {
  let n = 0;
  for (let w = 0; w < a.bitWords; w++) {
    let bits = Atomics.load(a.i32, hw + bitsOff + w);
    for (; bits !== 0; n++) bits &= bits - 1;
  }
  return n;
}

/**
 * Is any thread watching the side whose bits start at `bitsOff`? Its count
 * (`countOff`) is never below the bits, so 0 there is an exact no, in one load.
 */
function anyWatcher(a: Arena, hw: number, bitsOff: number, countOff: number): boolean {
  if (Atomics.load(a.i32, hw + countOff) === 0) return false;
  for (let w = 0; w < a.bitWords; w++) if (Atomics.load(a.i32, hw + bitsOff + w) !== 0) return true;
  return false;
}

/** Is there a committed record at HEAD (read without the lock: a hint)? */
function peekCommitted(a: Arena, hw: number): boolean {
  const ring = Atomics.load(a.i32, hw + C_RING);
  if (ring <= 0) return false;
  // Mapped, not skipped: "nothing there" for a ring this thread has not mapped yet would let a receiver sleep on a message.
  const h = ringView(a, ring);
  const size = h[ring >> 2]!;
  if (!(size > 0)) return false;
  const at = ring + RING_HEADER + (Atomics.load(h, hw + HEAD) & (size - 1));
  return Atomics.load(h, (at >> 2) + 1) === Atomics.load(h, hw + DEQ);
}

/** Where a walk over a dead owner's records ended (walkP/walkC). */
let walkPos = 0;
let walkSeq = 0;
let walkLink = -1;

/**
 * From byte position `pos` of the ring at `ring`, steps over the records
 * numbered `e`, `e + 1`, … that are committed or consumed (PAD records
 * included), stopping at the first other one or at a LINK (walkLink: its
 * word offset). Leaves the end in walkPos/walkSeq.
 */
function walkP(h: Int32Array, ring: number, pos: number, e: number): void {
  const size = h[ring >> 2]!;
  const data = ring + RING_HEADER;
  walkLink = -1;
  for (;;) {
    const off = pos & (size - 1);
    const at = data + off;
    const mark = Atomics.load(h, (at >> 2) + 1);
    if (mark !== e && mark !== ~e) break;
    const flags = h[at >> 2]! >>> FLAG_SHIFT;
    if ((flags & F_PAD) !== 0) pos += size - off;
    else if ((flags & F_LINK) !== 0) {
      walkLink = at >> 2;
      break;
    } else {
      pos += recordSize(h[at >> 2]! & BODY_MASK);
      e = (e + 1) | 0;
    }
  }
  walkPos = pos;
  walkSeq = e;
}

/** Like walkP, over consumed records only (no PAD or LINK: a consumer publishes before those). */
function walkC(h: Int32Array, ring: number, pos: number, e: number): void {
  const size = h[ring >> 2]!;
  const data = ring + RING_HEADER;
  for (;;) {
    const at = data + (pos & (size - 1));
    if (Atomics.load(h, (at >> 2) + 1) !== ~e) break;
    pos += recordSize(h[at >> 2]! & BODY_MASK);
    e = (e + 1) | 0;
  }
  walkPos = pos;
  walkSeq = e;
}

/** Is `s` one of the REPAIR_WINDOW sequence numbers before `count`? */
function justBefore(s: number, count: number): boolean {
  const d = (count - s) | 0;
  return d > 0 && d <= REPAIR_WINDOW;
}

/**
 * Repairs the producer side after taking P_LOCK over from a dead owner.
 *
 * A producer writes records (each made visible by its commit word, in
 * order), then stores ENQ, then TAIL, once per batch of up to MAX_BATCH
 * records, and publishes both before it grows the ring. So from TAIL on the
 * dead owner left zero or more committed records (some perhaps already
 * taken by a consumer: `~seq`) with consecutive numbers, PAD records
 * between them, and ENQ counts either none of them or all of them:
 * - none: the record at TAIL is numbered ENQ; walk to the last one;
 * - all: it is numbered a little below ENQ, and the walk from it ends
 *   exactly at ENQ (a commit word holds `s` or `~s`; only one reading
 *   walks to ENQ).
 * Then TAIL goes past them and ENQ past the last. A record whose commit
 * word was not stored yet is invisible to consumers and is overwritten by
 * the next producer: a half-written message is never delivered. (The
 * owner's stores have long landed when its death is known, milliseconds
 * later: repair sees a prefix of what it did.)
 */
export function repairP(a: Arena, hw: number): void {
  for (;;) {
    const h = a.i32;
    const ring = h[hw + P_RING]!;
    const size = ringView(a, ring)[ring >> 2]!;
    const start = h[(ring >> 2) + 1]!;
    let tail = h[hw + TAIL]!;
    if (((tail - start) | 0) < 0) {
      tail = start;
      Atomics.store(h, hw + TAIL, tail);
    }
    const enq = h[hw + ENQ]!;
    const mark = Atomics.load(h, ((ring + RING_HEADER + (tail & (size - 1))) >> 2) + 1);
    if (mark === enq || mark === ~enq) walkP(h, ring, tail, enq);
    else {
      let ok = false;
      for (const c of [mark, ~mark]) {
        if (!justBefore(c, enq)) continue;
        walkP(h, ring, tail, c);
        if (walkSeq === enq && walkLink < 0) {
          ok = true;
          break;
        }
      }
      if (!ok) return;
    }
    if (((walkSeq - enq) | 0) > 0) Atomics.store(h, hw + ENQ, walkSeq);
    if (walkLink < 0) {
      Atomics.store(h, hw + TAIL, walkPos);
      return;
    }
    // The owner died growing the ring, after committing the link: follow it.
    const next = h[walkLink + 2]!;
    a.ensure(next + RING_HEADER);
    Atomics.store(a.i32, hw + P_RING, next);
    Atomics.store(a.i32, hw + TAIL, a.i32[(next >> 2) + 1]!);
    retireRing(a, ring); // the dead producer had not left it yet
  }
}

/**
 * Repairs the consumer side after taking C_LOCK over from a dead owner.
 *
 * A consumer marks each record it takes consumed (`~seq`), then stores DEQ,
 * then HEAD, once per batch of up to MAX_BATCH records, and publishes both
 * before it skips a PAD or follows a LINK. So from HEAD on the dead owner
 * left zero or more consumed records with consecutive numbers, all counted
 * by DEQ or none; as in repairP, the numbers tell which. HEAD goes past
 * them and DEQ past the last. Those messages are lost with the thread that
 * took them (it never handed them to anyone); the rest stay for the next
 * receiver.
 */
export function repairC(a: Arena, hw: number): void {
  let h = a.i32;
  const ring = h[hw + C_RING]!;
  h = ringView(a, ring);
  const size = h[ring >> 2]!;
  const start = h[(ring >> 2) + 1]!;
  let head = h[hw + HEAD]!;
  if (((head - start) | 0) < 0) {
    head = start;
    Atomics.store(h, hw + HEAD, head);
  }
  const deq = h[hw + DEQ]!;
  const mark = Atomics.load(h, ((ring + RING_HEADER + (head & (size - 1))) >> 2) + 1);
  if (mark === deq) return; // committed, not taken
  if (mark === ~deq) walkC(h, ring, head, deq);
  else if (justBefore(~mark, deq)) {
    walkC(h, ring, head, ~mark);
    if (walkSeq !== deq) return;
  } else return;
  if (((walkSeq - deq) | 0) > 0) Atomics.store(h, hw + DEQ, walkSeq);
  Atomics.store(h, hw + HEAD, walkPos);
}

/**
 * Gives back what a message body holds without delivering it: its
 * out-of-line block and the handle counts it carried (releasing those may
 * disconnect or free other channels).
 */
function discardBody(a: Arena, scratch: Uint8Array, flags: number, hw: number, off = 0): void {
  let p = off;
  if ((flags & F_OOL) !== 0) {
    const ool = int32At(scratch, p) & ~7; // the block (the message may start a few bytes in)
    Atomics.sub(a.i32, hw + C_BYTES, a.blockBytes(ool));
    a.free(ool);
    p += 8;
  }
  if ((flags & F_HANDLES) !== 0) {
    const refs: number[] = [];
    const nh = int32At(scratch, p);
    p += 4;
    for (let i = 0; i < nh; i++, p += 12) refs.push(int32At(scratch, p), int32At(scratch, p + 4), int32At(scratch, p + 8));
    for (let i = 0; i < refs.length; i += 3) {
      const off = a.channelOffset(refs[i]!, refs[i + 1]!);
      if (off !== 0) releaseShared(a, off >> 2, refs[i + 2] === 0 ? 'send' : 'recv', 1);
    }
  }
}

/**
 * Releases `n` counts of `side` on the channel at word `hw` (a handle
 * closed, a dead thread's handles, a dropped message's handles). The last
 * Sender wakes everyone (receivers drain, then see the end); the last
 * Receiver drops what is buffered and wakes everyone; the last reference
 * frees the channel's memory.
 */
export function releaseShared(a: Arena, hw: number, side: Side, n: number): void {
  const h = a.i32;
  const bw = a.bitWords;
  const left = Atomics.sub(h, hw + (side === 'send' ? C_SENDERS : C_RECEIVERS), n) - n;
  if (left <= 0) {
    if (side === 'recv') dropAll(a, hw);
    wakeBits(a, hw, recvBits(bw), C_RECV_WAITERS);
    wakeBits(a, hw, sendBits(bw), C_SEND_WAITERS);
  }
  const refs = Atomics.sub(a.i32, hw + C_REFS, n) - n;
  if (refs === 0) freeChannel(a, hw);
}

/** The last receiver is gone: drop every buffered message (and what it holds). */
function dropAll(a: Arena, hw: number): void {
  if (Atomics.compareExchange(a.i32, hw + C_DROPPED, 0, 1) !== 0) return;
  if (tryDrop(a, hw)) return;
  // Main thread, a lock taken: drop a moment later rather than wait (its
  // holder may be a worker that just died, which only this thread's event
  // loop can learn). The pending drop holds a reference: the channel's
  // memory stays until it ran.
  Atomics.add(a.i32, hw + C_REFS, 1);
  const retry = (): void => {
    if (!tryDrop(a, hw)) {
      setTimeout(retry, 1).unref?.();
      return;
    }
    // Rendezvous senders waiting for their offer to be taken learn it was dropped.
    wakeBits(a, hw, recvBits(a.bitWords), C_RECV_WAITERS);
    wakeBits(a, hw, sendBits(a.bitWords), C_SEND_WAITERS);
    if (Atomics.sub(a.i32, hw + C_REFS, 1) === 1) freeChannel(a, hw);
  };
  setTimeout(retry, 1).unref?.();
}

/** Under both locks (P then C, so no producer commits after we looked): drains. False when the main thread could not take them now. */
function tryDrop(a: Arena, hw: number): boolean {
  const gp = a.lock(hw + P_LOCK);
  if (gp < 0) return false;
  try {
    if (gp === 1) repairP(a, hw);
    const gc = a.lock(hw + C_LOCK);
    if (gc < 0) return false;
    try {
      if (gc === 1) repairC(a, hw);
      // Rendezvous senders tell "taken by a receiver" from "dropped" by this mark.
      a.i32[hw + C_DROP_SEQ] = a.i32[hw + DEQ]!;
      Atomics.store(a.i32, hw + C_DROPPED, 2);
      drainLocked(a, hw);
    } finally {
      a.unlock(hw + C_LOCK);
    }
  } finally {
    a.unlock(hw + P_LOCK);
  }
  return true;
}

/** Under both locks: consumes and discards every record. */
function drainLocked(a: Arena, hw: number): void {
  for (;;) {
    // The arena may have grown in another thread since this one last looked:
    // map the ring (header, then body) before reading it.
    const ring = a.i32[hw + C_RING]!;
    const h = ringView(a, ring);
    const size = h[ring >> 2]!;
    const head = h[hw + HEAD]!;
    const off = head & (size - 1);
    const at = ring + RING_HEADER + off;
    const seq = h[hw + DEQ]!;
    if (Atomics.load(h, (at >> 2) + 1) !== seq) return;
    const w0 = h[at >> 2]!;
    const flags = w0 >>> FLAG_SHIFT;
    const len = w0 & BODY_MASK;
    if ((flags & F_PAD) !== 0) {
      Atomics.store(h, hw + HEAD, head + (size - off));
      continue;
    }
    if ((flags & F_LINK) !== 0) {
      const next = h[(at >> 2) + 2]!;
      a.ensure(next + RING_HEADER);
      Atomics.store(a.i32, hw + C_RING, next);
      Atomics.store(a.i32, hw + HEAD, a.i32[(next >> 2) + 1]!);
      Atomics.sub(a.i32, hw + C_BYTES, a.blockBytes(ring));
      retireRing(a, ring);
      continue;
    }
    const copy = new Uint8Array(new SharedArrayBuffer(Math.max(8, (len + 7) & ~7)));
    copy.set(a.u8.subarray(at + 8, at + 8 + len));
    Atomics.store(h, (at >> 2) + 1, ~seq);
    Atomics.store(h, hw + DEQ, seq + 1);
    Atomics.store(h, hw + HEAD, head + recordSize(len));
    discardBody(a, copy, flags, hw);
  }
}

/** Every handle is gone: free the rings, the header and the table slot. */
function freeChannel(a: Arena, hw: number): void {
  const h = a.i32;
  const slot = h[hw + C_SLOT]!;
  const serial = h[hw + C_SERIAL]!;
  if (!a.removeChannel(slot, serial)) return;
  dropAll(a, hw);
  Atomics.store(h, hw + C_MAGIC, 0);
  const pr = h[hw + P_RING]!;
  const cr = h[hw + C_RING]!;
  a.free(cr);
  if (pr !== cr) a.free(pr);
  a.free(h[hw + C_BLOCK]!);
}

/**
 * Releases every handle count held by dead thread slot `s` in every
 * channel, clears its waiter bits, and wakes every waiter of the channels it
 * touched (they re-check: disconnection, a lock to take over, a record a
 * dying producer committed without waking anyone).
 */
export function releaseDeadSlot(a: Arena, s: number): void {
  const bw = a.bitWords;
  const T = a.maxThreads;
  for (let c = 0; c < a.maxChannels; c++) {
    const { offset } = a.channelAt(c);
    if (offset === 0) continue;
    a.ensure(offset + headerWords(bw, T) * 4);
    const hw = offset >> 2;
    const h = a.i32;
    if (Atomics.load(h, hw + C_MAGIC) !== CHANNEL_MAGIC) continue;
    const bit = 1 << (s & 31);
    for (const [bitsOff, countOff] of [[recvBits(bw), C_RECV_WAITERS], [sendBits(bw), C_SEND_WAITERS]] as const) {
      const old = Atomics.and(h, hw + bitsOff + (s >> 5), ~bit);
      if ((old & bit) !== 0) Atomics.sub(h, hw + countOff, 1);
    }
    const ns = Atomics.exchange(h, hw + sendCounts(bw) + s, 0);
    const nr = Atomics.exchange(h, hw + recvCounts(bw, T) + s, 0);
    // Wake everyone before releasing (the release may free the channel).
    wakeBits(a, hw, recvBits(bw), C_RECV_WAITERS);
    wakeBits(a, hw, sendBits(bw), C_SEND_WAITERS);
    if (ns > 0) releaseShared(a, hw, 'send', ns);
    if (nr > 0) releaseShared(a, hw, 'recv', nr);
  }
}

export { KIND_BOUNDED, KIND_UNBOUNDED, KIND_RENDEZVOUS };
