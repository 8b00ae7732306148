/**
 * Select: wait on several send and receive operations, complete exactly one.
 *
 * How it works, and why it is exact:
 * 1. Poll. Every case is checked for readiness without side effects; one
 *    ready case is chosen uniformly at random (or the first, when biased) and
 *    completed. Nothing else is touched.
 * 2. Park. If no case is ready, one waiter per case is parked on its channel.
 *    The first channel to complete one of them settles the select, and the
 *    select removes its other waiters in the same synchronous step, so no
 *    other channel can hand them anything: a receive case that lost took
 *    nothing, a send case that lost enqueued nothing.
 * A disconnected channel counts as ready: its case fires with `ok: false`.
 *
 * @module
 */
import { offAbort, onAbort } from './abort.js';
import { delayUntil, now } from './clock.js';
import { DISCONNECTED, EMPTY, SENT, cannotBlock, type WaitDomain } from './core.js';
import { ClosedHandleError, RecvError, SelectTimeoutError, SendError } from './errors.js';
import { Receiver } from './receiver.js';
import type { Sender } from './sender.js';
import type { Observer, Waiter, WaiterList } from './waiter.js';
import { AfterCore, TickCore } from './timers.js';

/**
 * A receive case, built by {@link recv}. A bare Receiver is a receive case too.
 */
export interface RecvCase<T> {
  readonly op: 'recv';
  readonly rx: Receiver<T>;
}

/** A send case, built by {@link send}. */
export interface SendCase<T> {
  readonly op: 'send';
  readonly tx: Sender<T>;
  readonly value: T;
}

/** Anything that can stand as a select case. */
export type SelectCase = Receiver<unknown> | RecvCase<unknown> | SendCase<unknown>;

/** The cases of a select, by name. Names are the `case` of the result. */
export type SelectCases = Record<string, SelectCase>;

/**
 * What a select returns: which case fired (`case`), and its outcome. A
 * receive case gives `value` when `ok`; a send case gives nothing when `ok`.
 * `ok: false` means the channel was disconnected; a failed send hands its
 * value back in `error.value`.
 */
export type SelectResult<C extends SelectCases> = {
  [K in keyof C & string]: C[K] extends SendCase<infer T>
    ? { readonly case: K; readonly ok: true } | { readonly case: K; readonly ok: false; readonly error: SendError<T> }
    : C[K] extends RecvCase<infer T> | Receiver<infer T>
      ? { readonly case: K; readonly ok: true; readonly value: T } | { readonly case: K; readonly ok: false; readonly error: RecvError }
      : never;
}[keyof C & string];

/** Options of {@link select} and {@link ready}. */
export interface SelectOptions {
  /** Choose the first ready case in listing order instead of a random one. */
  biased?: boolean;
  /** Give up after this many milliseconds with {@link SelectTimeoutError}. */
  timeout?: number;
  /** Give up at this time (a Date or epoch milliseconds) with {@link SelectTimeoutError}. */
  deadline?: Date | number;
  /** Cancels the select; it rejects with `signal.reason` and no case fires. */
  signal?: AbortSignal;
}

/**
 * A receive case for {@link select}: `recv(rx)` fires with the next message.
 * Passing the Receiver itself means the same.
 *
 * @example
 * ```ts
 * import { select, recv, unbounded } from 'weft';
 * const [tx, rx] = unbounded<number>();
 * tx.trySend(1);
 * const r = await select({ data: recv(rx) });
 * if (r.ok) console.log(r.value); // 1
 * ```
 */
export function recv<T>(rx: Receiver<T>): RecvCase<T> {
  return { op: 'recv', rx };
}

/**
 * A send case for {@link select}: `send(tx, value)` fires once `value` is
 * sent. If another case fires, `value` was not sent.
 *
 * @example
 * ```ts
 * import { select, send, bounded } from 'weft';
 * const [tx, rx] = bounded<string>(1);
 * const r = await select({ out: send(tx, 'hello') });
 * console.log(r.case, rx.tryRecv()); // 'out' 'hello'
 * ```
 */
export function send<T>(tx: Sender<T>, value: T): SendCase<T> {
  return { op: 'send', tx, value };
}

/** A case taken apart: the handle, whether it sends, and the value. */
interface Op {
  handle: Receiver<unknown> | Sender<unknown>;
  sends: boolean;
  value: unknown;
}

function opOf(c: SelectCase, out: Op): Op {
  if (c instanceof Receiver) {
    out.handle = c;
    out.sends = false;
    out.value = undefined;
  } else if (c.op === 'send') {
    out.handle = c.tx;
    out.sends = true;
    out.value = c.value;
  } else {
    out.handle = c.rx;
    out.sends = false;
    out.value = undefined;
  }
  if (out.handle.closed) throw new ClosedHandleError('select', out.value);
  return out;
}

