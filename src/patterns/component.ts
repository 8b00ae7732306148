/**
 * The component loop (the articles' "non-event-loop").
 *
 * A component owns private state and its receivers, and runs a plain loop:
 * wait for one of its inputs (or an idle timer), handle that one message,
 * then do one step of its own work. All its state is touched by that one
 * loop only, so its logic is sequential however many producers feed it.
 *
 * The body (what the component does) is a plain object of functions, kept
 * apart from the inputs (what it listens to), so that `spawnThread` can load
 * the same body from a module on a worker thread and hand it shared channels.
 *
 * @module
 */
import { after, Receiver, select, trySelect, type SelectCases } from '../channel/index.js';
import { Fair, isThenable } from './fair.js';
import type { Parallel } from './tasks.js';
import { loopHooks, type LoopHooks } from './watch.js';

/**
 * What a component can wait on: a Receiver, or work it runs in parallel to
 * itself (a {@link Parallel}, such as a task group).
 *
 * @example
 * ```ts
 * import { bounded, tasks, type ComponentInput } from 'weft';
 * const inputs: ComponentInput[] = [bounded<string>(8)[1], tasks<number>()];
 * console.log(inputs.length); // 2
 * ```
 */
export type ComponentInput = Receiver<unknown> | Parallel<unknown>;

/**
 * A component's inputs, by name. The names are the `input` tags of its messages.
 *
 * @example
 * ```ts
 * import { bounded, tasks, type ComponentInputs } from 'weft';
 * const inputs = { jobs: bounded<string>(8)[1], hashes: tasks<number>() } satisfies ComponentInputs;
 * console.log(Object.keys(inputs)); // ['jobs', 'hashes']
 * ```
 */
export type ComponentInputs = { readonly [name: string]: ComponentInput };

/**
 * The message type an input delivers.
 *
 * @example
 * ```ts
 * import type { InputValue, Receiver, TaskGroup, TaskResult } from 'weft';
 * const a: InputValue<Receiver<string>> = 'text';
 * const b: InputValue<TaskGroup<number>> = { ok: true, value: 1 } satisfies TaskResult<number>;
 * console.log(a, b);
 * ```
 */
export type InputValue<X> = X extends Receiver<infer T> ? T : X extends Parallel<infer T> ? T : never;

/**
 * What the handler receives: which input fired (`input`) and its value,
 * as a discriminated union, so `switch (msg.input)` narrows `msg.value`.
 *
 * @example
 * ```ts
 * import type { ComponentMessage, Receiver } from 'weft';
 * type Msg = ComponentMessage<{ jobs: Receiver<string>; ticks: Receiver<Date> }>;
 * function describe(msg: Msg): string {
 *   switch (msg.input) {
 *     case 'jobs': return msg.value.toUpperCase();     // string
 *     case 'ticks': return msg.value.toISOString();    // Date
 *   }
 * }
 * console.log(describe({ input: 'jobs', value: 'a' })); // 'A'
 * ```
 */
export type ComponentMessage<I extends ComponentInputs> = {
  [K in keyof I & string]: { readonly input: K; readonly value: InputValue<I[K]> };
}[keyof I & string];

/**
 * Why a component stopped: its body asked to (`quit`), every input
 * disconnected and nothing was left to do (`disconnected`), its signal or
 * `stop()` cancelled it (`aborted`), or its body threw (`error`).
 *
 * @example
 * ```ts
 * import type { StopReason } from 'weft';
 * const clean = (r: StopReason): boolean => r !== 'error';
 * console.log(clean('quit')); // true
 * ```
 */
export type StopReason = 'quit' | 'disconnected' | 'aborted' | 'error';

/**
 * Passed to `cleanup`: why the loop ended; `cause` is the abort reason or the error.
 *
 * @example
 * ```ts
 * import type { StopInfo } from 'weft';
 * const log = (stop: StopInfo): void => console.log(stop.reason, stop.cause ?? '');
 * log({ reason: 'aborted', cause: 'shutdown' }); // aborted shutdown
 * ```
 */
export interface StopInfo {
  readonly reason: StopReason;
  readonly cause?: unknown;
}

