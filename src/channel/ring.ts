/**
 * A growable circular buffer: the message store of in-loop channels.
 *
 * Why not an array with push/shift: V8's `Array#shift` is O(n) on large
 * arrays, so a backlog of a million messages would make every dequeue slow.
 * Here push and shift are O(1); the storage doubles when full (amortised
 * O(1)) and never shrinks below its high-water mark, so a steady stream
 * allocates nothing. Slots are cleared on shift so the buffer never keeps a
 * delivered message alive.
 *
 * @internal
 */
export class Ring<T> {
  private slots: (T | undefined)[];
  private mask: number;
  private head = 0;
  /** Number of stored items. */
  length = 0;

  /** @param initial starting capacity, rounded up to a power of two. */
  constructor(initial = 16) {
    let size = 2;
    while (size < initial) size *= 2;
    this.slots = new Array<T | undefined>(size).fill(undefined);
    this.mask = size - 1;
  }

  push(value: T): void {
    if (this.length > this.mask) this.grow();
    this.slots[(this.head + this.length) & this.mask] = value;
    this.length++;
  }

  /** Removes and returns the oldest item. The caller checks `length` first. */
  shift(): T {
    const i = this.head;
    const value = this.slots[i] as T;
    this.slots[i] = undefined;
    this.head = (i + 1) & this.mask;
    this.length--;
    return value;
  }

  /** Drops every item (used when the last Receiver closes). */
  clear(): void {
    this.slots.fill(undefined);
    this.head = 0;
    this.length = 0;
  }

  private grow(): void {
    const old = this.slots;
    const size = old.length * 2;
    const next = new Array<T | undefined>(size).fill(undefined);
    for (let i = 0; i < this.length; i++) next[i] = old[(this.head + i) & this.mask];
    this.slots = next;
    this.mask = size - 1;
    this.head = 0;
  }
}
