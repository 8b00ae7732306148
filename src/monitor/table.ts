/**
 * The shared heartbeat table: one SharedArrayBuffer of Int32 words.
 *
 * Layout (Int32 indices):
 * - `0` STOPPED: 1 once the monitor is gone (registrations become no-ops).
 * - `1` ANNOTATIONS: counter of interned annotation ids (ids start at 1).
 * - `2` GENERATIONS: counter of slot generations (start at 1).
 * - `HEADER + i` owner word of slot i: 0 = free, else the generation holding it.
 * - `HEADER + size + 2i` heartbeat word: bit 0 = active, upper bits count changes.
 * - `HEADER + size + 2i + 1` annotation id of the last activity (0 = none).
 * @module
 */

export const STOPPED = 0;
export const ANNOTATIONS = 1;
export const GENERATIONS = 2;
export const HEADER = 4;

/** A view of the heartbeat table (same buffer in every thread). */
export interface Table {
  readonly sab: SharedArrayBuffer;
  readonly words: Int32Array;
  readonly size: number;
}

export function createTable(size: number): Table {
  if (!Number.isInteger(size) || size <= 0) throw new RangeError(`tableSize: expected a positive integer, got ${size}`);
  const sab = new SharedArrayBuffer((HEADER + size * 3) * 4);
  return openTable(sab);
}

export function openTable(sab: SharedArrayBuffer): Table {
  const words = new Int32Array(sab);
  const size = (words.length - HEADER) / 3;
  return { sab, words, size };
}

export const ownerIndex = (t: Table, slot: number): number => HEADER + slot;
export const wordIndex = (t: Table, slot: number): number => HEADER + t.size + 2 * slot;

export function isStopped(t: Table): boolean {
  return Atomics.load(t.words, STOPPED) !== 0;
}

export function markStopped(t: Table): void {
  Atomics.store(t.words, STOPPED, 1);
}

/** Claims a free slot with compareExchange; returns [slot, generation] or undefined when full. */
export function allocate(t: Table): [number, number] | undefined {
  const gen = (Atomics.add(t.words, GENERATIONS, 1) + 1) | 0 || 1;
  for (let i = 0; i < t.size; i++) {
    const o = ownerIndex(t, i);
    if (Atomics.load(t.words, o) === 0 && Atomics.compareExchange(t.words, o, 0, gen) === 0) {
      const w = wordIndex(t, i);
      Atomics.store(t.words, w, 0);
      Atomics.store(t.words, w + 1, 0);
      return [i, gen];
    }
  }
  return undefined;
}

/** Frees a slot if `gen` still holds it. */
export function free(t: Table, slot: number, gen: number): boolean {
  return Atomics.compareExchange(t.words, ownerIndex(t, slot), gen, 0) === gen;
}

export function nextAnnotationId(t: Table): number {
  return (Atomics.add(t.words, ANNOTATIONS, 1) + 1) | 0;
}
