/**
 * The values the cross-thread benchmark moves, and the checksum every
 * consumer computes so that a lost, duplicated or garbled message fails the
 * run instead of reporting a fast number.
 *
 * @module
 */

/** What a throughput case carries. */
export type Kind = 'int' | 'str' | 'obj' | 'bytes';
export const KINDS: readonly Kind[] = ['int', 'str', 'obj', 'bytes'];

/** A small object, the shape most applications send. */
export interface Item {
  id: number;
  name: string;
  tags: string[];
}

/** Bytes per message of the `bytes` kind (64 KiB). */
export const BYTES = 64 * 1024;

const NAMES = Array.from({ length: 1024 }, (_, k) => `item-${k.toString(36).padStart(4, '0')}`);
const TAGS = Array.from({ length: 8 }, (_, k) => [`t${k}`, 'blue']);

/** Builds message `i` of `kind`. The `bytes` kind reuses a pool of buffers (each send copies). */
export function valueMaker(kind: Kind): (i: number) => unknown {
  switch (kind) {
    case 'int':
      return (i) => i;
    case 'str':
      return (i) => NAMES[i & 1023];
    case 'obj':
      return (i): Item => ({ id: i, name: NAMES[i & 1023]!, tags: TAGS[i & 7]! });
    case 'bytes': {
      // A pool, so that a batch holds distinct buffers.
      const pool = Array.from({ length: 128 }, () => new Uint8Array(BYTES));
      return (i) => {
        const buf = pool[i & 127]!;
        buf[0] = i & 255;
        buf[BYTES - 1] = (i >> 8) & 255;
        return buf;
      };
    }
  }
}

/** What a consumer adds up for one received value. */
export function checkOf(kind: Kind): (v: unknown) => number {
  switch (kind) {
    case 'int':
      return (v) => v as number;
    case 'str':
      return (v) => (v as string).length;
    case 'obj':
      return (v) => (v as Item).id + (v as Item).tags.length + (v as Item).name.length;
    case 'bytes':
      return (v) => {
        const b = v as Uint8Array;
        return b.byteLength + b[0]! + b[BYTES - 1]!;
      };
  }
}

/** The checksum of messages `from .. from + n - 1` of `kind`. */
export function expectedCheck(kind: Kind, from: number, n: number): number {
  const make = valueMaker(kind);
  const check = checkOf(kind);
  let s = 0;
  for (let i = from; i < from + n; i++) s += check(make(i));
  return s;
}
