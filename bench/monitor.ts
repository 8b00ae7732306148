/**
 * The hang monitor benchmark.
 *
 * (a) Reporting cost. The in-thread spsc workload (one producer loop
 * awaiting every `send`, one consumer loop awaiting every `recv`, on a
 * weft `bounded(64)`), with the consumer reporting to a running monitor
 * (`notifyWait()` before each receive, `notifyActivity('msg')` after it)
 * versus not reporting, monitor not started. The same again with the
 * consumer as a component from `spawn`: watched by a monitor (it reports
 * by itself) versus no monitor. Goal: slowdown under 5%. Load on a shared
 * 2-core machine swings single runs by ±20%, so the suite also times the
 * two calls alone in a tight loop and relates that to the time of one
 * message.
 *
 * (b) Alert latency. A component goes busy and spins, on the main thread or
 * on a worker thread; the time from the start of the hang to the moment
 * the monitor raises the permanent alert with its frames (the alert's
 * `raisedAt`), minus the configured `permanentMs`. Goal: ≤ 50 ms.
 *
 * Method: (a) `rounds` rounds, each running the plain pair and the
 * component pair once, in a fresh random order, a forced GC before each
 * run; each run checks the sum of what it received. Reported: the median
 * msgs/s per variant and the median of the per-round slowdowns, by wall
 * time and by the process's CPU time (every thread, the monitor's own
 * included; preemption by other processes does not count in it, so it is
 * the steadier figure on a shared machine). (b) every
 * (thread, permanentMs) `latencyRounds` times; each sample must carry
 * frames that include the spinning function. Reported: median and worst.
 *
 * Run: `npx tsc -p tsconfig.json && node --expose-gc dist/bench/monitor.js`
 * (or `WEFT_BENCH_SUITES=monitor npm run bench`).
 * Environment: WEFT_BENCH_MONITOR_N (messages per run, default 1,000,000),
 * WEFT_BENCH_MONITOR_ROUNDS (default 9), WEFT_BENCH_MONITOR_LATENCY_ROUNDS
 * (default 5).
 *
 * @module
 */
