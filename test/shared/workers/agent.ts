// A worker that plays one role in the cross-thread tests (workerData.role),
// with the handles given by spawn(). Reports through parentPort.
import { parentPort, workerData } from 'node:worker_threads';
import { RecvError, SendError, select, selectSync, type Receiver, type Sender } from '../../../src/index.js';
import { sharedBounded, workerHandles } from '../../../src/shared/index.js';
import { rng } from '../helpers.js';

interface Job {
  role: string;
  id?: number;
  n?: number;
  api?: string;
  seed?: number;
  [k: string]: unknown;
}

const job = workerData as Job;
const hs = workerHandles<Record<string, Sender<unknown> & Receiver<unknown>>>();
const post = (m: unknown) => parentPort!.postMessage(m);

const sleepCell = new Int32Array(new SharedArrayBuffer(4));
function sleep(ms: number): void {
  Atomics.wait(sleepCell, 0, 0, ms);
}

async function produce(): Promise<void> {
  const tx = hs.tx as Sender<unknown>;
  const n = job.n!;
  const id = job.id!;
  const rand = rng(job.seed ?? id + 1);
  const api = job.api ?? 'sync';
  // Optional filler that makes each message long (slower to copy in and out of the ring).
  const pad = typeof job.pad === 'number' ? 'x'.repeat(job.pad) : undefined;
  for (let i = 0; i < n; ) {
    const mode = api === 'mixed' ? ['sync', 'async', 'batch', 'try'][Math.floor(rand() * 4)]! : api;
    if (job.jitter && rand() < 0.01) sleep(rand() < 0.5 ? 0 : 1);
    if (mode === 'sync') tx.sendSync(pad === undefined ? { p: id, i: i++ } : { p: id, i: i++, pad });
    else if (mode === 'async') await tx.send({ p: id, i: i++ });
    else if (mode === 'try') {
      if (tx.offer({ p: id, i })) i++;
    } else if (mode === 'many') {
      const k = Math.min(n - i, 1 + Math.floor(rand() * 64));
      tx.sendManySync(Array.from({ length: k }, (_, j) => ({ p: id, i: i + j })));
      i += k;
    } else {
      const k = Math.min(n - i, 1 + Math.floor(rand() * 16));
      const batch = Array.from({ length: k }, (_, j) => ({ p: id, i: i + j }));
      const sent = tx.trySendMany(batch);
      i += sent;
      if (sent === 0) tx.sendSync(batch[0]), i++;
    }
  }
  tx.close();
  post({ done: id });
}

async function consume(): Promise<void> {
  const rx = hs.rx as Receiver<{ p: number; i: number }>;
  const rand = rng(job.seed ?? 7);
  const api = job.api ?? 'sync';
  const got: number[] = [];
  const into: { p: number; i: number }[] = [];
  const take = job.take as number | undefined;
  for (;;) {
    if (take !== undefined && got.length >= take * 2) break;
    const mode = api === 'mixed' ? ['sync', 'async', 'batch', 'timeout'][Math.floor(rand() * 4)]! : api;
    if (job.jitter && rand() < 0.01) sleep(rand() < 0.5 ? 0 : 1);
    try {
      if (mode === 'sync') {
        const m = rx.recvSync();
        got.push(m.p, m.i);
      } else if (mode === 'async') {
        const m = await rx.recv();
        got.push(m.p, m.i);
      } else if (mode === 'timeout') {
        try {
          const m = rx.recvTimeoutSync(rand() * 2);
          got.push(m.p, m.i);
        } catch (e) {
          if ((e as { kind?: string }).kind !== 'timeout') throw new RecvError();
        }
      } else {
        into.length = 0;
        rx.recvManySync(into, 1 + Math.floor(rand() * (mode === 'many' ? 128 : 32)));
        for (const m of into) got.push(m.p, m.i);
      }
    } catch (e) {
      if (e instanceof RecvError || (e as { kind?: string }).kind === 'disconnected') break;
      throw e;
    }
  }
  rx.close();
  post({ got });
}

