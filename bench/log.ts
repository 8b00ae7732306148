/**
 * The log writer benchmark: lines/s of weft's durable log writer (src/log/)
 * against a floor and a ceiling measured in the same run, on the same disk.
 *
 * Cases (every line is ~100 bytes of ASCII, built by the same function):
 * - floor: one loop, `write` + `fdatasync` per line (what a durable log
 *   without group commit does);
 * - weft durable: 4 producers, each keeping up to `window` durable writes in
 *   flight (`writeDurable`, awaited oldest-first) — many requests waiting
 *   for their line to be on disk, as in a server; one fdatasync per batch;
 * - weft durable, 1 in flight: 4 producers each awaiting every writeDurable
 *   (latency-bound; for reference, no goal);
 * - ceiling: `fs.createWriteStream`, one loop writing every line (awaiting
 *   'drain' when asked), timed to 'finish' — no sync;
 * - weft fire-and-forget: 4 producers, each awaiting every `write` (the
 *   channel's backpressure), timed until the writer has handed every line
 *   to the OS (observed through the write hook) — no sync, like the ceiling;
 *   the final sync of `close()` is reported apart.
 *
 * Goals: durable ≥ 20× the floor; fire-and-forget ≥ 0.8× the ceiling.
 * Method: `rounds` rounds, each running every case once in a fresh file of
 * a temporary folder inside the repository (same disk as the project),
 * cases in a fresh random order per round; the median per case is reported.
 *
 * Run: `npx tsc -p tsconfig.json && node --expose-gc dist/bench/log.js`.
 * Environment: WEFT_BENCH_LOG_N (lines per weft/ceiling run, default
 * 200,000), WEFT_BENCH_LOG_FLOOR_N (lines per floor run, default 1,000),
 * WEFT_BENCH_LOG_ROUNDS (default 3), WEFT_BENCH_LOG_WINDOW (default 256).
 *
 * @module
 */
import { once } from 'node:events';
import { createWriteStream } from 'node:fs';
import { mkdtemp, open, rm } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { openLog, type LogHooks, type LogProducer } from '../src/log/index.js';
import { envInt, findRoot, gc, median, round2, shuffle, writeJson, loadNow, machineInfo, type MachineInfo } from './util.js';

const PRODUCERS = 4;

/** Options of {@link runLog}; each has a default and an environment variable. */
export interface LogBenchOptions {
  /** Lines per run of the weft cases and of the ceiling (WEFT_BENCH_LOG_N; default 200,000). */
  lines?: number;
  /** Lines per run of the floor (WEFT_BENCH_LOG_FLOOR_N; default 1,000). */
  floorLines?: number;
  /** Rounds (WEFT_BENCH_LOG_ROUNDS; default 3). */
  rounds?: number;
  /** Durable writes each producer keeps in flight (WEFT_BENCH_LOG_WINDOW; default 256). */
  window?: number;
  /** Where to write JSON (default bench/results/log.json); null: do not write. */
  jsonPath?: string | null;
  /** Print the table (default true). */
  print?: boolean;
}

/** One case's measurements. */
export interface LogCaseResult {
  readonly name: string;
  readonly label: string;
  readonly lines: number;
  /** Median lines/s. */
  readonly linesPerSec: number;
  /** Every run's lines/s. */
  readonly runs: readonly number[];
  /** Extra figures (batches, syncs, close time) of the median run. */
  readonly detail?: Readonly<Record<string, number>>;
}

/** What {@link runLog} measured, as written to bench/results/log.json. */
export interface LogBenchResults extends MachineInfo {
  readonly suite: 'log';
  readonly dir: string;
  readonly options: { readonly lines: number; readonly floorLines: number; readonly rounds: number; readonly window: number; readonly lineBytes: number };
  readonly cases: readonly LogCaseResult[];
  readonly ratios: {
    readonly durableToFloor: number;
    readonly durableOneInFlightToFloor: number;
    readonly fireAndForgetToCeiling: number;
  };
  readonly goals: {
    readonly durableToFloor: { readonly goal: number; readonly met: boolean };
    readonly fireAndForgetToCeiling: { readonly goal: number; readonly met: boolean };
  };
  readonly durationMs: number;
}

const PAD = 'x'.repeat(64);

/** A ~100-byte log line (ASCII). */
function lineOf(producer: number, i: number): string {
  return `2026-01-01T00:00:00.000Z INFO p${producer} seq=${i} status=200 ${PAD}`.slice(0, 99);
}

interface Run {
  lines: number;
  ms: number;
  detail?: Record<string, number>;
}

// ---- the cases --------------------------------------------------------------

async function floor(file: string, n: number): Promise<Run> {
  const fh = await open(file, 'a');
  try {
    const t0 = performance.now();
    for (let i = 0; i < n; i++) {
      await fh.write(lineOf(0, i) + '\n');
      await fh.datasync();
    }
    return { lines: n, ms: performance.now() - t0 };
  } finally {
    await fh.close();
  }
}