/**
 * How a component ended without error; `result` is what `cleanup` returned.
 *
 * @example
 * ```ts
 * import { bounded, spawn } from 'weft';
 * const [tx, rx] = bounded<number>(4);
 * const c = spawn({ init: () => ({ sum: 0 }), handle: (s, m) => { s.sum += m.value; }, cleanup: (s) => s.sum }, { inputs: { rx } });
 * await tx.send(2); tx.close();
 * const exit = await c.done;
 * console.log(exit.reason, exit.result); // 'disconnected' 2
 * ```
 */
export interface ComponentExit<R> {
  readonly reason: Exclude<StopReason, 'error'>;
  readonly result: R;
  readonly cause?: unknown;
}

/**
 * What the body's functions get besides their state.
 *
 * @example
 * ```ts
 * import { bounded, spawn } from 'weft';
 * const [tx, rx] = bounded<string>(1);
 * const c = spawn({
 *   handle(_s, msg, ctx) { if (msg.value === 'quit') ctx.stop(); else console.log(ctx.name, msg.value); },
 * }, { inputs: { rx }, name: 'echo' });
 * await tx.send('hi'); await tx.send('quit');
 * await c.done; // echo hi
 * ```
 */
export interface ComponentContext<I extends ComponentInputs> {
  /** The component's name (from {@link SpawnOptions.name}). */
  readonly name: string;
  /** The inputs, as given to {@link spawn}: start work on a `Parallel` input through here. */
  readonly inputs: I;
  /** Aborted when the component stops (its reason: the abort reason, or the error that stopped it): pass it to whatever the body awaits. */
  readonly signal: AbortSignal;
  /** Quit: the loop ends after the current handler or step returns, and runs `cleanup`. */
  stop(): void;
}

/**
 * What a component does: a plain object of functions, with no channels in it.
 * Defined apart from the channels, it can live in its own module and run on
 * a worker thread of its own (`spawnThread`), unchanged.
 *
 * Each turn of the loop waits for one message (on the inputs `accepts`
 * allows, or until `idle` ms pass), hands it to `handle`, then calls `step`
 * once. While `step` returns `true` (more work pending) the loop does not
 * wait: it takes a message only if one is ready, so local work goes on
 * while the outside world is still let in between steps.
 *
 * @typeParam I the inputs; @typeParam S the private state; @typeParam R what `cleanup` returns.
 *
 * @example
 * ```ts
 * import { bounded, spawn, type ComponentBody, type Receiver } from 'weft';
 * type Inputs = { words: Receiver<string> };
 * export const counter: ComponentBody<Inputs, Map<string, number>, number> = {
 *   init: () => new Map(),
 *   handle: (counts, msg) => void counts.set(msg.value, (counts.get(msg.value) ?? 0) + 1),
 *   cleanup: (counts) => counts.size,
 * };
 * const [tx, words] = bounded<string>(8);
 * const c = spawn(counter, { inputs: { words } });
 * for (const w of ['a', 'b', 'a']) await tx.send(w);
 * tx.close();
 * console.log((await c.done).result); // 2
 * ```
 */
export interface ComponentBody<I extends ComponentInputs, S = undefined, R = void> {
  /** Creates the private state (without it, the state is `undefined`). If it throws, `done` rejects and `cleanup` does not run. */
  init?(ctx: ComponentContext<I>): S | PromiseLike<S>;
  /** Handles one message. */
  handle(state: S, msg: ComponentMessage<I>, ctx: ComponentContext<I>): void | PromiseLike<void>;
  /** One step of the component's own work, after each message or idle wake-up. Return `true` if more is pending. */
  step?(state: S, ctx: ComponentContext<I>): boolean | void | PromiseLike<boolean | void>;
  /** Wake up after this many ms without a message (then only `step` runs). `undefined`: wait indefinitely. */
  idle?: number | ((state: S, ctx: ComponentContext<I>) => number | undefined);
  /** Whether to take messages from `input` on this turn (default: always) — e.g. not while busy. */
  accepts?(input: keyof I & string, state: S, ctx: ComponentContext<I>): boolean;
  /** `input` disconnected (every Sender closed, queue drained); the loop stops listening to it. */
  disconnected?(input: keyof I & string, state: S, ctx: ComponentContext<I>): void;
  /** Runs once when the loop ends, however it ends; its return value is the component's result. */
  cleanup?(state: S, stop: StopInfo, ctx: ComponentContext<I>): R | PromiseLike<R>;
  /** Prefer inputs in listing order when several are ready (e.g. a quit input first). Default: random. */
  biased?: boolean;
}

