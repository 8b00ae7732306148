/**
 * A component on a thread of its own: the same body as `spawn` runs in
 * this thread, loaded from a module by a worker thread and run there over
 * shared-memory channels.
 *
 * The parent moves the inputs (shared Receivers) into a new worker; the
 * worker loads the module, takes its exported body (or calls its exported
 * factory), and runs `spawn` on it. The parent's handle has the shape of an
 * in-thread {@link Component}: `done` settles when the body's loop and
 * cleanup are over and the thread has exited; `stop()` cancels it (over the
 * worker's port); a thread that dies without reporting rejects `done` with
 * {@link ThreadExitError}.
 *
 * @module
 */
import type { ResourceLimits, WorkerOptions } from 'node:worker_threads';
import { Receiver, Sender } from '../channel/index.js';
import { isShared, spawnWorker, type HandleMap } from '../shared/index.js';
import type { Component, ComponentBody, ComponentExit, ComponentInputs } from './component.js';
import { ThreadExitError } from './errors.js';
import type { PoolMonitor } from './pool.js';
import { fromWire, type WireError } from './pool-wire.js';

const RUNTIME = new URL('./thread-worker.js', import.meta.url);

/**
 * What a component factory gets in the worker: the extra `handles` given to
 * {@link spawnThread} (revived in the worker) and its `data` (a copy).
 *
 * @example
 * ```ts
 * import type { ComponentSetup, Sender } from 'weft';
 * type Setup = ComponentSetup<{ out: Sender<string> }, { prefix: string }>;
 * const describe = (s: Setup): string => s.data.prefix;
 * ```
 */
export interface ComponentSetup<H extends Record<string, unknown> = HandleMap, D = unknown> {
  /** Handles moved into the thread by `handles` (output Senders, more Receivers), by name. */
  readonly handles: H;
  /** A copy of `data`. */
  readonly data: D;
}

/**
 * A module export that builds a component body from its setup: for a body
 * that needs Senders or settings. Exported from the module a thread loads;
 * in this thread, call it yourself and give the result to `spawn`.
 *
 * @example
 * ```ts
 * // upper.ts: a body that sends what it hears, upper-cased, to an output it is given
 * import type { ComponentFactory, Receiver, Sender } from 'weft';
 * type Inputs = { words: Receiver<string> };
 * export const upper: ComponentFactory<Inputs, undefined, void, { out: Sender<string> }> = ({ handles }) => ({
 *   handle: (_s, msg) => handles.out.send(msg.value.toUpperCase()),
 *   cleanup: () => handles.out.close(),
 * });
 * ```
 */
export type ComponentFactory<I extends ComponentInputs, S = undefined, R = void, H extends Record<string, unknown> = HandleMap, D = unknown> = (
  setup: ComponentSetup<H, D>,
) => ComponentBody<I, S, R> | PromiseLike<ComponentBody<I, S, R>>;

/**
 * Options of {@link spawnThread}.
 *
 * @example
 * ```ts
 * import { sharedBounded, type ThreadSpawnOptions } from 'weft';
 * const [jobs, jobsRx] = sharedBounded<string>(16);
 * const options: ThreadSpawnOptions = { inputs: { jobs: jobsRx }, name: 'indexer', export: 'indexer' };
 * ```
 */
export interface ThreadSpawnOptions {
  /** The component's inputs: Receivers of shared channels (`sharedBounded`, `sharedUnbounded`). They are moved into the thread (closed here). */
  readonly inputs: { readonly [name: string]: Receiver<unknown> };
  /** A name for diagnostics (hang alerts, errors). */
  readonly name?: string;
  /** Stops the component (reason `aborted`), as `stop()` does. */
  readonly signal?: AbortSignal;
  /** The module's export: a component body, or a {@link ComponentFactory}. Default `'default'`. */
  readonly export?: string;
  /** More shared handles for a factory (its outputs, say), moved into the thread like the inputs. */
  readonly handles?: HandleMap;
  /** Settings for a factory; copied into the thread (structured clone). */
  readonly data?: unknown;
  /** A hang monitor (`startHangMonitor()` of `weft/monitor`): the component's loop reports to it from its thread, as in-thread components do. */
  readonly monitor?: PoolMonitor;
  /** The component's hang timeouts when `monitor` is given. Default: the monitor's. */
  readonly hangTimeouts?: { readonly transientMs: number; readonly permanentMs: number };
  /** Passed to the worker thread. */
  readonly resourceLimits?: ResourceLimits;
  /** Passed to the worker thread. */
  readonly execArgv?: string[];
  /** Passed to the worker thread. */
  readonly env?: WorkerOptions['env'];
}

