// Sequence numbers are int32 and wrap around: after 2^31 messages they turn
// negative and after 2^32 they pass through 0. Neither may look like "full",
// "disconnected" or "empty" to a send or a receive. The channels here start
// just below those points instead of moving billions of messages.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { TryRecvError, type Receiver, type Sender } from '../../src/index.js';
import { sharedBounded, sharedUnbounded } from '../../src/shared/index.js';
import type { SharedCore } from '../../src/shared/core.js';
import { DEQ, ENQ } from '../../src/shared/layout.js';

function channel(start: number, unbounded: boolean): [Sender<number>, Receiver<number>] {
  const [tx, rx] = unbounded ? sharedUnbounded<number>({ ringBytes: 256 }) : sharedBounded<number>(8);
  const c = (tx as unknown as { core: SharedCore<number> }).core;
  c.a.i32[c.hw + ENQ] = start;
  c.a.i32[c.hw + DEQ] = start;
  return [tx, rx];
}

for (const start of [-5, 2 ** 31 - 5]) {
  for (const unbounded of [false, true]) {
    test(`sequence numbers wrapping from ${start} (${unbounded ? 'unbounded' : 'bounded'}): every send succeeds, every message is received once, in order`, async () => {
      const [tx, rx] = channel(start, unbounded);
      let next = 0;
      let expect = 0;
      // Rounds of single sends and receives through each API, across the wrap several times over.
      for (let round = 0; round < 6; round++) {
        for (let i = 0; i < 3; i++) tx.trySend(next++);
        await tx.send(next++);
        assert.equal(tx.offer(next++), true);
        assert.equal(rx.tryRecv(), expect++);
        assert.equal(await rx.recv(), expect++);
        while (expect < next) assert.equal(rx.poll(undefined), expect++);
        assert.throws(() => rx.tryRecv(), (e: unknown) => e instanceof TryRecvError && e.kind === 'empty');
      }
      // Full is still full across the wrap (bounded) and a batch still counts right.
      if (!unbounded) {
        for (let i = 0; i < 8; i++) tx.trySend(next++);
        assert.equal(tx.offer(-1), false);
      }
      const into: number[] = [];
      rx.tryRecvMany(into, 100);
      assert.deepEqual(into, Array.from({ length: next - expect }, (_, i) => expect + i));
      tx.close();
      rx.close();
    });
  }
}
