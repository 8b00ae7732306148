/**
 * The stream sequences a receive buffer has delivered, so that a message the
 * server delivers again (an ack lost in a crash of the server, say) is
 * recognised and not handed to the user twice.
 *
 * First deliveries come in stream order, so almost every sequence
 * remembered is higher than all before it: those go to a ring of numbers
 * that is sorted by construction (appending costs one store, a lookup is a
 * binary search). The others — redeliveries, messages handed back and taken
 * again — go to a set of their own. Each part keeps its last `size`
 * entries, so at least the last `size` delivered sequences are remembered.
 *
 * @internal
 */
export class DeliveredMemory {
  /** Increasing sequences, oldest first, circular. */
  private readonly ring: Float64Array;
  private readonly mask: number;
  private start = 0;
  private count = 0;
  /** Sequences remembered out of order, and their order for eviction. */
  private readonly others = new Set<number>();
  private othersOrder: number[] = [];
  private othersHead = 0;
  /** The highest sequence remembered: nothing above it was delivered. */
  private max = -Infinity;

  /** `size` is rounded up to a power of two. */
  constructor(private readonly size: number) {
    let n = 1;
    while (n < size) n *= 2;
    this.ring = new Float64Array(n);
    this.mask = n - 1;
    this.size = n;
  }

  add(seq: number): void {
    if (!(seq > this.max)) {
      if (seq !== seq) return; // NaN: not a sequence
      if (this.has(seq)) return;
      this.others.add(seq);
      this.othersOrder.push(seq);
      if (this.othersOrder.length - this.othersHead > this.size) {
        this.others.delete(this.othersOrder[this.othersHead]!);
        this.othersHead++;
        if (this.othersHead > this.size) {
          this.othersOrder = this.othersOrder.slice(this.othersHead);
          this.othersHead = 0;
        }
      }
      return;
    }
    this.max = seq;
    if (this.count === this.ring.length) {
      this.ring[this.start] = seq;
      this.start = (this.start + 1) & this.mask;
    } else {
      this.ring[(this.start + this.count++) & this.mask] = seq;
    }
  }

  has(seq: number): boolean {
    if (!(seq <= this.max)) return false; // the usual case for a first delivery, and NaN
    if (this.others.size > 0 && this.others.has(seq)) return true;
    let lo = 0;
    let hi = this.count - 1;
    while (lo <= hi) {
      const mid = (lo + hi) >>> 1;
      const v = this.ring[(this.start + mid) & this.mask]!;
      if (v === seq) return true;
      if (v < seq) lo = mid + 1;
      else hi = mid - 1;
    }
    return false;
  }
}

/**
 * The message ids (`Nats-Msg-Id`) a receive buffer delivered, the last
 * `size` of them. A server that restarts forgets the ids of messages it no
 * longer holds (a work-queue stream removes a message once acknowledged),
 * so a sender's re-publish of a message whose confirmation was lost in the
 * crash is stored again under a new sequence: only its id gives it away.
 *
 * @internal
 */
export class RecentIds {
  private readonly set = new Set<string>();
  private readonly order: (string | undefined)[];
  private next = 0;

  constructor(private readonly size: number) {
    this.order = new Array<string | undefined>(size).fill(undefined);
  }

  add(id: string): void {
    if (this.set.has(id)) return;
    const old = this.order[this.next];
    if (old !== undefined) this.set.delete(old);
    this.order[this.next] = id;
    this.next = this.next + 1 === this.size ? 0 : this.next + 1;
    this.set.add(id);
  }

  has(id: string): boolean {
    return this.set.has(id);
  }
}