/** Is `v` a component body (an object with a `handle` function)? @internal */
export function isComponentBody(v: unknown): v is ComponentBody<ComponentInputs, unknown, unknown> {
  return typeof v === 'object' && v !== null && typeof (v as { handle?: unknown }).handle === 'function';
}

/**
 * Callbacks for a hang monitor: `onActivity` just before the loop handles a
 * message (annotated with the input name) or runs `init`, `step` (`'step'`,
 * `'idle'` after an idle wake-up) or `cleanup`; `onWait` just before it
 * blocks waiting for a message. Keep them cheap (they run on every turn) and
 * make them not throw: an exception ends the component as a body error would.
 *
 * @example
 * ```ts
 * import { bounded, spawn, type ComponentHooks } from 'weft';
 * let lastActive = performance.now();
 * let waiting = false;
 * const hooks: ComponentHooks = {
 *   onActivity: () => { lastActive = performance.now(); waiting = false; },
 *   onWait: () => { waiting = true; },
 * };
 * const [tx, rx] = bounded<number>(1);
 * const c = spawn({ handle() {} }, { inputs: { rx }, hooks });
 * tx.close();
 * await c.done;
 * console.log(waiting, lastActive > 0); // false true
 * ```
 */
export interface ComponentHooks {
  onActivity?(annotation: string): void;
  onWait?(): void;
}

/**
 * Options of {@link spawn}.
 *
 * @example
 * ```ts
 * import { bounded, spawn, type SpawnOptions, type Receiver } from 'weft';
 * const [, rx] = bounded<number>(1);
 * const ac = new AbortController();
 * setTimeout(() => ac.abort(), 10);
 * const options: SpawnOptions<{ rx: Receiver<number> }> = { inputs: { rx }, name: 'idle', signal: ac.signal };
 * console.log((await spawn({ handle() {} }, options).done).reason); // 'aborted'
 * ```
 */
export interface SpawnOptions<I extends ComponentInputs> {
  /** The receivers (and parallel work) the component owns. It closes them when it stops. */
  readonly inputs: I;
  /** A name for diagnostics. */
  readonly name?: string;
  /** Stops the component (reason `aborted`). */
  readonly signal?: AbortSignal;
  /**
   * Hang-monitor callbacks. Without them, the component reports to the
   * thread's loop watcher if one is installed (see `watchLoops`; a hang
   * monitor installs one), and detaches from it when it ends.
   */
  readonly hooks?: ComponentHooks;
}

/**
 * A running component.
 *
 * @example
 * ```ts
 * import { bounded, spawn } from 'weft';
 * const [, rx] = bounded<number>(1);
 * const c = spawn({ handle() {} }, { inputs: { rx } });
 * console.log((await c.stop('maintenance')).cause); // 'maintenance'
 * ```
 */
export interface Component<R> {
  readonly name: string;
  /** Settles when the loop and `cleanup` are done: resolves with the {@link ComponentExit}, rejects with the body's error. */
  readonly done: Promise<ComponentExit<R>>;
  /** Cancels the component (reason `aborted`) and waits for it to end. */
  stop(reason?: unknown): Promise<ComponentExit<R>>;
  /** `await using c = spawn(…)` stops it at scope end. */
  [Symbol.asyncDispose](): Promise<void>;
}

/** The select key of the idle timer; cannot collide with a sensible input name. */
const IDLE = '\u0000idle';

type Outcome = { readonly case: string; readonly ok: boolean; readonly value?: unknown };

let unnamed = 0;

