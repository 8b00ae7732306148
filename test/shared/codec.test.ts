import { test } from 'node:test';
import assert from 'node:assert/strict';
import { inspect } from 'node:util';
import fc from 'fast-check';
import {
  Decoder,
  Encoder,
  MessageTooLargeError,
  UnserializableValueError,
  decode,
  nodeCodecPlatform,
  setCodecPlatform,
} from '../../src/shared/codec.js';

// ---------------------------------------------------------------------------
// Helpers
// ---------------------------------------------------------------------------

const enc = new Encoder();
const hasOwn = Object.hasOwn as (o: object, key: PropertyKey) => boolean;

/** encode then decode from the encoder's scratch. */
function roundTrip(v: unknown, e: Encoder = enc): unknown {
  const n = e.encode(v);
  return decode(e.bytes, 0, n);
}

// A shared ring stand-in: decoding must work from a SharedArrayBuffer at any offset.
const ring = new Uint8Array(new SharedArrayBuffer(1 << 22));
const ringDecoder = new Decoder();
let ringAt = 0;

function roundTripViaSab(v: unknown): unknown {
  const n = enc.encode(v);
  if (ringAt + 3 + n > ring.length) ringAt = 0;
  const at = ringAt + 3; // deliberately unaligned
  ring.set(enc.bytes.subarray(0, n), at);
  ringAt = at + n;
  return ringDecoder.decode(ring, at, n);
}

/** The contract: both decode paths give what structuredClone gives. */
function assertClones(v: unknown, message?: string): void {
  const expected = structuredClone(v);
  assert.deepStrictEqual(roundTrip(v), expected, message);
  assert.deepStrictEqual(roundTripViaSab(v), expected, message);
}

/** Counts calls to the platform serializer while `f` runs. */
function countFallbacks(f: () => void): number {
  let calls = 0;
  setCodecPlatform({
    ...nodeCodecPlatform,
    serialize(value) {
      calls++;
      return nodeCodecPlatform.serialize(value);
    },
  });
  try {
    f();
  } finally {
    setCodecPlatform(nodeCodecPlatform);
  }
  return calls;
}

function assertFastPath(v: unknown, message?: string): void {
  assert.equal(countFallbacks(() => assertClones(v, message)), 0, `fast path expected for ${message ?? inspect(v)}`);
}

/** encode throws UnserializableValueError at `path`, and structuredClone refuses the value too. */
function assertRefused(v: unknown, path: string, what: RegExp): void {
  assert.throws(() => structuredClone(v), 'structuredClone refuses it too');
  assert.throws(
    () => enc.encode(v),
    (e: unknown) => {
      assert.ok(e instanceof UnserializableValueError, `expected UnserializableValueError, got ${String(e)}`);
      assert.ok(e instanceof TypeError);
      assert.equal(e.name, 'UnserializableValueError');
      assert.equal(e.path, path);
      assert.match(e.message, what);
      assert.ok(e.message.startsWith(path), e.message);
      return true;
    },
  );
  // The encoder is not left in a broken state.
  assert.deepEqual(roundTrip({ ok: [1, 'two'] }), { ok: [1, 'two'] });
}

// ---------------------------------------------------------------------------
// Fast paths, type by type
// ---------------------------------------------------------------------------

test('undefined, null and booleans are one byte each', () => {
  for (const v of [undefined, null, true, false]) {
    assert.equal(enc.encode(v), 1);
    assertFastPath(v, String(v));
  }
});

test('numbers: small ints, int32, doubles, -0, NaN and infinities keep their exact value', () => {
  const values = [
    0, 1, -1, 127, -128, 128, -129, 255, 256, 2 ** 31 - 1, -(2 ** 31), 2 ** 31, -(2 ** 31) - 1, 2 ** 32,
    Number.MAX_SAFE_INTEGER, Number.MIN_SAFE_INTEGER, Number.MAX_VALUE, Number.MIN_VALUE, Number.EPSILON,
    0.1, -2.5, 1e300, NaN, Infinity, -Infinity,
  ];
  for (const v of values) assertFastPath(v, String(v));
  assert.ok(Object.is(roundTrip(-0), -0), '-0 stays -0');
  assert.ok(Object.is(roundTrip(0), 0));
  assert.equal(enc.encode(42), 2, 'small ints take a tag and one byte');
  assert.equal(enc.encode(100_000), 5);
  assert.equal(enc.encode(0.5), 9);
});

test('encodeNumber writes exactly what encode writes, for any number (property)', () => {
  const other = new Encoder();
  fc.assert(
    fc.property(fc.oneof(fc.double(), fc.integer(), fc.constantFrom(-0, NaN, Infinity, -Infinity, 2 ** 31, -(2 ** 31) - 1)), (v) => {
      const n = enc.encode(v);
      const m = other.encodeNumber(v);
      assert.deepEqual(other.bytes.subarray(0, m), enc.bytes.subarray(0, n));
      assert.ok(Object.is(decode(other.bytes, 0, m), v));
    }),
  );
  const tiny = new Encoder({ maxBytes: 4 });
  assert.equal(tiny.encodeNumber(7), 2);
  assert.throws(() => tiny.encodeNumber(0.5), MessageTooLargeError, 'a double is 9 bytes, over maxBytes');
});

