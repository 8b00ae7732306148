// Helpers of the cross-thread tests.
import { isMainThread, Worker } from 'node:worker_threads';
import { channelStats, spawnWorker, type HandleMap } from '../../src/shared/index.js';
import type { Handle } from '../../src/channel/handle.js';
import { C_LOCK, C_RECV_WAITERS, C_RING, C_SEND_WAITERS, DEQ, ENQ, HEAD, P_LOCK, RING_HEADER, TAIL } from '../../src/shared/layout.js';

/** Agents still running: a failed test can leave some blocked, and they must not keep the file's process alive. */
const running = new Set<Worker>();
if (isMainThread) {
  // Only the test's own thread: the agents import this module too, and node:test in a worker would report a run of its own.
  const { after } = await import('node:test');
  after(() => Promise.all([...running].map((w) => w.terminate())));
}

export const agentUrl = new URL('./workers/agent.js', import.meta.url);

export interface Agent {
  worker: Worker;
  /** The next message the worker posts that has `key` (or equals it, for strings). */
  message<T = Record<string, unknown>>(key: string): Promise<T>;
  exited: Promise<number>;
}

/** Starts the test agent with `role`, the handles moved in, and more job fields. */
export function agent(role: string, handles: HandleMap, job: Record<string, unknown> = {}): Agent {
  const worker = spawnWorker(agentUrl, { handles, workerData: { role, ...job } });
  running.add(worker);
  worker.once('exit', () => running.delete(worker));
  const inbox: unknown[] = [];
  const waiting: { key: string; resolve: (v: never) => void }[] = [];
  let failure: unknown;
  const matches = (m: unknown, key: string) => m === key || (typeof m === 'object' && m !== null && key in m);
  worker.on('message', (m) => {
    const i = waiting.findIndex((w) => matches(m, w.key));
    if (i >= 0) waiting.splice(i, 1)[0]!.resolve(m as never);
    else inbox.push(m);
  });
  const exited = new Promise<number>((resolve) => {
    worker.on('error', (e) => {
      failure = e;
      for (const w of waiting.splice(0)) (w.resolve as (v: unknown) => void)(Promise.reject(e));
    });
    worker.on('exit', resolve);
  });
  return {
    worker,
    exited,
    message<T>(key: string): Promise<T> {
      if (failure !== undefined) return Promise.reject(failure);
      const i = inbox.findIndex((m) => matches(m, key));
      if (i >= 0) return Promise.resolve(inbox.splice(i, 1)[0] as T);
      return new Promise<T>((resolve) => waiting.push({ key, resolve: resolve as (v: never) => void }));
    },
  };
}

/** Checks exactly-once and per-producer FIFO over the consumers' lists of [p, i] pairs. */
export function checkDelivery(lists: number[][], producers: number, perProducer: number): void {
  const seen = new Uint8Array(producers * perProducer);
  let total = 0;
  for (const got of lists) {
    const last = new Array<number>(producers).fill(-1);
    for (let k = 0; k < got.length; k += 2) {
      const p = got[k]!;
      const i = got[k + 1]!;
      if (!(p >= 0 && p < producers && i >= 0 && i < perProducer)) throw new Error(`bad message ${p}/${i}`);
      if (i <= last[p]!) throw new Error(`producer ${p}: ${i} after ${last[p]} (FIFO broken)`);
      last[p] = i;
      if (seen[p * perProducer + i]) throw new Error(`duplicate ${p}/${i}`);
      seen[p * perProducer + i] = 1;
      total++;
    }
  }
  if (total !== producers * perProducer) {
    const missing = seen.indexOf(0);
    throw new Error(`lost messages: got ${total} of ${producers * perProducer}; first missing ${Math.floor(missing / perProducer)}/${missing % perProducer}`);
  }
}

/** Seeded PRNG (mulberry32, the benchmarks' own). */
export { mulberry32 as rng } from '../../bench/util.js';

/** Resolves once `cond()` holds, checking every few ms; rejects after `ms` (a hang guard). */
export async function until(cond: () => boolean, what: string, ms = 20000): Promise<void> {
  const end = performance.now() + ms;
  while (!cond()) {
    if (performance.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 2));
  }
}

/** Runs a drain-role worker (workers/drain-role.ts) on the handle in `token`; resolves when it exits cleanly. */
export function runDrainRole(role: 'send' | 'recv', token: unknown, n: number): Promise<void> {
  const w = new Worker(new URL('./workers/drain-role.js', import.meta.url), { workerData: { token, role, n } });
  return new Promise((resolve, reject) => {
    w.once('error', reject);
    w.once('exit', (code) => (code === 0 ? resolve() : reject(new Error(`${role} worker exited with ${code}`))));
  });
}

/**
 * The stats and raw state of a shared channel and of this thread's waker,
 * for a test that timed out waiting on it (a rare hang leaves no other trace).
 */
export function channelDump(h: Handle<unknown>): string {
  const core = h.core as unknown as {
    a: { i32: Int32Array; wakeIndex: number; tid: number };
    hw: number;
    sole: boolean;
    recvq: { size: number };
    sendq: { size: number };
    ctx: { waker: { armed: boolean; pending: Set<unknown> } };
  };
  const { a, hw } = core;
  const words = Object.fromEntries(
    Object.entries({ TAIL, ENQ, P_LOCK, C_LOCK, HEAD, DEQ, C_RECV_WAITERS, C_SEND_WAITERS }).map(([k, o]) => [k, a.i32[hw + o]]),
  );
  const ring = a.i32[hw + C_RING]!;
  const size = a.i32[ring >> 2]!;
  const headAt = ring + RING_HEADER + (a.i32[hw + HEAD]! & (size - 1));
  return JSON.stringify({
    stats: channelStats(h),
    words,
    ringSize: size,
    atHead: [a.i32[headAt >> 2], a.i32[(headAt >> 2) + 1]],
    sole: core.sole,
    recvq: core.recvq.size,
    sendq: core.sendq.size,
    waker: { armed: core.ctx.waker.armed, pending: core.ctx.waker.pending.size, wakeWord: a.i32[a.wakeIndex], tid: a.tid },
  });
}
