// Encoder byte payloads kept by reference (EncoderOptions.byReference):
// writeTo assembles the whole message wherever it goes, and it decodes to
// the same value as a message encoded with every byte copied.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { Decoder, Encoder } from '../../src/shared/codec.js';

const plain = new Encoder();
const byRef = new Encoder({ byReference: 64 });
const decoder = new Decoder();

/** Encodes `v` with `enc` and assembles it with writeTo at `at` of a bigger buffer. */
function assembled(enc: Encoder, v: unknown, at: number): { bytes: Uint8Array; n: number } {
  const n = enc.encode(v);
  const bytes = new Uint8Array(at + n + 3).fill(0xee);
  enc.writeTo(bytes, at);
  return { bytes, n };
}

test('payloads at or above the threshold are kept by reference; writeTo gives the same bytes as a plain encoding', () => {
  const big = new Uint8Array(1000).map((_, i) => i * 7);
  const value = { a: big, s: 'text', b: new Float64Array([1.5, 2.5]).subarray(1), c: new Uint8Array(200).fill(3).buffer, d: new Uint16Array(10) };
  const { bytes, n } = assembled(byRef, value, 5);
  assert.equal(byRef.external, 2, 'the 1000-byte array and the 200-byte ArrayBuffer');
  const m = plain.encode(value);
  assert.equal(n, m);
  assert.deepEqual(bytes.subarray(5, 5 + n), plain.bytes.subarray(0, m));
  assert.equal(bytes[4], 0xee);
  assert.equal(bytes[5 + n], 0xee, 'nothing written past the message');
  assert.deepEqual(decoder.decode(bytes, 5, n), value);
});

test('externalOffset is where the first payload kept by reference starts in the message', () => {
  const big = new Uint8Array(500).fill(9);
  const n = byRef.encode(big);
  const at = byRef.externalOffset;
  assert.ok(at > 0 && at + 500 === n);
  const out = new Uint8Array(n);
  byRef.writeTo(out, 0);
  assert.ok(out.subarray(at).every((x) => x === 9));
  byRef.encode({ small: new Uint8Array(8) });
  assert.equal(byRef.external, 0);
  assert.equal(byRef.externalOffset, -1);
});

test('property: any mix of byte payloads round-trips through writeTo', () => {
  fc.assert(
    fc.property(
      fc.array(fc.oneof(fc.uint8Array({ maxLength: 300 }), fc.string(), fc.integer()), { maxLength: 8 }),
      fc.nat(16),
      (values, at) => {
        const { bytes, n } = assembled(byRef, values, at);
        assert.deepEqual(decoder.decode(bytes, at, n), values);
      },
    ),
  );
});

test('a value that falls back to structured clone after a payload was kept by reference drops the reference', () => {
  const big = new Uint8Array(100).fill(1);
  const value = { big, again: big }; // a shared reference: only the fallback keeps it
  const { bytes, n } = assembled(byRef, value, 0);
  assert.equal(byRef.external, 0);
  const back = decoder.decode(bytes, 0, n) as { big: Uint8Array; again: Uint8Array };
  assert.deepEqual(back.big, big);
  assert.equal(back.big, back.again);
});