/**
 * A component running on its own thread: a {@link Component}, plus the
 * thread's id and `terminate()`.
 *
 * @example
 * ```ts
 * import { sharedBounded, spawnThread } from 'weft';
 * const [, rx] = sharedBounded<number>(4);
 * const c = spawnThread(new URL('./summer.js', import.meta.url), { inputs: { rx } });
 * console.log(c.threadId > 0); // true
 * await c.terminate('no longer needed');   // done rejects with ThreadExitError
 * ```
 */
export interface ThreadComponent<R> extends Component<R> {
  /** The worker thread's id. */
  readonly threadId: number;
  /**
   * Stops the thread now, wherever the body is (even in a busy loop, which
   * `stop()` cannot interrupt). `done` then rejects with
   * {@link ThreadExitError} (`cause: reason`); the cleanup does not run.
   * Resolves once the thread is gone.
   */
  terminate(reason?: unknown): Promise<void>;
}

/** What the thread reports when its component ends. @internal */
export type ThreadOutcome =
  | { readonly [OUTCOME]: true; readonly type: 'done'; readonly reason: ComponentExit<unknown>['reason']; readonly result: unknown; readonly cause?: unknown }
  | { readonly [OUTCOME]: true; readonly type: 'error'; readonly error: WireError };

/** Marks the runtime's report among whatever else the body's module posts to its parent. @internal */
export const OUTCOME = 'weft.component.outcome';

/** Parent → thread. @internal */
export interface ThreadStop {
  readonly type: 'stop';
  readonly reason: unknown;
}

/** Milliseconds a thread gets to exit once its component has ended, before it is stopped (its module keeps it alive). */
const EXIT_GRACE = 2000;

let unnamed = 0;

/**
 * Starts a component on a worker thread of its own. The module at `module`
 * exports its body (what `spawn` takes) or a {@link ComponentFactory}; the
 * inputs are Receivers of shared channels, moved into the thread. The same
 * exported body runs in this thread with `spawn(body, { inputs })`.
 *
 * It behaves as an in-thread component: it ends on `ctx.stop()`, when its
 * inputs disconnect, on `signal` or `stop()`; `done` resolves with the
 * reason and the result of `cleanup` (a copy: it must be structured-
 * cloneable), or rejects with the body's error (rebuilt with its name,
 * message, stack and fields). `done` settles once the thread has exited; a
 * thread that exits without reporting (a crash, `process.exit`,
 * `terminate()`) rejects it with {@link ThreadExitError}. With `monitor`,
 * the loop reports to the hang monitor from its thread.
 *
 * @example
 * ```ts
 * // counter.ts — the body, usable in this thread or on another one
 * import type { ComponentBody, Receiver } from 'weft';
 * export default {
 *   init: () => ({ n: 0 }),
 *   handle: (s, msg) => { s.n += msg.value; },
 *   cleanup: (s) => s.n,
 * } satisfies ComponentBody<{ numbers: Receiver<number> }, { n: number }, number>;
 *
 * // main.ts
 * import { sharedBounded, spawnThread } from 'weft';
 * const [tx, numbers] = sharedBounded<number>(64);
 * const counter = spawnThread<number>(new URL('./counter.js', import.meta.url), { inputs: { numbers }, name: 'counter' });
 * for (let i = 1; i <= 10; i++) await tx.send(i);
 * tx.close();                                   // its input disconnects: the loop ends
 * console.log(await counter.done);              // { reason: 'disconnected', result: 55 }
 * ```
 */
