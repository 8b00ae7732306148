/**
 * The arena: one growable SharedArrayBuffer per process that holds every
 * shared channel, the thread registry, and the transfer tickets.
 *
 * Why one arena instead of one SharedArrayBuffer per channel: a handle can
 * travel inside a message, and the thread that receives it must reach the
 * channel's memory synchronously, in the middle of a `recvSync`. A
 * SharedArrayBuffer can only reach a thread through postMessage (an event,
 * asynchronous) or workerData. With one arena that every weft thread already
 * holds, a handle is a (slot, serial) pair and reaches its channel with a
 * table lookup. Every Worker inherits the arena through Node's environment
 * data, so user-created workers need no wiring.
 *
 * Layout (Int32 words; byte offsets are words × 4):
 *   header             magic, version, arena lock, bump pointer, limits,
 *                      free-list heads per size class
 *   thread table       per thread slot: tid, state, Node threadId, wake word,
 *                      parked flag (16 words each, so wake words never share
 *                      a cache line)
 *   channel table      per channel slot: header offset, serial
 *   ticket table       per ticket: serial, channel slot, channel serial, side
 *   heap               blocks
 *
 * Allocation: size classes with four classes per power of two (waste ≤ 25%),
 * a LIFO free list per class, and a bump pointer that grows the buffer. Blocks
 * are never split or merged, so every allocator operation is a short sequence
 * whose last store is its commit: a thread that dies inside one leaves the
 * allocator consistent (at worst a leaked block), and the next thread simply
 * takes the lock over. Memory is reused but never returned to the OS: a
 * growable SharedArrayBuffer cannot shrink.
 *
 * Locks: a lock word holds its owner's thread id (tid). A waiter that finds
 * the owner dead (the registry says so) takes the lock over with a CAS and
 * repairs the state it protects; see `lock`.
 *
 * @internal
 */
import { isMainThread, threadId as nodeThreadId } from './platform.js';

// ---- arena header (word indices) ----
const A_MAGIC = 0;
const A_VERSION = 1;
export const A_LOCK = 2;
const A_TOP = 3;
const A_MAX_THREADS = 4;
const A_MAX_CHANNELS = 5;
const A_MAX_TICKETS = 6;
const A_GEN = 7;
const A_SERIAL = 8;
const A_ID = 9;
const A_USED = 10;
const A_THREADS = 11;
const A_CHANNELS = 12;
const A_TICKETS = 13;
const A_HEAP = 14;
const A_TICKET_SERIAL = 15;
const A_CHANNEL_HINT = 16;
const A_LIVE_CHANNELS = 17;
const A_FREE = 32; // free-list heads, one per size class
const NCLASSES = 100;
const HEADER_WORDS = A_FREE + NCLASSES;

const MAGIC = 0x77656674; // 'weft'
const VERSION = 1;

// ---- thread table ----
const T_STRIDE = 16; // words per thread entry: one cache line
export const T_TID = 0;
export const T_STATE = 1;
export const T_NODE_ID = 2;
export const T_WAKE = 3;
/** Non-zero while the thread may be (about to be) asleep on its wake word: lets wakers skip Atomics.notify. */
export const T_PARKED = 4;
export const ALIVE = 1;
export const DEAD = 2;

// ---- tids: low 10 bits slot + 1, then a generation; bit 30 marks a contended lock ----
const SLOT_BITS = 10;
const SLOT_MASK = (1 << SLOT_BITS) - 1;
export const CONTENDED = 1 << 30;
export const MAX_THREADS_LIMIT = SLOT_MASK;

// ---- block header (16 bytes before the user area) ----
const B_CLASS = 0; // class | BLOCK_MAGIC
const B_STATE = 1; // 1 allocated, 2 free
const B_NEXT = 2; // next free block (user offset), when free
const B_SIZE = 3; // block size in bytes, header included
const BLOCK_MAGIC = 0x3b00_0000;
const BLOCK_HEADER = 16;

/** Size of size class `c`, in bytes (header included). */
function classSize(c: number): number {
  return (4 + (c & 3)) * 2 ** ((c >> 2) + 4);
}

