/**
 * The pool's queues of tasks (those waiting for a worker, and each worker's
 * outstanding ones): a ring with O(1) push, unshift, shift and peek, and a
 * removal from the middle that leaves a hole instead of moving the rest.
 * Workers running a plain function answer in queue order, so removal from
 * the middle is rare for them; a component answers whenever it likes, and a
 * deep queue of out-of-order answers must not cost a pass over the whole
 * queue per answer.
 *
 * @internal
 */
export class Fifo<T extends object> {
  private items: (T | undefined)[] = new Array<T | undefined>(16);
  private head = 0;
  /** Slots in use from `head`, holes included. */
  private used = 0;
  /** Items in the queue (holes not counted). */
  length = 0;

  push(v: T): void {
    if (this.used === this.items.length) this.grow();
    this.items[(this.head + this.used) % this.items.length] = v;
    this.used++;
    this.length++;
  }

  unshift(v: T): void {
    this.dropHoles();
    if (this.used === this.items.length) this.grow();
    this.head = (this.head - 1 + this.items.length) % this.items.length;
    this.items[this.head] = v;
    this.used++;
    this.length++;
  }

  peek(): T | undefined {
    this.dropHoles();
    return this.length === 0 ? undefined : this.items[this.head];
  }

  shift(): T | undefined {
    this.dropHoles();
    if (this.length === 0) return undefined;
    const v = this.items[this.head];
    this.items[this.head] = undefined;
    this.head = (this.head + 1) % this.items.length;
    this.used--;
    this.length--;
    return v;
  }

  /** Removes and returns the first item matching `pred`, leaving a hole where it was. */
  take(pred: (v: T) => boolean): T | undefined {
    const n = this.items.length;
    for (let i = 0; i < this.used; i++) {
      const k = (this.head + i) % n;
      const x = this.items[k];
      if (x === undefined || !pred(x)) continue;
      this.items[k] = undefined;
      this.length--;
      return x;
    }
    return undefined;
  }

  /** Holes at the head are skipped at once, so the head is always an item. */
  private dropHoles(): void {
    while (this.used > 0 && this.items[this.head] === undefined) {
      this.head = (this.head + 1) % this.items.length;
      this.used--;
    }
  }

  /** Twice the room, holes squeezed out. */
  private grow(): void {
    const next = new Array<T | undefined>(this.items.length * 2);
    let j = 0;
    for (let i = 0; i < this.used; i++) {
      const x = this.items[(this.head + i) % this.items.length];
      if (x !== undefined) next[j++] = x;
    }
    this.items = next;
    this.head = 0;
    this.used = j;
  }
}
