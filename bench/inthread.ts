/**
 * The in-thread benchmark: weft against other in-loop channel libraries and
 * a hand-written floor, on crossbeam-channel's benchmark workloads adapted
 * to one event loop.
 *
 * Workloads (each moves `messages` small integers, 1,000,000 by default):
 * - seq: one task sends all, then receives all (only where that cannot
 *   deadlock: unbounded, or a capacity >= the message count);
 * - spsc: one producer loop awaiting every send, one consumer loop awaiting
 *   every receive, run concurrently;
 * - mpsc: 4 producers (a quarter each), 1 consumer;
 * - mpmc: 4 producers, 4 consumers (a quarter each);
 * - select_rx: 4 channels, each fed by its own producer; one consumer
 *   selecting over the 4 receivers;
 * - select_both: 4 producers each selecting over sends on the 4 channels,
 *   4 consumers each selecting over receives on them.
 * Flavors: bounded(0) (rendezvous), bounded(1), bounded(N) (capacity 64),
 * unbounded.
 *
 * Method: every library runs in this one process. A calibration pass (also
 * the warm-up) sizes each case; then `rounds` rounds run every supported
 * case once each, in a fresh random order per round, with a forced GC
 * before each run when `--expose-gc` is on. A measurement times one whole
 * workload run. Each run checks that every message arrived (the count is
 * fixed per loop and the sum of the values must match), so a broken adapter
 * fails instead of reporting a fast number; a run that does not finish
 * within the timeout fails too. The result is the median msgs/s per
 * (workload, flavor, library). A case whose full-size run would take longer
 * than 4/3 × `runMs` moves fewer messages: its calibrated rate times
 * `runMs`, at least `minMessages`. The table marks such cells with `*`.
 *
 * Run: `npx tsc -p tsconfig.json && node --expose-gc dist/bench/inthread.js`
 * Environment: WEFT_BENCH_N (messages), WEFT_BENCH_ROUNDS, WEFT_BENCH_RUN_MS,
 * WEFT_BENCH_CAP (the N of bounded(N)), WEFT_BENCH_PEERS, WEFT_BENCH_WORKLOADS,
 * WEFT_BENCH_FLAVORS (comma lists), WEFT_BENCH_SEED, WEFT_BENCH_TIMEOUT_MS, WEFT_BENCH_WARM, WEFT_BENCH_TRAIN
 * (0: no resident channels; see {@link InThreadOptions.warm}), WEFT_BENCH_CLOCK (wall or cpu).
 *
 * @module
 */
import { readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { PEERS } from './peers/index.js';
import { capacityOf, FLAVORS, WORKLOADS, type Flavor, type Peer, type Workload } from './peers/types.js';
import { envList, findRoot, gc, median, mulberry32, round2, shuffle, writeJson, loadNow, machineInfo, type MachineInfo } from './util.js';

export type { Flavor, Workload } from './peers/types.js';

/** Options of {@link runInThread}; every field has a default (and most an environment variable). */
export interface InThreadOptions {
  /** Messages per run (WEFT_BENCH_N; default 1,000,000; rounded down to a multiple of 4). */
  messages?: number;
  /** Measured rounds (WEFT_BENCH_ROUNDS; default 5). */
  rounds?: number;
  /** Longest intended run in ms: slower cases move fewer messages (WEFT_BENCH_RUN_MS; default 400). */
  runMs?: number;
  /** Fewest messages a scaled-down case moves (default 20,000). */
  minMessages?: number;
  /** The N of bounded(N) (WEFT_BENCH_CAP; default 64). */
  cap?: number;
  /** Libraries to run, by column name (WEFT_BENCH_PEERS; default all). */
  peers?: readonly string[];
  /** Workloads to run (WEFT_BENCH_WORKLOADS; default all). */
  workloads?: readonly Workload[];
  /** Flavors to run (WEFT_BENCH_FLAVORS; default all). */
  flavors?: readonly Flavor[];
  /** A run that takes longer fails (WEFT_BENCH_TIMEOUT_MS; default 30,000). */
  timeoutMs?: number;
  /**
   * Keep every library's channel classes alive for the whole suite (WEFT_BENCH_WARM; default
   * true, `0` turns it off): before calibrating, each library gets, per flavor, one channel with
   * a parked receive and one with a parked send, made through its adapter and never completed.
   * Each run makes fresh channels and a GC runs between runs; without residents, V8 may drop a
   * library's hidden classes once all its channels are garbage and throw away the optimized code
   * built on them, so every run starts cold — a cost that depends on how a library builds its
   * objects (classes more than object literals), not on its channel. Warm is what a program with
   * long-lived channels sees; off is what one that makes and drops channels sees.
   */
  warm?: boolean;
  /**
   * Training passes before calibration (WEFT_BENCH_TRAIN; default 3, `0` turns them off): each
   * pass runs every case once with {@link TRAIN_MESSAGES} messages, in a fresh random order. V8
   * compiles a function for the call paths it has seen most by then and keeps those counts for
   * good, so without training a library's code is shaped by whichever workload the shuffle puts
   * first: one seed gave weft's mpsc rows 4.4 M msgs/s, another 5.8, on the same build. Passes
   * over every workload spread that first exposure over all of them, for every library alike.
   */
  train?: number;
  /**
   * What a run's duration is (WEFT_BENCH_CLOCK; default `'wall'`): elapsed time, or `'cpu'`, the
   * CPU time this process used (user + system, all its threads: GC helpers included). Every
   * workload runs on one thread, so on a machine busy with other work CPU time leaves out the
   * time the process waited for a core, which elapsed time counts at random.
   */
  clock?: 'wall' | 'cpu';
  /** Seed of the random run order (WEFT_BENCH_SEED; default from the clock). */
  seed?: number;
  /** Progress lines (default: to stderr). */
  log?: (line: string) => void;
}

/** One (workload, flavor, library) cell. */
export interface CaseResult {
  readonly library: string;
  readonly status: 'ok' | 'unsupported' | 'failed';
  /** Why unsupported, or what failed. */
  readonly reason?: string;
  /** Messages moved per run (less than the suite's `messages` for a scaled-down case). */
  readonly messages?: number;
  /** Every measured run, msgs/s, in run order. */
  readonly runs?: readonly number[];
  /** Median msgs/s. */
  readonly msgsPerSec?: number;
  /** msgsPerSec / the floor's, when the floor runs this case. */
  readonly ratioToFloor?: number;
  /** msgsPerSec / the fastest other library's (weft and the floor excluded), when one runs this case. */
  readonly ratioToFastestPeer?: number;
}

/** One table row: a workload on a flavor. */
export interface RowResult {
  readonly workload: Workload;
  readonly flavor: Flavor;
  /** The fastest library other than weft and the floor, if any ran. */
  readonly fastestPeer?: string;
  readonly results: Readonly<Record<string, CaseResult>>;
}

/** Everything {@link runInThread} measured, as written to `bench/results/inthread.json`. */
export interface InThreadResults extends MachineInfo {
  readonly suite: 'inthread';
  readonly gc: boolean;
  readonly seed: number;
  readonly durationMs: number;
  readonly options: {
    readonly messages: number;
    readonly rounds: number;
    readonly runMs: number;
    readonly minMessages: number;
    readonly cap: number;
    readonly timeoutMs: number;
    readonly warm: boolean;
    readonly train: number;
    readonly clock: 'wall' | 'cpu';
  };
  readonly libraries: readonly { readonly name: string; readonly pkg: string; readonly version: string; readonly note: string }[];
  readonly rows: readonly RowResult[];
}

const PRODUCERS = 4;
const CONSUMERS = 4;

/** Options from the environment (unset variables are left out). */
export function optionsFromEnv(env: NodeJS.ProcessEnv = process.env): InThreadOptions {
  const num = (k: string): number | undefined => {
    const v = env[k];
    if (v === undefined || v === '') return undefined;
    const n = Number(v.replace(/_/g, ''));
    if (!Number.isFinite(n) || n < 0) throw new RangeError(`${k} must be a number >= 0, got ${v}`);
    return n;
  };
  const list = (k: string): string[] | undefined => envList(k, env);
  const o: InThreadOptions = {};
  const set = <K extends keyof InThreadOptions>(k: K, v: InThreadOptions[K] | undefined): void => {
    if (v !== undefined) o[k] = v;
  };
  set('messages', num('WEFT_BENCH_N'));
  set('rounds', num('WEFT_BENCH_ROUNDS'));
  set('runMs', num('WEFT_BENCH_RUN_MS'));
  set('cap', num('WEFT_BENCH_CAP'));
  set('timeoutMs', num('WEFT_BENCH_TIMEOUT_MS'));
  set('seed', num('WEFT_BENCH_SEED'));
  set('train', num('WEFT_BENCH_TRAIN'));
  const clock = env['WEFT_BENCH_CLOCK'];
  if (clock !== undefined && clock !== '') o.clock = pick(clock, ['wall', 'cpu'] as const, 'WEFT_BENCH_CLOCK');
  const warm = env['WEFT_BENCH_WARM'];
  if (warm !== undefined && warm !== '') o.warm = !['0', 'false', 'off', 'no'].includes(warm.toLowerCase());
  set('peers', list('WEFT_BENCH_PEERS'));
  set('workloads', list('WEFT_BENCH_WORKLOADS')?.map((w) => pick(w, WORKLOADS, 'WEFT_BENCH_WORKLOADS')));
  set('flavors', list('WEFT_BENCH_FLAVORS')?.map((f) => pick(f, FLAVORS, 'WEFT_BENCH_FLAVORS')));
  return o;
}

function pick<T extends string>(s: string, all: readonly T[], what: string): T {
  const hit = all.find((x) => x === s);
  if (hit === undefined) throw new RangeError(`${what}: unknown ${s}; expected one of ${all.join(', ')}`);
  return hit;
}

/** Why a case cannot run, or undefined: the workload's own limits, then the library's. */
function whyUnsupported(peer: Peer<unknown>, workload: Workload, flavor: Flavor, cap: number, messages: number): string | undefined {
  if (workload === 'seq' && capacityOf(flavor, cap) < messages) return 'seq would deadlock: capacity < message count';
  const own = peer.unsupported(workload, flavor);
  if (own !== undefined) return own;
  if (workload === 'select_rx' && peer.selectRecvLoop === undefined) return 'no select over receives';
  if (workload === 'select_both' && (peer.selectRecvLoop === undefined || peer.selectSendLoop === undefined)) {
    return 'no select over sends';
  }
  return undefined;
}

/** Runs one workload once; resolves with the sum of every value received. */
/**
 * `peer`'s adapter from its own instance of the adapter module for
 * `workload` (a module URL with a query is a separate instance): loops of
 * one workload do not share compiled code or type feedback with another's.
 */
async function adapterFor(peer: Peer<unknown>, workload: Workload): Promise<Peer<unknown>> {
  const mod = (await import(`${peer.module}?workload=${workload}`)) as Record<string, unknown>;
  const own = Object.values(mod).find((v): v is Peer<unknown> => (v as Peer<unknown> | undefined)?.name === peer.name);
  if (own === undefined) throw new Error(`bench: ${peer.module} does not export the adapter ${peer.name}`);
  return own;
}

async function runWorkload(peer: Peer<unknown>, workload: Workload, capacity: number, n: number): Promise<number> {
  const q = n / PRODUCERS;
  const tasks: Promise<unknown>[] = [];
  const sums: Promise<number>[] = [];
  const chans: unknown[] = [];
  const make = (): unknown => {
    const c = peer.make(capacity);
    chans.push(c);
    return c;
  };
  switch (workload) {
    case 'seq': {
      const c = make();
      await peer.sendLoop(c, 0, n);
      sums.push(peer.recvLoop(c, n));
      break;
    }
    case 'spsc': {
      const c = make();
      tasks.push(peer.sendLoop(c, 0, n));
      sums.push(peer.recvLoop(c, n));
      break;
    }
    case 'mpsc':
    case 'mpmc': {
      const c = make();
      for (let p = 0; p < PRODUCERS; p++) tasks.push(peer.sendLoop(c, p * q, q));
      if (workload === 'mpsc') sums.push(peer.recvLoop(c, n));
      else for (let r = 0; r < CONSUMERS; r++) sums.push(peer.recvLoop(c, n / CONSUMERS));
      break;
    }
    case 'select_rx': {
      const cs = Array.from({ length: PRODUCERS }, make);
      for (let p = 0; p < PRODUCERS; p++) tasks.push(peer.sendLoop(cs[p], p * q, q));
      sums.push(peer.selectRecvLoop!(cs, n));
      break;
    }
    case 'select_both': {
      const cs = Array.from({ length: PRODUCERS }, make);
      for (let p = 0; p < PRODUCERS; p++) tasks.push(peer.selectSendLoop!(cs, p * q, q));
      for (let r = 0; r < CONSUMERS; r++) sums.push(peer.selectRecvLoop!(cs, n / CONSUMERS));
      break;
    }
  }
  const [, got] = await Promise.all([Promise.all(tasks), Promise.all(sums)]);
  for (const c of chans) peer.dispose(c);
  return got.reduce((a, b) => a + b, 0);
}

/** Resolves on the next macrotask turn: lets timers and immediates left by the last run settle. */
const turn = (): Promise<void> => new Promise((resolve) => setImmediate(resolve));

/** Elapsed milliseconds. */
const wallMs = (): number => performance.now();
/** CPU milliseconds used by this process so far. */
const cpuMs = (): number => {
  const u = process.cpuUsage();
  return (u.user + u.system) / 1000;
};
let clockMs = wallMs;

/** One timed, verified run: msgs/s. Throws on a wrong sum or a timeout. */
async function measure(peer: Peer<unknown>, workload: Workload, capacity: number, n: number, timeoutMs: number): Promise<number> {
  await turn();
  gc?.();
  await turn();
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`timed out after ${timeoutMs} ms (deadlock or livelock)`)), timeoutMs);
  });
  const t0 = clockMs();
  try {
    const sum = await Promise.race([runWorkload(peer, workload, capacity, n), timeout]);
    const ms = clockMs() - t0;
    const want = (n * (n - 1)) / 2;
    if (sum !== want) throw new Error(`wrong result: sum of received values ${sum}, expected ${want} (lost or duplicated messages)`);
    return (n / ms) * 1000;
  } finally {
    clearTimeout(timer);
  }
}