test('strings: ASCII, multi-byte UTF-8, emoji and lone surrogates, at every length threshold', () => {
  const pieces = ['a', 'é', '日', '😀', '\ud800', '\udfff', 'x\ud83d', '\ude00y'];
  for (const p of pieces) {
    for (const n of [0, 1, 2, 7, 8, 9, 15, 16, 17, 21, 22, 24, 31, 32, 33, 47, 48, 49, 63, 64, 65, 100, 300, 5000]) {
      const s = p.repeat(n);
      assertFastPath(s, `${JSON.stringify(p)} x ${n}`);
      assertFastPath('prefix' + s, `prefix + ${JSON.stringify(p)} x ${n}`);
    }
  }
  // Lone surrogates survive exactly (TextEncoder would turn them into U+FFFD).
  assert.equal(roundTrip('\ud800'), '\ud800');
  assert.equal(roundTrip('a\udc00'.repeat(200)), 'a\udc00'.repeat(200));
  assert.equal(roundTrip('é'.repeat(100) + '\ud800'), 'é'.repeat(100) + '\ud800');
  // A 1 MiB string.
  const big = 'weft '.repeat(200_000) + '✓';
  assert.equal(roundTrip(big), big);
  assert.equal(roundTripViaSab(big), big);
});

test('bigints of every size, both signs', () => {
  const values = [
    0n, 1n, -1n, 2n ** 63n - 1n, -(2n ** 63n), 2n ** 63n, -(2n ** 63n) - 1n, 2n ** 64n - 1n, 2n ** 64n,
    -(2n ** 64n), 2n ** 1000n + 12345n, -(3n ** 700n),
  ];
  for (const v of values) assertFastPath(v, String(v));
  assert.equal(enc.encode(5n), 9);
});

test('plain objects: nested, key order, integer keys, odd keys, null prototype, getters', () => {
  assertFastPath({});
  assertFastPath({ id: 123, name: 'alice', tags: ['a', 'b'] });
  assertFastPath({ a: { b: { c: { d: [1, { e: null }] } } } });
  assertFastPath({ b: 1, a: 2, 10: 'ten', 2: 'two', '': 'empty', 'with space': 1, é: 'ü', '\ud800': 'lone', ['k'.repeat(40)]: 'long key' });
  const order = roundTrip({ b: 1, a: 2, 10: 'x', 2: 'y' }) as object;
  assert.deepEqual(Object.keys(order), ['2', '10', 'b', 'a']);

  // `__proto__` as an own key stays an own key; the prototype is untouched.
  const proto = JSON.parse('{"__proto__": {"polluted": true}, "x": 1}') as object;
  const back = roundTrip(proto) as Record<string, unknown>;
  assert.equal(Object.getPrototypeOf(back), Object.prototype);
  assert.deepEqual(Object.getOwnPropertyDescriptor(back, '__proto__')?.value, { polluted: true });
  assert.deepStrictEqual(back, structuredClone(proto));

  // Null prototype comes back with Object.prototype, as with structuredClone.
  const bare = Object.assign(Object.create(null) as object, { a: 1 });
  assertFastPath(bare);
  assert.equal(Object.getPrototypeOf(roundTrip(bare)), Object.prototype);

  // Symbol keys and non-enumerable properties are dropped; getters are read.
  const odd = { visible: 1, [Symbol('s')]: 2, get computed() { return 'got'; } };
  Object.defineProperty(odd, 'hidden', { value: 3, enumerable: false });
  assertFastPath(odd);
  assert.deepEqual(roundTrip(odd), { visible: 1, computed: 'got' });
});

test('plain objects are read as structured clone reads them: deleted keys skipped, inherited keys ignored', () => {
  // A getter that deletes a later key: structured clone skips it (it no longer exists).
  const deleting = (): object => ({ get a() { delete (this as { b?: number }).b; return 1; }, b: 2, c: 3 });
  assert.deepStrictEqual(roundTrip(deleting()), structuredClone(deleting()));
  assert.deepEqual(Object.keys(roundTrip(deleting()) as object), ['a', 'c']);
  // A getter that adds a key: not copied, as with structured clone.
  const adding = (): object => ({ get a() { (this as { z?: number }).z = 9; return 1; }, b: 2 });
  assert.deepStrictEqual(roundTrip(adding()), structuredClone(adding()));

  // An enumerable property on Object.prototype is inherited, not own: never copied.
  const proto = Object.prototype as Record<string, unknown>;
  proto.inheritedKey = 'x';
  try {
    const v = { own: 1, nested: { deeper: [{ k: 'v' }] } };
    assertFastPath(v);
    const back = roundTrip(v) as Record<string, unknown>;
    assert.deepEqual(Object.keys(back), ['own', 'nested']);
    assert.equal(hasOwn(back, 'inheritedKey'), false);
  } finally {
    delete proto.inheritedKey;
  }
});

