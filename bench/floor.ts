/**
 * The floor of the in-thread benchmark: the least a promise-based channel
 * can do. A ring buffer with at most one parked receiver and one parked
 * sender; `send` and `recv` are `async` functions, so every operation is
 * awaited, and they resolve at once when they can, otherwise park on one
 * promise. No select, no close, no multiple waiters, no rendezvous: it
 * supports spsc and seq on bounded(N >= 1) and unbounded only.
 *
 * @module
 */

export class FloorQueue<T> {
  private buf: (T | undefined)[];
  private head = 0;
  private len = 0;
  private readonly grows: boolean;
  private parkedRecv: ((v: T) => void) | undefined = undefined;
  private parkedSend: (() => void) | undefined = undefined;

  /** @param capacity >= 1, or Infinity for a queue that grows */
  constructor(private readonly capacity: number) {
    if (!(capacity >= 1)) throw new RangeError('FloorQueue: capacity must be >= 1 (no rendezvous)');
    this.grows = capacity === Infinity;
    this.buf = new Array<T | undefined>(this.grows ? 1024 : capacity);
  }

  async send(v: T): Promise<void> {
    const r = this.parkedRecv;
    if (r !== undefined) {
      this.parkedRecv = undefined;
      r(v);
      return;
    }
    while (this.len === this.capacity) {
      if (this.parkedSend !== undefined) throw new Error('FloorQueue: one parked sender at most');
      await new Promise<void>((resolve) => (this.parkedSend = resolve));
    }
    if (this.len === this.buf.length) this.grow();
    this.buf[(this.head + this.len) % this.buf.length] = v;
    this.len++;
  }

  async recv(): Promise<T> {
    if (this.len > 0) {
      const v = this.buf[this.head] as T;
      this.buf[this.head] = undefined;
      this.head = (this.head + 1) % this.buf.length;
      this.len--;
      const s = this.parkedSend;
      if (s !== undefined) {
        this.parkedSend = undefined;
        s();
      }
      return v;
    }
    if (this.parkedRecv !== undefined) throw new Error('FloorQueue: one parked receiver at most');
    return await new Promise<T>((resolve) => (this.parkedRecv = resolve));
  }

  private grow(): void {
    const old = this.buf;
    const next = new Array<T | undefined>(old.length * 2);
    for (let i = 0; i < this.len; i++) next[i] = old[(this.head + i) % old.length];
    this.buf = next;
    this.head = 0;
  }
}