/** Channels that must stay reachable for the whole suite (see {@link InThreadOptions.warm}). */
const residents: unknown[] = [];

/** One channel with a parked receive and, if it has a capacity, one with a parked send, never completed. */
function keepWarm(peer: Peer<unknown>, capacity: number): void {
  const idle = peer.make(capacity);
  residents.push(idle, peer.recvLoop(idle, 1).catch(() => {}));
  if (capacity !== Infinity) {
    const full = peer.make(capacity);
    residents.push(full, peer.sendLoop(full, 0, capacity + 1).catch(() => {}));
  }
}

interface Case {
  readonly peer: Peer<unknown>;
  readonly workload: Workload;
  readonly flavor: Flavor;
  n: number;
  readonly runs: number[];
  failed?: string;
}

/** Messages per training run (see {@link InThreadOptions.train}). */
const TRAIN_MESSAGES = 1000;

const roundDown4 = (x: number): number => Math.max(PRODUCERS, Math.floor(x / PRODUCERS) * PRODUCERS);

/**
 * Finds a case's message count, warming it up on the way: at most two runs
 * (16k messages, then up to 8× that). The count is the last run's rate times
 * `runMs`, or the full count when that rate moves at least 3/4 of it in
 * `runMs` (so a full run lasts at most 4/3 × `runMs`).
 */