/**
 * Starts a component: runs `body` over `options.inputs` in a loop until it
 * quits (`ctx.stop()`), its inputs disconnect, or it is aborted; then runs
 * `cleanup` and closes its inputs.
 *
 * Stopping on disconnection: once every Receiver input is disconnected and
 * drained, every `Parallel` input has nothing pending, and `step` has no
 * more work, the loop ends with reason `disconnected`. A component with no
 * Receiver input never ends that way.
 *
 * @example
 * ```ts
 * import { bounded, spawn } from 'weft';
 * const [jobs, jobsRx] = bounded<string>(16);
 * const [quit, quitRx] = bounded<void>(1);
 * const worker = spawn(
 *   {
 *     init: () => ({ queue: [] as string[], done: 0 }),
 *     handle(s, msg, ctx) {
 *       switch (msg.input) {
 *         case 'quit': return ctx.stop();
 *         case 'jobs': s.queue.push(msg.value); return;
 *       }
 *     },
 *     step(s) {                       // one unit of local work per turn
 *       if (s.queue.shift() !== undefined) s.done++;
 *       return s.queue.length > 0;    // more pending: don't block next turn
 *     },
 *     cleanup: (s) => s.done,
 *   },
 *   { inputs: { quit: quitRx, jobs: jobsRx }, name: 'worker' },
 * );
 * await jobs.send('a'); await jobs.send('b');
 * jobs.close(); quit.close();             // inputs disconnect: the loop drains and ends
 * console.log(await worker.done);         // { reason: 'disconnected', result: 2 }
 * ```
 */
export function spawn<I extends ComponentInputs, S = undefined, R = void>(body: ComponentBody<I, S, R>, options: SpawnOptions<I>): Component<R> {
  const loop = new Loop<I, S, R>(body, options);
  const done = loop.run();
  return {
    name: loop.name,
    done,
    stop(reason?: unknown): Promise<ComponentExit<R>> {
      loop.abort(reason);
      return done;
    },
    async [Symbol.asyncDispose](): Promise<void> {
      loop.abort(undefined);
      await done;
    },
  };
}

/** One component's loop; it is also the body's {@link ComponentContext}. */
class Loop<I extends ComponentInputs, S, R> implements ComponentContext<I> {
  readonly name: string;
  readonly inputs: I;
  private readonly ac = new AbortController();
  private readonly keys: string[];
  private readonly receivers = new Map<string, Receiver<unknown>>();
  private readonly parallels: Parallel<unknown>[] = [];
  private readonly hooks: ComponentHooks | undefined;
  private readonly watched: LoopHooks | undefined;
  private readonly external: AbortSignal | undefined;
  private openReceivers = 0;
  private readonly plainReceivers: number;
  private quit = false;
  private cases: Record<string, Receiver<unknown>> | null = null;
  private readonly selectOptions: { readonly biased: boolean; readonly signal: AbortSignal };

  constructor(
    private readonly body: ComponentBody<I, S, R>,
    options: SpawnOptions<I>,
  ) {
    this.name = options.name ?? `component-${++unnamed}`;
    this.inputs = options.inputs;
    this.watched = options.hooks === undefined ? loopHooks(this.name) : undefined;
    this.hooks = options.hooks ?? this.watched;
    this.keys = Object.keys(options.inputs);
    for (const key of this.keys) this.adopt(key, options.inputs[key]!);
    this.plainReceivers = this.openReceivers;
    this.selectOptions = { biased: body.biased === true, signal: this.ac.signal };
    this.external = options.signal;
    this.external?.addEventListener('abort', this);
    if (this.external?.aborted) this.abort(this.external.reason);
  }

  get signal(): AbortSignal {
    return this.ac.signal;
  }

  stop(): void {
    this.quit = true;
  }

  /** Cancels the loop from outside (signal or `Component.stop`). */
  abort(reason: unknown): void {
    if (!this.ac.signal.aborted) this.ac.abort(reason);
  }

  /** The external signal's listener. */
  handleEvent(): void {
    this.abort(this.external?.reason);
  }

  async run(): Promise<ComponentExit<R>> {
    let state: S;
    try {
      this.activity('init');
      state = (this.body.init ? await this.body.init(this) : undefined) as S;
    } catch (e) {
      this.finish();
      throw e;
    }
    const info = await this.loop(state).catch((e: unknown) => this.classify(e));
    if (!this.ac.signal.aborted) this.ac.abort(info.reason === 'error' ? info.cause : undefined);
    return this.end(state, info);
  }

  private adopt(key: string, input: ComponentInput): void {
    if (input instanceof Receiver) {
      this.receivers.set(key, input);
      this.openReceivers++;
    } else {
      this.receivers.set(key, input.results);
      this.parallels.push(input);
    }
  }

