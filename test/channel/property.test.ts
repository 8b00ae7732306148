/**
 * Property-based tests: random programs of producers, consumers, clones,
 * closes and aborts over one to three channels, run under random
 * interleavings, and checked against the channel contract.
 *
 * The scheduler is deterministic: a program is a fast-check-generated list
 * of steps executed by a driver, and every task (producer or consumer) runs
 * its own generated list of operations. Between steps and between
 * operations each side awaits a generated number of microtask ticks or
 * macrotask turns (setImmediate), so the order in which tasks meet the
 * channels is decided by the generated program, not by chance. Only the
 * few operations with a real timeout (1–2 ms) depend on the clock; every
 * property must hold whatever the timers do.
 *
 * Checked after every run (and sampled during it):
 * - every message (tagged {s: sender, q: seq}) is received exactly once or
 *   handed back in an error — never both, never neither; the only messages
 *   allowed to vanish are those buffered when the last Receiver closed, and
 *   their number must equal the `len` the channel had at that moment;
 * - per-sender FIFO, for every receiver and across receivers whose receive
 *   operations did not overlap in time;
 * - `len <= capacity`, and `isDisconnected` agrees with the open handles;
 * - rendezvous: a send resolves only after a receive for its value began,
 *   and a select never receives the value its own send case offered;
 * - once every handle is closed, every task and pending operation settles
 *   (a 2 s hang guard, not a timing assertion), no AbortSignal keeps a
 *   listener, and no timer is left armed;
 * - every select completes exactly one of its cases.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { getEventListeners } from 'node:events';
import fc from 'fast-check';
import {
  after,
  bounded,
  unbounded,
  never,
  ready,
  recv,
  select,
  send,
  trySelect,
  ClosedHandleError,
  RecvError,
  RecvTimeoutError,
  SelectTimeoutError,
  SendAbortedError,
  SendError,
  SendTimeoutError,
  TryRecvError,
  TrySendError,
  type Receiver,
  type SelectCases,
  type Sender,
} from '../../src/index.js';

// ---------------------------------------------------------------------------
// Small helpers

/** Active timers (setTimeout/setInterval handles) in this process. */
function activeTimers(): number {
  return process.getActiveResourcesInfo().filter((r) => r === 'Timeout').length;
}

/** 0–4: that many microtask ticks; 5–6: one macrotask turn (setImmediate). */
async function pause(p: number): Promise<void> {
  if (p >= 5) {
    await new Promise<void>((resolve) => setImmediate(resolve));
    return;
  }
  for (let i = 0; i < p; i++) await Promise.resolve();
}

/** pause(), plus 7–9: a setTimeout of 0, 1 or 2 ms (to race real timers). */
async function delay(p: number): Promise<void> {
  if (p >= 7) {
    await new Promise<void>((resolve) => setTimeout(resolve, p - 7));
    return;
  }
  await pause(p);
}

/** Resolves true when `p` settles, false after `ms` (a hang guard). */
async function settlesWithin(p: Promise<unknown>, ms: number): Promise<boolean> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  const hang = new Promise<false>((resolve) => {
    timer = setTimeout(() => resolve(false), ms);
  });
  try {
    return await Promise.race([p.then(() => true), hang]);
  } finally {
    clearTimeout(timer);
  }
}

/** `p`, or a rejection naming `what` if it does not settle within `ms` (a hang guard). */
async function within<T>(p: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  const hang = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`${what} did not settle within ${ms} ms`)), ms);
  });
  try {
    return await Promise.race([p, hang]);
  } finally {
    clearTimeout(timer);
  }
}

/** A loose view of a select result (the precise type is not needed here). */
type AnyResult = { case: string; ok: boolean; value?: unknown; error?: unknown };

/**
 * WEFT_PROPERTY_STATS=1 prints, at exit, how the generated programs' messages
 * ended (which method, which outcome): a check that the generators reach the
 * interesting paths. WEFT_PROPERTY_RUNS overrides the number of runs.
 */
const STATS = process.env['WEFT_PROPERTY_STATS'] ? { runs: 0, tasks: 0, dropped: 0, how: new Map<string, number>() } : undefined;
if (STATS !== undefined) {
  process.on('exit', () => {
    console.log(`runs ${STATS.runs} tasks ${STATS.tasks} dropped ${STATS.dropped}`);
    for (const [k, v] of [...STATS.how].sort((a, b) => b[1] - a[1])) console.log(String(v).padStart(6), k);
  });
}

function note(key: string): void {
  if (STATS !== undefined) STATS.how.set(key, (STATS.how.get(key) ?? 0) + 1);
}

// ---------------------------------------------------------------------------
// Programs

type Cap = number | undefined;

type SendMethod = 'send' | 'trySend' | 'offer' | 'sendTimeout' | 'select';
type RecvMethod =
  | 'recv'
  | 'tryRecv'
  | 'poll'
  | 'recvTimeout'
  | 'select'
  | 'trySelect'
  | 'ready'
  | 'recvMany'
  | 'tryRecvMany'
  | 'iter';

interface SendOp {
  m: SendMethod;
  /** Timeout in ms for sendTimeout / the select's `after` case or `timeout` option. */
  ms: number;
  /** -1: no signal; 0–2: the signal of that AbortController; 3: an already aborted signal. */
  sig: number;
  /** select: add an `after(ms)` case. */
  withAfter: boolean;
  /** select: pass `{ timeout: ms }`. */
  withTimeout: boolean;
  pause: number;
}