async function calibrate(c: Case, capacity: number, messages: number, minMessages: number, runMs: number, timeoutMs: number): Promise<void> {
  let n = Math.min(messages, roundDown4(16_384));
  for (let step = 0; ; step++) {
    // The larger run decides: some libraries slow down as their queue grows (Array#shift), so a
    // small run may promise a rate a big one never reaches.
    const rate = await measure(c.peer, c.workload, capacity, n, timeoutMs);
    const fit = (rate * runMs) / 1000;
    const target = fit >= messages * 0.75 ? messages : roundDown4(Math.max(minMessages, fit));
    if (step === 1 || target <= n * 2) {
      c.n = target;
      return;
    }
    n = Math.min(target, roundDown4(n * 8));
  }
}

function versionOf(pkg: string): string {
  const here = dirname(fileURLToPath(import.meta.url));
  const root = findRoot(here);
  const path = pkg === '' ? join(root, 'package.json') : join(root, 'node_modules', pkg, 'package.json');
  try {
    return (JSON.parse(readFileSync(path, 'utf8')) as { version?: string }).version ?? '?';
  } catch {
    return '?';
  }
}

/**
 * Runs the in-thread suite and returns its results (print them with
 * {@link formatInThread}, save them with {@link writeInThreadJson}).
 */
