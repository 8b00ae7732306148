/**
 * The monitor thread's loop: select over registrar messages, control and a
 * periodic tick; drain what is queued; then one checkpoint over the table.
 * Started by `startHangMonitor` from the compiled `worker.js` next to `monitor.js`.
 * @module
 */
import { parentPort, workerData, type MessagePort } from 'node:worker_threads';
import { after, select, unbounded } from '../channel/index.js';
import type { HangAlert, ProfileSample, StackFrame } from './alert.js';
import type { RegistrarMessage } from './registration.js';
import { Sampler } from './sampler.js';
import { free, markStopped, openTable, ownerIndex, wordIndex } from './table.js';

/** Messages from the main thread's HangMonitor to the monitor worker. @internal */
export type ControlMessage =
  | { type: 'stop' }
  | { type: 'detached-ack' }
  | { type: 'port'; port: MessagePort }
  | { type: 'profile'; id: number; durationMs: number; intervalMs: number; threads?: number[] };
/** Messages from the monitor worker to the main thread. @internal */
export type MonitorMessage =
  | { type: 'alert'; alert: HangAlert }
  | { type: 'ready' }
  | { type: 'detached' }
  | { type: 'profile'; id: number; samples: ProfileSample[] };
/** workerData of the monitor worker. @internal */
export interface MonitorWorkerData {
  sab: SharedArrayBuffer;
  periodMs: number;
  port: MessagePort;
  sampleStacks: boolean;
}

interface Entry {
  slot: number;
  gen: number;
  name: string;
  threadId: number;
  transientMs: number;
  permanentMs: number;
  source: number;
  lastWord: number;
  since: number;
  transientSent: boolean;
  permanentSent: boolean;
  /** A stack sample started shortly before the permanent timeout, for the heartbeat word `presampledWord`. */
  presample: Promise<StackFrame[] | undefined> | undefined;
  presampledWord: number;
}

/**
 * How long before the permanent timeout the monitor starts sampling a thread
 * that is still busy: a sample takes a few milliseconds (more on a loaded
 * machine), and taking it early lets the alert go out at the timeout rather
 * than a sample's time after it. The frames are then at most this old, and
 * from the same stretch of activity (the heartbeat has not moved).
 */
function presampleLeadMs(permanentMs: number): number {
  return Math.min(50, permanentMs / 4);
}

type Incoming = { source: number; m: RegistrarMessage } | { source: number; closed: true };