/** Scratch case view for the polling pass (one event loop: no reentrancy). */
function newOp(): Op {
  return { handle: undefined as unknown as Receiver<unknown>, sends: false, value: undefined };
}
const scratch: Op = newOp();

/** Forgets the scratch view, so it keeps no handle or value alive. */
function clearScratch(): void {
  scratch.handle = undefined as unknown as Receiver<unknown>;
  scratch.value = undefined;
}

function isReady(op: Op): boolean {
  return op.sends ? op.handle.core.canSend() : op.handle.core.canRecv();
}

/** Index of a ready case: uniformly random among the ready ones, or the first when biased; -1 if none. */
function pickReady(cases: SelectCases, keys: string[], biased: boolean): number {
  try {
    return pickReadyIn(cases, keys, biased);
  } finally {
    clearScratch();
  }
}

function pickReadyIn(cases: SelectCases, keys: string[], biased: boolean): number {
  let chosen = -1;
  let seen = 0;
  for (let i = 0; i < keys.length; i++) {
    if (!isReady(opOf(cases[keys[i]!]!, scratch))) continue;
    if (biased) return i;
    seen++;
    if (Math.random() * seen < 1) chosen = i;
  }
  return chosen;
}

type AnyResult = { case: string; ok: boolean; value?: unknown; error?: Error };

/** Completes case `key` now, if it still can; undefined if it became unready. */
function attempt(cases: SelectCases, key: string): AnyResult | undefined {
  try {
    return attemptWith(opOf(cases[key]!, scratch), key);
  } finally {
    clearScratch();
  }
}

function attemptWith(op: Op, key: string): AnyResult | undefined {
  if (op.sends) {
    const status = op.handle.core.trySend(op.value);
    if (status === SENT) return { case: key, ok: true };
    if (status === DISCONNECTED) return { case: key, ok: false, error: new SendError(op.value) };
    return undefined;
  }
  const v = op.handle.core.tryRecv();
  if (v === EMPTY) return undefined;
  if (v === DISCONNECTED) return { case: key, ok: false, error: new RecvError() };
  return { case: key, ok: true, value: v };
}

/** The polling pass: completes one ready case, or returns undefined. */
function poll(cases: SelectCases, keys: string[], biased: boolean): AnyResult | undefined {
  // A ready case can only turn unready between check and attempt when another
  // thread shares the channel; then poll again.
  for (let tries = 0; tries < 8; tries++) {
    const i = pickReady(cases, keys, biased);
    if (i < 0) return undefined;
    const r = attempt(cases, keys[i]!);
    if (r !== undefined) return r;
  }
  return undefined;
}

function deadlineOf(options: SelectOptions | undefined): number {
  let deadline = Infinity;
  if (options?.timeout !== undefined) {
    if (!(options.timeout >= 0)) throw new RangeError(`select: timeout must be a number of milliseconds >= 0, got ${String(options.timeout)}`);
    deadline = now() + options.timeout;
  }
  if (options?.deadline !== undefined) {
    const at = typeof options.deadline === 'number' ? options.deadline : options.deadline.getTime();
    if (Number.isNaN(at)) throw new RangeError('select: deadline is not a valid time');
    deadline = Math.min(deadline, now() + (at - Date.now()));
  }
  return deadline;
}

/**
 * Waits until one of `cases` can complete, completes exactly that one, and
 * says which. Cases are receive cases (a Receiver, or {@link recv}) and send
 * cases ({@link send}); timers such as `after(ms)` are receivers too, and
 * `never()` switches a case off.
 *
 * Among several ready cases one is chosen uniformly at random (pass
 * `biased: true` to prefer the first listed). Cases that did not fire had no
 * effect. Rejects with {@link SelectTimeoutError} after `timeout`/`deadline`,
 * or with `signal.reason` on abort.
 *
 * @example
 * ```ts
 * import { select, send, after, unbounded, bounded } from 'weft';
 * const [jobsTx, jobs] = unbounded<string>();
 * const [quitTx, quit] = bounded<void>(1);
 * const [outTx] = bounded<number>(1);
 * jobsTx.trySend('job');
 * const r = await select({ job: jobs, quit, out: send(outTx, 42), idle: after(1000) });
 * switch (r.case) {
 *   case 'job':  if (r.ok) console.log('got', r.value); break;
 *   case 'quit': console.log('quitting'); break;
 *   case 'out':  console.log('sent 42'); break;
 *   case 'idle': console.log('nothing for a second'); break;
 * }
 * ```
 */