interface RecvOp {
  m: RecvMethod;
  /** Which of the consumer's receivers (single-channel methods). */
  pick: number;
  ms: number;
  sig: number;
  withAfter: boolean;
  withTimeout: boolean;
  /** select/trySelect: add a send case on the consumer's own Sender. */
  withSend: boolean;
  /** select/trySelect: add a `never()` case. */
  withNever: boolean;
  biased: boolean;
  /** recvMany/tryRecvMany/iter: how many messages at most. */
  max: number;
  pause: number;
}

type Step =
  | { k: 'producer'; ch: number; from: number; ops: SendOp[]; closeWhenDone: boolean }
  | { k: 'consumer'; chans: number[]; from: number; sendCh: number; ops: RecvOp[]; closeWhenDone: boolean }
  | { k: 'cloneTx'; ch: number; from: number }
  | { k: 'cloneRx'; ch: number; from: number }
  | { k: 'closeTx'; ch: number; idx: number }
  | { k: 'closeRx'; ch: number; idx: number }
  | { k: 'abort'; sig: number }
  | { k: 'pause'; p: number };

interface Program {
  nch: number;
  steps: Step[];
  /** Macrotask turns the tasks get before the remaining handles are closed. */
  settle: number;
  /** Sort keys that fix the order in which the remaining handles are closed at the end. */
  finalKeys: number[];
  finalPauses: number[];
}

const pauseArb = fc.integer({ min: 0, max: 6 });
const sigArb = fc.oneof(
  { weight: 6, arbitrary: fc.constant(-1) },
  { weight: 3, arbitrary: fc.integer({ min: 0, max: 2 }) },
  { weight: 1, arbitrary: fc.constant(3) },
);
const msArb = fc.integer({ min: 0, max: 2 });

const sendOpArb: fc.Arbitrary<SendOp> = fc.record({
  m: fc.constantFrom<SendMethod>('send', 'send', 'trySend', 'offer', 'sendTimeout', 'select', 'select'),
  ms: msArb,
  sig: sigArb,
  withAfter: fc.boolean(),
  withTimeout: fc.boolean(),
  pause: pauseArb,
});

const recvOpArb: fc.Arbitrary<RecvOp> = fc.record({
  m: fc.constantFrom<RecvMethod>(
    'recv',
    'recv',
    'tryRecv',
    'poll',
    'recvTimeout',
    'select',
    'select',
    'select',
    'trySelect',
    'ready',
    'recvMany',
    'tryRecvMany',
    'iter',
  ),
  pick: fc.nat(),
  ms: msArb,
  sig: sigArb,
  withAfter: fc.boolean(),
  withTimeout: fc.boolean(),
  withSend: fc.boolean(),
  withNever: fc.boolean(),
  biased: fc.boolean(),
  max: fc.integer({ min: 1, max: 3 }),
  pause: pauseArb,
});

const stepArb: fc.Arbitrary<Step> = fc.oneof(
  {
    weight: 4,
    arbitrary: fc.record({
      k: fc.constant('producer' as const),
      ch: fc.nat(),
      from: fc.nat(),
      ops: fc.array(sendOpArb, { minLength: 1, maxLength: 6 }),
      closeWhenDone: fc.boolean(),
    }),
  },
  {
    weight: 5,
    arbitrary: fc.record({
      k: fc.constant('consumer' as const),
      chans: fc.uniqueArray(fc.integer({ min: 0, max: 2 }), { minLength: 1, maxLength: 3 }),
      from: fc.nat(),
      sendCh: fc.integer({ min: -1, max: 2 }),
      ops: fc.array(recvOpArb, { minLength: 1, maxLength: 6 }),
      closeWhenDone: fc.boolean(),
    }),
  },
  { weight: 1, arbitrary: fc.record({ k: fc.constant('cloneTx' as const), ch: fc.nat(), from: fc.nat() }) },
  { weight: 1, arbitrary: fc.record({ k: fc.constant('cloneRx' as const), ch: fc.nat(), from: fc.nat() }) },
  { weight: 1, arbitrary: fc.record({ k: fc.constant('closeTx' as const), ch: fc.nat(), idx: fc.nat() }) },
  { weight: 1, arbitrary: fc.record({ k: fc.constant('closeRx' as const), ch: fc.nat(), idx: fc.nat() }) },
  { weight: 2, arbitrary: fc.record({ k: fc.constant('abort' as const), sig: fc.integer({ min: 0, max: 2 }) }) },
  { weight: 3, arbitrary: fc.record({ k: fc.constant('pause' as const), p: pauseArb }) },
);

const programArb: fc.Arbitrary<Program> = fc.record({
  nch: fc.integer({ min: 1, max: 3 }),
  steps: fc.array(stepArb, { minLength: 1, maxLength: 14 }),
  settle: fc.integer({ min: 0, max: 6 }),
  finalKeys: fc.array(fc.nat({ max: 1000 }), { minLength: 1, maxLength: 12 }),
  finalPauses: fc.array(pauseArb, { minLength: 1, maxLength: 12 }),
});

// ---------------------------------------------------------------------------
// The interpreter and its bookkeeping

/** A message: unique by identity, tagged with its sender and sequence number. */
interface Msg {
  readonly s: number;
  readonly q: number;
}

interface Reception {
  /** Logical time the receive operation was issued. */
  start: number;
  /** Logical time its result was observed. */
  end: number;
  /** Position inside a batch (recvMany/tryRecvMany). */
  idx: number;
  consumer: number;
  ch: number;
}

interface MsgRecord {
  msg: Msg;
  ch: number;
  sendStart: number;
  sendEnd: number;
  outcome: 'pending' | 'sent' | 'returned';
  how: string;
  recvs: Reception[];
}

interface Chan {
  cap: Cap;
  senders: Sender<Msg>[];
  receivers: Receiver<Msg>[];
  openTx: number;
  openRx: number;
  /** Messages buffered when the last Receiver closed (they are dropped). */
  dropped: number;
}