import { dirname, join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { isMainThread, parentPort, Worker, workerData } from 'node:worker_threads';
import { bounded, spawn, type Receiver, type Sender } from '../src/index.js';
import { joinHangMonitor, startHangMonitor, type HangAlert, type HangMonitor, type MonitorToken } from '../src/monitor/index.js';
import { envInt, gc, median, shuffle, writeJson, loadNow, machineInfo } from './util.js';

const CAP = 64;
const PERIOD_MS = 10;
const TIMEOUTS_MS = [200, 500, 1000] as const;

/** Options of {@link runMonitor}; each has a default and an environment variable. */
export interface MonitorBenchOptions {
  messages?: number;
  rounds?: number;
  latencyRounds?: number;
}

type Variant = 'plain-off' | 'plain-on' | 'component-off' | 'component-on';

const now = (): number => performance.timeOrigin + performance.now();

/** The hot loop that must stay cheap: spins a named function so the stack sample can be checked. */
function hangHere(ms: number): number {
  const end = Date.now() + ms;
  let x = 0;
  while (Date.now() < end) for (let i = 0; i < 1000; i++) x = (x + i) % 1000003;
  return x;
}

async function producer(tx: Sender<number>, n: number): Promise<void> {
  for (let i = 0; i < n; i++) await tx.send(i);
  tx.close();
}

/** One run's rate by wall-clock time and by the process's CPU time (every thread: the monitor's included). */
interface Rate {
  wall: number;
  cpu: number;
}

/** One spsc run; returns msgs/s by wall-clock time and per CPU-second. */
async function spsc(variant: Variant, n: number): Promise<Rate> {
  gc?.();
  const [tx, rx] = bounded<number>(CAP);
  const monitor = variant.endsWith('-on') ? startHangMonitor({ periodMs: PERIOD_MS, components: { transientMs: 1000, permanentMs: 5000 } }) : undefined;
  if (monitor !== undefined) {
    await monitor.ready;
    await new Promise((r) => setTimeout(r, 200)); // let the new thread's start-up compilation settle
  }
  const expected = (n * (n - 1)) / 2;
  const t0 = performance.now();
  const c0 = process.cpuUsage();
  let sum: number;
  if (variant.startsWith('plain')) {
    const reg = monitor?.register('consumer', { transientMs: 1000, permanentMs: 5000 });
    const consume = async (r: Receiver<number>): Promise<number> => {
      let s = 0;
      if (reg === undefined) {
        for (let i = 0; i < n; i++) s += await r.recv();
      } else {
        for (let i = 0; i < n; i++) {
          reg.notifyWait();
          s += await r.recv();
          reg.notifyActivity('msg');
        }
        reg.unregister();
      }
      return s;
    };
    [, sum] = await Promise.all([producer(tx, n), consume(rx)]);
  } else {
    const c = spawn({ init: () => ({ s: 0 }), handle: (st, msg) => void (st.s += msg.value), cleanup: (st) => st.s }, { inputs: { rx }, name: 'consumer' });
    [, { result: sum }] = await Promise.all([producer(tx, n), c.done]);
  }
  const dt = performance.now() - t0;
  const c1 = process.cpuUsage(c0);
  rx.close();
  await monitor?.shutdown();
  monitor?.alerts.close();
  if (sum !== expected) throw new Error(`${variant}: received sum ${sum}, expected ${expected}`);
  return { wall: n / (dt / 1000), cpu: n / ((c1.user + c1.system) / 1e6) };
}

/** ns per notifyWait() + notifyActivity('msg') pair, median of 7 runs of 2M pairs. */
async function callCost(): Promise<number> {
  const m = startHangMonitor({ periodMs: PERIOD_MS, components: false });
  await m.ready;
  const reg = m.register('calls', { transientMs: 1000, permanentMs: 5000 });
  const n = 2_000_000;
  const runs: number[] = [];
  for (let r = 0; r < 8; r++) {
    const t0 = performance.now();
    for (let i = 0; i < n; i++) {
      reg.notifyWait();
      reg.notifyActivity('msg');
    }
    if (r > 0) runs.push(((performance.now() - t0) * 1e6) / n); // the first run warms up
  }
  reg.unregister();
  await m.shutdown();
  m.alerts.close();
  return median(runs);
}

interface LatencySample {
  thread: 'main' | 'worker';
  permanentMs: number;
  /** raisedAt − hang start − permanentMs */
  overshootMs: number;
  frames: number;
}

/** The first permanent alert for `component`; the guard timer also keeps the process alive meanwhile (awaiting alerts alone does not). */
async function firstPermanent(m: HangMonitor, component: string): Promise<HangAlert> {
  let guard: ReturnType<typeof setTimeout> | undefined;
  const timeout = new Promise<never>((_, reject) => {
    guard = setTimeout(() => reject(new Error(`no permanent alert for ${component} within 30 s`)), 30_000);
  });
  try {
    return await Promise.race([
      (async () => {
        for (;;) {
          const a = await m.alerts.recv();
          if (a.kind === 'permanent' && a.component === component) return a;
        }
      })(),
      timeout,
    ]);
  } finally {
    clearTimeout(guard);
  }
}

function checked(a: HangAlert, start: number, permanentMs: number, thread: 'main' | 'worker'): LatencySample {
  if (a.frames === undefined || !a.frames.some((f) => f.functionName === 'hangHere')) {
    throw new Error(`${thread} ${permanentMs} ms: the permanent alert has no frames naming hangHere: ${JSON.stringify(a.frames?.slice(0, 3))}`);
  }
  return { thread, permanentMs, overshootMs: a.raisedAt - start - permanentMs, frames: a.frames.length };
}

async function latencyMain(permanentMs: number): Promise<LatencySample> {
  const m = startHangMonitor({ periodMs: PERIOD_MS, components: false });
  try {
    const reg = m.register('bench-main', { transientMs: permanentMs / 2, permanentMs });
    await m.ready;
    await new Promise((r) => setTimeout(r, 50)); // the monitor has seen the registration
    reg.notifyActivity('hang');
    const start = now();
    hangHere(permanentMs + 300);
    reg.notifyWait();
    return checked(await firstPermanent(m, 'bench-main'), start, permanentMs, 'main');
  } finally {
    await m.shutdown();
    m.alerts.close();
  }
}

async function latencyWorker(permanentMs: number): Promise<LatencySample> {
  const m = startHangMonitor({ periodMs: PERIOD_MS, components: false });
  const token = m.token();
  const startBuf = new Float64Array(new SharedArrayBuffer(8));
  const w = new Worker(new URL(import.meta.url), { workerData: { token, permanentMs, start: startBuf.buffer }, transferList: [token.port] });
  const exited = new Promise((r) => w.once('exit', r));
  try {
    await m.ready;
    const a = await firstPermanent(m, 'bench-worker');
    const start = startBuf[0]!;
    if (!(start > 0)) throw new Error('worker: the hang start was not recorded before its alert');
    return checked(a, start, permanentMs, 'worker');
  } finally {
    await exited;
    await m.shutdown();
    m.alerts.close();
  }
}

/** The worker side of {@link latencyWorker}. */
async function workerMain(): Promise<void> {
  const { token, permanentMs, start } = workerData as { token: MonitorToken; permanentMs: number; start: SharedArrayBuffer };
  const member = joinHangMonitor(token, { components: false });
  const reg = member.register('bench-worker', { transientMs: permanentMs / 2, permanentMs });
  await new Promise((r) => setTimeout(r, 100));
  reg.notifyActivity('hang');
  new Float64Array(start)[0] = now();
  hangHere(permanentMs + 300);
  reg.notifyWait();
  reg.unregister();
  member.leave();
  parentPort?.close();
}

/** Runs both parts, prints a summary and writes bench/results/monitor.json. */
export async function runMonitor(options: MonitorBenchOptions = {}): Promise<{ file: string; table: string }> {
  const messages = options.messages ?? envInt('WEFT_BENCH_MONITOR_N', 1_000_000);
  const rounds = options.rounds ?? envInt('WEFT_BENCH_MONITOR_ROUNDS', 9);
  const latencyRounds = options.latencyRounds ?? envInt('WEFT_BENCH_MONITOR_LATENCY_ROUNDS', 5);
  const load0 = loadNow();
  const log = (s: string): void => void process.stderr.write(`${s}\n`);

  // (a) reporting cost; one warm-up run of each variant first.
  const variants: Variant[] = ['plain-off', 'plain-on', 'component-off', 'component-on'];
  for (const v of variants) await spsc(v, Math.min(messages, 100_000));
  const rates: Record<Variant, number[]> = { 'plain-off': [], 'plain-on': [], 'component-off': [], 'component-on': [] };
  const plainSlow: number[] = [];
  const compSlow: number[] = [];
  const plainSlowCpu: number[] = [];
  const compSlowCpu: number[] = [];
  for (let r = 0; r < rounds; r++) {
    const got = {} as Record<Variant, Rate>;
    for (const v of shuffle([...variants])) got[v] = await spsc(v, messages);
    for (const v of variants) rates[v].push(got[v].wall);
    plainSlow.push(1 - got['plain-on'].wall / got['plain-off'].wall);
    compSlow.push(1 - got['component-on'].wall / got['component-off'].wall);
    plainSlowCpu.push(1 - got['plain-on'].cpu / got['plain-off'].cpu);
    compSlowCpu.push(1 - got['component-on'].cpu / got['component-off'].cpu);
    log(`round ${r + 1}/${rounds}: ${variants.map((v) => `${v} ${(got[v].wall / 1e6).toFixed(2)}M/s (${(got[v].cpu / 1e6).toFixed(2)}M/cpu-s)`).join(', ')}`);
  }
  // The calls alone, in a tight loop: a figure that load noise hardly moves.
  const pairNs = await callCost();
  const cost = {
    pairNs,
    shareOfPlainMessage: pairNs / (1e9 / median(rates['plain-off'])),
    messages,
    rounds,
    msgsPerSec: Object.fromEntries(variants.map((v) => [v, Math.round(median(rates[v]))])) as Record<Variant, number>,
    runs: rates,
    plainSlowdown: median(plainSlow),
    componentSlowdown: median(compSlow),
    plainSlowdownOfMedians: 1 - median(rates['plain-on']) / median(rates['plain-off']),
    componentSlowdownOfMedians: 1 - median(rates['component-on']) / median(rates['component-off']),
    plainSlowdownRuns: plainSlow,
    componentSlowdownRuns: compSlow,
    plainSlowdownCpu: median(plainSlowCpu),
    componentSlowdownCpu: median(compSlowCpu),
  };

  // (b) alert latency.
  const samples: LatencySample[] = [];
  for (let r = 0; r < latencyRounds; r++) {
    for (const p of TIMEOUTS_MS) {
      samples.push(await latencyMain(p));
      samples.push(await latencyWorker(p));
    }
  }
  const latency = (['main', 'worker'] as const).flatMap((thread) =>
    TIMEOUTS_MS.map((permanentMs) => {
      const xs = samples.filter((s) => s.thread === thread && s.permanentMs === permanentMs).map((s) => s.overshootMs);
      return { thread, permanentMs, medianOvershootMs: +median(xs).toFixed(1), maxOvershootMs: +Math.max(...xs).toFixed(1), runs: xs.map((x) => +x.toFixed(1)) };
    }),
  );

  const pct = (x: number): string => `${(x * 100).toFixed(1)}%`;
  const lines = [
    `monitor (a) reporting cost, spsc bounded(${CAP}), ${messages} msgs, median of ${rounds} rounds:`,
    ...variants.map((v) => `  ${v.padEnd(14)} ${(cost.msgsPerSec[v] / 1e6).toFixed(2)} M msgs/s`),
    `  slowdown with reporting, median of per-round ratios: plain loop ${pct(cost.plainSlowdown)}, component loop ${pct(cost.componentSlowdown)} (goal < 5%)`,
    `  slowdown with reporting, ratio of medians:          plain loop ${pct(cost.plainSlowdownOfMedians)}, component loop ${pct(cost.componentSlowdownOfMedians)}`,
    `  slowdown in CPU time (all threads), median of rounds: plain loop ${pct(cost.plainSlowdownCpu)}, component loop ${pct(cost.componentSlowdownCpu)}`,
    `  notifyWait() + notifyActivity('msg') alone: ${pairNs.toFixed(1)} ns per pair = ${pct(cost.shareOfPlainMessage)} of a plain-off spsc message`,
    `monitor (b) permanent alert with frames, overshoot past permanentMs (period ${PERIOD_MS} ms), ${latencyRounds} runs each:`,
    ...latency.map((l) => `  ${l.thread.padEnd(6)} permanentMs ${String(l.permanentMs).padStart(4)}: median +${l.medianOvershootMs} ms, worst +${l.maxOvershootMs} ms (goal ≤ +50 ms)`),
  ];
  const result = {
    suite: 'monitor',
    ...machineInfo(load0),
    periodMs: PERIOD_MS,
    cost,
    latency,
  };
  const file = join(dirname(fileURLToPath(import.meta.url)), '..', '..', 'bench', 'results', 'monitor.json');
  writeJson(file, result);
  return { file, table: lines.join('\n') };
}

if (!isMainThread && (workerData as { permanentMs?: number } | null)?.permanentMs !== undefined) {
  await workerMain();
} else if (isMainThread && process.argv[1] !== undefined && import.meta.url === pathToFileURL(process.argv[1]).href) {
  const { file, table } = await runMonitor();
  console.log(table);
  console.log(`\nwrote ${file}`);
}