function classFor(n: number): number {
  // Class 4k is 2^(k+6) bytes: start at the one just below n (at most 4 steps up).
  let c = Math.max(0, (31 - Math.clz32(n) - 6) * 4);
  while (classSize(c) < n) c++;
  return c;
}

/** Options of the arena; only the first thread that creates it decides. */
export interface ArenaOptions {
  /** Largest size the arena may grow to, in bytes (virtual reservation). Default 1 GiB. */
  maxBytes?: number;
  /** Initial heap size. Default 1 MiB. */
  initialBytes?: number;
  /** Threads that may use weft at once. Default 128, at most 1023. */
  maxThreads?: number;
  /** Shared channels that may exist at once. Default 16384. */
  maxChannels?: number;
  /** Transfer tokens that may be in flight at once. Default 4096. */
  maxTickets?: number;
}

export class ArenaFullError extends RangeError {
  override get name(): string {
    return 'ArenaFullError';
  }
}

/**
 * This thread's view of an arena: typed-array views (refreshed when another
 * thread grows the buffer; fixed-length views, because V8 accesses
 * length-tracking views on growable buffers about 10× slower), and this
 * thread's registration in it.
 */
export class Arena {
  readonly sab: SharedArrayBuffer;
  i32: Int32Array;
  u8: Uint8Array;
  /** Random id written at creation: lets a token name the arena it belongs to. */
  readonly id: number;
  readonly maxThreads: number;
  readonly maxChannels: number;
  readonly maxTickets: number;
  /** Bitmap words per channel side (one bit per thread slot). */
  readonly bitWords: number;
  private readonly threads: number;
  private readonly channels: number;
  private readonly tickets: number;
  /** This thread's id in the arena (0 until registered). */
  tid = 0;
  /** This thread's slot. */
  slot = -1;
  /** Word index of this thread's wake word. */
  wakeIndex = -1;
  /** Word index of this thread's parked flag (see `wakeSlot`). */
  parkedIndex = -1;
  /** Set when a lock could not be taken without blocking (main thread): callers retry later. */
  busy = false;

  private constructor(sab: SharedArrayBuffer) {
    this.sab = sab;
    this.i32 = new Int32Array(sab, 0, sab.byteLength >> 2);
    this.u8 = new Uint8Array(sab, 0, sab.byteLength);
    const h = this.i32;
    if (sab.byteLength < HEADER_WORDS * 4 || h[A_MAGIC] !== MAGIC || h[A_VERSION] !== VERSION) {
      throw new TypeError('weft: this SharedArrayBuffer is not a weft arena (wrong magic or version)');
    }
    this.id = h[A_ID]!;
    this.maxThreads = h[A_MAX_THREADS]!;
    this.maxChannels = h[A_MAX_CHANNELS]!;
    this.maxTickets = h[A_MAX_TICKETS]!;
    this.threads = h[A_THREADS]!;
    this.channels = h[A_CHANNELS]!;
    this.tickets = h[A_TICKETS]!;
    this.bitWords = (this.maxThreads + 31) >> 5;
  }

  /** Creates a new arena. */
  static create(options: ArenaOptions = {}): Arena {
    const maxThreads = Math.min(MAX_THREADS_LIMIT, Math.max(2, Math.floor(options.maxThreads ?? 128)));
    const maxChannels = Math.max(16, Math.floor(options.maxChannels ?? 16384));
    const maxTickets = Math.max(16, Math.floor(options.maxTickets ?? 4096));
    const threads = HEADER_WORDS + 16; // leave the header's last line alone
    const channels = threads + maxThreads * T_STRIDE;
    const tickets = channels + maxChannels * 2;
    const heapStart = align(tickets * 4 + maxTickets * 16, 64);
    const initial = align(heapStart + Math.max(64 * 1024, options.initialBytes ?? 1 << 20), 65536);
    const maxBytes = Math.min(2 ** 31 - 65536, Math.max(initial, Math.floor(options.maxBytes ?? 2 ** 30)));
    // Growable SharedArrayBuffer (ES2024; in Node 20): the lib setting here is ES2023.
    const Growable = SharedArrayBuffer as unknown as new (n: number, o: { maxByteLength: number }) => SharedArrayBuffer;
    const sab = new Growable(initial, { maxByteLength: maxBytes });
    const h = new Int32Array(sab, 0, HEADER_WORDS);
    h[A_VERSION] = VERSION;
    h[A_TOP] = heapStart;
    h[A_HEAP] = heapStart;
    h[A_MAX_THREADS] = maxThreads;
    h[A_MAX_CHANNELS] = maxChannels;
    h[A_MAX_TICKETS] = maxTickets;
    h[A_THREADS] = threads;
    h[A_CHANNELS] = channels;
    h[A_TICKETS] = tickets;
    h[A_ID] = (Math.random() * 0x7fffffff) | 1;
    Atomics.store(h, A_MAGIC, MAGIC);
    return new Arena(sab);
  }

