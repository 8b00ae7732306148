/**
 * The worker pool benchmark: tasks/s of weft's `pool` against piscina,
 * tinypool and a raw postMessage round-robin over 2 workers, all with 2
 * threads, in the same run.
 *
 * Cases, each submitting every task at once (`Promise.all` of one call per
 * task) and timed until the last result:
 * - trivial: `x + 1`, 100,000 tasks;
 * - 1 ms: a task busy for 1 ms of wall time, 2,000 tasks. The ideal is the
 *   2 threads busy all the time: 2,000 tasks/s on idle cores. On a shared
 *   machine a thread is sometimes descheduled past its deadline, so each
 *   round also measures the busy floor: 2 workers each running half the
 *   tasks back to back with no pool at all; `÷ busy` compares to that.
 *
 * Libraries: weft `pool` (defaults, threads 2); piscina at its defaults
 * (min/max threads 2); tinypool (min/max threads 2); raw: 2 workers, each
 * task posted to the next worker in turn, its reply resolving its promise.
 *
 * Method: `rounds` rounds; in each, the libraries run in a fresh random
 * order, each with a new pool warmed up (20,000 trivial and 20 1 ms tasks)
 * before timing; the median per
 * library and case is reported, with ratios to weft computed from medians.
 *
 * Run: `npx tsc -p tsconfig.json && node --expose-gc dist/bench/pool.js`
 * (or `WEFT_BENCH_SUITES=pool npm run bench`). Environment:
 * WEFT_BENCH_POOL_N (trivial tasks, default 100,000), WEFT_BENCH_POOL_CPU_N
 * (1 ms tasks, default 2,000), WEFT_BENCH_POOL_ROUNDS (default 3).
 *
 * @module
 */
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Worker } from 'node:worker_threads';
import { Piscina } from 'piscina';
import { Tinypool } from 'tinypool';
import { pool } from '../src/index.js';
import { envInt, findRoot, gc, median, round2, shuffle, writeJson, loadNow, machineInfo, type MachineInfo } from './util.js';

const THREADS = 2;
const TASK = new URL('./peers/pool-task.js', import.meta.url);
const RAW = new URL('./peers/pool-raw-worker.js', import.meta.url);

/** One library under test: start a pool, run a task, stop it. */
interface Contender {
  readonly name: string;
  readonly note: string;
  start(): Promise<Runner>;
}

interface Runner {
  inc(x: number): Promise<number>;
  spin(ms: number): Promise<number>;
  stop(): Promise<void>;
}

const contenders: readonly Contender[] = [
  {
    name: 'weft',
    note: 'pool(url, { threads: 2 }) defaults (queue up to 128 per worker); run(x)',
    async start() {
      const inc = pool<number, number>(TASK, { threads: THREADS });
      const spin = pool<number, number>(TASK, { threads: THREADS, name: 'spin' });
      return {
        inc: (x) => inc.run(x),
        spin: (ms) => spin.run(ms),
        async stop() {
          await Promise.all([inc.close(), spin.close()]);
        },
      };
    },
  },
  {
    name: 'piscina',
    note: 'new Piscina({ filename, minThreads: 2, maxThreads: 2 }) otherwise defaults; run(x) / run(ms, { name })',
    async start() {
      const p = new Piscina({ filename: TASK.href, minThreads: THREADS, maxThreads: THREADS });
      return {
        inc: (x) => p.run(x) as Promise<number>,
        spin: (ms) => p.run(ms, { name: 'spin' }) as Promise<number>,
        stop: () => p.destroy(),
      };
    },
  },
  {
    name: 'tinypool',
    note: 'new Tinypool({ filename, minThreads: 2, maxThreads: 2 }); run(x) / run(ms, { name })',
    async start() {
      const p = new Tinypool({ filename: TASK.href, minThreads: THREADS, maxThreads: THREADS });
      return {
        inc: (x) => p.run(x) as Promise<number>,
        spin: (ms) => p.run(ms, { name: 'spin' }) as Promise<number>,
        stop: () => p.destroy(),
      };
    },
  },
  {
    name: 'raw',
    note: '2 workers, postMessage round-robin, one promise per task resolved by its reply',
    async start() {
      const workers = Array.from({ length: THREADS }, () => new Worker(RAW));
      const waiting = new Map<number, (v: number) => void>();
      for (const w of workers) {
        w.on('message', (m: { id: number; r: number }) => {
          const resolve = waiting.get(m.id)!;
          waiting.delete(m.id);
          resolve(m.r);
        });
      }
      let id = 0;
      let next = 0;
      const post = (op: number, x: number): Promise<number> =>
        new Promise<number>((resolve) => {
          const i = id++;
          waiting.set(i, resolve);
          workers[next]!.postMessage({ id: i, op, x });
          next = (next + 1) % workers.length;
        });
      return {
        inc: (x) => post(0, x),
        spin: (ms) => post(1, ms),
        async stop() {
          await Promise.all(workers.map((w) => w.terminate()));
        },
      };
    },
  },
];