test('objects with many keys and `__proto__` at every position', () => {
  for (const n of [127, 128, 129, 300, 16_384, 20_000]) {
    const wide: Record<string, number> = {};
    for (let i = 0; i < n; i++) wide[`key${i}`] = i;
    assertFastPath(wide, `${n} keys`);
    assert.deepEqual(Object.keys(roundTrip(wide) as object), Object.keys(wide));
  }
  for (let at = 0; at < 10; at++) {
    const entries = Array.from({ length: 10 }, (_, i) => [i === at ? '__proto__' : `k${i}`, { at: i }] as const);
    const v = Object.fromEntries(entries) as Record<string, unknown>; // own `__proto__`, prototype untouched
    const back = roundTrip(v) as Record<string, unknown>;
    assert.equal(Object.getPrototypeOf(back), Object.prototype, `__proto__ at ${at}`);
    assert.deepEqual(Object.getOwnPropertyDescriptor(back, '__proto__')?.value, { at });
    assert.deepEqual(Object.keys(back), Object.keys(v));
    assert.deepStrictEqual(back, structuredClone(v));
  }
});

test('object keys: empty, short, at the cache limit, non-ASCII, lone surrogates, and many distinct ones in turn', () => {
  const keys = ['', 'a', 'id', 'name', 'x'.repeat(23), 'y'.repeat(24), 'z'.repeat(25), 'é', 'naïve', '日本', '😀', '\ud800', 'a\udfffb', '0', '10', '-1', '1.5', 'constructor', 'toString'];
  for (let round = 0; round < 3; round++) {
    for (const k of keys) {
      const v = { [k]: k, after: 1 };
      assertFastPath(v, JSON.stringify(k));
      assert.deepEqual(Object.keys(roundTrip(v) as object), Object.keys(v));
    }
  }
  // Thousands of distinct keys (the decoder's cache is far smaller), then the first ones again.
  const many = Array.from({ length: 5000 }, (_, i) => ({ [`field_${i.toString(36)}`]: i, [`${i}`]: -i }));
  for (const v of [...many, ...many.slice(0, 50)]) assert.deepStrictEqual(roundTripViaSab(v), v);
  // Keys alike in length, ends and middle, differing elsewhere, one after the other.
  for (let round = 0; round < 2; round++) {
    for (const c of 'abcdefghij') {
      const v = { [`ab${c}defgh`]: c, [`abcd${c}fgh`]: c };
      assert.deepEqual(Object.keys(roundTrip(v) as object), Object.keys(v));
    }
  }
});

test('arrays: dense and nested on the fast path; holes and named properties as structuredClone keeps them', () => {
  assertFastPath([]);
  assertFastPath([1, 'two', 3n, null, undefined, -0, [[], [[]]], { a: [] }]);
  assertFastPath(Array.from({ length: 10_000 }, (_, i) => i * 1.5));

  const sparse = [1, , 3];
  assertClones(sparse);
  assert.equal(1 in (roundTrip(sparse) as unknown[]), false, 'the hole stays a hole');
  assertClones(new Array(5));

  const match = /b(?<rest>c)/.exec('abc')!; // an array with index, input, groups
  assertClones(match);
  assert.equal((roundTrip(match) as RegExpExecArray).index, 1);
  assertClones(Object.assign([1, 2], { note: 'extra' }));

  class List extends Array<number> {}
  const list = List.from([1, 2, 3]);
  assertClones(list);
  assert.equal(Object.getPrototypeOf(roundTrip(list)), Array.prototype);
  assertClones(Object.setPrototypeOf([1, 2], Object.prototype), 'an array with a plain prototype is still an array');
});

test('arrays of every small length and around the length where decoding stops preallocating', () => {
  for (const n of [0, 1, 2, 3, 15, 16, 17, 1023, 1024, 1025, 5000]) {
    assertFastPath(Array.from({ length: n }, (_, i) => (i % 3 === 0 ? i : i % 3 === 1 ? `s${i}` : { i })), `${n} elements`);
  }
  // A forged element count larger than the bytes left is refused before anything is allocated.
  const n = enc.encode([1, 2, 3]);
  const forged = enc.bytes.slice(0, n);
  forged[1] = 100; // count 100 (one varint byte) in a 5-byte message
  assert.throws(() => decode(forged), /malformed message: an array of 100 elements/);
});