  /** Attaches this thread to an existing arena (from environment data or a token). */
  static attach(sab: SharedArrayBuffer): Arena {
    if (!(sab instanceof SharedArrayBuffer)) throw new TypeError('weft: expected the arena SharedArrayBuffer');
    return new Arena(sab);
  }

  /** Makes sure the views cover bytes up to `end` (another thread may have grown the buffer). */
  ensure(end: number): void {
    if (end > this.u8.length) this.refresh(end);
  }

  private refresh(end: number): void {
    const len = this.sab.byteLength;
    if (end > len) throw new RangeError(`weft: offset ${end} lies outside the arena (${len} bytes): corrupted or forged reference`);
    this.i32 = new Int32Array(this.sab, 0, len >> 2);
    this.u8 = new Uint8Array(this.sab, 0, len);
  }

  get byteLength(): number {
    return this.sab.byteLength;
  }

  get maxByteLength(): number {
    return (this.sab as SharedArrayBuffer & { maxByteLength: number }).maxByteLength;
  }

  // ------------------------------------------------------------------------
  // Threads
  // ------------------------------------------------------------------------

  /** Registers this thread: takes a free slot and makes its tid. */
  register(): void {
    if (this.tid !== 0) return;
    const h = this.i32;
    for (let s = 0; s < this.maxThreads; s++) {
      const at = this.threads + s * T_STRIDE;
      if (Atomics.load(h, at + T_TID) !== 0) continue;
      const gen = (Atomics.add(h, A_GEN, 1) + 1) & ((1 << (30 - SLOT_BITS)) - 1);
      const tid = ((gen === 0 ? 1 : gen) << SLOT_BITS) | (s + 1);
      if (Atomics.compareExchange(h, at + T_TID, 0, tid) !== 0) continue;
      Atomics.store(h, at + T_NODE_ID, nodeThreadId);
      Atomics.store(h, at + T_PARKED, 0);
      Atomics.store(h, at + T_STATE, ALIVE);
      this.tid = tid;
      this.slot = s;
      this.wakeIndex = at + T_WAKE;
      this.parkedIndex = at + T_PARKED;
      return;
    }
    throw new RangeError(`weft: more than ${this.maxThreads} threads use shared channels at once (raise maxThreads in configureShared)`);
  }

  /** Word index of the entry of thread slot `s`. */
  threadEntry(s: number): number {
    return this.threads + s * T_STRIDE;
  }

  /** True when `tid` belongs to a thread that is not alive anymore. */
  isDead(tid: number): boolean {
    const s = (tid & SLOT_MASK) - 1;
    if (s < 0 || s >= this.maxThreads) return true;
    const at = this.threads + s * T_STRIDE;
    return Atomics.load(this.i32, at + T_TID) !== tid || Atomics.load(this.i32, at + T_STATE) !== ALIVE;
  }

  /** Slots of live-registered threads whose Node threadId is `id`. */
  slotsOfNodeThread(id: number): number[] {
    const out: number[] = [];
    for (let s = 0; s < this.maxThreads; s++) {
      const at = this.threads + s * T_STRIDE;
      if (Atomics.load(this.i32, at + T_TID) !== 0 && Atomics.load(this.i32, at + T_NODE_ID) === id) out.push(s);
    }
    return out;
  }