/** Round after round: a fresh channel, its Receiver handed over on `carrier`, then 3 messages and the Sender closed at once. */
function bursts(): void {
  const carrier = hs.carrier as Sender<{ rx: Receiver<number> }>;
  for (let r = 0; r < job.n!; r++) {
    const [tx, rx] = sharedBounded<number>(4);
    carrier.sendSync({ rx });
    for (let k = 0; k < 3; k++) tx.sendSync(r * 3 + k);
    tx.close();
  }
  carrier.close();
  post({ done: true });
}

/** Receives a Receiver inside a message, then consumes from it like `consume` (blocking). */
async function consumeCarried(): Promise<void> {
  const box = hs.box as Receiver<{ rx: Receiver<{ p: number; i: number }> }>;
  const { rx } = box.recvSync();
  box.close();
  const take = job.take as number;
  const got: number[] = [];
  while (got.length < take * 2) {
    const m = rx.recvSync();
    got.push(m.p, m.i);
  }
  rx.close();
  post({ got });
}

/** Consumes from two channels with a select (blocking or async) until both are disconnected. */
async function selectConsume(): Promise<void> {
  const a = hs.a as Receiver<number>;
  const b = hs.b as Receiver<number>;
  const counts = { a: 0, b: 0 };
  const order: number[] = [];
  const got: number[] = [];
  let open = 2;
  const live: Record<string, Receiver<number>> = { a, b };
  while (open > 0) {
    const r = job.api === 'async' ? await select(live) : selectSync(live);
    if (!r.ok) {
      delete live[r.case];
      open--;
      continue;
    }
    counts[r.case as 'a' | 'b']++;
    order.push(r.case === 'a' ? 0 : 1);
    got.push(r.value);
    if (job.slow) sleep(0);
  }
  a.close();
  b.close();
  post({ counts, got, order });
}

/** Doubles x and replies on the Sender inside each request. */
function server(): void {
  const rx = hs.rx as Receiver<{ x: number; reply: Sender<number> }>;
  // job.many: take requests in batches (recvManySync).
  const pending: { x: number; reply: Sender<number> }[] = [];
  for (;;) {
    let req: { x: number; reply: Sender<number> };
    try {
      if (job.many) {
        if (pending.length === 0) rx.recvManySync(pending, 16);
        req = pending.shift()!;
      } else req = rx.recvSync();
    } catch (e) {
      if (e instanceof RecvError) break;
      throw e;
    }
    try {
      req.reply.sendSync(req.x * 2);
    } catch (e) {
      if (!(e instanceof SendError)) throw e;
    }
    req.reply.close();
  }
  rx.close();
  post({ done: true });
}

/** Forwards each request to the next server with its own reply channel, adds 1, replies. */
async function middle(): Promise<void> {
  const { sharedBounded } = await import('../../../src/shared/index.js');
  const rx = hs.rx as Receiver<{ x: number; reply: Sender<number> }>;
  const next = hs.next as Sender<{ x: number; reply: Sender<number> }>;
  for (;;) {
    let req: { x: number; reply: Sender<number> };
    try {
      req = job.api === 'async' ? await rx.recv() : rx.recvSync();
    } catch (e) {
      if (e instanceof RecvError) break;
      throw e;
    }
    const [rtx, rrx] = sharedBounded<number>(job.api === 'rendezvous' ? 0 : 1);
    if (job.api === 'async') await next.send({ x: req.x, reply: rtx });
    else next.sendSync({ x: req.x, reply: rtx });
    const y = job.api === 'async' ? await rrx.recv() : rrx.recvSync();
    rrx.close();
    if (job.api === 'async') await req.reply.send(y + 1);
    else req.reply.sendSync(y + 1);
    req.reply.close();
  }
  rx.close();
  next.close();
  post({ done: true });
}

/** Ping-pong: receives n on ping, sends n + 1 on pong, until disconnected. */
function pong(): void {
  const ping = hs.ping as Receiver<number>;
  const pongTx = hs.pong as Sender<number>;
  for (;;) {
    let v: number;
    try {
      v = ping.recvSync();
    } catch {
      break;
    }
    pongTx.sendSync(v + 1);
  }
  ping.close();
  pongTx.close();
}