export async function runInThread(options: InThreadOptions = {}): Promise<InThreadResults> {
  const started = performance.now();
  const loadStart = loadNow();
  const messages = roundDown4(options.messages ?? 1_000_000);
  const rounds = Math.max(1, Math.floor(options.rounds ?? 5));
  const runMs = options.runMs ?? 400;
  const minMessages = Math.min(messages, options.minMessages ?? 20_000);
  const cap = options.cap ?? 64;
  const timeoutMs = options.timeoutMs ?? 30_000;
  const warm = options.warm ?? true;
  const train = Math.max(0, Math.floor(options.train ?? 3));
  const clock = options.clock ?? 'wall';
  clockMs = clock === 'cpu' ? cpuMs : wallMs;
  const seed = options.seed ?? Date.now() % 1_000_000;
  const log = options.log ?? ((line: string) => process.stderr.write(line + '\n'));
  const workloads = options.workloads ?? WORKLOADS;
  const flavors = options.flavors ?? FLAVORS;
  const peers = options.peers ? PEERS.filter((p) => options.peers!.includes(p.name)) : PEERS;
  if (peers.length === 0) throw new RangeError(`no library matches ${options.peers?.join(', ')}; have ${PEERS.map((p) => p.name).join(', ')}`);
  const rand = mulberry32(seed);

  const cases: Case[] = [];
  const unsupported = new Map<string, string>();
  const key = (w: Workload, f: Flavor, lib: string): string => `${w}\u0000${f}\u0000${lib}`;
  for (const workload of workloads) {
    const own = await Promise.all(peers.map((p) => adapterFor(p, workload)));
    for (const flavor of flavors) {
      for (const peer of own) {
        const why = whyUnsupported(peer, workload, flavor, cap, messages);
        if (why !== undefined) unsupported.set(key(workload, flavor, peer.name), why);
        else cases.push({ peer, workload, flavor, n: messages, runs: [] });
      }
    }
  }
  log(`inthread: ${cases.length} cases, ${rounds} rounds, ${messages} messages, seed ${seed}, gc ${gc ? 'on' : 'off (run node with --expose-gc)'}, resident channels ${warm ? 'on' : 'off'}, ${clock} clock`);

  const label = (c: Case): string => `${c.workload} ${c.flavor} ${c.peer.name}`;
  const fail = (c: Case, e: unknown): void => {
    c.failed = e instanceof Error ? e.message : String(e);
    log(`  FAILED ${label(c)}: ${c.failed}`);
  };

  if (warm) {
    const done = new Set<string>();
    for (const c of cases) {
      const k = `${c.peer.name}\u0000${c.flavor}`;
      if (done.has(k)) continue;
      done.add(k);
      keepWarm(c.peer, capacityOf(c.flavor, cap));
    }
  }
  if (train > 0) log(`training: ${train} passes over every case, ${TRAIN_MESSAGES} messages each…`);
  for (let p = 0; p < train; p++) {
    for (const c of shuffle(cases.filter((x) => x.failed === undefined), rand)) {
      try {
        await measure(c.peer, c.workload, capacityOf(c.flavor, cap), TRAIN_MESSAGES, timeoutMs);
      } catch (e) {
        fail(c, e);
      }
    }
  }
  log('calibrating (warm-up)…');
  for (const c of shuffle([...cases], rand)) {
    try {
      await calibrate(c, capacityOf(c.flavor, cap), messages, minMessages, runMs, timeoutMs);
      if (c.n < messages) log(`  ${label(c)}: ${c.n} messages per run`);
    } catch (e) {
      fail(c, e);
    }
  }
  for (let r = 1; r <= rounds; r++) {
    const t0 = performance.now();
    for (const c of shuffle(cases.filter((x) => x.failed === undefined), rand)) {
      try {
        c.runs.push(await measure(c.peer, c.workload, capacityOf(c.flavor, cap), c.n, timeoutMs));
      } catch (e) {
        fail(c, e);
      }
    }
    log(`round ${r}/${rounds}: ${((performance.now() - t0) / 1000).toFixed(1)} s`);
  }

  const rows: RowResult[] = [];
  for (const workload of workloads) {
    for (const flavor of flavors) {
      const here = cases.filter((c) => c.workload === workload && c.flavor === flavor);
      if (here.length === 0) continue;
      const rate = new Map<string, number>();
      for (const c of here) if (c.failed === undefined && c.runs.length > 0) rate.set(c.peer.name, median(c.runs));
      const floorRate = rate.get('floor');
      let fastestPeer: string | undefined;
      for (const [lib, v] of rate) {
        if (lib !== 'weft' && lib !== 'floor' && (fastestPeer === undefined || v > rate.get(fastestPeer)!)) fastestPeer = lib;
      }
      const best = fastestPeer === undefined ? undefined : rate.get(fastestPeer);
      const results: Record<string, CaseResult> = {};
      for (const peer of peers) {
        const c = here.find((x) => x.peer.name === peer.name);
        const why = unsupported.get(key(workload, flavor, peer.name));
        if (c === undefined) results[peer.name] = { library: peer.name, status: 'unsupported', reason: why ?? 'not run' };
        else if (c.failed !== undefined || !rate.has(peer.name)) {
          results[peer.name] = { library: peer.name, status: 'failed', reason: c.failed ?? 'no run', messages: c.n, runs: c.runs };
        } else {
          const v = rate.get(peer.name)!;
          results[peer.name] = {
            library: peer.name,
            status: 'ok',
            messages: c.n,
            runs: c.runs,
            msgsPerSec: v,
            ...(floorRate !== undefined ? { ratioToFloor: v / floorRate } : {}),
            ...(best !== undefined ? { ratioToFastestPeer: v / best } : {}),
          };
        }
      }
      rows.push({ workload, flavor, ...(fastestPeer !== undefined ? { fastestPeer } : {}), results });
    }
  }

  return {
    suite: 'inthread',
    ...machineInfo(loadStart),
    gc: gc !== undefined,
    seed,
    durationMs: Math.round(performance.now() - started),
    options: { messages, rounds, runMs, minMessages, cap, timeoutMs, warm, train, clock },
    libraries: peers.map((p) => ({ name: p.name, pkg: p.pkg || 'weft', version: versionOf(p.pkg), note: p.note })),
    rows,
  };
}