  /**
   * Wakes thread slot `s`: bumps its wake word, and notifies only if the
   * thread said it may be asleep. Atomics.notify is the costly part and most
   * wakes find the thread running. No wake is lost: a waiter sets its parked
   * flag (`parkSelf`) after reading the wake value it will wait on, so a bump
   * that sees the flag clear happened before the flag was set, and the wait
   * then finds the word changed and returns at once.
   */
  wakeSlot(s: number): void {
    const at = this.threads + s * T_STRIDE;
    const h = this.i32;
    Atomics.add(h, at + T_WAKE, 1);
    if (Atomics.load(h, at + T_PARKED) !== 0 && Atomics.exchange(h, at + T_PARKED, 0) !== 0) Atomics.notify(h, at + T_WAKE);
  }

  /**
   * Call right before Atomics.wait / waitAsync on this thread's wake word,
   * with the expected value read earlier (before the readiness check).
   */
  parkSelf(): void {
    Atomics.store(this.i32, this.parkedIndex, 1);
  }

  // ------------------------------------------------------------------------
  // Locks
  // ------------------------------------------------------------------------

  /**
   * Takes the lock at word `idx`. Returns 0 when taken, 1 when taken over
   * from a dead owner (the caller must repair what the lock protects), and
   * -1 when it gave up (only on the main thread, which must never block:
   * `busy` is set and the caller reports "not now").
   *
   * Critical sections are a few stores and a memcpy, so a short spin almost
   * always wins. If the owner is descheduled (2 cores!) a worker sleeps on
   * the lock word in 1 ms slices, re-checking whether the owner died.
   */
  lock(idx: number): number {
    const h = this.i32;
    const me = this.tid;
    let v = Atomics.compareExchange(h, idx, 0, me);
    if (v === 0) return 0;
    for (let spin = 0; ; spin++) {
      if (v === 0) {
        v = Atomics.compareExchange(h, idx, 0, me);
        if (v === 0) return 0;
        continue;
      }
      const owner = v & ~CONTENDED;
      if (this.isDead(owner)) {
        if (Atomics.compareExchange(h, idx, v, me) === v) return 1;
      } else if (spin > 200) {
        if (isMainThread) {
          if (spin > 2000) {
            this.busy = true;
            return -1;
          }
        } else {
          // Ask the owner to notify us on unlock, then sleep a little.
          if ((v & CONTENDED) === 0) Atomics.compareExchange(h, idx, v, v | CONTENDED);
          Atomics.wait(h, idx, v | CONTENDED, 1);
        }
      }
      v = Atomics.load(h, idx);
    }
  }

  unlock(idx: number): void {
    const prev = Atomics.exchange(this.i32, idx, 0);
    if ((prev & CONTENDED) !== 0) Atomics.notify(this.i32, idx);
  }

  // ------------------------------------------------------------------------
  // Allocation
  // ------------------------------------------------------------------------

  /**
   * Allocates at least `n` bytes; returns the user offset (8-aligned), or 0
   * when the arena is full.
   *
   * A freed block of the right class is reused when the free-list lock can
   * be had; otherwise (and when the list is empty) the block is carved from
   * the top with a CAS, which needs no lock. So the main thread never waits
   * for the lock: its holder may be a worker that died a moment ago, which
   * only the main thread's own event loop can find out.
   */
  alloc(n: number): number {
    const c = classFor(n + BLOCK_HEADER);
    const size = classSize(c);
    if (Atomics.load(this.i32, A_FREE + c) !== 0 && this.lock(A_LOCK) >= 0) {
      let b = 0;
      try {
        this.flushDeferred();
        const h = this.i32;
        b = h[A_FREE + c]!;
        if (b !== 0) {
          this.ensure(b);
          const w = (b - BLOCK_HEADER) >> 2;
          Atomics.store(this.i32, A_FREE + c, this.i32[w + B_NEXT]!); // commit
          this.i32[w + B_STATE] = 1;
        }
      } finally {
        this.unlock(A_LOCK);
      }
      if (b !== 0) {
        Atomics.add(this.i32, A_USED, size);
        return b;
      }
    }
    for (;;) {
      const top = Atomics.load(this.i32, A_TOP);
      const end = top + size;
      if (end > this.maxByteLength) return 0;
      if (end > this.sab.byteLength) {
        const grown = Math.min(this.maxByteLength, align(Math.max(end, this.sab.byteLength * 1.5), 65536));
        try {
          (this.sab as SharedArrayBuffer & { grow(n: number): void }).grow(grown);
        } catch {
          // Another thread grew it further meanwhile (a SharedArrayBuffer never shrinks), or the OS refused.
          if (this.sab.byteLength < end) return 0;
        }
      }
      if (Atomics.compareExchange(this.i32, A_TOP, top, end) !== top) continue;
      this.ensure(end);
      const i = this.i32;
      const w = top >> 2;
      i[w + B_CLASS] = c | BLOCK_MAGIC;
      i[w + B_STATE] = 1;
      i[w + B_NEXT] = 0;
      i[w + B_SIZE] = size;
      Atomics.add(i, A_USED, size);
      return top + BLOCK_HEADER;
    }
  }