const ABORT_REASON = Object.freeze({ reason: 'aborted by the program' });
const NONE = Symbol('none');

class Run {
  clock = 0;
  readonly chans: Chan[] = [];
  readonly msgs = new Map<Msg, MsgRecord>();
  readonly failures: string[] = [];
  readonly tasks: Promise<void>[] = [];
  /** What each live task is doing (for the hang report). */
  readonly doing = new Map<number, string>();
  readonly controllers: AbortController[] = [new AbortController(), new AbortController(), new AbortController()];
  readonly signals: AbortSignal[] = this.controllers.map((c) => c.signal);
  nextId = 0;

  constructor(readonly cap: Cap, nch: number) {
    for (let i = 0; i < nch; i++) {
      const [tx, rx] = cap === undefined ? unbounded<Msg>() : bounded<Msg>(cap);
      this.chans.push({ cap, senders: [tx], receivers: [rx], openTx: 1, openRx: 1, dropped: 0 });
    }
  }

  fail(what: string): void {
    this.failures.push(what);
  }

  /** Invariants that must hold at every moment. */
  sample(where: string): void {
    this.chans.forEach((c, i) => {
      const h = c.receivers[0]!;
      if (c.cap !== undefined && h.len > c.cap) this.fail(`${where}: channel ${i} holds ${h.len} > capacity ${c.cap}`);
      if (c.cap === 0 && h.len !== 0) this.fail(`${where}: rendezvous channel ${i} buffers ${h.len}`);
      if (h.capacity !== c.cap) this.fail(`${where}: channel ${i} capacity ${String(h.capacity)} != ${String(c.cap)}`);
      const disc = c.openTx === 0 || c.openRx === 0;
      if (h.isDisconnected !== disc) this.fail(`${where}: channel ${i} isDisconnected=${h.isDisconnected}, expected ${disc}`);
      if (c.cap !== undefined && h.isFull !== h.len >= c.cap) this.fail(`${where}: channel ${i} isFull inconsistent with len`);
    });
  }

  signal(sig: number): AbortSignal | undefined {
    if (sig < 0) return undefined;
    if (sig >= 3) return AbortSignal.abort(ABORT_REASON);
    return this.controllers[sig]!.signal;
  }

  abort(sig: number): void {
    this.controllers[sig]!.abort(ABORT_REASON);
    const fresh = new AbortController();
    this.controllers[sig] = fresh;
    this.signals.push(fresh.signal);
  }

  // --- handles -------------------------------------------------------------

  /** An open Sender of `ch` (a fresh clone), or a closed one if none is open. */
  cloneTx(ch: number, from: number): Sender<Msg> {
    const c = this.chans[ch]!;
    const open = c.senders.filter((h) => !h.isClosed);
    if (open.length === 0) return c.senders[from % c.senders.length]!;
    const h = open[from % open.length]!.clone();
    if (!h.sameChannel(c.receivers[0]!)) this.fail('a Sender clone is on another channel');
    c.senders.push(h);
    c.openTx++;
    return h;
  }

  cloneRx(ch: number, from: number): Receiver<Msg> {
    const c = this.chans[ch]!;
    const open = c.receivers.filter((h) => !h.isClosed);
    if (open.length === 0) return c.receivers[from % c.receivers.length]!;
    const h = open[from % open.length]!.clone();
    if (!h.sameChannel(c.senders[0]!)) this.fail('a Receiver clone is on another channel');
    c.receivers.push(h);
    c.openRx++;
    return h;
  }

  closeTx(ch: number, h: Sender<Msg>): void {
    if (h.isClosed) return;
    h.close();
    this.chans[ch]!.openTx--;
  }

  closeRx(ch: number, h: Receiver<Msg>): void {
    if (h.isClosed) return;
    const c = this.chans[ch]!;
    // The last Receiver drops what is buffered: account for it exactly.
    if (c.openRx === 1) c.dropped += h.len;
    h.close();
    c.openRx--;
  }

  // --- messages ------------------------------------------------------------

  newMsg(s: number, ch: number, q: number): Msg {
    const msg: Msg = Object.freeze({ s, q });
    this.msgs.set(msg, { msg, ch, sendStart: ++this.clock, sendEnd: -1, outcome: 'pending', how: '', recvs: [] });
    return msg;
  }

  sent(msg: Msg, how: string): void {
    const r = this.msgs.get(msg)!;
    if (r.outcome !== 'pending') this.fail(`message ${JSON.stringify(msg)} settled twice (${r.how}, then ${how})`);
    r.outcome = 'sent';
    r.how = how;
    r.sendEnd = ++this.clock;
  }

  returned(msg: Msg, how: string): void {
    const r = this.msgs.get(msg)!;
    if (r.outcome !== 'pending') this.fail(`message ${JSON.stringify(msg)} settled twice (${r.how}, then ${how})`);
    r.outcome = 'returned';
    r.how = how;
    r.sendEnd = ++this.clock;
  }

  /** A send rejected or threw: the error must hand the message back. */
  sendFailed(msg: Msg, e: unknown, tx: Sender<Msg>, ch: number, how: string): void {
    const c = this.chans[ch]!;
    if (e === ABORT_REASON) return this.returned(msg, `${how}: aborted (select)`);
    if (e instanceof SelectTimeoutError) return this.returned(msg, `${how}: select timeout`);
    const known =
      e instanceof SendError ||
      e instanceof SendAbortedError ||
      e instanceof SendTimeoutError ||
      e instanceof TrySendError ||
      e instanceof ClosedHandleError;
    if (!known) {
      this.fail(`${how}: unexpected error ${String(e)}`);
      return this.returned(msg, `${how}: unexpected`);
    }
    if ((e as { value: unknown }).value !== msg) this.fail(`${how}: ${(e as Error).name} does not carry the message back`);
    if (e instanceof ClosedHandleError && !tx.isClosed) this.fail(`${how}: ClosedHandleError on an open Sender`);
    const disconnected = e instanceof SendError || ((e instanceof TrySendError || e instanceof SendTimeoutError) && e.kind === 'disconnected');
    if (disconnected && c.openRx !== 0) this.fail(`${how}: ${(e as Error).name} 'disconnected' while ${c.openRx} Receivers are open`);
    this.returned(msg, `${how}: ${(e as Error).name}${'kind' in e ? ` ${String(e.kind)}` : ''}`);
  }