async function timed(n: number, one: (i: number) => Promise<number>): Promise<number> {
  gc?.();
  const t0 = performance.now();
  const all: Promise<number>[] = new Array<Promise<number>>(n);
  for (let i = 0; i < n; i++) all[i] = one(i);
  await Promise.all(all);
  return n / ((performance.now() - t0) / 1000);
}

/** 2 workers, each running `n / 2` 1 ms tasks back to back: the best any 2-thread pool can do now. */
async function busyFloor(n: number): Promise<number> {
  const workers = Array.from({ length: THREADS }, () => new Worker(RAW));
  await Promise.all(workers.map((w) => new Promise((resolve) => w.once('online', resolve))));
  const t0 = performance.now();
  await Promise.all(
    workers.map(
      (w, i) =>
        new Promise((resolve) => {
          w.once('message', resolve);
          w.postMessage({ id: i, op: 2, x: n / THREADS });
        }),
    ),
  );
  const rate = n / ((performance.now() - t0) / 1000);
  await Promise.all(workers.map((w) => w.terminate()));
  return rate;
}

/** What {@link runPool} measured, as written to bench/results/pool.json. */
export interface PoolBenchResults extends MachineInfo {
  readonly suite: 'pool';
  readonly options: { readonly trivial: number; readonly cpu: number; readonly cpuMs: number; readonly rounds: number; readonly threads: number };
  readonly libraries: readonly { readonly name: string; readonly note: string }[];
  /** Tasks/s per library and case: every round, and the median. */
  readonly rates: Record<string, { trivial: number[]; cpu: number[]; trivialMedian: number; cpuMedian: number }>;
  /** 1 ms tasks/s of the busy floor, every round, and the median. */
  readonly busy: { readonly rounds: number[]; median: number };
  /** Ratios from the medians. */
  readonly ratios: {
    readonly trivialVsPiscina: number;
    readonly trivialVsTinypool: number;
    readonly trivialVsRaw: number;
    /** Each library's 1 ms rate over the ideal (threads × 1000 / cpuMs). */
    readonly cpuVsIdeal: Record<string, number>;
    /** Each library's 1 ms rate over the busy floor measured in the same rounds (median over median). */
    readonly cpuVsBusy: Record<string, number>;
  };
}