  /** Blocks the main thread could not put on a free list yet (the lock was taken). */
  private readonly deferred: number[] = [];
  private flushTimer: ReturnType<typeof setTimeout> | undefined;

  /** Under A_LOCK: puts block `b` on its free list. */
  private freeLocked(b: number): void {
    const h = this.i32;
    const w = (b - BLOCK_HEADER) >> 2;
    const c = h[w + B_CLASS]! & 0xff;
    h[w + B_STATE] = 2;
    h[w + B_NEXT] = h[A_FREE + c]!;
    Atomics.store(h, A_FREE + c, b); // commit
    Atomics.sub(h, A_USED, classSize(c));
  }

  private flushDeferred(): void {
    while (this.deferred.length > 0) this.freeLocked(this.deferred.pop()!);
  }

  private readonly onFlush = (): void => {
    this.flushTimer = undefined;
    if (this.deferred.length === 0) return;
    if (this.lock(A_LOCK) < 0) {
      this.flushTimer = setTimeout(this.onFlush, 1);
      this.flushTimer.unref?.();
      return;
    }
    try {
      this.flushDeferred();
    } finally {
      this.unlock(A_LOCK);
    }
  };

  free(b: number): void {
    if (!this.isBlock(b)) throw new RangeError(`weft: free of a bad block offset ${b} (corrupted reference)`);
    if (this.lock(A_LOCK) < 0) {
      // Main thread, lock taken: free it a little later rather than wait.
      this.deferred.push(b);
      if (this.flushTimer === undefined) {
        this.flushTimer = setTimeout(this.onFlush, 1);
        this.flushTimer.unref?.();
      }
      return;
    }
    try {
      this.flushDeferred();
      this.freeLocked(b);
    } finally {
      this.unlock(A_LOCK);
    }
  }

  /** Usable bytes of the block at user offset `b`. */
  blockBytes(b: number): number {
    return this.i32[((b - BLOCK_HEADER) >> 2) + B_SIZE]! - BLOCK_HEADER;
  }

  /** True when `b` looks like the user offset of an allocated block. */
  isBlock(b: number): boolean {
    const heap = this.i32[A_HEAP]!;
    if (!(b >= heap + BLOCK_HEADER && b < Atomics.load(this.i32, A_TOP) && (b & 7) === 0)) return false;
    const w = (b - BLOCK_HEADER) >> 2;
    return (this.i32[w + B_CLASS]! & 0xff00_0000) === BLOCK_MAGIC && this.i32[w + B_STATE] === 1;
  }

  /** Bytes allocated to live blocks. */
  get bytesInUse(): number {
    return Atomics.load(this.i32, A_USED);
  }

  // ------------------------------------------------------------------------
  // Channel table
  // ------------------------------------------------------------------------

  /**
   * Takes a free channel slot for a header at `offset` (lock-free: claim the
   * slot with a CAS, write its serial, then publish the offset).
   */
  addChannel(offset: number): { slot: number; serial: number } | undefined {
    const h = this.i32;
    const hint = Atomics.load(h, A_CHANNEL_HINT);
    for (let k = 0; k < this.maxChannels; k++) {
      const s = (hint + k) % this.maxChannels;
      const at = this.channels + s * 2;
      if (Atomics.load(h, at) !== 0 || Atomics.compareExchange(h, at, 0, -1) !== 0) continue;
      const serial = (Atomics.add(h, A_SERIAL, 1) + 1) & 0x7fffffff || 1;
      Atomics.store(h, at + 1, serial);
      Atomics.store(h, at, offset); // commit
      Atomics.store(h, A_CHANNEL_HINT, (s + 1) % this.maxChannels);
      Atomics.add(h, A_LIVE_CHANNELS, 1);
      return { slot: s, serial };
    }
    return undefined;
  }

