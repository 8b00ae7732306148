/**
 * Handles inside messages: the codec's host hook.
 *
 * A Sender or Receiver of a shared channel found in a value being sent is
 * written as a reference (an index into the record's handle list) and MOVES
 * with the message: the message holds one count on the handle's channel
 * while in flight, the sending side's handle is closed once the send
 * completed (not before: a failed send leaves it open), and the receiving
 * thread gets a live handle. Counts stay exact; "clone first to keep one".
 *
 * This module must not import core.ts (core.ts builds its Encoder with these
 * hooks at load time): it recognises shared handles by a marker property.
 *
 * @internal
 */
import { Handle } from '../channel/handle.js';
import type { HostHooks } from './codec.js';

/** A handle found while encoding. `core` is the SharedCore (typed loosely: no import cycle). */
export interface HandleRef {
  // eslint-disable-next-line @typescript-eslint/no-explicit-any
  core: any;
  side: number; // 0 send, 1 recv
  handle: Handle<unknown>;
}

/** A handle reference read from a record: (channel slot, serial, side). */
export interface DecodedRef {
  slot: number;
  serial: number;
  side: number;
}

/** Handles found in the value being encoded in this thread (one encode at a time). */
export const found: HandleRef[] = [];

let decoding: DecodedRef[] | undefined;
let make: ((r: DecodedRef) => unknown) | undefined;

export const hostHooks: HostHooks & {
  beginDecode(refs: DecodedRef[], factory: (r: DecodedRef) => unknown): void;
  endDecode(): void;
} = {
  encode(v: object): number {
    if (!(v instanceof Handle)) return -1;
    const core = (v as Handle<unknown>).core as { isShared?: boolean };
    if (core.isShared !== true) {
      throw new TypeError(
        'a handle of an in-thread channel cannot cross threads: make the channel with sharedBounded()/sharedUnbounded() to send its handles to other threads',
      );
    }
    if (v.isClosed) throw new TypeError('a closed handle cannot be sent');
    for (let i = 0; i < found.length; i++) {
      if (found[i]!.handle === v) throw new TypeError('the same handle appears twice in this value; clone() it to send two');
    }
    found.push({ core, side: v.side === 'send' ? 0 : 1, handle: v });
    return found.length - 1;
  },
  decode(index: number): unknown {
    const r = decoding?.[index];
    if (r === undefined || make === undefined) throw new RangeError(`malformed message: handle reference ${index} out of range`);
    return make(r);
  },
  beginDecode(refs, factory) {
    decoding = refs;
    make = factory;
  },
  endDecode() {
    decoding = undefined;
    make = undefined;
  },
};
