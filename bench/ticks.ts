/**
 * Counts, per message, the promises each library creates and the promise
 * jobs (microtask ticks: every `await` resumption and every `then` callback)
 * it runs, on the in-thread benchmark's workloads. These counts explain the
 * throughput table: on one event loop a channel's cost is mostly its
 * promises and the ticks between a send and the matching receive.
 *
 * It runs the benchmark's own adapters under `v8.promiseHooks`, which slows
 * everything down: the counts are exact, the run time means nothing.
 *
 * Run: `npx tsc -p . && node dist/bench/ticks.js`
 * Environment: WEFT_BENCH_PEERS, WEFT_BENCH_WORKLOADS, WEFT_BENCH_FLAVORS
 * (comma lists, as for the benchmark); default weft, floor, @thi.ng/csp and
 * async-channel on spsc, mpsc and mpmc.
 *
 * @module
 */
import { promiseHooks } from 'node:v8';
import { pathToFileURL } from 'node:url';
import { PEERS } from './peers/index.js';
import { FLAVORS, capacityOf, type Flavor, type Peer, type Workload } from './peers/types.js';
import { envList } from './util.js';

const MESSAGES = 20_000;
const PRODUCERS = 4;
const CAP = 64;

let promises = 0;
let jobs = 0;

async function run(peer: Peer<unknown>, workload: Workload, capacity: number): Promise<void> {
  const ch = peer.make(capacity);
  const q = MESSAGES / PRODUCERS;
  const tasks: Promise<unknown>[] = [];
  if (workload === 'spsc') {
    tasks.push(peer.sendLoop(ch, 0, MESSAGES), peer.recvLoop(ch, MESSAGES));
  } else {
    for (let p = 0; p < PRODUCERS; p++) tasks.push(peer.sendLoop(ch, p * q, q));
    if (workload === 'mpsc') tasks.push(peer.recvLoop(ch, MESSAGES));
    else for (let r = 0; r < PRODUCERS; r++) tasks.push(peer.recvLoop(ch, q));
  }
  await Promise.all(tasks);
  peer.dispose(ch);
}

/** Promises created and promise jobs run per message, for one case. */
export async function countTicks(peer: Peer<unknown>, workload: Workload, flavor: Flavor): Promise<{ promises: number; jobs: number }> {
  const capacity = capacityOf(flavor, CAP);
  await run(peer, workload, capacity); // warm-up, uncounted
  promises = jobs = 0;
  const stop = [promiseHooks.onInit(() => promises++), promiseHooks.onBefore(() => jobs++)];
  try {
    await run(peer, workload, capacity);
  } finally {
    for (const s of stop) s();
  }
  return { promises: promises / MESSAGES, jobs: jobs / MESSAGES };
}

if (process.argv[1] !== undefined && import.meta.url === pathToFileURL(process.argv[1]).href) {
  const names = envList('WEFT_BENCH_PEERS') ?? ['weft', 'floor', '@thi.ng/csp', 'async-channel'];
  const workloads = (envList('WEFT_BENCH_WORKLOADS') ?? ['spsc', 'mpsc', 'mpmc']) as Workload[];
  const flavors = (envList('WEFT_BENCH_FLAVORS') ?? FLAVORS) as Flavor[];
  console.log('per message: promises created / promise jobs run (microtask ticks), the harness loops included');
  for (const workload of workloads) {
    for (const flavor of flavors) {
      const cells: string[] = [];
      for (const name of names) {
        const peer = PEERS.find((p) => p.name === name);
        if (peer === undefined || peer.unsupported(workload, flavor) !== undefined) continue;
        const c = await countTicks(peer, workload, flavor);
        cells.push(`${name} ${c.promises.toFixed(2)}/${c.jobs.toFixed(2)}`);
      }
      console.log(`${workload.padEnd(5)} ${flavor.padEnd(11)} ${cells.join('   ')}`);
    }
  }
}