test('typed arrays, DataView and ArrayBuffer: bytes copied, types kept', () => {
  const bytes = Array.from({ length: 64 }, (_, i) => (i * 37) & 0xff);
  const buffer = new Uint8Array(bytes).buffer;
  const views: ArrayBufferView[] = [
    new Int8Array(buffer), new Uint8Array(buffer), new Uint8ClampedArray(buffer), new Int16Array(buffer),
    new Uint16Array(buffer), new Int32Array(buffer), new Uint32Array(buffer), new Float32Array(buffer),
    new Float64Array(buffer), new BigInt64Array(buffer), new BigUint64Array(buffer), new DataView(buffer),
  ];
  for (const v of views) {
    // Each view on a buffer of its own (several views on one buffer share it: see below).
    const own = structuredClone(v);
    assertFastPath(own, own.constructor.name);
    assert.equal((roundTrip(own) as object).constructor, own.constructor);
  }
  assertFastPath(new Uint8Array(0));
  assertFastPath(new Float64Array(0));
  assertFastPath(new ArrayBuffer(16));
  assertFastPath(new ArrayBuffer(0));
  assertFastPath(new Float64Array(100_000).map((_, i) => i / 3), 'big');

  // A Buffer comes back a Uint8Array; a view's offset into a bigger buffer is dropped.
  const buf = Buffer.from('hello');
  assertFastPath(buf);
  const back = roundTrip(buf) as Uint8Array;
  assert.equal(back.constructor, Uint8Array);
  assert.equal(back.byteOffset, 0);
  assert.equal(back.buffer.byteLength, 5, 'only the view bytes travel');
  const window = new Uint16Array(new ArrayBuffer(64), 8, 4).fill(7);
  assert.deepStrictEqual(roundTrip(window), structuredClone(window));

  // Small byte arrays decoded from shared memory are private, unshared copies of just their bytes.
  for (const n of [0, 1, 16, 64, 65, 1023, 1024, 4096]) {
    const bytes = Uint8Array.from({ length: n }, (_, i) => (i * 31) & 0xff);
    const back = roundTripViaSab(bytes) as Uint8Array;
    assert.equal(back.constructor, Uint8Array);
    assert.ok(!(back.buffer instanceof SharedArrayBuffer), `${n} bytes: not shared`);
    assert.equal(back.byteOffset, 0);
    assert.equal(back.buffer.byteLength, n);
    assert.deepEqual(back, bytes);
    ring.fill(0xee); // the ring is reused: the copy must not change
    assert.deepEqual(back, bytes);
  }

  // The decoded bytes are a copy: changing the source later does not show.
  const src = new Uint8Array([1, 2, 3]);
  const n = enc.encode(src);
  const copy = decode(enc.bytes, 0, n) as Uint8Array;
  src[0] = 99;
  enc.encode('overwrite the scratch');
  assert.deepEqual([...copy], [1, 2, 3]);
});

test('views sharing one buffer still share it, and a resizable ArrayBuffer stays resizable', () => {
  const buffer = new ArrayBuffer(8);
  const [a, b] = roundTrip([new Uint8Array(buffer), new Uint16Array(buffer, 2, 2)]) as [Uint8Array, Uint16Array];
  assert.equal(a.buffer, b.buffer);
  assert.equal(b.byteOffset, 2);

  const both = roundTrip({ buffer, view: new Uint8Array(buffer, 4) }) as { buffer: ArrayBuffer; view: Uint8Array };
  assert.equal(both.view.buffer, both.buffer);

  const resizable = new (ArrayBuffer as unknown as new (n: number, o: { maxByteLength: number }) => ArrayBuffer)(4, { maxByteLength: 16 });
  const r = roundTrip(resizable) as ArrayBuffer & { resizable: boolean; maxByteLength: number };
  assert.equal(r.resizable, true);
  assert.equal(r.maxByteLength, 16);
  const tracking = roundTrip(new Uint8Array(resizable)) as Uint8Array;
  (tracking.buffer as ArrayBuffer & { resize(n: number): void }).resize(12);
  assert.equal(tracking.length, 12, 'a length-tracking view keeps tracking');
});

test('dates, including invalid ones and subclasses', () => {
  for (const d of [new Date(0), new Date(), new Date(-8.64e15), new Date(8.64e15)]) assertFastPath(d, d.toISOString());
  const invalid = roundTrip(new Date(NaN));
  assert.ok(invalid instanceof Date && Number.isNaN(invalid.getTime()));
  class Stamp extends Date {}
  const s = roundTrip(new Stamp(5));
  assert.equal(Object.getPrototypeOf(s), Date.prototype);
  assert.equal((s as Date).getTime(), 5);
});

// ---------------------------------------------------------------------------
// Fallback: everything else structured clone accepts
// ---------------------------------------------------------------------------