/** Loops forever on one operation (termination tests); posts 'ready' once running. */
function forever(): void {
  const op = job.op as string;
  // progress[0]: operations completed so far (sends that returned, receives that returned a message).
  const progress = job.progress instanceof SharedArrayBuffer ? new Int32Array(job.progress) : new Int32Array(1);
  const done = () => {
    Atomics.add(progress, 0, 1);
    Atomics.notify(progress, 0);
  };
  post('ready');
  const endAfter = job.endAfter as number | undefined;
  let i = 0;
  for (;;) {
    if (endAfter !== undefined && Atomics.load(progress, 0) >= endAfter) {
      // Dies without closing anything, in the middle of its loop.
      if (job.end === 'throw') throw new Error('worker failure (on purpose)');
      process.exit(3);
    }
    if (op === 'send') {
      (hs.tx as Sender<unknown>).sendSync({ i, pad: 'p'.repeat(i % 300) });
      i++;
      done();
    } else if (op === 'sendBig') {
      (hs.tx as Sender<unknown>).sendSync(new Uint8Array(20000 + (i % 5000)).fill(i & 255));
      i++;
      done();
    } else if (op === 'recv') {
      (hs.rx as Receiver<unknown>).recvSync();
      done();
    } else if (op === 'select') {
      selectSync({ rx: hs.rx as Receiver<unknown>, other: hs.other as Receiver<unknown> });
      done();
    } else if (op === 'recvNow') {
      // On a rendezvous channel each call starts and stops waiting (its bit and count) without parking.
      try {
        (hs.rx as Receiver<unknown>).recvTimeoutSync(0);
      } catch {
        // timed out: nothing offered
      }
      done();
    } else if (op === 'trySend') {
      if ((hs.tx as Sender<unknown>).offer(i)) i++, done();
    } else if (op === 'tryRecv') (hs.rx as Receiver<unknown>).poll(undefined);
    else if (op === 'sendMany') {
      // Batches of 1 to 24; progress counts the values reported sent.
      const k = 1 + (i % 24);
      const batch = Array.from({ length: k }, (_, j) => ({ i: i + j, pad: 'p'.repeat((i + j) % 200) }));
      const sent = (hs.tx as Sender<unknown>).trySendMany(batch);
      i += sent;
      Atomics.add(progress, 0, sent);
    } else if (op === 'recvMany') {
      const into: unknown[] = [];
      const got = (hs.rx as Receiver<unknown>).recvManySync(into, 1 + (i++ % 32));
      Atomics.add(progress, 0, got);
    } else if (op === 'recvMost') {
      // As many as one take allows (1024): the worker spends much of its time inside takes.
      const into: unknown[] = [];
      Atomics.add(progress, 0, (hs.rx as Receiver<unknown>).recvManySync(into, 1024));
    }
  }
}

/** Makes, uses and drops channels in a loop (allocator under contention); posts how many it checked. */
async function churn(): Promise<void> {
  const { sharedBounded, sharedUnbounded } = await import('../../../src/shared/index.js');
  const rounds = job.n ?? 200;
  const rand = rng(job.seed ?? 5);
  for (let r = 0; r < rounds; r++) {
    const [tx, rx] = rand() < 0.5 ? sharedBounded<Uint8Array>(4, { ringBytes: 256 + Math.floor(rand() * 4096) }) : sharedUnbounded<Uint8Array>({ ringBytes: 256 });
    for (let k = 0; k < 6; k++) {
      const v = new Uint8Array(Math.floor(rand() * 3000)).fill((r + k) & 255);
      tx.sendSync(v);
      const got = rx.recvSync();
      if (got.length !== v.length || !got.every((x) => x === ((r + k) & 255))) throw new Error(`round ${r}: corrupted message`);
    }
    tx.close();
    rx.close();
  }
  post({ churned: rounds });
}

const roles: Record<string, () => unknown> = { produce, consume, consumeCarried, bursts, selectConsume, server, middle, pong, forever, churn };
const run = roles[job.role];
if (run === undefined) throw new Error(`unknown role ${job.role}`);
await run();