/** The results as a text table (M msgs/s; weft's ratios to the floor and to the fastest peer), with notes. */
export function formatInThread(res: InThreadResults): string {
  const libs = res.libraries.map((l) => l.name);
  const head = ['workload', 'flavor', ...libs, 'weft/floor', 'weft/best peer'];
  const body: string[][] = [];
  let scaled = false;
  for (const row of res.rows) {
    const cells = libs.map((lib) => {
      const r = row.results[lib];
      if (r === undefined || r.status === 'unsupported') return '—';
      if (r.status === 'failed') return 'FAIL';
      const short = r.messages !== undefined && r.messages < res.options.messages;
      scaled ||= short;
      return (r.msgsPerSec! / 1e6).toFixed(2) + (short ? '*' : '');
    });
    const w = row.results['weft'];
    const ratio = (x: number | undefined): string => (x === undefined ? '—' : x.toFixed(2) + '×');
    const best = w?.status === 'ok' && w.ratioToFastestPeer !== undefined ? `${ratio(w.ratioToFastestPeer)} (${row.fastestPeer})` : '—';
    body.push([row.workload, row.flavor, ...cells, ratio(w?.status === 'ok' ? w.ratioToFloor : undefined), best]);
  }
  const widths = head.map((h, i) => Math.max(h.length, ...body.map((r) => r[i]!.length)));
  const line = (r: string[]): string => r.map((c, i) => (i < 2 ? c.padEnd(widths[i]!) : c.padStart(widths[i]!))).join('  ');
  const out: string[] = [];
  const o = res.options;
  out.push(
    `In-thread channels: M msgs/s, median of ${o.rounds} interleaved rounds; ${o.messages.toLocaleString('en-US')} messages per run; ` +
      `bounded(N) = bounded(${o.cap}); Node ${res.node}, ${res.cpus} CPUs, gc between runs ${res.gc ? 'on' : 'OFF'}; resident channels per library ${o.warm ? 'on' : 'off'}; ${o.clock === 'cpu' ? 'CPU time of the process' : 'elapsed time'}; ` +
      `load average ${res.loadavg.start} at start, ${res.loadavg.end} at end`,
  );
  if (Math.max(res.loadavg.start, res.loadavg.end) > res.cpus) {
    out.push(`WARNING: the machine was busy with other work (load average above ${res.cpus}): figures are skewed; compare within one run only.`);
  }
  out.push(line(head), line(widths.map((n) => '-'.repeat(n))), ...body.map(line));
  out.push('');
  out.push('— unsupported; FAIL a run that lost messages, threw or timed out (see JSON).');
  if (scaled) {
    out.push(
      `* fewer messages per run, to keep the suite within minutes: a full run would take over ${Math.round(o.runMs / 0.75)} ms, ` +
        `so the case moves its calibrated rate × ${o.runMs} ms (>= ${o.minMessages.toLocaleString('en-US')}). Messages per run in such cells:`,
    );
    const k = (n: number): string => `${Math.round(n / 1000)}k`;
    for (const lib of libs) {
      const ns = res.rows.flatMap((row) => {
        const r = row.results[lib];
        return r?.status === 'ok' && r.messages! < o.messages ? [r.messages!] : [];
      });
      if (ns.length > 0) out.push(`  ${lib}: ${ns.length} cell${ns.length > 1 ? 's' : ''}, ${k(Math.min(...ns))}–${k(Math.max(...ns))}`);
    }
  }
  out.push('weft/floor: weft / floor (ring buffer, one parked waiter per side, every op awaited); weft/best peer: weft / fastest other library in the row.');
  out.push('Libraries:');
  for (const l of res.libraries) out.push(`  ${l.name} ${l.version}${l.name === 'floor' ? ' (bench/floor.ts)' : ''}: ${l.note}`);
  const reasons = new Map<string, { workload: Workload; flavor: Flavor }[]>();
  for (const row of res.rows) {
    for (const r of Object.values(row.results)) {
      if (r.status === 'ok' || r.reason === undefined) continue;
      const k = `${r.library}: ${r.status === 'failed' ? 'FAILED: ' : ''}${r.reason}`;
      reasons.set(k, [...(reasons.get(k) ?? []), { workload: row.workload, flavor: row.flavor }]);
    }
  }
  if (reasons.size > 0) {
    out.push('Not run (library: reason: where):');
    const rowsOf = (f: Flavor): number => res.rows.filter((row) => row.flavor === f).length;
    for (const [k, cells] of [...reasons].sort(([a], [b]) => a.localeCompare(b))) {
      out.push(`  ${k}: ${where(cells, rowsOf)}`);
    }
  }
  out.push('seq runs only where one task can send everything first: unbounded, or bounded(N) with N >= the message count.');
  return out.join('\n');
}