async function ceiling(file: string, n: number): Promise<Run> {
  const ws = createWriteStream(file, { flags: 'a' });
  await once(ws, 'open');
  const t0 = performance.now();
  const per = n / PRODUCERS;
  // Interleave the 4 producers' lines like the weft case does, in one loop.
  for (let i = 0; i < per; i++) {
    for (let k = 0; k < PRODUCERS; k++) {
      if (!ws.write(lineOf(k, i) + '\n')) await once(ws, 'drain');
    }
  }
  ws.end();
  await once(ws, 'finish');
  const ms = performance.now() - t0;
  ws.close();
  return { lines: n, ms };
}

async function durable(file: string, n: number, window: number): Promise<Run> {
  const [log, writer] = await openLog(file, { capacity: 1024 });
  const per = n / PRODUCERS;
  const t0 = performance.now();
  await Promise.all(
    Array.from({ length: PRODUCERS }, async (_, k) => {
      const p = log.clone();
      const inflight: Promise<void>[] = [];
      let head = 0;
      for (let i = 0; i < per; i++) {
        inflight.push(p.writeDurable(lineOf(k, i)));
        if (inflight.length - head >= window) await inflight[head++];
      }
      for (; head < inflight.length; head++) await inflight[head];
      p.close();
    }),
  );
  const ms = performance.now() - t0;
  log.close();
  const s = await writer.close();
  return { lines: n, ms, detail: { writes: s.writes, syncs: s.syncs, linesPerSync: Math.round(s.lines / Math.max(1, s.syncs)) } };
}

async function fireAndForget(file: string, n: number): Promise<Run> {
  let written = 0;
  let allWritten = 0;
  let t0 = 0;
  const hooks: LogHooks = {
    async write(next, info) {
      await next();
      written += info.lines;
      if (written >= n && allWritten === 0) allWritten = performance.now();
    },
  };
  const [log, writer] = await openLog(file, { capacity: 1024, hooks });
  const per = n / PRODUCERS;
  t0 = performance.now();
  const producers = Array.from({ length: PRODUCERS }, (_, k) => run(log.clone(), k));
  async function run(p: LogProducer, k: number): Promise<void> {
    for (let i = 0; i < per; i++) await p.write(lineOf(k, i));
    p.close();
  }
  await Promise.all(producers);
  log.close();
  const s = await writer.done; // every producer closed: the writer drains, syncs once, ends
  const end = performance.now();
  if (s.lines !== n || allWritten === 0) throw new Error(`fire-and-forget run wrote ${s.lines} of ${n} lines`);
  return {
    lines: n,
    ms: allWritten - t0,
    detail: { writes: s.writes, linesPerWrite: Math.round(s.lines / Math.max(1, s.writes)), closeSyncMs: Math.round(end - allWritten) },
  };
}

// ---- the suite ----------------------------------------------------------------

interface CaseDef {
  readonly name: string;
  readonly label: string;
  readonly lines: number;
  run(file: string): Promise<Run>;
}

/**
 * Runs the log benchmark: prints a table with the ratios (unless
 * `print: false`), writes bench/results/log.json, and returns the results.
 */