  received(v: unknown, ch: number, start: number, end: number, idx: number, consumer: number): void {
    const r = this.msgs.get(v as Msg);
    if (r === undefined) return this.fail(`consumer ${consumer} received something never sent: ${String(v)}`);
    if (r.ch !== ch) this.fail(`message ${JSON.stringify(r.msg)} sent on channel ${r.ch} received on ${ch}`);
    r.recvs.push({ start, end, idx, consumer, ch });
    note(`  recv ok: ${this.doing.get(consumer) ?? '?'}`.replace(/consumer \d+ /, ''));
  }

  /** A receive rejected or threw: only these errors are allowed, each when it can be true. */
  recvFailed(e: unknown, rx: Receiver<Msg> | undefined, ch: number, how: string, opts: { timeout?: boolean; signal?: boolean }): void {
    note(`  recv failed: ${how.replace(/consumer \d+ /, '')} ${e instanceof Error ? e.name : 'abort'}${e instanceof Error && 'kind' in e ? ` ${String(e.kind)}` : ''}`);
    if (e === ABORT_REASON) {
      if (!opts.signal) this.fail(`${how}: rejected with an abort reason without a signal`);
      return;
    }
    if (e instanceof SelectTimeoutError) {
      if (!opts.timeout) this.fail(`${how}: SelectTimeoutError without a timeout`);
      return;
    }
    if (e instanceof ClosedHandleError) {
      if (rx !== undefined && !rx.isClosed) this.fail(`${how}: ClosedHandleError on an open Receiver`);
      return;
    }
    const c = ch >= 0 ? this.chans[ch] : undefined;
    if (e instanceof RecvError || ((e instanceof RecvTimeoutError || e instanceof TryRecvError) && e.kind === 'disconnected')) {
      if (c !== undefined && c.openTx !== 0) this.fail(`${how}: disconnected while ${c.openTx} Senders are open`);
      if (c !== undefined && c.receivers[0]!.len !== 0) this.fail(`${how}: disconnected while messages are buffered`);
      return;
    }
    if (e instanceof RecvTimeoutError && e.kind === 'timeout') return;
    if (e instanceof TryRecvError && e.kind === 'empty') {
      if (c !== undefined && c.receivers[0]!.len !== 0) this.fail(`${how}: 'empty' while ${c.receivers[0]!.len} are buffered`);
      return;
    }
    this.fail(`${how}: unexpected error ${e instanceof Error ? `${e.name}: ${e.message}` : String(e)}`);
  }

  spawn(describe: string, body: (id: number) => Promise<void>): void {
    const id = this.nextId++;
    this.doing.set(id, `${describe}: starting`);
    this.tasks.push(
      body(id).then(
        () => {
          this.doing.delete(id);
        },
        (e: unknown) => {
          this.doing.delete(id);
          this.fail(`task ${id} (${describe}) threw ${e instanceof Error ? (e.stack ?? e.message) : String(e)}`);
        },
      ),
    );
  }

  // --- tasks -----------------------------------------------------------------

  producer(step: Extract<Step, { k: 'producer' }>): void {
    const ch = step.ch % this.chans.length;
    const tx = this.cloneTx(ch, step.from);
    this.spawn(`producer on ${ch}`, async (id) => {
      for (let q = 0; q < step.ops.length; q++) {
        const op = step.ops[q]!;
        const msg = this.newMsg(id, ch, q);
        const signal = this.signal(op.sig);
        const how = `producer ${id} ${op.m}#${q}`;
        this.doing.set(id, how);
        try {
          switch (op.m) {
            case 'send':
              await tx.send(msg, signal === undefined ? undefined : { signal });
              this.sent(msg, how);
              break;
            case 'trySend':
              try {
                tx.trySend(msg);
              } catch (e) {
                this.checkFull(e, ch, how);
                throw e;
              }
              this.sent(msg, how);
              break;
            case 'offer':
              if (tx.offer(msg)) this.sent(msg, how);
              else {
                this.checkFull(TrySendError.full(msg), ch, how);
                this.returned(msg, `${how}: false`);
              }
              break;
            case 'sendTimeout':
              await tx.sendTimeout(msg, op.ms, signal === undefined ? undefined : { signal });
              this.sent(msg, how);
              break;
            case 'select': {
              const cases: SelectCases = { out: send(tx, msg) as never };
              if (op.withAfter) cases['t'] = after(op.ms);
              const opts = { timeout: op.withTimeout ? op.ms : undefined, signal };
              const r = (await select(cases, opts)) as unknown as AnyResult;
              if (r.case === 'out') {
                if (r.ok) this.sent(msg, how);
                else this.sendFailed(msg, r.error, tx, ch, how);
              } else {
                if (r.case !== 't' || !(r.value instanceof Date)) this.fail(`${how}: unexpected result ${JSON.stringify(r)}`);
                this.returned(msg, `${how}: lost to after()`);
              }
              break;
            }
          }
        } catch (e) {
          this.sendFailed(msg, e, tx, ch, how);
        }
        this.sample(how);
        await pause(op.pause);
      }
      if (step.closeWhenDone) this.closeTx(ch, tx);
    });
  }