export function select<C extends SelectCases>(cases: C, options?: SelectOptions): Promise<SelectResult<C>> {
  let keys: string[];
  let deadline: number;
  const signal = options?.signal;
  if (signal?.aborted) return Promise.reject(signal.reason);
  try {
    keys = Object.keys(cases);
    deadline = deadlineOf(options);
    const r = poll(cases, keys, options?.biased === true);
    if (r !== undefined) return Promise.resolve(r as SelectResult<C>);
  } catch (e) {
    return Promise.reject(e);
  }
  if (now() >= deadline) return Promise.reject(new SelectTimeoutError());
  return new Selection(cases, keys, signal, deadline, options?.biased === true).promise as Promise<SelectResult<C>>;
}

/**
 * The non-blocking select (Go's `default:` case): completes one ready case
 * and returns its result, or returns `undefined` when none is ready.
 *
 * @example
 * ```ts
 * import { trySelect, unbounded } from 'weft';
 * const [, rx] = unbounded<number>();
 * console.log(trySelect({ rx })); // undefined: nothing ready
 * ```
 */
export function trySelect<C extends SelectCases>(cases: C, options?: Pick<SelectOptions, 'biased'>): SelectResult<C> | undefined {
  return poll(cases, Object.keys(cases), options?.biased === true) as SelectResult<C> | undefined;
}

/**
 * The blocking select, for worker threads: like {@link select}, but blocks
 * the thread (a brief adaptive spin, then `Atomics.wait`) instead of
 * returning a promise. At least one case must be on a shared channel; cases
 * on in-thread channels are polled (nothing else runs in this thread while
 * it blocks, so they cannot become ready meanwhile). Timer cases cannot be
 * waited on: use the `timeout` or `deadline` option. Throws a TypeError on
 * the main thread.
 *
 * @example
 * ```ts
 * // in a worker
 * import { selectSync } from 'weft';
 * const r = selectSync({ jobs, quit }, { timeout: 1000 });
 * if (r.case === 'jobs' && r.ok) handle(r.value);
 * ```
 */
export function selectSync<C extends SelectCases>(cases: C, options?: Omit<SelectOptions, 'signal'>): SelectResult<C> {
  const keys = Object.keys(cases);
  const deadline = deadlineOf(options);
  const biased = options?.biased === true;
  const ops = keys.map((k) => opOf(cases[k]!, newOp()));
  let domain: WaitDomain | undefined;
  for (const op of ops) {
    const core = op.handle.core;
    if (core instanceof AfterCore || core instanceof TickCore) {
      throw new TypeError('selectSync: timer cases (after, at, tick) cannot be waited on by a blocking select; use the timeout or deadline option');
    }
    const d = core.waitDomain;
    if (d === undefined) continue;
    if (domain !== undefined && d !== domain) throw new TypeError('selectSync: the cases belong to different shared-memory arenas');
    domain = d;
  }
  if (domain === undefined) throw cannotBlock('selectSync', 'await select()');
  domain.check('selectSync');
  for (;;) {
    const r = poll(cases, keys, biased);
    if (r !== undefined) return r as SelectResult<C>;
    if (now() >= deadline) throw new SelectTimeoutError();
    for (const op of ops) op.handle.core.watch?.(op.sends ? 'send' : 'recv');
    try {
      const snap = domain.snapshot();
      const again = poll(cases, keys, biased);
      if (again !== undefined) return again as SelectResult<C>;
      domain.park(snap, deadline);
    } finally {
      for (const op of ops) op.handle.core.unwatch?.(op.sends ? 'send' : 'recv');
    }
  }
}

/**
 * Readiness only (crossbeam's `Select::ready`): waits until one of `cases`
 * could complete and returns its name, **without** completing it. The
 * caller then performs the operation itself (e.g. `tryRecv`); when channels
 * are shared with other consumers, that attempt may find the message gone.
 *
 * @example
 * ```ts
 * import { ready, unbounded } from 'weft';
 * const [tx, rx] = unbounded<number>();
 * setTimeout(() => tx.trySend(5), 5);
 * const which = await ready({ rx });
 * console.log(which, rx.tryRecv()); // 'rx' 5
 * ```
 */
export async function ready<C extends SelectCases>(cases: C, options?: SelectOptions): Promise<keyof C & string> {
  const keys = Object.keys(cases);
  const deadline = deadlineOf(options);
  const biased = options?.biased === true;
  for (;;) {
    if (options?.signal?.aborted) throw options.signal.reason;
    const i = pickReady(cases, keys, biased);
    if (i >= 0) return keys[i]!;
    if (now() >= deadline) throw new SelectTimeoutError();
    await new Watch(cases, keys, options?.signal, deadline).promise;
  }
}

/**
 * Non-blocking readiness: the name of a case that could complete now, or
 * `undefined`.
 *
 * @example
 * ```ts
 * import { tryReady, unbounded } from 'weft';
 * const [tx, rx] = unbounded<number>();
 * tx.trySend(1);
 * console.log(tryReady({ rx })); // 'rx'
 * ```
 */