export function spawnThread<R = unknown>(module: URL, options: ThreadSpawnOptions): ThreadComponent<R> {
  const url = checkModule(module);
  const name = options.name ?? `thread-component-${++unnamed}`;
  const inputs = checkHandles('inputs', options.inputs, true);
  const extra = options.handles === undefined ? {} : checkHandles('handles', options.handles, false);
  const exported = options.export ?? 'default';
  if (typeof exported !== 'string' || exported === '') throw new TypeError(`spawnThread: options.export must name an export of the module; got ${String(exported)}`);
  try {
    structuredClone(options.data);
  } catch (e) {
    throw new TypeError(`spawnThread: options.data must be structured-cloneable (plain data; put channels in options.handles): ${(e as Error).message}`);
  }
  const handles: HandleMap = {};
  for (const [k, h] of Object.entries(inputs)) handles[`i:${k}`] = h;
  for (const [k, h] of Object.entries(extra)) handles[`h:${k}`] = h;
  const token = options.monitor?.token();
  const worker = spawnWorker(RUNTIME, {
    ...(options.resourceLimits === undefined ? {} : { resourceLimits: options.resourceLimits }),
    ...(options.execArgv === undefined ? {} : { execArgv: options.execArgv }),
    ...(options.env === undefined ? {} : { env: options.env }),
    handles,
    workerData: {
      module: url,
      export: exported,
      name,
      inputs: Object.keys(inputs),
      handles: Object.keys(extra),
      data: options.data,
      monitor: token,
      hangTimeouts: options.hangTimeouts,
    },
    transferList: token === undefined ? [] : [token.port],
  });

  let outcome: ThreadOutcome | undefined;
  let crash: unknown;
  let stopped: { readonly reason: unknown } | undefined;
  let killed: { readonly reason: unknown } | undefined;
  let exited = false;
  let slow: ReturnType<typeof setTimeout> | undefined;
  const signal = options.signal;

  const stop = (reason: unknown): void => {
    if (exited || outcome !== undefined || stopped !== undefined) return;
    stopped = { reason };
    try {
      worker.postMessage({ type: 'stop', reason } satisfies ThreadStop);
    } catch {
      worker.postMessage({ type: 'stop', reason: String(reason) } satisfies ThreadStop); // a reason that cannot be copied: its text
    }
  };
  const onAbort = (): void => stop(signal?.reason);

  const done = new Promise<ComponentExit<R>>((resolve, reject) => {
    worker.on('message', (m: ThreadOutcome | undefined) => {
      if (m?.[OUTCOME] !== true || outcome !== undefined) return; // the body's own messages are not ours
      outcome = m;
      // A module that keeps its thread alive after the component ended is stopped.
      slow = setTimeout(() => void worker.terminate(), EXIT_GRACE);
      slow.unref();
    });
    worker.on('error', (e) => {
      crash ??= e;
    });
    worker.once('exit', (code) => {
      exited = true;
      if (slow !== undefined) clearTimeout(slow);
      signal?.removeEventListener('abort', onAbort);
      if (outcome?.type === 'done') {
        // Aborted from here: the cause is the reason given here, not its copy.
        const cause = outcome.reason === 'aborted' && stopped !== undefined ? stopped.reason : outcome.cause;
        const exit = { reason: outcome.reason, result: outcome.result as R };
        resolve(cause === undefined ? exit : { ...exit, cause });
      } else if (outcome?.type === 'error') reject(fromWire(outcome.error));
      else reject(new ThreadExitError(name, code, killed !== undefined ? killed.reason : crash));
    });
  });
  if (signal !== undefined) {
    if (signal.aborted) stop(signal.reason);
    else signal.addEventListener('abort', onAbort);
  }

  return {
    name,
    threadId: worker.threadId,
    done,
    stop(reason?: unknown): Promise<ComponentExit<R>> {
      stop(reason);
      return done;
    },
    async terminate(reason?: unknown): Promise<void> {
      if (!exited && outcome === undefined) {
        killed ??= { reason };
        await worker.terminate();
      }
      await done.then(
        () => undefined,
        () => undefined,
      );
    },
    async [Symbol.asyncDispose](): Promise<void> {
      stop(undefined);
      await done;
    },
  };
}

function checkModule(m: URL): string {
  if (m instanceof URL) return m.href;
  throw new TypeError(
    `spawnThread: the component module must be a URL, e.g. new URL('./component.js', import.meta.url); got ${String(m)}`,
  );
}

/** Every handle must be an open handle of a shared channel (and, for inputs, a Receiver): checked before any is moved. */
function checkHandles(what: string, handles: unknown, receivers: boolean): HandleMap {
  if (typeof handles !== 'object' || handles === null) throw new TypeError(`spawnThread: options.${what} must be an object of handles, by name`);
  const out: HandleMap = {};
  for (const [k, h] of Object.entries(handles)) {
    const ok = receivers ? h instanceof Receiver : h instanceof Receiver || h instanceof Sender;
    if (!ok) {
      throw new TypeError(
        `spawnThread: options.${what}.${k} must be a ${receivers ? 'Receiver' : 'Sender or Receiver'} of a shared channel ` +
          `(sharedBounded/sharedUnbounded)${receivers ? '; work in parallel (a pool, tasks()) cannot cross threads: start it inside the body' : ''}`,
      );
    }
    const handle = h as Receiver<unknown> | Sender<unknown>;
    if (!isShared(handle)) throw new TypeError(`spawnThread: options.${what}.${k} is an in-thread channel; only shared channels (sharedBounded/sharedUnbounded) can cross threads`);
    if (handle.isClosed) throw new TypeError(`spawnThread: options.${what}.${k} is closed`);
    out[k] = handle;
  }
  return out;
}
