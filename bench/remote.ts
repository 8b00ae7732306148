/**
 * The remote suite: weft channels on NATS JetStream against the raw
 * `@nats-io/jetstream` client, on one throwaway nats-server started here
 * (127.0.0.1, free port, temp store), in the same run.
 *
 * Throughput, end to end (produced, consumed, acknowledged; every message
 * checked to arrive exactly once):
 * - weft: a remote bounded channel, one producer loop awaiting every `send`,
 *   one consumer `for await` loop on a second link (its own connection);
 * - raw: `await js.publish()` per message; `js.publish()` with 1,000 in
 *   flight; both into a work-queue stream without a message limit (the raw
 *   client has no backpressure: a bounded stream would refuse publishes),
 *   consumed by a pull consumer (`consume()`) acking each message.
 * Producer and consumer run in this one process (2 cores: the server needs
 * the other), for weft and raw alike.
 * Latency: request/reply round trips, weft `call()` over a remote channel
 * (the reply Sender travels inside the request) against a raw NATS
 * `request()` to a subscriber that responds.
 *
 * Run alone: `npx tsc -p tsconfig.json && node dist/bench/remote.js`.
 * Environment: WEFT_BENCH_REMOTE_N (messages of the weft and 1,000-in-flight
 * runs, default 100000), WEFT_BENCH_REMOTE_AWAITED_N (default 10000: the
 * awaited raw publish is slow), WEFT_BENCH_REMOTE_RTT_N (default 2000),
 * WEFT_BENCH_REMOTE_WARMUP_N (default 20000: messages of an untimed first
 * pass of the weft and 1,000-in-flight runs, so that neither is measured
 * before the JIT compiled its hot paths; 0 skips it).
 *
 * @module
 */