test('Map, Set, RegExp, Error, boxed primitives and class instances go through the fallback with structuredClone semantics', () => {
  const cases: unknown[] = [
    new Map<unknown, unknown>([[1, 'one'], ['k', { nested: [1, 2] }], [{ key: 'object' }, new Set([1])]]),
    new Set<unknown>([1, 'two', { three: 3 }]),
    /a+b*/giu,
    new Error('boom'),
    new TypeError('bad type', { cause: { code: 42 } }),
    new RangeError('out of range'),
    Object.assign(new Error('with extra'), { extra: 'dropped by structured clone' }),
    [new Number(1), new String('s'), new Boolean(false), Object(5n)],
    new (class Point { x = 1; y = 2; norm(): number { return Math.hypot(this.x, this.y); } })(),
    { deep: { inside: new Map([['a', 1]]) } },
  ];
  for (const v of cases) {
    assert.ok(countFallbacks(() => assertClones(v)) > 0, `fallback expected for ${inspect(v)}`);
  }
  const err = roundTrip(new TypeError('bad type', { cause: 'why' })) as TypeError;
  assert.ok(err instanceof TypeError);
  assert.equal(err.message, 'bad type');
  assert.equal(err.cause, 'why');
  const re = roundTrip(/x/gy) as RegExp;
  assert.equal(re.flags, 'gy');
  const point = roundTrip(new (class Point { x = 1; })());
  assert.equal(Object.getPrototypeOf(point), Object.prototype, 'class instances are flattened');
});

test('cycles and shared references are preserved, not looped over', () => {
  const self: Record<string, unknown> = { name: 'self' };
  self.me = self;
  const a = roundTrip(self) as Record<string, unknown>;
  assert.equal(a.me, a);
  assertClones(self);

  const shared = { s: 1 };
  const twice = roundTrip([shared, { again: shared }]) as [object, { again: object }];
  assert.equal(twice[0], twice[1].again, 'one object, referenced twice');

  const ring: unknown[] = [];
  ring.push({ back: ring });
  assertClones(ring);

  const m = new Map<string, unknown>();
  m.set('m', m);
  const mb = roundTrip({ m }) as { m: Map<string, unknown> };
  assert.equal(mb.m.get('m'), mb.m);

  // Many distinct containers (the encoder's Set-based tracking) with one repeat at the end.
  const many = Array.from({ length: 100 }, (_, i) => ({ i }));
  const withRepeat = [...many, many[3]];
  const back = roundTrip(withRepeat) as object[];
  assert.equal(back[100], back[3]);
  assertFastPath(many);
});

test('deep nesting beyond the fast path depth falls back and still round-trips', () => {
  let deep: unknown = 'bottom';
  for (let i = 0; i < 1000; i++) deep = i % 2 ? { d: deep } : [deep];
  assertClones(deep);
});

// ---------------------------------------------------------------------------
// Refusals
// ---------------------------------------------------------------------------

test('functions and symbols are refused with the path to them and what to do', () => {
  const fn = /send plain data; functions and symbols cannot cross threads/;
  assertRefused(() => 1, 'value', /is a function/);
  assertRefused(Symbol('s'), 'value', /is a symbol/);
  assertRefused({ user: { callback: () => 1 } }, 'value.user.callback', fn);
  assertRefused({ user: { tag: Symbol('x') } }, 'value.user.tag', /is a symbol/);
  assertRefused([1, [2, function named() {}]], 'value[1][1]', /is a function/);
  assertRefused({ 'odd key': { 3: Math.max } }, 'value["odd key"]["3"]', /is a function/);
  assertRefused(new Map([['k', { cb() {} }]]), 'value.get("k").cb', /is a function/);
  assertRefused(new Map([[() => 1, 'v']]), 'value (key of entry #0)', /is a function/);
  assertRefused(new Set([1, Symbol.iterator]), 'value (Set item #1)', /is a symbol/);
  assertRefused({ e: new Error('x', { cause: () => 1 }) }, 'value.e.cause', /is a function/);
  assertRefused({ get lazy() { return () => 1; } }, 'value.lazy', /is a function/);
  // A class instance is flattened, but an own function property is still refused (as structuredClone does).
  assertRefused({ item: new (class { handler = (): void => {}; })() }, 'value.item.handler', /is a function/);
});

test('other values structured clone refuses: weak collections, promises, proxies, arguments, detached buffers', () => {
  assertRefused({ cache: new WeakMap() }, 'value.cache', /WeakMap/);
  assertRefused([new WeakSet()], 'value[0]', /WeakSet/);
  assertRefused({ ref: new WeakRef({}) }, 'value.ref', /WeakRef/);
  assertRefused({ p: Promise.resolve(1) }, 'value.p', /Promise/);
  assertRefused({ state: new Proxy({ a: 1 }, {}) }, 'value.state', /Proxy/);
  assertRefused({ list: new Proxy([1, 2], {}) }, 'value.list', /Proxy/);
  assertRefused({ args: (function (..._: unknown[]) { return arguments; })(1, 2) }, 'value.args', /arguments object/);
  const detached = new ArrayBuffer(8);
  const view = new Uint8Array(detached);
  structuredClone(detached, { transfer: [detached] });
  assertRefused({ buf: detached }, 'value.buf', /detached/);
  assertRefused({ view }, 'value.view', /detached/);
});

test('a plain object that merely has a `callee` key is not mistaken for arguments', () => {
  assertClones({ callee: 'me', other: 1 });
  assertClones(Object.assign(Object.create(null) as object, { [Symbol.toStringTag]: 'Module', a: 1 }));
});