/** Runs the pool benchmark: prints its table, writes bench/results/pool.json, returns the results. */
export async function runPool(): Promise<PoolBenchResults> {
  const trivial = envInt('WEFT_BENCH_POOL_N', 100_000);
  const cpu = envInt('WEFT_BENCH_POOL_CPU_N', 2_000);
  const rounds = envInt('WEFT_BENCH_POOL_ROUNDS', 3);
  const cpuMs = 1;
  const loadStart = loadNow();
  const rates: PoolBenchResults['rates'] = {};
  for (const c of contenders) rates[c.name] = { trivial: [], cpu: [], trivialMedian: 0, cpuMedian: 0 };
  const busy: number[] = [];
  for (let r = 0; r < rounds; r++) {
    busy.push(Math.round(await busyFloor(cpu)));
    console.log(`round ${r + 1}: busy floor: 1 ms ${busy[r]!.toString().padStart(5)} tasks/s`);
    for (const c of shuffle([...contenders])) {
      const runner = await c.start();
      // Warm-up, the same for every library: threads started, code compiled in every thread.
      await timed(Math.min(trivial, 20_000), (i) => runner.inc(i));
      await timed(20, () => runner.spin(cpuMs));
      const t = await timed(trivial, (i) => runner.inc(i));
      const s = await timed(cpu, () => runner.spin(cpuMs));
      await runner.stop();
      rates[c.name]!.trivial.push(Math.round(t));
      rates[c.name]!.cpu.push(Math.round(s));
      console.log(`round ${r + 1}: ${c.name.padEnd(8)} trivial ${Math.round(t).toString().padStart(7)} tasks/s   1 ms ${Math.round(s).toString().padStart(5)} tasks/s`);
    }
  }
  for (const c of contenders) {
    const x = rates[c.name]!;
    x.trivialMedian = Math.round(median(x.trivial));
    x.cpuMedian = Math.round(median(x.cpu));
  }
  const ideal = (THREADS * 1000) / cpuMs;
  const busyMedian = Math.round(median(busy));
  const w = rates['weft']!;
  const res: PoolBenchResults = {
    suite: 'pool',
    ...machineInfo(loadStart),
    options: { trivial, cpu, cpuMs, rounds, threads: THREADS },
    libraries: contenders.map((c) => ({ name: c.name, note: c.note })),
    rates,
    busy: { rounds: busy, median: busyMedian },
    ratios: {
      trivialVsPiscina: round2(w.trivialMedian / rates['piscina']!.trivialMedian),
      trivialVsTinypool: round2(w.trivialMedian / rates['tinypool']!.trivialMedian),
      trivialVsRaw: round2(w.trivialMedian / rates['raw']!.trivialMedian),
      cpuVsIdeal: Object.fromEntries(contenders.map((c) => [c.name, round2(rates[c.name]!.cpuMedian / ideal)])),
      cpuVsBusy: Object.fromEntries(contenders.map((c) => [c.name, round2(rates[c.name]!.cpuMedian / busyMedian)])),
    },
  };
  console.log(format(res));
  const root = findRoot(dirname(fileURLToPath(import.meta.url)));
  const file = join(root, 'bench', 'results', 'pool.json');
  writeJson(file, res);
  console.log(`\nwrote ${file}\n`);
  return res;
}

function format(res: PoolBenchResults): string {
  const ideal = (res.options.threads * 1000) / res.options.cpuMs;
  const w = res.rates['weft']!;
  const lines = [
    '',
    `Worker pools, ${res.options.threads} threads: tasks/s, median of ${res.options.rounds} rounds (order shuffled per round); ` +
      `Node ${res.node}, ${res.cpus} CPUs; load average ${res.loadavg.start} at start, ${res.loadavg.end} at end`,
    '',
    `| library  | trivial (${res.options.trivial} × x+1) | weft ÷ it | 1 ms task (${res.options.cpu}) | ÷ ideal (${ideal}/s) | ÷ busy floor (${res.busy.median}/s) |`,
    '| -------- | ------------: | --------: | ----------: | ------------: | ------------: |',
  ];
  for (const l of res.libraries) {
    const r = res.rates[l.name]!;
    lines.push(
      `| ${l.name.padEnd(8)} | ${String(r.trivialMedian).padStart(13)} | ${round2(w.trivialMedian / r.trivialMedian).toFixed(2).padStart(9)} | ` +
        `${String(r.cpuMedian).padStart(11)} | ${(r.cpuMedian / ideal).toFixed(3).padStart(13)} | ${(r.cpuMedian / res.busy.median).toFixed(3).padStart(13)} |`,
    );
  }
  return lines.join('\n');
}

// Run directly: `node --expose-gc dist/bench/pool.js`.
if (process.argv[1] !== undefined && fileURLToPath(import.meta.url) === process.argv[1]) await runPool();
