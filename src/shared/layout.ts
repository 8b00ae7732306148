/**
 * Memory layout of one shared channel inside the arena, and the record
 * format of its byte ring.
 *
 * Header (Int32 words from the header's base, which is aligned to 64 bytes),
 * hot words of producers and consumers on separate cache lines so that an
 * SPSC pair only exchanges the lines it must (a consumer reading the waiter
 * counts must not pull in the line a producer writes on every message):
 *
 *   line 0  identity, limits, handle counts, waiter counts
 *   line 1  producer side: P_LOCK, TAIL (byte position), ENQ (next sequence), P_RING; C_BLOCK
 *   line 2  consumer side: C_LOCK, HEAD (byte position), DEQ (next sequence), C_RING
 *   then    RECV_BITS / SEND_BITS: one bit per thread slot waiting for data / room
 *           SEND_COUNTS / RECV_COUNTS: handle counts per thread slot (released when a thread dies)
 *
 * Ring block: [size, start position, 0, 0] then `size` bytes of records
 * (size a power of two). Positions are free-running uint32 byte counters; a
 * record lives at `pos & (size - 1)` and never straddles the end.
 *
 * Record: word0 = body length | flags << 27; word1 = sequence number; body,
 * padded to 8 bytes. word1 is the commit: the producer stores the message's
 * sequence number there last, and the consumer, to consume it, stores its
 * complement (`~seq`). Sequence numbers are unique, so a stale record (an
 * older or consumed one) can never pass for the next message, and a thread
 * that takes a lock over from a dead owner can tell from word1 alone how
 * far that owner got (see repair in core.ts).
 *
 * Flags: PAD (skip to the start of the ring), LINK (the ring continues in a
 * bigger ring; body = its offset: how unbounded channels grow without ever
 * holding both locks), OOL (the body is a reference to an out-of-line block
 * holding the message), HANDLES (the body starts with handle references).
 *
 * @internal
 */

export const C_MAGIC = 0;
export const C_SLOT = 1;
export const C_SERIAL = 2;
export const C_KIND = 3;
export const C_CAP = 4;
export const C_MAX_RING = 5;
export const C_INLINE_MAX = 6;
export const C_MAX_MSG = 7;
export const C_SENDERS = 8;
export const C_RECEIVERS = 9;
export const C_REFS = 10;
/**
 * Threads watching each side, as a hint for the hot path's "anyone
 * waiting?": never below the number of watcher bits set, at most one above
 * per thread that died while it set or cleared its bit. The bits are exact.
 */
export const C_RECV_WAITERS = 11;
export const C_SEND_WAITERS = 12;
export const C_BYTES = 13;
export const C_DROPPED = 14;
/** First sequence number the last receiver's leaving dropped (valid once C_DROPPED is 2). */
export const C_DROP_SEQ = 15;

export const P_LOCK = 16;
export const TAIL = 17;
export const ENQ = 18;
export const P_RING = 19;
/** The arena block holding this header (the header starts at the first 64-byte boundary inside it). */
export const C_BLOCK = 20;

export const C_LOCK = 32;
export const HEAD = 33;
export const DEQ = 34;
export const C_RING = 35;

export const BITS = 48;

export const CHANNEL_MAGIC = 0x63686e6c; // 'chnl'

export const KIND_BOUNDED = 0;
export const KIND_UNBOUNDED = 1;
export const KIND_RENDEZVOUS = 2;

export const F_PAD = 1;
export const F_LINK = 2;
export const F_OOL = 4;
export const F_HANDLES = 8;
export const FLAG_SHIFT = 27;
export const BODY_MASK = (1 << FLAG_SHIFT) - 1;

/** Bytes of a ring block header (before the record bytes). */
export const RING_HEADER = 16;
/** Bytes kept free in an unbounded ring so a LINK (plus a PAD before it) always fits. */
export const LINK_RESERVE = 24;
/** First sequence number (0 would match zeroed memory). */
export const FIRST_SEQ = 1;

/** Word layout of a header for `maxThreads` thread slots. */
export function headerWords(bitWords: number, maxThreads: number): number {
  return BITS + 2 * bitWords + 2 * maxThreads;
}

export function recvBits(bitWords: number): number {
  return BITS;
}
export function sendBits(bitWords: number): number {
  return BITS + bitWords;
}
export function sendCounts(bitWords: number): number {
  return BITS + 2 * bitWords;
}
export function recvCounts(bitWords: number, maxThreads: number): number {
  return BITS + 2 * bitWords + maxThreads;
}

export function recordSize(bodyLen: number): number {
  return 8 + ((bodyLen + 7) & ~7);
}

/** Header alignment in bytes: one cache line. */
export const HEADER_ALIGN = 64;