test('shared memory cannot be copied into bytes: a clear refusal', () => {
  assert.throws(
    () => enc.encode({ mem: new Int32Array(new SharedArrayBuffer(8)) }),
    (e: unknown) => e instanceof UnserializableValueError && e.path === 'value.mem' && /SharedArrayBuffer/.test(e.message),
  );
});

test('an error thrown by a getter passes through unchanged', () => {
  const boom = new Error('getter failed');
  const v = { get bad(): never { throw boom; } };
  assert.throws(() => structuredClone(v), (e) => e === boom);
  assert.throws(() => enc.encode(v), (e) => e === boom);
  assert.deepEqual(roundTrip([1]), [1]);
});

test('encode is not re-entrant: a getter that encodes with the same encoder gets a clear error', () => {
  const e = new Encoder();
  const v = { get sneaky(): number { return e.encode(1); } };
  assert.throws(() => e.encode(v), /re-entrantly/);
  assert.deepEqual(roundTrip(1, e), 1);
});

test('exact: false trades the Proxy and array-property checks for speed, and nothing else', () => {
  const loose = new Encoder({ exact: false });
  assert.deepEqual(roundTrip({ state: new Proxy({ a: 1 }, {}) }, loose), { state: { a: 1 } }, 'read through, not refused');
  assert.deepEqual(roundTrip(Object.assign([1, 2], { note: 'x' }), loose), [1, 2], 'named array property dropped');
  const v = { id: 123, name: 'alice', tags: ['a', 'b'], at: new Date(0), m: new Map([[1, 2]]) };
  assert.deepStrictEqual(roundTrip(v, loose), structuredClone(v));
  assert.throws(() => loose.encode({ f: () => 1 }), UnserializableValueError);
});

// ---------------------------------------------------------------------------
// Size limit, scratch buffer, decoder input
// ---------------------------------------------------------------------------

test('maxBytes: a larger message throws MessageTooLargeError with size and limit', () => {
  const small = new Encoder({ maxBytes: 32 });
  assert.equal(small.maxBytes, 32);
  const exact = 'x'.repeat(30); // tag + 1-byte header + 30 bytes = 32
  assert.equal(small.encode(exact), 32);
  assert.throws(
    () => small.encode('x'.repeat(31)),
    (e: unknown) => e instanceof MessageTooLargeError && e instanceof RangeError && e.size === 33 && e.limit === 32 && /33 bytes.*32 bytes/.test(e.message),
  );
  assert.throws(
    () => small.encode(new Map([[1, 'x'.repeat(100)]])),
    (e: unknown) => e instanceof MessageTooLargeError && !e.atLeast && e.size > 100,
    'the fallback is limited too, with its exact size',
  );
  // Encoding stops as soon as the limit is certainly passed: no 100 MB scratch for a 1 KB limit.
  const kilo = new Encoder({ maxBytes: 1000 });
  assert.throws(
    () => kilo.encode({ blob: new Uint8Array(100_000_000) }),
    (e: unknown) => e instanceof MessageTooLargeError && e.atLeast && e.size > 100_000_000 && /at least/.test(e.message),
  );
  assert.throws(() => kilo.encode(Array.from({ length: 100_000 }, (_, i) => i)), MessageTooLargeError);
  assert.ok(kilo.bytes.length < 10_000, `scratch stayed small (${kilo.bytes.length})`);
  assert.equal(roundTrip({ ok: true }, small) instanceof Object, true, 'usable afterwards');
  for (const bad of [0, -1, NaN]) assert.throws(() => new Encoder({ maxBytes: bad }), RangeError);
});

test('the scratch buffer grows for big values, is reused, and shrinks back after a run of small ones', () => {
  const e = new Encoder({ initialCapacity: 16 });
  const big = new Uint8Array(1 << 20).fill(1);
  assert.equal(e.encode(big) > 1 << 20, true);
  const grown = e.bytes;
  assert.ok(grown.length > 1 << 20);
  e.encode({ id: 1 });
  assert.equal(e.bytes, grown, 'reused, not reallocated');
  for (let i = 0; i < 40; i++) e.encode({ id: i });
  assert.ok(e.bytes.length < grown.length, 'shrunk after many small messages');
  assert.deepEqual(roundTrip({ id: 7 }, e), { id: 7 });
});