/** A compact list of table cells: whole flavors first, then workloads sharing their flavors. */
function where(cells: readonly { workload: Workload; flavor: Flavor }[], rowsOf: (f: Flavor) => number): string {
  const parts: string[] = [];
  const byFlavor = new Map<Flavor, Workload[]>();
  for (const c of cells) byFlavor.set(c.flavor, [...(byFlavor.get(c.flavor) ?? []), c.workload]);
  const whole = new Set([...byFlavor].filter(([f, ws]) => ws.length === rowsOf(f)).map(([f]) => f));
  if (whole.size > 0) parts.push(`every workload on ${[...whole].join(', ')}`);
  const byWorkload = new Map<Workload, Flavor[]>();
  for (const c of cells) if (!whole.has(c.flavor)) byWorkload.set(c.workload, [...(byWorkload.get(c.workload) ?? []), c.flavor]);
  const groups = new Map<string, Workload[]>();
  for (const [w, fs] of byWorkload) groups.set(fs.join(', '), [...(groups.get(fs.join(', ')) ?? []), w]);
  for (const [fs, ws] of groups) parts.push(`${ws.join(', ')} on ${fs}`);
  return parts.join('; ');
}

/** Writes the results as JSON (default `bench/results/inthread.json` in the repository); returns the path. */
export function writeInThreadJson(res: InThreadResults, path?: string): string {
  const file = path ?? join(findRoot(dirname(fileURLToPath(import.meta.url))), 'bench', 'results', 'inthread.json');
  return writeJson(file, res);
}

if (process.argv[1] !== undefined && import.meta.url === pathToFileURL(process.argv[1]).href) {
  const res = await runInThread(optionsFromEnv());
  console.log(formatInThread(res));
  console.log(`\nwrote ${writeInThreadJson(res)}`);
}