  /** A synchronous 'full' outcome must mean: open receivers, bounded, and no room. */
  checkFull(e: unknown, ch: number, how: string): void {
    if (!(e instanceof TrySendError) || e.kind !== 'full') return;
    const c = this.chans[ch]!;
    if (c.cap === undefined) this.fail(`${how}: an unbounded channel reported 'full'`);
    else if (c.cap > 0 && c.receivers[0]!.len < c.cap) this.fail(`${how}: 'full' with ${c.receivers[0]!.len} of ${c.cap} buffered`);
  }

  consumer(step: Extract<Step, { k: 'consumer' }>): void {
    const chans = [...new Set(step.chans.map((c) => c % this.chans.length))];
    const rxs = chans.map((ch) => ({ ch, rx: this.cloneRx(ch, step.from) }));
    const sendCh = step.sendCh < 0 ? -1 : step.sendCh % this.chans.length;
    const out = sendCh < 0 ? undefined : { ch: sendCh, tx: this.cloneTx(sendCh, step.from) };
    this.spawn(`consumer of ${chans.join(',')}`, async (id) => {
      let q = 0;
      for (const op of step.ops) {
        const one = rxs[op.pick % rxs.length]!;
        const signal = this.signal(op.sig);
        const how = `consumer ${id} ${op.m}`;
        this.doing.set(id, how);
        const start = ++this.clock;
        let msg: Msg | undefined;
        const opts = { timeout: op.withTimeout, signal: signal !== undefined };
        try {
          switch (op.m) {
            case 'recv': {
              const v = await one.rx.recv(signal === undefined ? undefined : { signal });
              this.received(v, one.ch, start, ++this.clock, 0, id);
              break;
            }
            case 'tryRecv': {
              let v: Msg;
              try {
                v = one.rx.tryRecv();
              } catch (e) {
                this.recvFailed(e, one.rx, one.ch, how, opts);
                break;
              }
              this.received(v, one.ch, start, ++this.clock, 0, id);
              break;
            }
            case 'poll': {
              const v = one.rx.poll(NONE);
              if (v === NONE) {
                if (one.rx.len !== 0) this.fail(`${how}: poll found nothing while ${one.rx.len} are buffered`);
              } else this.received(v, one.ch, start, ++this.clock, 0, id);
              break;
            }
            case 'recvTimeout': {
              const v = await one.rx.recvTimeout(op.ms, signal === undefined ? undefined : { signal });
              this.received(v, one.ch, start, ++this.clock, 0, id);
              break;
            }
            case 'recvMany':
            case 'tryRecvMany': {
              const into: Msg[] = [];
              let n: number;
              try {
                n =
                  op.m === 'recvMany'
                    ? await one.rx.recvMany(into, op.max, signal === undefined ? undefined : { signal })
                    : one.rx.tryRecvMany(into, op.max);
              } catch (e) {
                // A rejected batch receive must not have taken anything: the
                // caller treats the rejection as "nothing received".
                if (into.length > 0) {
                  this.fail(`${how}: rejected with ${e instanceof Error ? e.name : String(e)} after moving ${into.length} message(s) into the array`);
                }
                throw e;
              }
              const end = ++this.clock;
              if (n !== into.length || n > op.max) this.fail(`${how}: returned ${n}, moved ${into.length}, max ${op.max}`);
              into.forEach((v, i) => this.received(v, one.ch, start, end, i, id));
              break;
            }
            case 'iter': {
              const it = one.rx[Symbol.asyncIterator]();
              let s = start;
              for (let k = 0; k < op.max; k++) {
                const r = await it.next();
                if (r.done) {
                  if (this.chans[one.ch]!.openTx !== 0) this.fail(`${how}: iteration ended while Senders are open`);
                  break;
                }
                this.received(r.value, one.ch, s, ++this.clock, 0, id);
                s = ++this.clock;
              }
              await it.return?.();
              break;
            }
            case 'select':
            case 'trySelect':
            case 'ready': {
              const cases: SelectCases = {};
              rxs.forEach((x, i) => {
                cases[`r${i}`] = i % 2 === 0 ? (x.rx as Receiver<unknown>) : recv(x.rx as Receiver<unknown>);
              });
              if (op.withSend && out !== undefined && op.m !== 'ready') {
                msg = this.newMsg(id, out.ch, q++);
                cases['out'] = send(out.tx, msg) as never;
              }
              if (op.withNever) cases['n'] = never();
              if (op.withAfter && op.m !== 'trySelect') cases['t'] = after(op.ms);
              if (op.m === 'ready') {
                const name = await ready(cases, { timeout: op.withTimeout ? op.ms : undefined, signal, biased: op.biased });
                if (!(name in cases) || name === 'n') this.fail(`${how}: ready() returned ${name}`);
                if (name.startsWith('r')) {
                  const x = rxs[Number(name.slice(1))]!;
                  // Another consumer may have taken it since: poll, don't insist.
                  const v = x.rx.poll(NONE);
                  if (v !== NONE) this.received(v, x.ch, start, ++this.clock, 0, id);
                }
                break;
              }
              const keys = Object.keys(cases);
              const r = (
                op.m === 'select'
                  ? await select(cases, { biased: op.biased, timeout: op.withTimeout ? op.ms : undefined, signal })
                  : trySelect(cases, { biased: op.biased })
              ) as unknown as AnyResult | undefined;
              if (r === undefined) {
                if (op.m !== 'trySelect') this.fail(`${how}: select resolved with nothing`);
                if (msg !== undefined) this.returned(msg, `${how}: nothing ready`);
                break;
              }
              if (!keys.includes(r.case)) this.fail(`${how}: completed unknown case ${r.case}`);
              if (r.case === 'n') this.fail(`${how}: the never() case fired`);
              if (r.case.startsWith('r')) {
                const x = rxs[Number(r.case.slice(1))]!;
                if (r.ok) this.received(r.value, x.ch, start, ++this.clock, 0, id);
                else {
                  if (!(r.error instanceof RecvError)) this.fail(`${how}: ok:false without a RecvError`);
                  this.recvFailed(r.error, x.rx, x.ch, how, opts);
                }
              } else if (r.case === 't') {
                if (!(r.value instanceof Date)) this.fail(`${how}: after() fired without a Date`);
              }
              if (msg !== undefined) {
                if (r.case !== 'out') this.returned(msg, `${how}: lost to ${r.case}`);
                else if (r.ok) this.sent(msg, how);
                else this.sendFailed(msg, r.error, out!.tx, out!.ch, how);
              }
              break;
            }
          }
        } catch (e) {
          if (msg !== undefined && this.msgs.get(msg)!.outcome === 'pending') {
            if (e instanceof ClosedHandleError && e.value !== undefined && e.value !== msg) {
              this.fail(`${how}: ClosedHandleError carries a value that is not this select's`);
            }
            this.returned(msg, `${how}: select rejected ${String(e)}`);
          }
          const rx = op.m === 'select' || op.m === 'trySelect' || op.m === 'ready' ? undefined : one.rx;
          const ch = op.m === 'select' || op.m === 'trySelect' || op.m === 'ready' ? -1 : one.ch;
          if (e instanceof ClosedHandleError && rx === undefined) {
            const anyClosed = rxs.some((x) => x.rx.isClosed) || (out !== undefined && out.tx.isClosed);
            if (!anyClosed) this.fail(`${how}: ClosedHandleError while all its handles are open`);
          } else {
            this.recvFailed(e, rx, ch, how, opts);
          }
        }
        this.sample(how);
        await pause(op.pause);
      }
      if (step.closeWhenDone) {
        for (const x of rxs) this.closeRx(x.ch, x.rx);
        if (out !== undefined) this.closeTx(out.ch, out.tx);
      }
    });
  }