  /** Header offset of channel `slot` if its serial matches, else 0. */
  channelOffset(slot: number, serial: number): number {
    if (!(Number.isInteger(slot) && slot >= 0 && slot < this.maxChannels)) return 0;
    const at = this.channels + slot * 2;
    const off = Atomics.load(this.i32, at);
    if (off <= 0 || Atomics.load(this.i32, at + 1) !== serial) return 0;
    return off;
  }

  /** Header offset and serial of channel slot `s` (0 when free). */
  channelAt(s: number): { offset: number; serial: number } {
    const at = this.channels + s * 2;
    return { offset: Math.max(0, Atomics.load(this.i32, at)), serial: Atomics.load(this.i32, at + 1) };
  }

  removeChannel(slot: number, serial: number): boolean {
    const at = this.channels + slot * 2;
    if (Atomics.load(this.i32, at + 1) !== serial) return false;
    const off = Atomics.load(this.i32, at);
    if (off <= 0 || Atomics.compareExchange(this.i32, at, off, 0) !== off) return false;
    Atomics.sub(this.i32, A_LIVE_CHANNELS, 1);
    return true;
  }

  get liveChannels(): number {
    return Atomics.load(this.i32, A_LIVE_CHANNELS);
  }

  // ------------------------------------------------------------------------
  // Tickets: transfer tokens in flight (each holds one handle count)
  // ------------------------------------------------------------------------

  /** Records a handle count in flight; returns [ticket index, ticket serial]. */
  addTicket(chSlot: number, chSerial: number, side: number): { index: number; serial: number } {
    const h = this.i32;
    const start = (Math.random() * this.maxTickets) | 0;
    for (let k = 0; k < this.maxTickets; k++) {
      const t = (start + k) % this.maxTickets;
      const at = this.tickets + t * 4;
      if (Atomics.load(h, at) !== 0) continue;
      // Claim with a placeholder, fill, then publish the real serial (the commit).
      if (Atomics.compareExchange(h, at, 0, -1) !== 0) continue;
      h[at + 1] = chSlot;
      h[at + 2] = chSerial;
      h[at + 3] = side;
      const serial = (Atomics.add(h, A_TICKET_SERIAL, 1) + 1) & 0x7fffffff || 1;
      Atomics.store(h, at, serial);
      return { index: t, serial };
    }
    throw new RangeError(`weft: more than ${this.maxTickets} transfer tokens in flight (revive or discard them)`);
  }

  /** Reads a ticket without claiming it (undefined if invalid or already claimed). */
  peekTicket(index: number, serial: number): { chSlot: number; chSerial: number; side: number } | undefined {
    if (!(Number.isInteger(index) && index >= 0 && index < this.maxTickets) || !(Number.isInteger(serial) && serial > 0)) return undefined;
    const h = this.i32;
    const at = this.tickets + index * 4;
    if (Atomics.load(h, at) !== serial) return undefined;
    return { chSlot: h[at + 1]!, chSerial: h[at + 2]!, side: h[at + 3]! };
  }

  /** Claims a ticket (once): returns its channel slot, serial and side, or undefined if invalid or already claimed. */
  claimTicket(index: number, serial: number): { chSlot: number; chSerial: number; side: number } | undefined {
    if (!(Number.isInteger(index) && index >= 0 && index < this.maxTickets) || !(Number.isInteger(serial) && serial > 0)) return undefined;
    const h = this.i32;
    const at = this.tickets + index * 4;
    if (Atomics.load(h, at) !== serial) return undefined;
    const r = { chSlot: h[at + 1]!, chSerial: h[at + 2]!, side: h[at + 3]! };
    if (Atomics.compareExchange(h, at, serial, 0) !== serial) return undefined;
    return r;
  }
}

export function align(n: number, a: number): number {
  return Math.ceil(n / a) * a;
}