test('decoding from a growable SharedArrayBuffer and from several buffers with one decoder', () => {
  const Growable = SharedArrayBuffer as unknown as new (n: number, o: { maxByteLength: number }) => SharedArrayBuffer & { grow(n: number): void };
  const gsab = new Growable(64, { maxByteLength: 1 << 16 });
  const tracking = new Uint8Array(gsab);
  const dec = new Decoder();
  const value = { id: 1, body: 'x'.repeat(500) };
  const n = enc.encode(value);
  gsab.grow(1024);
  tracking.set(enc.bytes.subarray(0, n), 100);
  assert.deepEqual(dec.decode(tracking, 100, n), value);
  // Another buffer, then the first one again.
  const other = enc.bytes.slice(0, enc.encode([1, 2, 3]));
  assert.deepEqual(dec.decode(other), [1, 2, 3]);
  assert.deepEqual(dec.decode(tracking, 100, n), value);
  // The buffer grows again and a message lies past its old end, read through the same view.
  gsab.grow(4096);
  tracking.set(enc.bytes.subarray(0, enc.encode(value)), 3000);
  assert.deepEqual(dec.decode(tracking, 3000, n), value);
  assert.deepEqual(dec.decode(tracking, 100, n), value);
  // A resizable ArrayBuffer that shrinks, then grows back with a new message.
  const Resizable = ArrayBuffer as unknown as new (n: number, o: { maxByteLength: number }) => ArrayBuffer & { resize(n: number): void };
  const rab = new Resizable(2048, { maxByteLength: 4096 });
  const rview = new Uint8Array(rab);
  rview.set(enc.bytes.subarray(0, n), 1500);
  assert.deepEqual(dec.decode(rview, 1500, n), value);
  rab.resize(8);
  assert.throws(() => dec.decode(rview, 1500, n), RangeError, 'gone with the shrink');
  rab.resize(4096);
  rview.fill(0).set(enc.bytes.subarray(0, n), 3500);
  assert.deepEqual(dec.decode(rview, 3500, n), value);
  // A view with its own offset into a bigger buffer.
  const outer = new Uint8Array(200);
  outer.set(other, 50);
  assert.deepEqual(dec.decode(outer.subarray(40), 10, other.length), [1, 2, 3]);
});

test('malformed input and out-of-range windows are rejected with a RangeError', () => {
  const good = enc.bytes.slice(0, enc.encode({ a: 'hello', b: [1, 2, 3] }));
  assert.throws(() => decode(good, 0, good.length - 1), RangeError, 'truncated');
  const extra = new Uint8Array(good.length + 1);
  extra.set(good);
  assert.throws(() => decode(extra), RangeError, 'trailing bytes');
  assert.throws(() => decode(new Uint8Array([200])), /unknown tag/);
  assert.throws(() => decode(good, 5, good.length), RangeError, 'window past the end');
  assert.throws(() => decode(good, 0, 0), RangeError, 'empty window');
  assert.throws(() => decode(good, -1, 2), RangeError);
  assert.deepEqual(decode(good), { a: 'hello', b: [1, 2, 3] }, 'still fine afterwards');
});

// ---------------------------------------------------------------------------
// Properties
// ---------------------------------------------------------------------------

/**
 * Whether `v` holds an invalid Date: assert.deepStrictEqual finds two of them
 * unequal (NaN time values), even a structuredClone against itself. They are
 * covered by their own test above.
 */
function hasInvalidDate(v: unknown): boolean {
  if (v instanceof Date) return Number.isNaN(v.getTime());
  if (v instanceof Map) return [...v].some(([k, e]) => hasInvalidDate(k) || hasInvalidDate(e));
  if (v instanceof Set) return [...v].some(hasInvalidDate);
  if (typeof v === 'object' && v !== null && !ArrayBuffer.isView(v)) return Object.values(v).some(hasInvalidDate);
  return false;
}

/** Anything structured clone accepts that fast-check can build (no functions, symbols, ...). */
const clonable = fc.anything({
  withBigInt: true,
  withBoxedValues: true,
  withDate: true,
  withMap: true,
  withSet: true,
  withTypedArray: true,
  withSparseArray: true,
  withNullPrototype: true,
  withObjectString: true,
  stringUnit: 'binary', // includes lone surrogates
  maxDepth: 4,
}).filter((v) => !hasInvalidDate(v));

/** What the fast path covers: JSON-like data plus bigint, Date, typed arrays and ArrayBuffer. */
const fastLeaf = fc.oneof(
  fc.constantFrom(undefined, null, true, false, -0, NaN, Infinity),
  fc.integer(),
  fc.double(),
  fc.string({ unit: 'binary', maxLength: 80 }),
  fc.bigInt(),
  fc.date({ noInvalidDate: true }),
  fc.uint8Array({ maxLength: 40 }),
  fc.float64Array({ maxLength: 10 }),
  fc.bigInt64Array({ maxLength: 4 }),
  fc.int16Array({ maxLength: 10 }).map((a) => a.buffer),
);
const fastValue = fc.letrec((tie) => ({
  value: fc.oneof({ depthSize: 'small', withCrossShrink: true }, fastLeaf, tie('array'), tie('object')),
  array: fc.array(tie('value'), { maxLength: 8 }),
  object: fc.dictionary(fc.string({ unit: 'binary', maxLength: 12 }), tie('value'), { maxKeys: 8 }),
})).value;

test('property: decode(encode(v)) deep-equals structuredClone(v) for anything clonable', () => {
  fc.assert(fc.property(clonable, (v) => assertClones(v)), { numRuns: 400 });
});

