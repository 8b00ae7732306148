import { measure, do_not_optimize } from 'mitata';
const N = 65536;
const sab = new Uint8Array(new SharedArrayBuffer(1 << 22));
const pool = Array.from({ length: 128 }, () => new Uint8Array(N).fill(3));
let k = 0;
const r = {
  'hot src -> SAB (2 blocks)': () => { sab.set(pool[0], (k++ & 1) * 2 * N); },
  'pool src -> SAB (2 blocks)': () => { sab.set(pool[k & 127], (k++ & 1) * 2 * N); },
  'pool src -> AB (2 blocks)': (() => { const ab = new Uint8Array(1 << 22); return () => { ab.set(pool[k & 127], (k++ & 1) * 2 * N); }; })(),
  'pool src -> fresh malloc': () => { const b = Buffer.allocUnsafeSlow(N); b.set(pool[k++ & 127]); return b; },
};
for (const [name, fn] of Object.entries(r)) {
  const m = await measure(() => do_not_optimize(fn()));
  console.log(name.padEnd(28), (m.p50 / 1000).toFixed(2), 'µs', (N / m.p50).toFixed(2), 'GB/s');
}