  // --- the driver ------------------------------------------------------------

  async step(step: Step): Promise<void> {
    const n = this.chans.length;
    switch (step.k) {
      case 'producer':
        this.producer(step);
        break;
      case 'consumer':
        this.consumer(step);
        break;
      case 'cloneTx':
        this.cloneTx(step.ch % n, step.from);
        break;
      case 'cloneRx':
        this.cloneRx(step.ch % n, step.from);
        break;
      case 'closeTx': {
        const c = this.chans[step.ch % n]!;
        this.closeTx(step.ch % n, c.senders[step.idx % c.senders.length]!);
        break;
      }
      case 'closeRx': {
        const c = this.chans[step.ch % n]!;
        this.closeRx(step.ch % n, c.receivers[step.idx % c.receivers.length]!);
        break;
      }
      case 'abort':
        this.abort(step.sig);
        break;
      case 'pause':
        await pause(step.p);
        break;
    }
    // Let the tasks run a little between steps.
    await pause(1);
  }

  /** Closes every handle still open, in the program's order, then waits for everything to settle. */
  async finish(prog: Program): Promise<void> {
    for (let i = 0; i < prog.settle; i++) await pause(5);
    const open: { ch: number; h: Sender<Msg> | Receiver<Msg>; tx: boolean; key: number }[] = [];
    this.chans.forEach((c, ch) => {
      for (const h of c.senders) if (!h.isClosed) open.push({ ch, h, tx: true, key: 0 });
      for (const h of c.receivers) if (!h.isClosed) open.push({ ch, h, tx: false, key: 0 });
    });
    open.forEach((o, i) => (o.key = prog.finalKeys[i % prog.finalKeys.length]! * 1000 + i));
    open.sort((a, b) => a.key - b.key);
    for (let i = 0; i < open.length; i++) {
      const o = open[i]!;
      if (o.tx) this.closeTx(o.ch, o.h as Sender<Msg>);
      else this.closeRx(o.ch, o.h as Receiver<Msg>);
      this.sample('final close');
      await pause(prog.finalPauses[i % prog.finalPauses.length]!);
    }
    const settled = await settlesWithin(Promise.all(this.tasks), 2000);
    if (!settled) this.fail(`after every handle was closed, tasks still pending: ${[...this.doing.values()].join('; ')}`);
  }

