/**
 * The floor of the integer cases: a bare single-producer single-consumer
 * ring of Int32 over a SharedArrayBuffer, publishing every item with one
 * `Atomics.store` (as a channel must: each message is visible as soon as it
 * is sent). A side that finds the ring full or empty spins briefly, then
 * sleeps in `Atomics.wait` after raising its flag; the other side notifies
 * only when that flag is up. No codec, no locks, no handles: what shared
 * memory can do at best for one message at a time.
 *
 * @module
 */

const HEAD = 0; // items consumed (own cache line)
const TAIL = 16; // items produced
const CONS_WAITING = 32;
const PROD_WAITING = 48;
const DATA = 64;
const SPIN = 4096;

/** Memory for a ring of `capacity` (a power of two) Int32 slots. */
export function ringMemory(capacity: number): SharedArrayBuffer {
  if ((capacity & (capacity - 1)) !== 0) throw new RangeError('ring capacity must be a power of two');
  return new SharedArrayBuffer((DATA + capacity) * 4);
}

export class RingProducer {
  private readonly i32: Int32Array;
  private readonly mask: number;
  private readonly cap: number;
  private tail: number;
  /** @param deadline `performance.now()` after which waiting for room throws (a consumer that died). */
  constructor(
    sab: SharedArrayBuffer,
    private readonly deadline = Infinity,
  ) {
    this.i32 = new Int32Array(sab);
    this.cap = this.i32.length - DATA;
    this.mask = this.cap - 1;
    this.tail = Atomics.load(this.i32, TAIL);
  }
  push(v: number): void {
    const h = this.i32;
    const t = this.tail;
    if (((t - Atomics.load(h, HEAD)) | 0) >= this.cap) this.waitRoom(t);
    h[DATA + (t & this.mask)] = v;
    this.tail = (t + 1) | 0;
    Atomics.store(h, TAIL, this.tail);
    if (Atomics.load(h, CONS_WAITING) !== 0) Atomics.notify(h, TAIL);
  }
  private waitRoom(t: number): void {
    const h = this.i32;
    for (;;) {
      for (let i = 0; i < SPIN; i++) if (((t - Atomics.load(h, HEAD)) | 0) < this.cap) return;
      Atomics.store(h, PROD_WAITING, 1);
      const head = Atomics.load(h, HEAD);
      if (((t - head) | 0) < this.cap) break;
      Atomics.wait(h, HEAD, head, 50);
      Atomics.store(h, PROD_WAITING, 0);
      if (performance.now() > this.deadline) throw new Error('ring: no room before the deadline (is the consumer alive?)');
    }
    Atomics.store(h, PROD_WAITING, 0);
  }
}

export class RingConsumer {
  private readonly i32: Int32Array;
  private readonly mask: number;
  private head: number;
  constructor(sab: SharedArrayBuffer) {
    this.i32 = new Int32Array(sab);
    this.mask = this.i32.length - DATA - 1;
    this.head = Atomics.load(this.i32, HEAD);
  }
  pop(): number {
    const h = this.i32;
    const hd = this.head;
    if (Atomics.load(h, TAIL) === hd) this.waitData(hd);
    const v = h[DATA + (hd & this.mask)]!;
    this.head = (hd + 1) | 0;
    Atomics.store(h, HEAD, this.head);
    if (Atomics.load(h, PROD_WAITING) !== 0) Atomics.notify(h, HEAD);
    return v;
  }
  private waitData(hd: number): void {
    const h = this.i32;
    for (;;) {
      for (let i = 0; i < SPIN; i++) if (Atomics.load(h, TAIL) !== hd) return;
      Atomics.store(h, CONS_WAITING, 1);
      if (Atomics.load(h, TAIL) !== hd) break;
      Atomics.wait(h, TAIL, hd, 50);
      Atomics.store(h, CONS_WAITING, 0);
    }
    Atomics.store(h, CONS_WAITING, 0);
  }
}
