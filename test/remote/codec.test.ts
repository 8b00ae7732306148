import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { CodecFailure, decode, encode } from '../../src/remote/codec.js';
import { EncodeError } from '../../src/remote/errors.js';
import { bounded } from '../../src/index.js';

const MAX = 1 << 20;
const roundTrip = (v: unknown): unknown => decode(encode(v, undefined, MAX), undefined);

test('codec: structured values round-trip', () => {
  const values: unknown[] = [
    undefined, null, true, false, 0, -0, 1, -1, 2 ** 31 - 1, -(2 ** 31), 2 ** 31, 2 ** 53 - 1, -(2 ** 53), 0.5, NaN, Infinity, -Infinity,
    '', 'ascii', 'ünïcödé ✓ 😀', 'x'.repeat(10_000),
    0n, 1n, -1n, 2n ** 200n, -(2n ** 64n) + 3n,
    new Date(0), new Date('2024-02-29T12:34:56.789Z'),
    [], [1, 'two', [3, [4]], { five: 5 }], [undefined, null],
    {}, { a: 1, b: { c: [1, 2, { d: 'e' }] }, 'with space': true, '': 0 },
    new Map<unknown, unknown>([[1, 'one'], ['k', { v: [1n] }], [{ o: 1 }, new Set([1])]]),
    new Set([1, 'a', null, new Date(5)]),
    new Uint8Array([0, 1, 2, 255]), new Uint8Array(0),
    new Float64Array([1.5, -2, NaN]), new Int16Array([-3, 7]), new BigInt64Array([-5n, 9n]),
    new Uint8Array([9, 8, 7]).buffer,
  ];
  for (const v of values) assert.deepStrictEqual(roundTrip(v), v, `round trip of ${String(v)}`);
  const invalid = roundTrip(new Date(NaN));
  assert.ok(invalid instanceof Date && Number.isNaN(invalid.getTime()), 'an invalid Date stays an invalid Date');
  const buf = Buffer.from('hello');
  assert.deepStrictEqual(roundTrip(buf), new Uint8Array(buf), 'a Buffer arrives as a Uint8Array');
  const e = roundTrip(new TypeError('bad')) as Error;
  assert.ok(e instanceof Error);
  assert.equal(e.name, 'TypeError');
  assert.equal(e.message, 'bad');
});

test('codec: property-based round trip of JSON-like and extended values', () => {
  const leaf = fc.oneof(fc.string(), fc.integer(), fc.double(), fc.boolean(), fc.constant(null), fc.bigInt(), fc.date({ noInvalidDate: true }), fc.uint8Array());
  const value = fc.letrec((tie) => ({
    v: fc.oneof({ depthSize: 'small' }, leaf, fc.array(tie('v')), fc.dictionary(fc.string(), tie('v'), { noNullPrototype: true })),
  })).v;
  fc.assert(
    fc.property(value, (v) => {
      assert.deepStrictEqual(roundTrip(v), v);
    }),
    { numRuns: 300 },
  );
});

test('codec: unsupported values are refused with EncodeError carrying the value', () => {
  const fn = (): number => 1;
  class Point {
    x = 1;
  }
  const cases: Array<[unknown, string]> = [
    [fn, 'unsupported'],
    [{ nested: [1, Symbol('s')] }, 'unsupported'],
    [new Point(), 'unsupported'],
    [{ p: new Promise(() => undefined) }, 'unsupported'],
    [new WeakMap(), 'unsupported'],
  ];
  for (const [v, kind] of cases) {
    assert.throws(
      () => encode(v, undefined, MAX),
      (e: unknown) => e instanceof EncodeError && e.kind === kind && e.value === v,
    );
  }
  const err = (() => {
    try {
      encode({ a: { b: [0, fn] } }, undefined, MAX);
    } catch (e) {
      return e as EncodeError;
    }
    return undefined;
  })();
  assert.equal(err?.path, '$.a.b[1]');
});

