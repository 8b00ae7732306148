/**
 * Runs the benchmark suites, prints their tables and writes their JSON to
 * `bench/results/` (one file per suite): in-thread channels, the log writer,
 * cross-thread channels, the worker pool, remote channels, the hang monitor
 * (select with WEFT_BENCH_SUITES=inthread,log,threads,pool,remote,monitor).
 *
 * Run: `npm run bench` (or `npx tsc -p tsconfig.json && node --expose-gc dist/bench/run.js`).
 * Environment: see bench/inthread.ts and bench/threads.ts (WEFT_BENCH_N for quick runs, …).
 *
 * @module
 */
import { formatInThread, optionsFromEnv, runInThread, writeInThreadJson } from './inthread.js';
import { runLog } from './log.js';
import { runThreads } from './threads.js';
import { runMonitor } from './monitor.js';

interface Suite {
  readonly name: string;
  /** Returns the table and JSON file to print, or nothing when the suite printed them itself. */
  run(): Promise<{ table: string; file: string } | void>;
}

const suites: readonly Suite[] = [
  {
    name: 'inthread',
    async run() {
      const res = await runInThread(optionsFromEnv());
      return { table: formatInThread(res), file: writeInThreadJson(res) };
    },
  },
  {
    name: 'log',
    async run() {
      await runLog();
    },
  },
  {
    name: 'threads',
    async run() {
      await runThreads();
    },
  },
  {
    name: 'pool',
    async run() {
      const mod = (await import(new URL('./pool.js', import.meta.url).href)) as { runPool(): Promise<unknown> };
      await mod.runPool();
    },
  },
  {
    name: 'monitor',
    run: () => runMonitor(),
  },
  {
    name: 'remote',
    async run() {
      // Loaded only when selected: needs nats-server on the PATH.
      const mod = (await import(new URL('./remote.js', import.meta.url).href)) as { runRemote(): Promise<unknown> };
      await mod.runRemote();
    },
  },
];

const only = process.env['WEFT_BENCH_SUITES']?.split(',').map((s) => s.trim());
for (const suite of suites) {
  if (only !== undefined && !only.includes(suite.name)) continue;
  const out = await suite.run();
  if (out === undefined) continue;
  console.log(out.table);
  console.log(`\nwrote ${out.file}\n`);
}