export function tryReady<C extends SelectCases>(cases: C, options?: Pick<SelectOptions, 'biased'>): (keyof C & string) | undefined {
  const keys = Object.keys(cases);
  const i = pickReady(cases, keys, options?.biased === true);
  return i < 0 ? undefined : keys[i];
}

/** Shared settlement of a parked select or watch: signal, timer, one-shot. */
abstract class Pending<R> {
  readonly promise: Promise<R>;
  protected resolve!: (r: R) => void;
  protected reject!: (e: unknown) => void;
  done = false;
  private timer: ReturnType<typeof setTimeout> | undefined;

  constructor(
    private signal: AbortSignal | undefined,
    private readonly deadline: number,
  ) {
    this.promise = new Promise<R>((resolve, reject) => {
      this.resolve = resolve;
      this.reject = reject;
    });
    if (signal !== undefined) onAbort(signal, this);
    if (deadline !== Infinity) this.timer = setTimeout(this.onTimer, delayUntil(deadline));
  }

  /** Removes whatever this pending operation registered on channels. */
  protected abstract unregister(): void;

  settle(outcome: { ok: true; value: R } | { ok: false; error: unknown }): void {
    if (this.done) return;
    this.done = true;
    this.unregister();
    if (this.signal !== undefined) offAbort(this.signal, this);
    this.signal = undefined;
    if (this.timer !== undefined) clearTimeout(this.timer);
    this.timer = undefined;
    if (outcome.ok) this.resolve(outcome.value);
    else this.reject(outcome.error);
  }

  handleEvent(): void {
    const reason: unknown = this.signal?.reason;
    this.settle({ ok: false, error: reason });
  }

  private readonly onTimer = (): void => {
    if (now() < this.deadline) {
      this.timer = setTimeout(this.onTimer, delayUntil(this.deadline));
      return;
    }
    this.timer = undefined;
    this.settle({ ok: false, error: new SelectTimeoutError() });
  };
}

/** A shuffled copy of `keys` (Fisher–Yates). */
function shuffled(keys: string[]): string[] {
  const out = keys.slice();
  for (let i = out.length - 1; i > 0; i--) {
    const j = Math.floor(Math.random() * (i + 1));
    const t = out[i]!;
    out[i] = out[j]!;
    out[j] = t;
  }
  return out;
}

/** A parked select: one waiter per case, settled by the first to complete. */
class Selection extends Pending<AnyResult> {
  private readonly waiters: CaseWaiter[] = [];

  constructor(cases: SelectCases, keys: string[], signal: AbortSignal | undefined, deadline: number, biased: boolean) {
    super(signal, deadline);
    // When one event could complete several parked cases (two cases on one
    // channel, two timers), the case parked first wins: park in random order.
    for (const key of biased ? keys : shuffled(keys)) {
      const op = opOf(cases[key]!, newOp());
      const w = new CaseWaiter(this, key, op);
      this.waiters.push(w);
      if (op.sends) op.handle.core.parkSend(w);
      else op.handle.core.parkRecv(w);
      if (this.done) break; // a core may complete a waiter while it is being parked
    }
  }

  protected unregister(): void {
    for (const w of this.waiters) w.op.handle.core.cancel(w);
  }
}

class CaseWaiter implements Waiter<unknown> {
  prev: Waiter<unknown> | null = null;
  next: Waiter<unknown> | null = null;
  list: WaiterList<unknown> | null = null;
  readonly owner: object;
  readonly value: unknown;

  constructor(
    private readonly sel: Selection,
    private readonly key: string,
    readonly op: Op,
  ) {
    this.owner = op.handle;
    this.value = op.value;
  }
  received(value: unknown): void {
    this.sel.settle({ ok: true, value: { case: this.key, ok: true, value } });
  }
  sent(): void {
    this.sel.settle({ ok: true, value: { case: this.key, ok: true } });
  }
  sentSoon(): void {
    this.sent();
  }
  disconnected(): void {
    const error = this.op.sends ? new SendError(this.value) : new RecvError();
    this.sel.settle({ ok: true, value: { case: this.key, ok: false, error } });
  }
  failed(error: Error): void {
    this.sel.settle({ ok: false, error });
  }
}

/** A parked readiness wait: one observer on every case's channel. */
class Watch extends Pending<void> implements Observer {
  private readonly ops: Op[] = [];

  constructor(cases: SelectCases, keys: string[], signal: AbortSignal | undefined, deadline: number) {
    super(signal, deadline);
    for (const key of keys) {
      const op = opOf(cases[key]!, newOp());
      this.ops.push(op);
      op.handle.core.observe(op.sends ? 'send' : 'recv', this);
    }
  }

  notify(): void {
    this.settle({ ok: true, value: undefined });
  }

  protected unregister(): void {
    for (const op of this.ops) op.handle.core.unobserve(op.sends ? 'send' : 'recv', this);
  }
}