async function run(): Promise<void> {
  const data = workerData as MonitorWorkerData;
  const control = parentPort!;
  const table = openTable(data.sab);
  const periodMs = data.periodMs;
  const sampler = new Sampler();
  const [msgTx, messages] = unbounded<Incoming>();
  const [ctlTx, ctl] = unbounded<ControlMessage>();
  const ports = new Map<number, MessagePort>();
  const entries = new Map<number, Entry>();
  const annotations = new Map<number, string>();
  let nextSource = 0;
  let everRegistered = false;
  let stop = false;

  const deliver = (x: Incoming): void => {
    try {
      msgTx.trySend(x);
    } catch {
      // the loop has ended
    }
  };
  const addPort = (port: MessagePort): void => {
    const source = nextSource++;
    ports.set(source, port);
    port.on('message', (m: RegistrarMessage) => deliver({ source, m }));
    port.on('close', () => deliver({ source, closed: true }));
    port.start();
  };
  let onDetachedAck: (() => void) | undefined;
  const onControl = (m: ControlMessage): void => {
    if (m.type === 'detached-ack') return onDetachedAck?.();
    try {
      ctlTx.trySend(m);
    } catch {
      if (m.type === 'port') m.port.close();
    }
  };
  control.on('message', onControl);
  addPort(data.port);

  const dropEntry = (e: Entry): void => {
    entries.delete(e.slot);
    free(table, e.slot, e.gen);
  };

  const handle = (x: Incoming): void => {
    if ('closed' in x) {
      ports.delete(x.source);
      for (const e of [...entries.values()]) if (e.source === x.source) dropEntry(e);
      return;
    }
    const m = x.m;
    switch (m.type) {
      case 'register': {
        // The registrar may already have unregistered (slot freed or reused).
        if (Atomics.load(table.words, ownerIndex(table, m.slot)) !== m.gen) return;
        everRegistered = true;
        entries.set(m.slot, {
          slot: m.slot,
          gen: m.gen,
          name: m.name,
          threadId: m.threadId,
          transientMs: m.transientMs,
          permanentMs: m.permanentMs,
          source: x.source,
          lastWord: Atomics.load(table.words, wordIndex(table, m.slot)),
          since: performance.now(),
          transientSent: false,
          permanentSent: false,
          presample: undefined,
          presampledWord: 0,
        });
        return;
      }
      case 'unregister': {
        const e = entries.get(m.slot);
        if (e !== undefined && e.gen === m.gen) entries.delete(m.slot);
        else everRegistered = true; // it registered and left before we saw it
        return;
      }
      case 'annotation':
        annotations.set(m.id, m.text);
        return;
    }
  };

  const emit = (fields: Omit<HangAlert, 'raisedAt'>): void => {
    const alert: HangAlert = { ...fields, raisedAt: performance.timeOrigin + performance.now() };
    const msg: MonitorMessage = { type: 'alert', alert };
    control.postMessage(msg);
  };

  const checkpoint = (): void => {
    // Synchronous: nothing drops an entry while this runs (samples settle later).
    for (const e of entries.values()) {
      const wi = wordIndex(table, e.slot);
      const word = Atomics.load(table.words, wi);
      const now = performance.now();
      if (word !== e.lastWord) {
        e.lastWord = word;
        e.since = now;
        e.transientSent = false;
        e.permanentSent = false;
        e.presample = undefined;
        continue;
      }
      if ((word & 1) === 0) continue;
      const d = now - e.since;
      const annotationId = Atomics.load(table.words, wi + 1);
      const annotation = annotationId === 0 ? undefined : annotations.get(annotationId);
      const base = { component: e.name, threadId: e.threadId, durationMs: d, ...(annotation !== undefined ? { annotation } : {}) };
      // Both in order, even when the monitor thread overslept past both timeouts.
      if (d > e.transientMs && !e.transientSent) {
        e.transientSent = true;
        emit({ kind: 'transient', ...base });
      }
      if (data.sampleStacks && e.presample === undefined && !e.permanentSent && d > e.permanentMs - presampleLeadMs(e.permanentMs)) {
        e.presample = sampler.sample(e.threadId);
        e.presampledWord = word;
      }
      if (d > e.permanentMs && !e.permanentSent) {
        e.permanentSent = true;
        if (!data.sampleStacks) {
          emit({ kind: 'permanent', ...base });
          continue;
        }
        // The sample (started a little earlier) completes while the loop goes on checking the others.
        const since = e.since;
        const sampled = e.presample!;
        void sampled.then((frames) => {
          if (stop || entries.get(e.slot) !== e) return;
          // A component that moved on meanwhile was sampled somewhere else: no frames then.
          const still = Atomics.load(table.words, wi) === word && e.presampledWord === word;
          emit({ kind: 'permanent', ...base, durationMs: performance.now() - since, ...(frames !== undefined && still ? { frames } : {}) });
        });
      }
    }
  };

  // The sampler toggle: sample threads at a rate for a while, apart from the hang checks.
  const profile = async (c: Extract<ControlMessage, { type: 'profile' }>): Promise<void> => {
    const samples: ProfileSample[] = [];
    const end = performance.now() + c.durationMs;
    sampler.hold(); // one session for the whole run
    while (!stop && performance.now() < end) {
      const next = performance.now() + c.intervalMs;
      const threads = c.threads ?? [...new Set([...entries.values()].map((e) => e.threadId))];
      const got = await Promise.all(threads.map(async (threadId) => ({ threadId, at: performance.timeOrigin + performance.now(), frames: await sampler.sample(threadId) })));
      for (const g of got) if (g.frames !== undefined) samples.push({ threadId: g.threadId, at: g.at, frames: g.frames });
      const wait = next - performance.now();
      if (wait > 0) await new Promise((r) => setTimeout(r, wait));
    }
    sampler.release();
    const msg: MonitorMessage = { type: 'profile', id: c.id, samples };
    control.postMessage(msg);
  };

  const ready: MonitorMessage = { type: 'ready' };
  control.postMessage(ready);
  const batch: Incoming[] = [];
  const ctlBatch: ControlMessage[] = [];
  while (!stop) {
    const r = await select({ msg: messages, control: ctl, tick: after(periodMs) });
    if (r.case === 'msg' && r.ok) handle(r.value);
    else if (r.case === 'control' && r.ok) ctlBatch.push(r.value);
    batch.length = 0;
    messages.tryRecvMany(batch);
    for (const x of batch) handle(x);
    ctl.tryRecvMany(ctlBatch);
    for (const c of ctlBatch) {
      if (c.type === 'stop') stop = true;
      else if (c.type === 'port') addPort(c.port);
      else if (c.type === 'profile') void profile(c);
    }
    ctlBatch.length = 0;
    if (stop) break;
    // The tether: once everything registered has gone, the monitor goes too.
    if (everRegistered && entries.size === 0) break;
    checkpoint();
  }

  stop = true;
  // Shut down: mark the table, release everything, and let the thread exit by itself
  // (process.exit() with a connected inspector session aborts the process).
  markStopped(table);
  if (sampler.close()) {
    // The main thread processes a session's disconnect later, and then writes back to this
    // thread's inspector: exiting before that aborts the whole process (seen on Node 20).
    // The main thread answers only after it has run its pending inspector work.
    const acked = new Promise<void>((resolve) => (onDetachedAck = resolve));
    const msg: MonitorMessage = { type: 'detached' };
    control.postMessage(msg);
    await acked;
  }
  control.off('message', onControl);
  control.unref();
  for (const p of ports.values()) p.close();
  ports.clear();
  msgTx.close();
  ctlTx.close();
  messages.close();
  ctl.close();
}

run().catch((e: unknown) => {
  const msg = e instanceof Error ? (e.stack ?? e.message) : String(e);
  process.stderr.write(`weft hang monitor failed: ${msg}\n`);
});