  /** The end-of-run checks. */
  check(): void {
    const bySender = new Map<string, MsgRecord[]>();
    const lostPerChan = this.chans.map(() => 0);
    for (const r of this.msgs.values()) {
      const tag = JSON.stringify(r.msg);
      if (r.outcome === 'pending') this.fail(`the send of ${tag} never settled`);
      if (r.recvs.length > 1) this.fail(`${tag} was received ${r.recvs.length} times`);
      if (r.outcome === 'returned' && r.recvs.length > 0) this.fail(`${tag} was both handed back (${r.how}) and received`);
      if (r.outcome === 'sent' && r.recvs.length === 0) lostPerChan[r.ch]!++;
      const c = this.chans[r.ch]!;
      const rec = r.recvs[0];
      if (c.cap === 0 && rec !== undefined) {
        if (r.outcome === 'sent' && !(rec.start < r.sendEnd)) {
          this.fail(`rendezvous: the send of ${tag} (${r.how}) resolved at ${r.sendEnd}, before its receive began at ${rec.start}`);
        }
        if (rec.consumer === r.msg.s) this.fail(`rendezvous: consumer ${rec.consumer} received its own ${tag}`);
      }
      const key = `${r.msg.s}`;
      let list = bySender.get(key);
      if (list === undefined) bySender.set(key, (list = []));
      list.push(r);
    }
    this.chans.forEach((c, ch) => {
      if (lostPerChan[ch] !== c.dropped) {
        this.fail(`channel ${ch}: ${lostPerChan[ch]} sent messages were never received, but ${c.dropped} were buffered when the last Receiver closed`);
      }
    });
    // Per-sender FIFO.
    for (const list of bySender.values()) {
      list.sort((a, b) => a.msg.q - b.msg.q);
      const got = list.filter((r) => r.recvs.length > 0);
      for (let i = 0; i < got.length; i++) {
        for (let j = i + 1; j < got.length; j++) {
          const a = got[i]!.recvs[0]!;
          const b = got[j]!.recvs[0]!;
          const ta = JSON.stringify(got[i]!.msg);
          const tb = JSON.stringify(got[j]!.msg);
          if (b.end < a.start) this.fail(`FIFO: ${tb} was received (op ${b.start}..${b.end}) before ${ta} (op ${a.start}..${a.end}) was asked for`);
          if (a.start === b.start && a.consumer === b.consumer && a.idx > b.idx) this.fail(`FIFO: ${tb} came before ${ta} in one batch`);
        }
      }
      // What vanished with the buffer came after everything received from that sender.
      const lastGot = got.length === 0 ? -1 : got[got.length - 1]!.msg.q;
      for (const r of list) {
        if (r.outcome === 'sent' && r.recvs.length === 0 && r.msg.q < lastGot) {
          this.fail(`FIFO: ${JSON.stringify(r.msg)} vanished, but a later message of its sender was received`);
        }
      }
    }
    for (const s of this.signals) {
      const n = getEventListeners(s, 'abort').length;
      if (n !== 0) this.fail(`an AbortSignal still has ${n} 'abort' listeners`);
    }
  }
}

async function runProgram(cap: Cap, prog: Program): Promise<void> {
  const timersBefore = activeTimers();
  const run = new Run(cap, prog.nch);
  for (const step of prog.steps) {
    await run.step(step);
    run.sample(`after step ${step.k}`);
  }
  await run.finish(prog);
  run.check();
  if (STATS !== undefined) {
    STATS.runs++;
    for (const r of run.msgs.values()) {
      const k = `${r.outcome}${r.recvs.length ? '+recv' : ''} ${r.how.replace(/^(producer|consumer) \d+ /, '$1 ').replace(/#\d+/, '')}`;
      STATS.how.set(k, (STATS.how.get(k) ?? 0) + 1);
    }
    STATS.dropped += run.chans.reduce((n, c) => n + c.dropped, 0);
    STATS.tasks += run.tasks.length;
  }
  // Whatever timers the operations armed were cleared once they settled.
  await pause(5);
  const timersAfter = activeTimers();
  if (timersAfter > timersBefore) run.fail(`${timersAfter - timersBefore} timers still armed after every operation settled`);
  if (run.failures.length > 0) {
    assert.fail(`${run.failures.length} violation(s):\n  ${[...new Set(run.failures)].slice(0, 12).join('\n  ')}`);
  }
}

// ---------------------------------------------------------------------------
// The properties

const RUNS = Number(process.env['WEFT_PROPERTY_RUNS'] ?? 400);

for (const [name, cap] of [
  ['bounded(0)', 0],
  ['bounded(1)', 1],
  ['bounded(3)', 3],
  ['unbounded', undefined],
] as const) {
  test(`random programs on ${name}: exactly-once, FIFO, capacity, rendezvous, disconnection and select invariants`, async () => {
    await fc.assert(
      fc.asyncProperty(programArb, (prog) => runProgram(cap, prog)),
      { numRuns: RUNS, interruptAfterTimeLimit: 30_000, includeErrorInReport: true },
    );
  });
}

// The same, on programs that stay busy for longer: many producers and
// consumers of one channel, so queues of parked senders and receivers form.
const busyArb: fc.Arbitrary<Program> = fc.record({
  nch: fc.constant(1),
  steps: fc.array(
    fc.oneof(
      {
        weight: 3,
        arbitrary: fc.record({
          k: fc.constant('producer' as const),
          ch: fc.constant(0),
          from: fc.nat(),
          ops: fc.array(sendOpArb, { minLength: 4, maxLength: 10 }),
          closeWhenDone: fc.constant(true),
        }),
      },
      {
        weight: 3,
        arbitrary: fc.record({
          k: fc.constant('consumer' as const),
          chans: fc.constant([0]),
          from: fc.nat(),
          sendCh: fc.constantFrom(-1, 0),
          ops: fc.array(recvOpArb, { minLength: 4, maxLength: 10 }),
          closeWhenDone: fc.boolean(),
        }),
      },
      { weight: 1, arbitrary: fc.record({ k: fc.constant('abort' as const), sig: fc.integer({ min: 0, max: 2 }) }) },
      { weight: 1, arbitrary: fc.record({ k: fc.constant('pause' as const), p: pauseArb }) },
    ) as fc.Arbitrary<Step>,
    { minLength: 4, maxLength: 12 },
  ),
  settle: fc.integer({ min: 0, max: 6 }),
  finalKeys: fc.array(fc.nat({ max: 1000 }), { minLength: 1, maxLength: 12 }),
  finalPauses: fc.array(pauseArb, { minLength: 1, maxLength: 12 }),
});

