// The pool's queue: a ring with holes left by removals from the middle.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { Fifo } from '../../src/patterns/fifo.js';

type Item = { id: number };

const op = fc.oneof(
  fc.record({ kind: fc.constant('push' as const) }),
  fc.record({ kind: fc.constant('unshift' as const) }),
  fc.record({ kind: fc.constant('shift' as const) }),
  fc.record({ kind: fc.constant('peek' as const) }),
  fc.record({ kind: fc.constant('take' as const), at: fc.nat() }),
);

test('fifo: any mix of push, unshift, shift, peek and take from the middle behaves as an array (property)', () => {
  fc.assert(
    fc.property(fc.array(op, { maxLength: 400 }), (ops) => {
      const q = new Fifo<Item>();
      const model: Item[] = [];
      let next = 0;
      for (const o of ops) {
        switch (o.kind) {
          case 'push': {
            const x = { id: next++ };
            q.push(x);
            model.push(x);
            break;
          }
          case 'unshift': {
            const x = { id: next++ };
            q.unshift(x);
            model.unshift(x);
            break;
          }
          case 'shift':
            assert.equal(q.shift(), model.shift());
            break;
          case 'peek':
            assert.equal(q.peek(), model[0]);
            break;
          case 'take': {
            // a present id (when there is one) or one that never was
            const id = model.length > 0 && o.at % 4 !== 0 ? model[o.at % model.length]!.id : -1;
            const i = model.findIndex((x) => x.id === id);
            const want = i < 0 ? undefined : model.splice(i, 1)[0];
            assert.equal(q.take((x) => x.id === id), want);
            break;
          }
        }
        assert.equal(q.length, model.length);
      }
      const rest: Item[] = [];
      for (let x = q.shift(); x !== undefined; x = q.shift()) rest.push(x);
      assert.deepEqual(rest, model);
    }),
    { numRuns: 300 },
  );
});

test('fifo: answers taken in reverse order leave an empty queue that still works', () => {
  const q = new Fifo<Item>();
  const items = Array.from({ length: 1000 }, (_, id) => ({ id }));
  for (const x of items) q.push(x);
  for (let id = 999; id >= 0; id--) assert.equal(q.take((x) => x.id === id), items[id]);
  assert.equal(q.length, 0);
  assert.equal(q.peek(), undefined);
  assert.equal(q.shift(), undefined);
  q.push(items[5]!);
  assert.equal(q.peek(), items[5]);
  assert.equal(q.length, 1);
});
