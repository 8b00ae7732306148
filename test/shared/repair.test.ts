// Repair after a thread died holding a channel lock in the middle of a batch,
// checked on the memory itself: the state a dead owner leaves (records
// committed or taken but not published in ENQ/TAIL or DEQ/HEAD) is made by
// rolling the published words back after a real batch, then repairP /
// repairC must find exactly how far it got. Sequence numbers start at 1,
// just below 0 and just below 2^31 (where `s` and `~s` come close).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { Receiver, Sender } from '../../src/index.js';
import { sharedBounded, sharedUnbounded } from '../../src/shared/index.js';
import { repairC, repairP, type SharedCore } from '../../src/shared/core.js';
import { C_RING, DEQ, ENQ, HEAD, P_RING, TAIL } from '../../src/shared/layout.js';

type Core = SharedCore<number>;
const coreOf = (h: Sender<number> | Receiver<number>): Core => (h as unknown as { core: Core }).core;

/** A fresh channel whose next sequence number is `start`. */
function channel(start: number, unbounded: boolean): [Sender<number>, Receiver<number>, Core] {
  const [tx, rx] = unbounded ? sharedUnbounded<number>({ ringBytes: 256 }) : sharedBounded<number>(40, { ringBytes: 512 });
  const c = coreOf(tx);
  const h = c.a.i32;
  h[c.hw + ENQ] = start;
  h[c.hw + DEQ] = start;
  return [tx, rx, c];
}

/** Values of two record sizes (small integer, double), so that records do not tile the ring and PAD records appear. */
const value = (i: number): number => (i % 3 === 0 ? i + 0.5 : i);

const words = (c: Core, ...at: number[]): number[] => at.map((w) => c.a.i32[c.hw + w]!);

for (const start of [1, -7, 2 ** 31 - 7, 2 ** 30 - 3]) {
  for (const unbounded of [false, true]) {
    const what = `start ${start}, ${unbounded ? 'unbounded' : 'bounded'}`;

    test(`repairP: a producer dead before publishing its batch (${what})`, () => {
      const [tx, rx, c] = channel(start, unbounded);
      let next = 0;
      const got: number[] = [];
      // Several laps, so batches also cross the ring's end (PAD records) and, unbounded, its growth.
      for (let lap = 0; lap < 12; lap++) {
        const k = 3 + (lap % 5);
        const batch = Array.from({ length: k }, () => value(next++));
        const before = words(c, ENQ, TAIL, P_RING);
        assert.equal(tx.trySendMany(batch), k);
        const after = words(c, ENQ, TAIL);
        // The receiver takes a few of them first, in some laps: taken records (~seq) count too.
        if (lap % 3 === 1) rx.tryRecvMany(got, 2);
        // A producer publishes before it grows the ring: a batch that grew it cannot be rolled back whole.
        if (before[2] === c.a.i32[c.hw + P_RING]) {
          // Died before ENQ and TAIL were stored.
          c.a.i32[c.hw + ENQ] = before[0]!;
          c.a.i32[c.hw + TAIL] = before[1]!;
          repairP(c.a, c.hw);
          assert.deepEqual(words(c, ENQ, TAIL), after, `lap ${lap}: nothing published`);
          // Died after ENQ, before TAIL.
          c.a.i32[c.hw + TAIL] = before[1]!;
          repairP(c.a, c.hw);
          assert.deepEqual(words(c, ENQ, TAIL), after, `lap ${lap}: ENQ published`);
        }
        // Nothing to repair: repair changes nothing.
        repairP(c.a, c.hw);
        assert.deepEqual(words(c, ENQ, TAIL), after);
        while (rx.tryRecvMany(got, 100) > 0);
      }
      assert.deepEqual(got, Array.from({ length: next }, (_, i) => value(i)));
      tx.close();
      rx.close();
    });

    test(`repairC: a consumer dead before publishing what it took (${what})`, () => {
      const [tx, rx, c] = channel(start, unbounded);
      let next = 0;
      const got: number[] = [];
      for (let lap = 0; lap < 12; lap++) {
        const batch = Array.from({ length: 8 }, () => value(next++));
        assert.equal(tx.trySendMany(batch), 8);
        for (let round = 0; round < 3; round++) {
          const before = words(c, DEQ, HEAD, C_RING);
          const size = c.a.i32[before[2]! >> 2]!;
          const into: number[] = [];
          const n = rx.tryRecvMany(into, 1 + ((lap + round) % 4));
          const after = words(c, DEQ, HEAD);
          // A consumer publishes before it skips a PAD or follows a LINK: only batches within one lap roll back whole.
          const sameLap = Math.floor(before[1]! / size) === Math.floor((after[1]! - 1) / size) && before[2] === c.a.i32[c.hw + C_RING];
          if (n > 0 && sameLap) {
            // Died before DEQ and HEAD were stored: what it took is gone with it, the rest stays.
            c.a.i32[c.hw + DEQ] = before[0]!;
            c.a.i32[c.hw + HEAD] = before[1]!;
            repairC(c.a, c.hw);
            assert.deepEqual(words(c, DEQ, HEAD), after, `lap ${lap}: nothing published`);
            c.a.i32[c.hw + HEAD] = before[1]!;
            repairC(c.a, c.hw);
            assert.deepEqual(words(c, DEQ, HEAD), after, `lap ${lap}: DEQ published`);
          }
          repairC(c.a, c.hw);
          assert.deepEqual(words(c, DEQ, HEAD), after);
          got.push(...into);
        }
        while (rx.tryRecvMany(got, 100) > 0);
      }
      assert.deepEqual(got, Array.from({ length: next }, (_, i) => value(i)));
      tx.close();
      rx.close();
    });
  }
}
