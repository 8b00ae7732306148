/**
 * The cross-thread benchmark: weft's shared-memory channels against
 * `postMessage` and a bare shared-memory ring, between the main thread and a
 * worker and between two workers, in one run, with ratios.
 *
 * Cases:
 * - throughput, main→worker and worker→worker, for integers, short strings,
 *   small objects `{ id, name, tags }` and 64 KiB Uint8Arrays (a hundredth
 *   as many): weft one message per call (`send`/`sendSync` → `recvSync`),
 *   weft batched (`sendMany`/`sendManySync` → `recvManySync`, 100 a call),
 *   `postMessage` one by one, `postMessage` of arrays of 100, and for
 *   integers a bare SPSC Int32 ring with Atomics (bench/threads/ring.ts,
 *   the floor). Channels are `sharedBounded(1024)`, the ring has 1024 slots.
 *   The main thread uses the async API (it must never block); workers use
 *   the blocking one.
 * - ping-pong round trip: main↔worker (main awaits `send`/`recv`, the
 *   worker answers with `recvSync`/`sendSync`) and worker↔worker (both
 *   blocking), on two `sharedBounded(1)` channels; versus `postMessage` on
 *   a MessagePort (main↔worker and worker↔worker).
 * - crossbeam-channel's workloads across threads, integers, blocking
 *   operations in every worker: spsc (1 producer, 1 consumer), mpsc
 *   (3 → 1), mpmc (2 → 2), select_rx (3 channels, one producer each, one
 *   consumer in `selectSync`); flavors bounded(0), bounded(1), bounded(64),
 *   unbounded.
 *
 * Method: each measurement starts fresh workers (bench/threads/worker.ts)
 * and runs two phases through the same channels: a warm-up, whose rate
 * sizes the measured phase (a case that would run longer than `runMs` moves
 * fewer messages than `messages`, marked `*`), then the measured phase.
 * Workers wait on a shared control word so every thread starts together,
 * and report absolute start and end times; a run's time is from the
 * earliest producer start to the latest consumer end. Every consumer adds
 * up a checksum of what it got, so a lost, duplicated or garbled message
 * fails the run. A run that does not finish within the timeout fails, its
 * workers are terminated, and the case is recorded as failed with the
 * reason (a timed-out case is not run again in later rounds; a case that
 * failed otherwise is, and reports its failures next to the runs that
 * worked). `rounds` rounds run every case once, in a fresh random order
 * each; results are medians of the runs that worked (the bare ring: its best run).
 *
 * Run: `npx tsc -p tsconfig.json && node --expose-gc dist/bench/threads.js`
 * (or `WEFT_BENCH_SUITES=threads npm run bench`).
 * Environment: WEFT_BENCH_N (messages per throughput and crossbeam run,
 * default 1,000,000; 64 KiB arrays and round trips use N/100 and N/10),
 * WEFT_BENCH_ROUNDS (default 3), WEFT_BENCH_RUN_MS (default 600),
 * WEFT_BENCH_TIMEOUT_MS (per measurement, default 20,000),
 * WEFT_BENCH_THREADS_CASES (comma list of substrings of case ids),
 * WEFT_BENCH_SEED.
 *
 * @module
 */
