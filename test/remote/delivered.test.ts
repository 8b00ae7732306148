/** The receive buffer's memory of delivered stream sequences (no message handed to the user twice). */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { DeliveredMemory, RecentIds } from '../../src/remote/delivered.js';

test('delivered memory: remembers at least the last `size` sequences, in any order, and nothing it was not given', () => {
  const size = 16;
  // mostly increasing sequences (first deliveries) with older ones mixed in (redeliveries)
  const step = fc.oneof(
    { weight: 4, arbitrary: fc.record({ up: fc.constant(true), by: fc.integer({ min: 1, max: 5 }) }) },
    { weight: 1, arbitrary: fc.record({ up: fc.constant(false), by: fc.integer({ min: 0, max: 60 }) }) },
  );
  fc.assert(
    fc.property(fc.array(step, { maxLength: 200 }), fc.array(fc.integer({ min: 0, max: 1200 }), { maxLength: 50 }), (steps, probes) => {
      const m = new DeliveredMemory(size);
      const given: number[] = [];
      let top = 0;
      for (const s of steps) {
        const seq = s.up ? (top += s.by) : Math.max(1, top - s.by);
        m.add(seq);
        given.push(seq);
      }
      const all = new Set(given);
      for (const seq of given.slice(-size)) assert.ok(m.has(seq), `${seq} is among the last ${size}`);
      for (const p of probes) if (!all.has(p)) assert.equal(m.has(p), false, `${p} was never delivered`);
    }),
  );
});

test('delivered memory: forgets old sequences once more than `size` newer ones came, and ignores NaN', () => {
  const m = new DeliveredMemory(4);
  for (let s = 1; s <= 10; s++) m.add(s);
  assert.deepEqual([1, 2, 3, 4, 5, 6, 7, 8, 9, 10].map((s) => m.has(s)), [false, false, false, false, false, false, true, true, true, true]);
  m.add(3); // a redelivery: remembered apart
  assert.equal(m.has(3), true);
  m.add(NaN);
  assert.equal(m.has(NaN), false);
  assert.equal(m.has(11), false, 'nothing above the highest');
});

test('recent ids: remembers exactly the last `size` distinct ids given, and nothing else', () => {
  const size = 8;
  fc.assert(
    fc.property(fc.array(fc.integer({ min: 0, max: 30 }).map((n) => `w.${n}`), { maxLength: 120 }), (ids) => {
      const m = new RecentIds(size);
      const distinct: string[] = []; // in the order first added since last forgotten
      for (const id of ids) {
        m.add(id);
        if (!distinct.includes(id)) distinct.push(id);
        if (distinct.length > size) distinct.shift();
      }
      for (let n = 0; n <= 30; n++) {
        const id = `w.${n}`;
        assert.equal(m.has(id), distinct.includes(id), `${id}: remembered iff among the last ${size} distinct ids`);
      }
    }),
  );
});