for (const [name, cap] of [
  ['bounded(0)', 0],
  ['bounded(1)', 1],
  ['bounded(3)', 3],
  ['unbounded', undefined],
] as const) {
  test(`crowded single channel, ${name}: the same invariants with many parked operations`, async () => {
    await fc.assert(
      fc.asyncProperty(busyArb, (prog) => runProgram(cap, prog)),
      { numRuns: Math.ceil(RUNS / 2), interruptAfterTimeLimit: 30_000, includeErrorInReport: true },
    );
  });
}

// ---------------------------------------------------------------------------
// Focused properties

test('a select never completes more than one case, and its losing cases leave their channels untouched', async () => {
  // Several always-ready or never-ready cases at once, on every flavor: after
  // each select, exactly the chosen case's effect is visible in the lens.
  await fc.assert(
    fc.asyncProperty(
      fc.array(
        fc.record({
          cap: fc.constantFrom<Cap>(0, 1, 3, undefined),
          kind: fc.constantFrom('recv', 'send'),
          preload: fc.integer({ min: 0, max: 3 }),
        }),
        { minLength: 1, maxLength: 5 },
      ),
      fc.boolean(),
      async (specs, biased) => {
        const chans = specs.map((s) => {
          const [tx, rx] = s.cap === undefined ? unbounded<number>() : bounded<number>(s.cap);
          const room = s.cap === undefined ? s.preload : Math.min(s.preload, s.cap);
          for (let i = 0; i < room; i++) tx.trySend(i);
          return { ...s, tx, rx };
        });
        const cases: SelectCases = {};
        chans.forEach((c, i) => {
          cases[`c${i}`] = c.kind === 'recv' ? (c.rx as Receiver<unknown>) : send(c.tx as Sender<unknown>, 100 + i);
        });
        const before = chans.map((c) => c.rx.len);
        const r = trySelect(cases, { biased }) as unknown as AnyResult | undefined;
        const readyIdx = chans
          .map((c, i) => ((c.kind === 'recv' ? before[i]! > 0 : c.cap === undefined || before[i]! < c.cap) ? i : -1))
          .filter((i) => i >= 0);
        if (r === undefined) {
          assert.equal(readyIdx.length, 0, 'trySelect found nothing although a case was ready');
        } else {
          const k = Number(r.case.slice(1));
          assert.ok(readyIdx.includes(k), `case ${r.case} fired but was not ready`);
          if (biased) assert.equal(k, readyIdx[0], 'biased picks the first ready case');
          assert.equal(r.ok, true);
          if (chans[k]!.kind === 'recv') assert.equal(r.value, 0, 'FIFO: the oldest message');
        }
        chans.forEach((c, i) => {
          const fired = r !== undefined && r.case === `c${i}`;
          const expected = fired ? before[i]! + (c.kind === 'recv' ? -1 : 1) : before[i]!;
          assert.equal(c.rx.len, expected, `channel ${i} (${c.kind}, cap ${String(c.cap)}) changed although its case ${fired ? 'fired' : 'lost'}`);
        });
        for (const c of chans) {
          c.tx.close();
          c.rx.close();
        }
      },
    ),
    { numRuns: 300, includeErrorInReport: true },
  );
});

test('abort, timeout and a message racing in the same turn: the message is consumed by at most one side, never lost', async () => {
  // Every combination of "who acts first" within one macrotask turn, for a
  // recv with a signal, a recvTimeout and a select with an after() case.
  await fc.assert(
    fc.asyncProperty(
      fc.constantFrom<Cap>(0, 1, 3, undefined),
      fc.constantFrom('recvSignal', 'recvTimeout', 'selectAfter', 'selectTimeout', 'selectSignal'),
      fc.integer({ min: 0, max: 9 }),
      fc.integer({ min: 0, max: 9 }),
      fc.boolean(),
      async (cap, how, sendDelay, abortDelay, sendFirst) => {
        const [tx, rx] = cap === undefined ? unbounded<number>() : bounded<number>(cap);
        const ac = new AbortController();
        const value = 7;
        let op: Promise<unknown>;
        switch (how) {
          case 'recvSignal':
            op = rx.recv({ signal: ac.signal });
            break;
          case 'recvTimeout':
            op = rx.recvTimeout(0.5);
            break;
          case 'selectAfter':
            op = select({ rx, t: after(0.5) });
            break;
          case 'selectTimeout':
            op = select({ rx }, { timeout: 0.5 });
            break;
          default:
            op = select({ rx }, { signal: ac.signal });
        }
        const outcome = op.then(
          (v) => ({ ok: true as const, v }),
          (e: unknown) => ({ ok: false as const, e }),
        );
        let sendP: Promise<unknown> = Promise.resolve();
        const doSend = async () => {
          await delay(sendDelay);
          sendP = tx.send(value).then(
            () => 'sent',
            (e: unknown) => e,
          );
        };
        const doAbort = async () => {
          await delay(abortDelay);
          ac.abort(ABORT_REASON);
        };
        if (sendFirst) await Promise.all([doSend(), doAbort()]);
        else await Promise.all([doAbort(), doSend()]);
        const res = await within(outcome, 2000, `the ${how} operation`);
        let got: unknown[] = [];
        if (res.ok) {
          const v = res.v as { case?: string; value?: unknown } | number;
          if (typeof v === 'number') got.push(v);
          else if (v.case === 'rx') got.push(v.value);
        }
        // Whatever the race did, the value is received exactly once in total.
        if (got.length === 0) {
          got = [await within(rx.recv(), 2000, 'a later recv of the value')];
        }
        assert.deepEqual(got, [value]);
        assert.equal(await within(sendP, 2000, 'the send'), 'sent');
        assert.equal(rx.len, 0);
        assert.equal(getEventListeners(ac.signal, 'abort').length, 0);
        tx.close();
        rx.close();
      },
    ),
    { numRuns: 300, includeErrorInReport: true },
  );
});