export async function runLog(options: LogBenchOptions = {}): Promise<LogBenchResults> {
  const started = performance.now();
  const loadStart = loadNow();
  const lines = Math.max(PRODUCERS, Math.floor((options.lines ?? envInt('WEFT_BENCH_LOG_N', 200_000)) / PRODUCERS) * PRODUCERS);
  const floorLines = options.floorLines ?? envInt('WEFT_BENCH_LOG_FLOOR_N', 1_000);
  const rounds = options.rounds ?? envInt('WEFT_BENCH_LOG_ROUNDS', 3);
  const window = options.window ?? envInt('WEFT_BENCH_LOG_WINDOW', 256);
  const durableOneLines = Math.min(lines, Math.max(PRODUCERS, Math.floor((floorLines * 4) / PRODUCERS) * PRODUCERS));

  const root = findRoot(dirname(fileURLToPath(import.meta.url)));
  const dir = await mkdtemp(join(root, '.bench-log-'));
  const cases: CaseDef[] = [
    { name: 'floor', label: 'floor: write + fdatasync per line', lines: floorLines, run: (f) => floor(f, floorLines) },
    { name: 'durable', label: `weft durable, ${PRODUCERS} producers, ${window} in flight each`, lines, run: (f) => durable(f, lines, window) },
    {
      name: 'durable-1',
      label: `weft durable, ${PRODUCERS} producers, 1 in flight each`,
      lines: durableOneLines,
      run: (f) => durable(f, durableOneLines, 1),
    },
    { name: 'ceiling', label: 'ceiling: fs.createWriteStream, no sync', lines, run: (f) => ceiling(f, lines) },
    { name: 'fire-and-forget', label: `weft fire-and-forget, ${PRODUCERS} producers`, lines, run: (f) => fireAndForget(f, lines) },
  ];
  const runs = new Map<string, Run[]>(cases.map((c) => [c.name, []]));
  let fileNo = 0;
  try {
    // Warm-up (JIT, page cache of the folder), not measured.
    await durable(join(dir, `warm-${fileNo++}.log`), Math.min(lines, 20_000), window);
    await fireAndForget(join(dir, `warm-${fileNo++}.log`), Math.min(lines, 20_000));
    for (let r = 0; r < rounds; r++) {
      const order = shuffle([...cases]);
      for (const c of order) {
        const file = join(dir, `${c.name}-${fileNo++}.log`);
        gc?.();
        runs.get(c.name)!.push(await c.run(file));
        await rm(file, { force: true });
      }
    }
  } finally {
    await rm(dir, { recursive: true, force: true });
  }

  const results: LogCaseResult[] = cases.map((c) => {
    const rs = runs.get(c.name)!;
    const rates = rs.map((x) => (x.lines / x.ms) * 1000);
    const med = median(rates);
    const closest = rs[rates.indexOf([...rates].sort((a, b) => Math.abs(a - med) - Math.abs(b - med))[0]!)]!;
    return {
      name: c.name,
      label: c.label,
      lines: c.lines,
      linesPerSec: Math.round(med),
      runs: rates.map(Math.round),
      ...(closest.detail !== undefined ? { detail: closest.detail } : {}),
    };
  });
  const rate = (name: string): number => results.find((r) => r.name === name)!.linesPerSec;
  const durableToFloor = round2(rate('durable') / rate('floor'));
  const fireAndForgetToCeiling = round2(rate('fire-and-forget') / rate('ceiling'));
  const res: LogBenchResults = {
    suite: 'log',
    ...machineInfo(loadStart),
    dir: root,
    options: { lines, floorLines, rounds, window, lineBytes: lineOf(0, 0).length + 1 },
    cases: results,
    ratios: { durableToFloor, durableOneInFlightToFloor: round2(rate('durable-1') / rate('floor')), fireAndForgetToCeiling },
    goals: {
      durableToFloor: { goal: 20, met: durableToFloor >= 20 },
      fireAndForgetToCeiling: { goal: 0.8, met: fireAndForgetToCeiling >= 0.8 },
    },
    durationMs: Math.round(performance.now() - started),
  };
  if (options.print !== false) console.log(formatLog(res));
  if (options.jsonPath !== null) {
    const file = options.jsonPath ?? join(root, 'bench', 'results', 'log.json');
    writeJson(file, res);
    if (options.print !== false) console.log(`\nwrote ${file}`);
  }
  return res;
}

/** The results as a text table with the ratios to the floor and to the ceiling. */
export function formatLog(res: LogBenchResults): string {
  const floorRate = res.cases.find((c) => c.name === 'floor')!.linesPerSec;
  const ceilRate = res.cases.find((c) => c.name === 'ceiling')!.linesPerSec;
  const ratioCell = (c: LogCaseResult): string => {
    switch (c.name) {
      case 'floor':
        return '1× floor';
      case 'durable':
        return `${(c.linesPerSec / floorRate).toFixed(1)}× floor (goal ≥ 20×) ${res.goals.durableToFloor.met ? 'met' : 'NOT MET'}`;
      case 'durable-1':
        return `${(c.linesPerSec / floorRate).toFixed(1)}× floor (no goal)`;
      case 'ceiling':
        return '1.00 of ceiling';
      default:
        return `${(c.linesPerSec / ceilRate).toFixed(2)} of ceiling (goal ≥ 0.80) ${res.goals.fireAndForgetToCeiling.met ? 'met' : 'NOT MET'}`;
    }
  };
  const head = ['case', 'lines/run', 'lines/s', 'ratio', 'detail (median run)'];
  const body = res.cases.map((c) => [
    c.label,
    c.lines.toLocaleString('en-US'),
    c.linesPerSec.toLocaleString('en-US'),
    ratioCell(c),
    c.detail === undefined ? '' : Object.entries(c.detail).map(([k, v]) => `${k} ${v}`).join(', '),
  ]);
  const widths = head.map((h, i) => Math.max(h.length, ...body.map((r) => r[i]!.length)));
  const line = (r: string[]): string => r.map((c, i) => (i === 1 || i === 2 ? c.padStart(widths[i]!) : c.padEnd(widths[i]!))).join('  ').trimEnd();
  const o = res.options;
  const out = [
    `Log writer: lines/s, median of ${o.rounds} rounds (case order shuffled per round); ${o.lineBytes}-byte lines; ` +
      `Node ${res.node}, ${res.cpus} CPUs; load average ${res.loadavg.start} at start, ${res.loadavg.end} at end; files in a temporary folder under ${res.dir}`,
    line(head),
    line(widths.map((n) => '-'.repeat(n))),
    ...body.map(line),
    '',
    `durable / floor = ${res.ratios.durableToFloor}×; durable with 1 in flight per producer / floor = ${res.ratios.durableOneInFlightToFloor}×; ` +
      `fire-and-forget / ceiling = ${res.ratios.fireAndForgetToCeiling}`,
    'floor and durable sync with fdatasync; the ceiling and fire-and-forget are timed until every line is handed to the OS (no sync);',
    "fire-and-forget's closeSyncMs is the one fdatasync of close(), outside the timing.",
  ];
  return out.join('\n');
}

if (process.argv[1] !== undefined && import.meta.url === pathToFileURL(process.argv[1]).href) {
  await runLog();
}
