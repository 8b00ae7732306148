/**
 * Micro-benchmark of the cross-thread value codec (src/shared/codec.ts).
 *
 * One op = encode + decode of one value, against `structuredClone` and
 * `v8.serialize` + `v8.deserialize`. The "weft+SAB" column adds what a ring
 * adds: the encoded bytes are copied into a SharedArrayBuffer (with
 * `TypedArray#set`) and decoded from there; "weft enc" and "weft dec" split
 * the round trip; "exact:false" is an Encoder that skips the Proxy and
 * array-property checks. Figures are mitata's p50 in ns, best of a few
 * interleaved rounds; ratios are `other / weft` (> 1 means weft is faster).
 *
 * Run: `npx tsc -p tsconfig.json && node dist/bench/codec.js`
 * Env: ROUNDS=n (default 5), CLOCK=cpu (process CPU time instead of wall time).
 */

import { deserialize, serialize } from 'node:v8';
import { do_not_optimize, measure } from 'mitata';
import { Decoder, Encoder } from '../src/shared/codec.js';

interface Case {
  name: string;
  value: unknown;
}

const cases: Case[] = [
  { name: 'int 42', value: 42 },
  { name: "string 'hello, world'", value: 'hello, world' },
  { name: '{ id, name, tags }', value: { id: 123, name: 'alice', tags: ['a', 'b'] } },
  { name: 'Uint8Array 64 KiB', value: new Uint8Array(64 * 1024).map((_, i) => i * 7) },
];

const enc = new Encoder();
const loose = new Encoder({ exact: false });
const dec = new Decoder();
const ring = new Uint8Array(new SharedArrayBuffer(1 << 20));

/** A contender prepares itself for one value and returns the op to time. */
type Contender = readonly [name: string, prepare: (v: unknown) => () => unknown];

const contenders: readonly Contender[] = [
  [
    'weft',
    (v) => () => {
      const n = enc.encode(v); // before reading enc.bytes: encode may replace the scratch
      return dec.decode(enc.bytes, 0, n);
    },
  ],
  [
    'exact:false',
    (v) => () => {
      const n = loose.encode(v);
      return dec.decode(loose.bytes, 0, n);
    },
  ],
  [
    'weft+SAB',
    (v) => () => {
      const n = enc.encode(v);
      ring.set(enc.bytes.subarray(0, n), 0);
      return dec.decode(ring, 0, n);
    },
  ],
  ['structuredClone', (v) => () => structuredClone(v)],
  ['v8 ser/deser', (v) => () => deserialize(serialize(v))],
  ['weft enc', (v) => () => enc.encode(v)],
  [
    'weft dec',
    (v) => {
      const n = enc.encode(v);
      const bytes = enc.bytes.slice(0, n);
      return () => dec.decode(bytes, 0, bytes.length);
    },
  ],
];

/**
 * CLOCK=cpu times with this process's CPU time (µs resolution; mitata batches
 * iterations per sample), which a busy neighbour inflates less than wall time.
 */
const CPU_CLOCK = process.env.CLOCK === 'cpu';
function cpuNow(): number {
  const u = process.cpuUsage();
  return (u.user + u.system) * 1000;
}

/** Median ns of one run of `op` (mitata's p50 over its samples). */
async function p50(op: () => unknown): Promise<number> {
  const stats = await measure(() => do_not_optimize(op()), CPU_CLOCK ? { min_cpu_time: 100e6, now: cpuNow } : { min_cpu_time: 100e6 });
  return stats.p50;
}

/**
 * This machine is shared: contenders are measured in interleaved rounds and
 * each keeps its best round, so a burst of load hits one round, not one column.
 */
async function measureCase(v: unknown): Promise<number[]> {
  const ops = contenders.map(([, prepare]) => prepare(v));
  const best = ops.map(() => Infinity);
  for (let round = 0; round < ROUNDS; round++) {
    for (let i = 0; i < ops.length; i++) best[i] = Math.min(best[i]!, await p50(ops[i]!));
  }
  return best;
}

const ROUNDS = Number(process.env.ROUNDS ?? 5);

function fmt(ns: number): string {
  return ns >= 10_000 ? `${(ns / 1000).toFixed(1)} µs` : `${ns.toFixed(0)} ns`;
}

async function main(): Promise<void> {
  const header = ['value', ...contenders.map(([name]) => name), 'SC / weft', 'SC / exact:false', 'v8 / weft', 'bytes'];
  const rows: string[][] = [];
  for (const c of cases) {
    const ns = await measureCase(c.value);
    const [w, fast, , sc, v8] = ns as [number, number, number, number, number];
    const ratio = (a: number, b: number): string => `${(a / b).toFixed(1)}×`;
    rows.push([c.name, ...ns.map(fmt), ratio(sc, w), ratio(sc, fast), ratio(v8, w), String(enc.encode(c.value))]);
  }
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i]!.length)));
  const line = (cells: string[]): string => cells.map((s, i) => (i === 0 ? s.padEnd(widths[i]!) : s.padStart(widths[i]!))).join('  ');
  console.log(`node ${process.version}, ${CPU_CLOCK ? 'CPU' : 'wall'} ns per encode+decode (median of samples, best of ${ROUNDS} interleaved rounds)`);
  console.log(line(header));
  for (const r of rows) console.log(line(r));
}

await main();