  private async loop(state: S): Promise<StopInfo> {
    const fair = new Fair();
    let more = false;
    for (;;) {
      if (this.ac.signal.aborted) return { reason: 'aborted', cause: this.ac.signal.reason };
      if (this.quit) return { reason: 'quit' };
      if (!more && this.drained()) return { reason: 'disconnected' };
      // Take a ready message without waiting; block only when there is no local work.
      const cases = this.casesFor(state);
      let r = trySelect(cases, this.selectOptions) as Outcome | undefined;
      if (r === undefined && !more) r = await this.wait(state, cases);
      if (r !== undefined) await this.dispatch(state, r);
      if (this.quit) return { reason: 'quit' };
      if (this.body.step !== undefined) more = await this.step(state);
      if (this.quit) return { reason: 'quit' };
      const y = fair.turn();
      if (y !== undefined) await y;
    }
  }

  private wait(state: S, inputs: SelectCases): Promise<Outcome> {
    const idle = this.idleFor(state);
    const cases = idle === undefined ? inputs : { ...inputs, [IDLE]: after(idle) };
    this.hooks?.onWait?.();
    return select(cases, this.selectOptions) as Promise<Outcome>;
  }

  private idleFor(state: S): number | undefined {
    const idle = this.body.idle;
    return typeof idle === 'function' ? idle(state, this) : idle;
  }

  /** The inputs to listen to on this turn; reused while nothing can change it. */
  private casesFor(state: S): Record<string, Receiver<unknown>> {
    if (this.cases !== null) return this.cases;
    const accepts = this.body.accepts;
    const cases: Record<string, Receiver<unknown>> = {};
    for (const key of this.keys) {
      const rx = this.receivers.get(key);
      if (rx !== undefined && (accepts === undefined || accepts(key, state, this))) cases[key] = rx;
    }
    if (accepts === undefined) this.cases = cases;
    return cases;
  }

  private async dispatch(state: S, r: Outcome): Promise<void> {
    if (r.case === IDLE) return this.activity('idle');
    const key = r.case as keyof I & string;
    this.activity(key);
    if (!r.ok) return this.lost(key, state);
    const out = this.body.handle(state, { input: key, value: r.value } as ComponentMessage<I>, this);
    if (isThenable(out)) await out;
  }

  /** An input disconnected: stop listening to it. */
  private lost(key: keyof I & string, state: S): void {
    this.receivers.delete(key);
    this.openReceivers--;
    this.cases = null;
    this.body.disconnected?.(key, state, this);
  }

  private async step(state: S): Promise<boolean> {
    this.activity('step');
    let more = this.body.step!(state, this);
    if (isThenable(more)) more = await more;
    return more === true;
  }

  private drained(): boolean {
    if (this.plainReceivers === 0 || this.openReceivers > 0) return false;
    for (const p of this.parallels) if (p.pending > 0) return false;
    return true;
  }

  /** An error out of the loop: the abort reason means "aborted", anything else is a failure. */
  private classify(e: unknown): StopInfo {
    const s = this.ac.signal;
    if (s.aborted && e === s.reason) return { reason: 'aborted', cause: e };
    return { reason: 'error', cause: e };
  }

  private async end(state: S, info: StopInfo): Promise<ComponentExit<R>> {
    let failed = info.reason === 'error';
    let error = info.cause;
    let result: R | undefined;
    try {
      this.activity('cleanup');
      if (this.body.cleanup) result = await this.body.cleanup(state, info, this);
    } catch (e) {
      if (!failed) [failed, error] = [true, e];
    }
    this.finish();
    if (failed) throw error;
    const reason = info.reason as ComponentExit<R>['reason'];
    return info.cause === undefined ? { reason, result: result as R } : { reason, result: result as R, cause: info.cause };
  }

  /** Closes every input (cancelling parallel work with the stop reason) and lets go of the external signal. */
  private finish(): void {
    this.watched?.detach();
    if (!this.ac.signal.aborted) this.ac.abort();
    this.external?.removeEventListener('abort', this);
    for (const key of this.keys) {
      const input = this.inputs[key]!;
      if (input instanceof Receiver) input.close();
      else input.close(this.ac.signal.reason);
    }
  }

  private activity(annotation: string): void {
    this.hooks?.onActivity?.(annotation);
  }
}