import { dirname, join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { MessageChannel, Worker, type MessagePort } from 'node:worker_threads';
import type { Receiver, Sender } from '../src/index.js';
import { sharedBounded, sharedUnbounded, transfer } from '../src/shared/index.js';
import { pmPingLoop } from './threads/ports.js';
import { BATCH, CTL_GATE, CTL_N, CTL_WORDS, type WorkerJob } from './threads/protocol.js';
import { RingProducer, ringMemory } from './threads/ring.js';
import { BYTES, KINDS, expectedCheck, valueMaker, type Kind } from './threads/values.js';
import { envList, findRoot, gc, median, mulberry32, round2, shuffle, writeJson, loadNow, machineInfo, type MachineInfo } from './util.js';

const workerUrl = new URL('./threads/worker.js', import.meta.url);

/** Capacity of the throughput channels and slots of the bare ring. */
const CAP = 1024;
/** The N of bounded(N) in the crossbeam workloads. */
const CROSSBEAM_CAP = 64;

/** Options of {@link runThreads}; each has a default and an environment variable. */
export interface ThreadsOptions {
  /** Messages per throughput and crossbeam run (WEFT_BENCH_N; default 1,000,000). */
  messages?: number;
  /** Rounds (WEFT_BENCH_ROUNDS; default 3). */
  rounds?: number;
  /** Longest intended measured phase, ms (WEFT_BENCH_RUN_MS; default 600). */
  runMs?: number;
  /** A measurement that takes longer fails (WEFT_BENCH_TIMEOUT_MS; default 20,000). */
  timeoutMs?: number;
  /** Only cases whose id contains one of these (WEFT_BENCH_THREADS_CASES). */
  cases?: readonly string[];
  /** Seed of the case order (WEFT_BENCH_SEED; default from the clock). */
  seed?: number;
  /** Where to write JSON (default bench/results/threads.json); null: do not write. */
  jsonPath?: string | null;
  /** Print the table (default true). */
  print?: boolean;
  /** Progress lines (default: stderr). */
  log?: (line: string) => void;
}

export type Group = 'throughput' | 'pingpong' | 'crossbeam';

/** One case's measurements. */
export interface ThreadsCaseResult {
  readonly id: string;
  readonly group: Group;
  /** 'failed': no run worked. */
  readonly status: 'ok' | 'failed';
  /** Why the runs that failed did (also on an 'ok' case where only some failed). */
  readonly failures?: readonly string[];
  /** Messages (round trips for ping-pong) of the measured phase of the median run. */
  readonly messages?: number;
  /** True when fewer than the suite's full count were moved (time budget). */
  readonly scaled?: boolean;
  /** Throughput: median messages/s; every run's. */
  readonly msgsPerSec?: number;
  /** Throughput of 64 KiB arrays: median GB/s (10^9 bytes). */
  readonly gbPerSec?: number;
  /** Ping-pong: median µs per round trip. */
  readonly usPerRoundTrip?: number;
  readonly runs?: readonly number[];
}

export interface Goal {
  readonly what: string;
  readonly value: number;
  readonly goal: string;
  readonly met: boolean;
}

/** What {@link runThreads} measured, as written to bench/results/threads.json. */
export interface ThreadsResults extends MachineInfo {
  readonly suite: 'threads';
  readonly gc: boolean;
  readonly seed: number;
  readonly durationMs: number;
  readonly options: {
    readonly messages: number;
    readonly rounds: number;
    readonly runMs: number;
    readonly timeoutMs: number;
    readonly capacity: number;
    readonly crossbeamCapacity: number;
    readonly batch: number;
  };
  readonly cases: readonly ThreadsCaseResult[];
  /** Named ratios (weft / baseline, > 1 is better for weft; ping-pong: weft time / postMessage time, < 1 is better). */
  readonly ratios: Readonly<Record<string, number>>;
  readonly goals: readonly Goal[];
}

// ---- cases ------------------------------------------------------------------

type Times = 'start' | 'end' | 'both' | 'none';

interface WorkerSpec {
  job: Omit<WorkerJob, 'ctl'>;
  transferList?: MessagePort[];
  times: Times;
}

interface Setup {
  workers: WorkerSpec[];
  /** The main thread's part, if it takes part; returns its checksum. */
  main?: { run(n: number, deadline: number): Promise<number> | number; times: Times };
  cleanup(): void;
}

interface CaseDef {
  readonly id: string;
  readonly group: Group;
  /** Messages of a full-size measured phase. */
  readonly full: number;
  readonly warm: number;
  /** Counts are multiples of this (producers × consumers × batch). */
  readonly unit: number;
  readonly metric: 'rate' | 'latency';
  readonly bytesPerMsg?: number;
  expected(n: number): number;
  setup(): Setup;
}

type Dir = 'm2w' | 'w2w';
const DIRS: readonly Dir[] = ['m2w', 'w2w'];
const DIR_LABEL: Record<Dir, string> = { m2w: 'main→worker', w2w: 'worker→worker' };
type Impl = 'weft' | 'weft-many' | 'pm' | 'pm-batch' | 'ring';
const IMPL_LABEL: Record<Impl, string> = {
  weft: 'weft',
  'weft-many': 'weft sendMany',
  pm: 'postMessage',
  'pm-batch': `postMessage ×${BATCH}`,
  ring: 'bare ring',
};
const KIND_LABEL: Record<Kind, string> = { int: 'integers', str: 'short strings', obj: 'small objects', bytes: '64 KiB arrays' };

const sumTo = (n: number): number => (n * (n - 1)) / 2;

function roundDown(n: number, unit: number): number {
  return Math.max(unit, Math.floor(n / unit) * unit);
}

function throughputCase(dir: Dir, kind: Kind, impl: Impl, N: number): CaseDef {
  const full = roundDown(kind === 'bytes' ? N / 100 : N, BATCH);
  const warm = Math.min(full, roundDown(kind === 'bytes' ? 1000 : 50_000, BATCH));
  return {
    id: `throughput/${dir}/${kind}/${impl}`,
    group: 'throughput',
    full,
    warm,
    unit: BATCH,
    metric: 'rate',
    ...(kind === 'bytes' ? { bytesPerMsg: BYTES } : {}),
    expected: (n) => expectedCheck(kind, 0, n),
    setup(): Setup {
      const mode = impl === 'weft-many' ? 'many' : impl === 'pm-batch' ? 'batch' : 'one';
      if (impl === 'ring') {
        const ring = ringMemory(CAP);
        const consumer: WorkerSpec = { job: { role: 'ring-recv', ring }, times: 'end' };
        if (dir === 'w2w') return { workers: [{ job: { role: 'ring-send', ring }, times: 'start' }, consumer], cleanup() {} };
        return {
          workers: [consumer],
          main: {
            times: 'start',
            run(n, deadline) {
              const p = new RingProducer(ring, deadline);
              for (let i = 0; i < n; i++) p.push(i);
              return 0;
            },
          },
          cleanup() {},
        };
      }
      if (impl === 'pm' || impl === 'pm-batch') {
        const { port1, port2 } = new MessageChannel();
        const consumer: WorkerSpec = { job: { role: 'pm-recv', kind, mode, port: port2 }, transferList: [port2], times: 'end' };
        if (dir === 'w2w') {
          return {
            workers: [{ job: { role: 'pm-send', kind, mode, port: port1 }, transferList: [port1], times: 'start' }, consumer],
            cleanup() {},
          };
        }
        const make = valueMaker(kind);
        return {
          workers: [consumer],
          main: {
            times: 'start',
            run(n) {
              if (mode === 'batch') {
                for (let i = 0; i < n; i += BATCH) {
                  const batch = new Array<unknown>(BATCH);
                  for (let j = 0; j < BATCH; j++) batch[j] = make(i + j);
                  port1.postMessage(batch);
                }
              } else for (let i = 0; i < n; i++) port1.postMessage(make(i));
              return 0;
            },
          },
          cleanup: () => port1.close(),
        };
      }
      const [tx, rx] = sharedBounded<unknown>(CAP);
      const consumer: WorkerSpec = { job: { role: 'weft-recv', kind, mode, tokens: { rx: transfer(rx) } }, times: 'end' };
      if (dir === 'w2w') {
        return { workers: [{ job: { role: 'weft-send', kind, mode, tokens: { tx: transfer(tx) } }, times: 'start' }, consumer], cleanup() {} };
      }
      const make = valueMaker(kind);
      const batch: unknown[] = [];
      return {
        workers: [consumer],
        main: {
          times: 'start',
          async run(n) {
            if (mode === 'many') {
              for (let i = 0; i < n; i += BATCH) {
                batch.length = 0;
                for (let j = 0; j < BATCH; j++) batch.push(make(i + j));
                await tx.sendMany(batch);
              }
            } else for (let i = 0; i < n; i++) await tx.send(make(i));
            return 0;
          },
        },
        cleanup: () => tx.close(),
      };
    },
  };
}

type PingImpl = 'weft' | 'pm';
function pingCase(dir: 'm2w' | 'w2w', impl: PingImpl, N: number): CaseDef {
  const full = roundDown(N / 10, 1);
  return {
    id: `pingpong/${dir}/${impl}`,
    group: 'pingpong',
    full,
    warm: Math.min(full, 2000),
    unit: 1,
    metric: 'latency',
    expected: (n) => (n * (n + 1)) / 2,
    setup(): Setup {
      if (impl === 'pm') {
        const { port1, port2 } = new MessageChannel();
        const pong: WorkerSpec = { job: { role: 'pm-pong', port: port2 }, transferList: [port2], times: 'none' };
        if (dir === 'w2w') return { workers: [{ job: { role: 'pm-ping', port: port1 }, transferList: [port1], times: 'both' }, pong], cleanup() {} };
        return { workers: [pong], main: { times: 'both', run: (n) => pmPingLoop(port1, n) }, cleanup: () => port1.close() };
      }
      const [pingTx, pingRx] = sharedBounded<number>(1);
      const [pongTx, pongRx] = sharedBounded<number>(1);
      const pong: WorkerSpec = { job: { role: 'weft-pong', tokens: { ping: transfer(pingRx), pong: transfer(pongTx) } }, times: 'none' };
      if (dir === 'w2w') {
        return { workers: [{ job: { role: 'weft-ping', tokens: { ping: transfer(pingTx), pong: transfer(pongRx) } }, times: 'both' }, pong], cleanup() {} };
      }
      return {
        workers: [pong],
        main: {
          times: 'both',
          async run(n) {
            let s = 0;
            for (let i = 0; i < n; i++) {
              await pingTx.send(i);
              s += await pongRx.recv();
            }
            return s;
          },
        },
        cleanup() {
          pingTx.close();
          pongRx.close();
        },
      };
    },
  };
}

export type Workload = 'spsc' | 'mpsc' | 'mpmc' | 'select_rx';
export type Flavor = 'bounded(0)' | 'bounded(1)' | 'bounded(N)' | 'unbounded';
const WORKLOADS: readonly Workload[] = ['spsc', 'mpsc', 'mpmc', 'select_rx'];
const FLAVORS: readonly Flavor[] = ['bounded(0)', 'bounded(1)', 'bounded(N)', 'unbounded'];
const SHAPE: Record<Workload, { producers: number; consumers: number }> = {
  spsc: { producers: 1, consumers: 1 },
  mpsc: { producers: 3, consumers: 1 },
  mpmc: { producers: 2, consumers: 2 },
  select_rx: { producers: 3, consumers: 1 },
};

function channelOf(flavor: Flavor): [Sender<number>, Receiver<number>] {
  switch (flavor) {
    case 'bounded(0)':
      return sharedBounded<number>(0);
    case 'bounded(1)':
      return sharedBounded<number>(1);
    case 'bounded(N)':
      return sharedBounded<number>(CROSSBEAM_CAP);
    case 'unbounded':
      return sharedUnbounded<number>();
  }
}

function crossbeamCase(workload: Workload, flavor: Flavor, N: number): CaseDef {
  const { producers: P, consumers: C } = SHAPE[workload];
  const unit = BATCH * P * C;
  const full = roundDown(N, unit);
  return {
    id: `crossbeam/${workload}/${flavor}`,
    group: 'crossbeam',
    full,
    warm: Math.min(full, roundDown(6000, unit)),
    unit,
    metric: 'rate',
    expected: sumTo,
    setup(): Setup {
      const workers: WorkerSpec[] = [];
      if (workload === 'select_rx') {
        const tokens: Record<string, ReturnType<typeof transfer>> = {};
        for (let p = 0; p < P; p++) {
          const [tx, rx] = channelOf(flavor);
          tokens[`c${p}`] = transfer(rx);
          workers.push({ job: { role: 'weft-send', kind: 'int', mode: 'one', index: p, parts: P, tokens: { tx: transfer(tx) } }, times: 'start' });
        }
        workers.push({ job: { role: 'weft-select', tokens }, times: 'end' });
        return { workers, cleanup() {} };
      }
      const [tx, rx] = channelOf(flavor);
      for (let p = 0; p < P; p++) {
        workers.push({ job: { role: 'weft-send', kind: 'int', mode: 'one', index: p, parts: P, tokens: { tx: transfer(tx.clone()) } }, times: 'start' });
      }
      for (let c = 0; c < C; c++) {
        workers.push({ job: { role: 'weft-recv', kind: 'int', mode: 'one', index: c, parts: C, tokens: { rx: transfer(rx.clone()) } }, times: 'end' });
      }
      tx.close();
      rx.close();
      return { workers, cleanup() {} };
    },
  };
}

function allCases(N: number): CaseDef[] {
  const out: CaseDef[] = [];
  for (const dir of DIRS) {
    for (const kind of KINDS) {
      const impls: Impl[] = ['weft', 'weft-many', 'pm', 'pm-batch'];
      if (kind === 'int') impls.push('ring');
      for (const impl of impls) out.push(throughputCase(dir, kind, impl, N));
    }
  }
  for (const dir of DIRS) for (const impl of ['weft', 'pm'] as const) out.push(pingCase(dir, impl, N));
  for (const w of WORKLOADS) for (const f of FLAVORS) out.push(crossbeamCase(w, f, N));
  return out;
}

// ---- running one measurement --------------------------------------------------

const clock = (): number => performance.timeOrigin + performance.now();

interface Done {
  done: number;
  t0: number;
  t1: number;
  check: number;
}

class TimeoutError extends Error {}

interface Measured {
  messages: number;
  ms: number;
}

/** Collects what each worker posts; `next` waits for a message with a key, failing with the run. */
class Inbox {
  private readonly queue: Record<string, unknown>[] = [];
  private readonly waiting: { key: string; value: number; resolve: (m: Record<string, unknown>) => void }[] = [];
  /** The worker reported the end of its last phase. */
  ended = false;
  constructor(worker: Worker) {
    worker.on('message', (m: Record<string, unknown>) => {
      if (m['done'] === 2) this.ended = true;
      const i = this.waiting.findIndex((w) => m[w.key] === w.value);
      if (i >= 0) this.waiting.splice(i, 1)[0]!.resolve(m);
      else this.queue.push(m);
    });
  }
  next(key: string, value: number): Promise<Record<string, unknown>> {
    const i = this.queue.findIndex((m) => m[key] === value);
    if (i >= 0) return Promise.resolve(this.queue.splice(i, 1)[0]!);
    return new Promise((resolve) => this.waiting.push({ key, value, resolve }));
  }
}

/** Errors thrown in this thread outside any await of the suite (e.g. in a library's worker 'exit' listener). */
let onUncaught: ((e: unknown) => void) | undefined;

async function measure(c: CaseDef, runMs: number, timeoutMs: number): Promise<Measured> {
  const ctl = new Int32Array(new SharedArrayBuffer(CTL_WORDS * 4));
  const deadline = performance.now() + timeoutMs;
  const s = c.setup();
  const workers: Worker[] = [];
  const inboxes: Inbox[] = [];
  let timer: ReturnType<typeof setTimeout> | undefined;
  let finished = false;
  try {
    const failed = new Promise<never>((_, reject) => {
      timer = setTimeout(() => reject(new TimeoutError(`timed out after ${timeoutMs} ms`)), timeoutMs);
      onUncaught = (e) => reject(new Error(`uncaught in the main thread: ${e instanceof Error ? (e.stack ?? e.message) : String(e)}`));
      for (const w of s.workers) {
        const worker = new Worker(workerUrl, { workerData: { ...w.job, ctl: ctl.buffer }, transferList: w.transferList ?? [] });
        const inbox = new Inbox(worker);
        workers.push(worker);
        inboxes.push(inbox);
        worker.on('error', (e) => reject(new Error(`worker ${w.job.role}: ${e instanceof Error ? e.message : String(e)}`)));
        worker.on('exit', (code) => {
          // Its last report may still be on its way: look again shortly.
          setTimeout(() => {
            if (!finished && !inbox.ended) reject(new Error(`worker ${w.job.role} exited (code ${code}) before the end`));
          }, 100);
        });
      }
    });
    failed.catch(() => {});
    const race = <T>(p: Promise<T>): Promise<T> => Promise.race([p, failed]);

    const phase = async (p: number, n: number): Promise<number> => {
      Atomics.store(ctl, CTL_N + p - 1, n);
      await race(Promise.all(inboxes.map((b) => b.next('ready', p))));
      Atomics.store(ctl, CTL_GATE, p);
      Atomics.notify(ctl, CTL_GATE);
      let mainT0 = 0;
      let mainT1 = 0;
      let check = 0;
      if (s.main !== undefined) {
        mainT0 = clock();
        check += await race(Promise.resolve(s.main.run(n, deadline)));
        mainT1 = clock();
      }
      const dones = (await race(Promise.all(inboxes.map((b) => b.next('done', p))))) as unknown as Done[];
      for (const d of dones) check += d.check;
      const want = c.expected(n);
      if (check !== want) throw new Error(`checksum ${check}, expected ${want}: messages lost, duplicated or garbled`);
      const starts: number[] = [];
      const ends: number[] = [];
      const note = (times: Times, t0: number, t1: number): void => {
        if (times === 'start' || times === 'both') starts.push(t0);
        if (times === 'end' || times === 'both') ends.push(t1);
      };
      if (s.main !== undefined) note(s.main.times, mainT0, mainT1);
      s.workers.forEach((w, i) => note(w.times, dones[i]!.t0, dones[i]!.t1));
      return Math.max(...ends) - Math.min(...starts);
    };

    const warmMs = await phase(1, c.warm);
    const perMs = c.warm / Math.max(warmMs, 0.001);
    const n = Math.min(c.full, roundDown(perMs * runMs, c.unit));
    const ms = await phase(2, n);
    finished = true;
    return { messages: n, ms };
  } finally {
    finished = true;
    if (timer !== undefined) clearTimeout(timer);
    // From here an uncaught error is reported against this case as a late one.
    onUncaught = undefined;
    await Promise.all(workers.map((w) => w.terminate()));
    // Let exit listeners run while this case is still the one to blame.
    await new Promise((r) => setTimeout(r, 20));
    s.cleanup();
  }
}

// ---- the suite ----------------------------------------------------------------

function envNum(name: string): number | undefined {
  const v = process.env[name];
  if (v === undefined || v === '') return undefined;
  const n = Number(v.replace(/_/g, ''));
  if (!Number.isFinite(n) || n <= 0) throw new RangeError(`${name} must be a positive number, got ${v}`);
  return n;
}

const r3 = (x: number): number => Math.round(x * 1000) / 1000;

/**
 * Runs the cross-thread benchmark: prints the tables (unless `print:
 * false`), writes bench/results/threads.json, returns the results.
 */
export async function runThreads(options: ThreadsOptions = {}): Promise<ThreadsResults> {
  const started = performance.now();
  const loadStart = loadNow();
  const messages = Math.floor(options.messages ?? envNum('WEFT_BENCH_N') ?? 1_000_000);
  const rounds = Math.floor(options.rounds ?? envNum('WEFT_BENCH_ROUNDS') ?? 3);
  const runMs = options.runMs ?? envNum('WEFT_BENCH_RUN_MS') ?? 600;
  const timeoutMs = options.timeoutMs ?? envNum('WEFT_BENCH_TIMEOUT_MS') ?? 20_000;
  const seed = options.seed ?? envNum('WEFT_BENCH_SEED') ?? Date.now() % 1e9;
  const filter = options.cases ?? envList('WEFT_BENCH_THREADS_CASES');
  const log = options.log ?? ((line: string) => process.stderr.write(line + '\n'));
  const cases = allCases(messages).filter((c) => filter === undefined || filter.some((f) => c.id.includes(f)));
  const random = mulberry32(seed);

  // An exception thrown outside the suite's own code (a library event listener) fails the
  // current case instead of ending the whole run.
  let current = '';
  const late: { id: string; error: string }[] = [];
  const uncaught = (e: unknown): void => {
    if (onUncaught !== undefined) onUncaught(e);
    else late.push({ id: current, error: e instanceof Error ? (e.stack ?? e.message) : String(e) });
  };
  process.on('uncaughtException', uncaught);
  const runs = new Map<string, Measured[]>(cases.map((c) => [c.id, []]));
  const failures = new Map<string, string[]>(cases.map((c) => [c.id, []]));
  const timedOut = new Set<string>();
  for (let r = 0; r < rounds; r++) {
    const order = shuffle([...cases], random);
    for (const c of order) {
      if (timedOut.has(c.id)) continue;
      current = c.id;
      gc?.();
      try {
        const m = await measure(c, runMs, timeoutMs);
        runs.get(c.id)!.push(m);
        const rate = (m.messages / m.ms) * 1000;
        log(`threads round ${r + 1}/${rounds} ${c.id}: ${c.metric === 'rate' ? `${(rate / 1e6).toFixed(3)} M/s` : `${((m.ms * 1000) / m.messages).toFixed(2)} µs/round trip`} (${m.messages})`);
      } catch (e) {
        const reason = e instanceof Error ? e.message : String(e);
        failures.get(c.id)!.push(reason);
        if (e instanceof TimeoutError) timedOut.add(c.id);
        log(`threads round ${r + 1}/${rounds} ${c.id}: FAILED ${reason}`);
      }
      for (const l of late.splice(0)) {
        failures.get(l.id)?.push(`uncaught in the main thread after the run: ${l.error}`);
        log(`threads ${l.id}: uncaught in the main thread after the run: ${l.error}`);
      }
    }
  }
  process.off('uncaughtException', uncaught);

  const results: ThreadsCaseResult[] = cases.map((c) => {
    const rs = runs.get(c.id)!;
    const fs = failures.get(c.id)!;
    const failed = fs.length > 0 ? { failures: fs } : {};
    if (rs.length === 0) return { id: c.id, group: c.group, status: 'failed', ...failed };
    const msgs = Math.min(...rs.map((m) => m.messages));
    if (c.metric === 'latency') {
      const us = rs.map((m) => (m.ms * 1000) / m.messages);
      return { id: c.id, group: c.group, status: 'ok', messages: msgs, scaled: msgs < c.full, usPerRoundTrip: r3(median(us)), runs: us.map(r3), ...failed };
    }
    const rates = rs.map((m) => (m.messages / m.ms) * 1000);
    // The bare ring is a reference, "what shared memory can do": its best round.
    // It sometimes falls into a slow mode (producer and consumer in lockstep, a
    // few M/s), and a reference that collapsed would flatter what is compared to it.
    const rate = c.id.endsWith('/ring') ? Math.max(...rates) : median(rates);
    return {
      id: c.id,
      group: c.group,
      status: 'ok',
      messages: msgs,
      scaled: msgs < c.full,
      msgsPerSec: Math.round(rate),
      ...(c.bytesPerMsg !== undefined ? { gbPerSec: r3((rate * c.bytesPerMsg) / 1e9) } : {}),
      runs: rates.map(Math.round),
      ...failed,
    };
  });

  const { ratios, goals } = ratiosAndGoals(results);
  const res: ThreadsResults = {
    suite: 'threads',
    ...machineInfo(loadStart),
    gc: gc !== undefined,
    seed,
    durationMs: Math.round(performance.now() - started),
    options: { messages, rounds, runMs, timeoutMs, capacity: CAP, crossbeamCapacity: CROSSBEAM_CAP, batch: BATCH },
    cases: results,
    ratios,
    goals,
  };
  if (options.print !== false) console.log(formatThreads(res));
  if (options.jsonPath !== null) {
    const root = findRoot(dirname(fileURLToPath(import.meta.url)));
    const file = options.jsonPath ?? join(root, 'bench', 'results', 'threads.json');
    writeJson(file, res);
    if (options.print !== false) console.log(`\nwrote ${file}`);
  }
  return res;
}

function ratiosAndGoals(results: readonly ThreadsCaseResult[]): { ratios: Record<string, number>; goals: Goal[] } {
  const byId = new Map(results.map((r) => [r.id, r]));
  const rate = (id: string): number | undefined => byId.get(id)?.msgsPerSec;
  const lat = (id: string): number | undefined => byId.get(id)?.usPerRoundTrip;
  const ratios: Record<string, number> = {};
  const goals: Goal[] = [];
  const put = (name: string, a: number | undefined, b: number | undefined): number | undefined => {
    if (a === undefined || b === undefined || b === 0) return undefined;
    return (ratios[name] = round2(a / b));
  };
  for (const dir of DIRS) {
    for (const kind of KINDS) {
      const base = `throughput/${dir}/${kind}`;
      for (const impl of ['weft', 'weft-many'] as const) {
        put(`${dir}/${kind}/${impl} ÷ postMessage`, rate(`${base}/${impl}`), rate(`${base}/pm`));
        put(`${dir}/${kind}/${impl} ÷ postMessage×${BATCH}`, rate(`${base}/${impl}`), rate(`${base}/pm-batch`));
        if (kind === 'int') put(`${dir}/int/${impl} ÷ bare ring`, rate(`${base}/${impl}`), rate(`${base}/ring`));
      }
    }
    const d = DIR_LABEL[dir];
    const obj1 = ratios[`${dir}/obj/weft ÷ postMessage`];
    if (obj1 !== undefined) goals.push({ what: `${d} small objects, weft ÷ postMessage one by one`, value: obj1, goal: '≥ 5', met: obj1 >= 5 });
    const objB = ratios[`${dir}/obj/weft ÷ postMessage×${BATCH}`];
    if (objB !== undefined) goals.push({ what: `${d} small objects, weft ÷ postMessage ×${BATCH}`, value: objB, goal: '≥ 1.5', met: objB >= 1.5 });
    const ints = ratios[`${dir}/int/weft ÷ bare ring`];
    if (ints !== undefined) goals.push({ what: `${d} integers, weft ÷ bare ring`, value: ints, goal: '≥ 0.5', met: ints >= 0.5 });
    const gb = byId.get(`throughput/${dir}/bytes/weft`)?.gbPerSec;
    if (gb !== undefined) goals.push({ what: `${d} 64 KiB arrays, weft GB/s`, value: gb, goal: '≥ 2', met: gb >= 2 });
  }
  const m2w = put('pingpong m2w weft ÷ postMessage (time)', lat('pingpong/m2w/weft'), lat('pingpong/m2w/pm'));
  const w2w = put('pingpong w2w weft ÷ postMessage (time)', lat('pingpong/w2w/weft'), lat('pingpong/w2w/pm'));
  if (w2w !== undefined) goals.push({ what: 'worker↔worker round trip, weft ÷ postMessage', value: w2w, goal: '≤ 0.1', met: w2w <= 0.1 });
  if (m2w !== undefined) goals.push({ what: 'main↔worker round trip, weft ÷ postMessage', value: m2w, goal: '≤ 0.5', met: m2w <= 0.5 });
  return { ratios, goals };
}

// ---- the tables ---------------------------------------------------------------

function table(head: string[], rows: string[][]): string {
  return [`| ${head.join(' | ')} |`, `|${head.map(() => '---').join('|')}|`, ...rows.map((r) => `| ${r.join(' | ')} |`)].join('\n');
}

/** The results as Markdown tables with the ratios and goals (the README's format). */
export function formatThreads(res: ThreadsResults): string {
  const byId = new Map(res.cases.map((r) => [r.id, r]));
  const star = (r: ThreadsCaseResult): string => (r.scaled === true ? '*' : '');
  const cell = (id: string, fmt: (r: ThreadsCaseResult) => string): string => {
    const r = byId.get(id);
    if (r === undefined) return '';
    if (r.status === 'failed') return 'failed';
    return fmt(r) + star(r) + (r.failures !== undefined ? ` (${r.failures.length} failed)` : '');
  };
  const mps = (r: ThreadsCaseResult): string => (r.msgsPerSec! / 1e6).toFixed(r.msgsPerSec! < 1e5 ? 3 : 2);
  const x = (v: number | undefined): string => (v === undefined ? '—' : `${v.toFixed(2)}×`);
  const o = res.options;
  const out: string[] = [];
  out.push(
    `Cross-thread channels: ${new Date(res.date).toISOString().slice(0, 10)}, Node ${res.node}, ${res.cpus} CPUs, load average ${res.loadavg.start} → ${res.loadavg.end}; ` +
      `median of ${o.rounds} rounds (case order shuffled per round); up to ${o.messages.toLocaleString('en-US')} messages per run ` +
      `(64 KiB arrays: ÷100; round trips: ÷10); * = fewer, to fit ${o.runMs} ms per run.`,
    '',
    `Throughput, M messages/s (64 KiB arrays: GB/s). weft: sharedBounded(${o.capacity}), async API on the main thread, blocking in workers; ` +
      `sendMany/recvManySync ${o.batch} per call; bare ring: SPSC Int32 ring, ${o.capacity} slots, best round (not the median).`,
    '',
  );
  const rows: string[][] = [];
  for (const dir of DIRS) {
    for (const kind of KINDS) {
      const base = `throughput/${dir}/${kind}`;
      const f = kind === 'bytes' ? (r: ThreadsCaseResult) => `${r.gbPerSec!.toFixed(2)} GB/s` : mps;
      rows.push([
        DIR_LABEL[dir],
        KIND_LABEL[kind],
        cell(`${base}/weft`, f),
        cell(`${base}/weft-many`, f),
        cell(`${base}/pm`, f),
        cell(`${base}/pm-batch`, f),
        kind === 'int' ? cell(`${base}/ring`, f) : '—',
        x(res.ratios[`${dir}/${kind}/weft ÷ postMessage`]),
        x(res.ratios[`${dir}/${kind}/weft ÷ postMessage×${BATCH}`]),
        kind === 'int' ? x(res.ratios[`${dir}/int/weft ÷ bare ring`]) : '—',
        x(res.ratios[`${dir}/${kind}/weft-many ÷ postMessage×${BATCH}`]),
      ]);
    }
  }
  out.push(
    table(
      ['direction', 'values', IMPL_LABEL.weft, IMPL_LABEL['weft-many'], IMPL_LABEL.pm, IMPL_LABEL['pm-batch'], IMPL_LABEL.ring, 'weft ÷ pm', `weft ÷ pm×${o.batch}`, 'weft ÷ ring', `sendMany ÷ pm×${o.batch}`],
      rows,
    ),
    '',
    'Ping-pong round trip, µs (lower is better). weft: two sharedBounded(1); main side awaits send/recv; workers block. postMessage: a MessagePort.',
    '',
  );
  const us = (r: ThreadsCaseResult): string => r.usPerRoundTrip!.toFixed(2);
  out.push(
    table(
      ['between', 'weft', 'postMessage', 'weft ÷ postMessage'],
      (['m2w', 'w2w'] as const).map((d) => [
        d === 'm2w' ? 'main↔worker' : 'worker↔worker',
        cell(`pingpong/${d}/weft`, us),
        cell(`pingpong/${d}/pm`, us),
        x(res.ratios[`pingpong ${d} weft ÷ postMessage (time)`]),
      ]),
    ),
    '',
    `crossbeam workloads across threads, M messages/s, integers, blocking operations; bounded(N) = bounded(${o.crossbeamCapacity}). ` +
      'spsc 1→1, mpsc 3→1, mpmc 2→2, select_rx 3 channels → 1 selectSync consumer (one thread each).',
    '',
    table(
      ['workload', ...FLAVORS],
      WORKLOADS.map((w) => [w, ...FLAVORS.map((f) => cell(`crossbeam/${w}/${f}`, mps))]),
    ),
  );
  const failed = res.cases.filter((c) => c.failures !== undefined);
  if (failed.length > 0) {
    out.push('', 'Failed runs:', ...failed.map((c) => `- ${c.id}: ${[...new Set(c.failures)].join('; ')} (${c.failures!.length} of ${o.rounds})`));
  }
  out.push('', 'Goals:', ...res.goals.map((g) => `- ${g.what}: ${g.value} (goal ${g.goal}) ${g.met ? 'met' : 'NOT MET'}`));
  return out.join('\n');
}

if (process.argv[1] !== undefined && import.meta.url === pathToFileURL(process.argv[1]).href) {
  await runThreads();
}