test('codec: cycles and excessive depth are refused; shared references are copied', () => {
  const cyc: Record<string, unknown> = { a: 1 };
  cyc.self = cyc;
  assert.throws(() => encode(cyc, undefined, MAX), (e: unknown) => e instanceof EncodeError && e.kind === 'cyclic');
  let deep: unknown = 1;
  for (let i = 0; i < 300; i++) deep = [deep];
  assert.throws(() => encode(deep, undefined, MAX), (e: unknown) => e instanceof EncodeError && e.kind === 'too-deep');
  const shared = { s: 1 };
  assert.deepStrictEqual(roundTrip([shared, shared]), [{ s: 1 }, { s: 1 }]);
});

test('codec: oversize values are refused with kind too-large', () => {
  const v = { big: 'x'.repeat(2000) };
  assert.throws(() => encode(v, undefined, 1000), (e: unknown) => e instanceof EncodeError && e.kind === 'too-large' && e.value === v);
});

test('codec: a Sender inside a value needs a link', () => {
  const [tx, rx] = bounded<number>(1);
  assert.throws(() => encode({ reply: tx }, undefined, MAX), (e: unknown) => e instanceof EncodeError);
  tx.close();
  rx.close();
});

test('codec: "__proto__" keys stay own data, never prototypes', () => {
  const v = JSON.parse('{"__proto__": {"polluted": true}, "a": 1}') as Record<string, unknown>;
  const out = roundTrip(v) as Record<string, unknown>;
  assert.equal(Object.getPrototypeOf(out), Object.prototype);
  assert.deepEqual(Object.keys(out), ['__proto__', 'a']);
  assert.equal(({} as Record<string, unknown>).polluted, undefined);
});

test('codec: garbage never crashes the decoder (CodecFailure or a value)', () => {
  const good = encode({ a: [1, 'two', new Map([[1, 2]])], b: 3n }, undefined, MAX);
  fc.assert(
    fc.property(fc.uint8Array({ maxLength: 200 }), fc.nat(), (bytes, seed) => {
      for (const input of [bytes, mutate(good, bytes, seed)]) {
        try {
          decode(input, undefined);
        } catch (e) {
          assert.ok(e instanceof CodecFailure, `unexpected ${String(e)}`);
        }
      }
    }),
    { numRuns: 2000 },
  );
  for (const s of ['', 'hello', '{"a":1}', '\u00e7\u0001\u0000']) {
    assert.throws(() => decode(new TextEncoder().encode(s), undefined), CodecFailure);
  }
  // a length that claims far more than the message holds
  assert.throws(() => decode(Uint8Array.of(0xe7, 1, 0, 0x09, 0xff, 0xff, 0xff, 0x7f), undefined), CodecFailure);
});

function mutate(good: Uint8Array, noise: Uint8Array, seed: number): Uint8Array {
  const out = new Uint8Array(good);
  for (let i = 0; i < noise.length && i < 4; i++) out[(seed + i * 7) % out.length] = noise[i]!;
  return seed % 3 === 0 ? out.subarray(0, seed % out.length) : out;
}

test('codec: handles inside values go through the hooks, in place', () => {
  const [tx, rx] = bounded<number>(1);
  const exported: unknown[] = [];
  const hooks = {
    exportHandles: (hs: unknown[]) => hs.map((h) => (exported.push(h), `h${exported.length - 1}`)),
    unexport: () => undefined,
    importHandle: (d: string) => ({ imported: d }) as never,
  };
  const bytes = encode({ a: [1, { reply: tx }], m: new Map([['r', rx]]), s: 'x' }, hooks, MAX);
  assert.deepEqual(exported, [tx, rx]);
  assert.deepStrictEqual(decode(bytes, hooks), { a: [1, { reply: { imported: 'h0' } }], m: new Map([['r', { imported: 'h1' }]]), s: 'x' });
  tx.close();
  rx.close();
});