test('property: the fast-path types never need the fallback', () => {
  fc.assert(fc.property(fastValue, (v) => assertFastPath(v)), { numRuns: 400 });
});

/** Strings near the codec's length thresholds, from ASCII and non-ASCII pieces (lone surrogates included). */
const edgyString = fc
  .tuple(
    fc.constantFrom(0, 1, 7, 8, 15, 16, 17, 23, 24, 25, 31, 32, 33, 47, 48, 49, 63, 64, 65, 127, 128),
    fc.array(fc.constantFrom('a', 'Z', ' ', '~', '\u007f', 'é', '日', '😀', '\ud800', '\udc00'), { minLength: 1, maxLength: 4 }),
  )
  .map(([n, pieces]) => Array.from({ length: n }, (_, i) => pieces[i % pieces.length]).join(''));

/** Object keys as they come: identifiers, numeric-like, `__proto__`, empty, long, non-ASCII. */
const anyKey = fc.oneof(
  fc.constantFrom('__proto__', '', '0', '1', '10', '-0', '01', '4294967295', '4294967294', 'constructor', 'length'),
  fc.string({ unit: 'binary', maxLength: 30 }),
  edgyString,
);

test('property: objects with any keys round-trip with their key order, values and prototype', () => {
  const leaf = fc.oneof(fc.integer(), fc.double(), edgyString, fc.string({ unit: 'binary', maxLength: 40 }), fc.constant(null));
  const obj = fc.letrec((tie) => ({
    obj: fc.array(fc.tuple(anyKey, fc.oneof({ depthSize: 'small' }, leaf, tie('obj'), fc.array(leaf, { maxLength: 5 }))), { maxLength: 40 })
      .map((entries) => Object.fromEntries(entries) as Record<string, unknown>),
  })).obj;
  fc.assert(
    fc.property(obj, (v) => {
      assertFastPath(v);
      const back = roundTripViaSab(v) as Record<string, unknown>;
      assert.equal(Object.getPrototypeOf(back), Object.prototype);
      assert.deepEqual(Object.keys(back), Object.keys(v));
    }),
    { numRuns: 300 },
  );
});

test('property: strings around every length threshold round-trip exactly, alone and as keys', () => {
  fc.assert(
    fc.property(edgyString, edgyString, (s, t) => {
      assertFastPath(s);
      assertFastPath([s, t, s]);
      const v = { [s]: t, [t]: s };
      assertFastPath(v);
      assert.deepEqual(Object.keys(roundTrip(v) as object), Object.keys(v));
    }),
    { numRuns: 300 },
  );
});

test('property: shared and cyclic references keep their shape', () => {
  fc.assert(
    fc.property(fc.array(fc.dictionary(fc.string({ maxLength: 4 }), fastLeaf, { maxKeys: 3 }), { minLength: 1, maxLength: 6 }), fc.nat(), (objs, pick) => {
      const target = objs[pick % objs.length]!;
      const root = { objs, again: target, self: undefined as unknown };
      root.self = root;
      const back = roundTrip(root) as typeof root;
      assert.deepStrictEqual(back, structuredClone(root));
      assert.equal(back.self, back);
      assert.equal(back.again, back.objs[pick % objs.length]);
    }),
    { numRuns: 150 },
  );
});

test('property: a function or symbol hidden anywhere is refused at a path that leads to it', () => {
  const bad = fc.constantFrom<unknown>(() => 1, Symbol('hidden'), function named() {});
  // Insert the bad value at a random place in a JSON-like tree; report where it went.
  const tree = fc.letrec((tie) => ({
    node: fc.oneof({ depthSize: 'small' }, fc.jsonValue({ maxDepth: 1 }), tie('arr'), tie('obj')),
    arr: fc.array(tie('node'), { maxLength: 4 }),
    obj: fc.dictionary(fc.string({ maxLength: 6 }), tie('node'), { maxKeys: 4 }),
  })).node;
  fc.assert(
    fc.property(tree, bad, fc.array(fc.nat(), { maxLength: 6 }), (base, poison, route) => {
      const root: { value: unknown } = { value: structuredClone(base) };
      let holder: Record<string, unknown> = root;
      let key = 'value';
      for (const step of route) {
        const here = holder[key];
        if (typeof here !== 'object' || here === null) break;
        const keys = Object.keys(here);
        if (keys.length === 0) break;
        holder = here as Record<string, unknown>;
        key = keys[step % keys.length]!;
      }
      holder[key] = poison;
      assert.throws(() => structuredClone(root.value));
      let caught: unknown;
      try {
        enc.encode(root.value);
      } catch (e) {
        caught = e;
      }
      assert.ok(caught instanceof UnserializableValueError, String(caught));
      // The path is a JavaScript expression on `value`: evaluate it.
      const found = new Function('value', `return ${caught.path};`)(root.value) as unknown;
      assert.ok(typeof found === 'function' || typeof found === 'symbol', caught.path);
    }),
    { numRuns: 200 },
  );
});