import { dirname, join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { connect as natsConnect, type NatsConnection } from '@nats-io/transport-node';
import { AckPolicy, DiscardPolicy, jetstream, jetstreamManager, RetentionPolicy, StorageType } from '@nats-io/jetstream';
import type { Sender } from '../src/index.js';
import { call, connect, startServer, type Link } from '../src/remote/index.js';
import { envInt, findRoot, writeJson } from './util.js';

interface Throughput {
  readonly name: string;
  readonly messages: number;
  readonly seconds: number;
  readonly perSecond: number;
  readonly exactlyOnce: boolean;
}

interface Latency {
  readonly name: string;
  readonly roundTrips: number;
  readonly medianUs: number;
  readonly p99Us: number;
  readonly perSecond: number;
}

/** What {@link runRemote} returns (and writes to bench/results/remote.json). */
export interface RemoteResult {
  readonly suite: 'remote';
  readonly date: string;
  readonly node: string;
  readonly server: string;
  readonly throughput: readonly Throughput[];
  readonly latency: readonly Latency[];
  readonly ratios: {
    readonly weftVsAwaitedPublish: number;
    readonly weftVsPublish1000InFlight: number;
    readonly callVsRequestMedian: number;
  };
}

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

/** Waits until a consumer has nothing pending and nothing unacknowledged. */
async function settled(nc: NatsConnection, stream: string, consumer: string): Promise<void> {
  const jsm = await jetstreamManager(nc);
  for (;;) {
    const ci = await jsm.consumers.info(stream, consumer);
    if (ci.num_pending === 0 && ci.num_ack_pending === 0) return;
    await sleep(2);
  }
}

async function weftThroughput(url: string, n: number): Promise<Throughput> {
  const producer: Link = await connect({ servers: url });
  const consumer: Link = await connect({ servers: url });
  const name = `bench-${process.pid}-${Date.now()}`;
  try {
    const tx = await producer.sender<number>(name, { capacity: 10_000 });
    const rx = await consumer.receiver<number>(name, { prefetch: 512 });
    const seen = new Uint8Array(n);
    let dups = 0;
    const t0 = performance.now();
    const consuming = (async () => {
      let got = 0;
      for await (const v of rx) {
        if (seen[v]++ !== 0) dups++;
        if (++got === n) break;
      }
    })();
    for (let i = 0; i < n; i++) await tx.send(i);
    await consuming;
    await settled(consumer.nc, `weft-ch-${name}`, 'weft'); // every ack is in
    const seconds = (performance.now() - t0) / 1000;
    tx.close();
    rx.close();
    const exactlyOnce = dups === 0 && seen.every((c) => c === 1);
    await producer.delete(name);
    return { name: 'weft remote bounded(10000): await send per message', messages: n, seconds, perSecond: n / seconds, exactlyOnce };
  } finally {
    await producer.close();
    await consumer.close();
  }
}

async function rawThroughput(url: string, n: number, inFlight: number): Promise<Throughput> {
  const pub = await natsConnect({ servers: url });
  const sub = await natsConnect({ servers: url });
  const stream = `RAW_${process.pid}_${inFlight}`;
  try {
    const jsm = await jetstreamManager(pub);
    await jsm.streams.add({
      name: stream,
      subjects: [`raw.${stream}`],
      retention: RetentionPolicy.Workqueue,
      // no max_msgs: the raw client has no backpressure, a full stream would refuse its publishes
      discard: DiscardPolicy.New,
      storage: StorageType.File,
    });
    await jsm.consumers.add(stream, { durable_name: 'c', ack_policy: AckPolicy.Explicit });
    const js = jetstream(pub);
    const consumer = await jetstream(sub).consumers.get(stream, 'c');
    const seen = new Uint8Array(n);
    let dups = 0;
    const payload = (i: number): Uint8Array => {
      const b = new Uint8Array(8);
      new DataView(b.buffer).setFloat64(0, i);
      return b;
    };
    const t0 = performance.now();
    const messages = await consumer.consume({ max_messages: 512 });
    const consuming = (async () => {
      let got = 0;
      for await (const m of messages) {
        const v = new DataView(m.data.buffer, m.data.byteOffset, 8).getFloat64(0);
        if (seen[v]++ !== 0) dups++;
        m.ack();
        if (++got === n) break;
      }
    })();
    if (inFlight === 1) {
      for (let i = 0; i < n; i++) await js.publish(`raw.${stream}`, payload(i), { msgID: `${i}` });
    } else {
      const pending = new Set<Promise<unknown>>();
      for (let i = 0; i < n; i++) {
        const p: Promise<unknown> = js.publish(`raw.${stream}`, payload(i), { msgID: `${i}` }).finally(() => pending.delete(p));
        pending.add(p);
        if (pending.size >= inFlight) await Promise.race(pending);
      }
      await Promise.all(pending);
    }
    await consuming;
    await settled(sub, stream, 'c');
    const seconds = (performance.now() - t0) / 1000;
    await messages.close();
    await jsm.streams.delete(stream);
    const label = inFlight === 1 ? 'raw js.publish awaited per message' : `raw js.publish, ${inFlight} in flight`;
    return { name: `${label} + pull/ack`, messages: n, seconds, perSecond: n / seconds, exactlyOnce: dups === 0 && seen.every((c) => c === 1) };
  } finally {
    await pub.close();
    await sub.close();
  }
}

function percentile(sorted: number[], p: number): number {
  return sorted[Math.min(sorted.length - 1, Math.floor(p * sorted.length))]!;
}

async function weftLatency(url: string, n: number): Promise<Latency> {
  type Req = { x: number; reply: Sender<number> };
  const client = await connect({ servers: url });
  const service = await connect({ servers: url });
  const name = `rtt-${process.pid}-${Date.now()}`;
  try {
    const requests = await service.receiver<Req>(name, { capacity: 100 });
    const serving = (async () => {
      for await (const r of requests) {
        await r.reply.send(r.x + 1);
        r.reply.close();
      }
    })();
    const tx = await client.sender<Req>(name);
    for (let i = 0; i < 50; i++) await call(tx, (reply: Sender<number>) => ({ x: i, reply })); // warm up
    const times: number[] = [];
    const t0 = performance.now();
    for (let i = 0; i < n; i++) {
      const s = performance.now();
      const v = await call(tx, (reply: Sender<number>) => ({ x: i, reply }));
      times.push(performance.now() - s);
      if (v !== i + 1) throw new Error('bad answer');
    }
    const total = (performance.now() - t0) / 1000;
    tx.close();
    await serving;
    requests.close();
    await client.delete(name);
    times.sort((a, b) => a - b);
    return { name: 'weft call() over a remote channel (reply Sender inside)', roundTrips: n, medianUs: percentile(times, 0.5) * 1000, p99Us: percentile(times, 0.99) * 1000, perSecond: n / total };
  } finally {
    await client.close();
    await service.close();
  }
}

async function rawLatency(url: string, n: number): Promise<Latency> {
  const a = await natsConnect({ servers: url });
  const b = await natsConnect({ servers: url });
  try {
    const subject = `rtt.raw.${process.pid}`;
    b.subscribe(subject, { callback: (_e, m) => { m.respond(m.data); } });
    await b.flush();
    for (let i = 0; i < 50; i++) await a.request(subject, 'x');
    const times: number[] = [];
    const t0 = performance.now();
    for (let i = 0; i < n; i++) {
      const s = performance.now();
      await a.request(subject, 'ping', { timeout: 5000 });
      times.push(performance.now() - s);
    }
    const total = (performance.now() - t0) / 1000;
    times.sort((x, y) => x - y);
    return { name: 'raw NATS request() (core, no JetStream)', roundTrips: n, medianUs: percentile(times, 0.5) * 1000, p99Us: percentile(times, 0.99) * 1000, perSecond: n / total };
  } finally {
    await a.close();
    await b.close();
  }
}

/** Prints the result as a table. */
export function formatRemote(r: RemoteResult): string {
  const lines: string[] = [];
  lines.push(`remote suite (nats-server ${r.server}, node ${r.node})`);
  lines.push('');
  lines.push('throughput, end to end (produced, consumed, acked)        msgs      sec     msgs/s  exactly-once');
  for (const t of r.throughput) {
    lines.push(`  ${t.name.padEnd(56)} ${String(t.messages).padStart(7)} ${t.seconds.toFixed(2).padStart(8)} ${Math.round(t.perSecond).toString().padStart(10)}  ${t.exactlyOnce ? 'yes' : 'NO'}`);
  }
  lines.push('');
  lines.push('request/reply round trip                                  trips  median µs   p99 µs    trips/s');
  for (const l of r.latency) {
    lines.push(`  ${l.name.padEnd(56)} ${String(l.roundTrips).padStart(5)} ${l.medianUs.toFixed(0).padStart(10)} ${l.p99Us.toFixed(0).padStart(8)} ${Math.round(l.perSecond).toString().padStart(10)}`);
  }
  lines.push('');
  lines.push(`weft / raw awaited js.publish:        ${r.ratios.weftVsAwaitedPublish.toFixed(1)}×  (goal ≥ 10×)`);
  lines.push(`weft / raw js.publish 1000 in flight: ${r.ratios.weftVsPublish1000InFlight.toFixed(1)}×  (goal ≥ 3×)`);
  lines.push(`weft call() median / raw request():   ${r.ratios.callVsRequestMedian.toFixed(1)}×`);
  return lines.join('\n');
}

/**
 * Runs the remote suite against its own nats-server, prints the table and
 * writes `bench/results/remote.json`. Returns the result.
 *
 * @example
 * ```ts
 * import { runRemote } from './remote.js';
 * const result = await runRemote();
 * ```
 */
export async function runRemote(): Promise<unknown> {
  const n = envInt('WEFT_BENCH_REMOTE_N', 100_000);
  const awaitedN = envInt('WEFT_BENCH_REMOTE_AWAITED_N', 10_000);
  const rttN = envInt('WEFT_BENCH_REMOTE_RTT_N', 2000);
  const warmN = envInt('WEFT_BENCH_REMOTE_WARMUP_N', 20_000);
  const server = await startServer({ maxFile: 1024 * 1024 * 1024, maxMemory: 256 * 1024 * 1024 });
  try {
    const version = (await (await fetch(`http://127.0.0.1:${server.monitorPort}/varz`)).json()) as { version: string };
    // Warm-up, discarded: the first pass of each path runs unoptimized code (both clients alike).
    if (warmN > 0) {
      await weftThroughput(server.url, warmN);
      await rawThroughput(server.url, warmN, 1000);
    }
    const weft = await weftThroughput(server.url, n);
    const awaited = await rawThroughput(server.url, awaitedN, 1);
    const inFlight = await rawThroughput(server.url, n, 1000);
    const call = await weftLatency(server.url, rttN);
    const raw = await rawLatency(server.url, rttN);
    const result: RemoteResult = {
      suite: 'remote',
      date: new Date().toISOString(),
      node: process.version,
      server: version.version,
      throughput: [weft, awaited, inFlight],
      latency: [call, raw],
      ratios: {
        weftVsAwaitedPublish: weft.perSecond / awaited.perSecond,
        weftVsPublish1000InFlight: weft.perSecond / inFlight.perSecond,
        callVsRequestMedian: call.medianUs / raw.medianUs,
      },
    };
    console.log(formatRemote(result));
    const file = writeJson(join(findRoot(dirname(fileURLToPath(import.meta.url))), 'bench', 'results', 'remote.json'), result);
    console.log(`\nwrote ${file}`);
    return result;
  } finally {
    await server.stop();
  }
}

if (process.argv[1] !== undefined && import.meta.url === pathToFileURL(process.argv[1]).href) {
  await runRemote();
}
