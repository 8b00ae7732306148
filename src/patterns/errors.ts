/**
 * Typed errors of the patterns layer. All extend weft's `WeftError`.
 *
 * @module
 */
import { WeftError } from '../channel/index.js';

/**
 * Why a call got no answer: its request was never delivered, or it was dropped unanswered.
 *
 * @example
 * ```ts
 * import type { ActorGoneErrorKind } from 'weft';
 * const retryable = (k: ActorGoneErrorKind): boolean => k === 'undelivered'; // nobody saw the request
 * console.log(retryable('no-reply')); // false
 * ```
 */
export type ActorGoneErrorKind = 'undelivered' | 'no-reply';

/**
 * A {@link call} got no answer because the other side is gone:
 *
 * - `kind: 'undelivered'` — every Receiver of the request channel was closed
 *   before the request could be sent; the request is in `.value` and was
 *   never seen by anyone, so it is safe to retry elsewhere.
 * - `kind: 'no-reply'` — the request was delivered (or buffered), but its
 *   reply Sender was closed or garbage-collected without an answer: the
 *   actor stopped, crashed, or dropped the request. `.cause` holds the
 *   actor's reason when it gave one (see {@link decline}).
 *
 * @example
 * ```ts
 * import { bounded, call, ActorGoneError, type Sender } from 'weft';
 * const [tx, rx] = bounded<{ reply: Sender<number> }>(1);
 * rx.close();                                   // the actor is gone
 * try { await call(tx, (reply) => ({ reply })); }
 * catch (e) { if (e instanceof ActorGoneError) console.log(e.kind); } // 'undelivered'
 * ```
 */
export class ActorGoneError<T = unknown> extends WeftError {
  readonly kind: ActorGoneErrorKind;
  /** The request, when it was never delivered. */
  readonly value: T | undefined;
  constructor(kind: ActorGoneErrorKind, value?: T, options?: { cause?: unknown }) {
    super(
      kind === 'undelivered'
        ? 'call: the request was not delivered: every Receiver of the request channel is closed (the actor is gone); the request is in error.value'
        : 'call: the reply Sender was closed without an answer (the actor stopped, crashed, or dropped the request)',
      options,
    );
    this.kind = kind;
    this.value = value;
  }
}

/**
 * A {@link call} gave up after its `timeout`. `delivered` tells whether the
 * request had been handed to the request channel: when `false`, nobody saw
 * it (the request is in `.value`); when `true`, the actor may still act on
 * it, and its late answer is discarded.
 *
 * @example
 * ```ts
 * import { bounded, call, CallTimeoutError, type Sender } from 'weft';
 * const [tx, rx] = bounded<Sender<number>>(1);  // nobody ever answers
 * try { await call(tx, (reply) => reply, { timeout: 10 }); }
 * catch (e) { if (e instanceof CallTimeoutError) console.log(e.delivered); } // true
 * rx.close();
 * ```
 */
export class CallTimeoutError<T = unknown> extends WeftError {
  readonly delivered: boolean;
  /** The request, when it was not delivered. */
  readonly value: T | undefined;
  constructor(delivered: boolean, value?: T) {
    super(
      delivered
        ? 'call: no reply before the timeout; the request was delivered and may still be acted on'
        : 'call: the request could not be delivered before the timeout (the request channel stayed full); it is in error.value',
    );
    this.delivered = delivered;
    this.value = value;
  }
}

/**
 * Why a pool refused or dropped a task: it was `close()`d (`'closed'`: no
 * new tasks), `terminate()`d (`'terminated'`: tasks not yet answered are
 * dropped), or its workers could not start (`'failed'`: the task module did
 * not load; `.cause` says why). `.value` holds the input when the task
 * never reached a worker.
 *
 * @example
 * ```ts
 * import { pool, PoolClosedError } from 'weft';
 * const p = pool<number, number>(new URL('./square.js', import.meta.url), { threads: 1 });
 * await p.close();
 * try { await p.run(3); }
 * catch (e) { if (e instanceof PoolClosedError) console.log(e.kind, e.value); } // 'closed' 3
 * ```
 */
export class PoolClosedError<T = unknown> extends WeftError {
  readonly kind: 'closed' | 'terminated' | 'failed';
  /** The task's input, when it never reached a worker. */
  readonly value: T | undefined;
  constructor(kind: 'closed' | 'terminated' | 'failed', value?: T, cause?: unknown) {
    super(
      kind === 'closed'
        ? 'pool: closed; it takes no new tasks (the input is in error.value)'
        : kind === 'terminated'
          ? 'pool: terminated before this task was answered'
          : `pool: its worker threads could not start${cause instanceof Error ? `: ${cause.message}` : ''}; check the task module (the cause is in error.cause)`,
      cause === undefined ? undefined : { cause },
    );
    this.kind = kind;
    this.value = value;
  }
}

/**
 * The worker thread running a task exited before answering: it crashed
 * (an uncaught error or `process.exit` in task code), ran out of memory,
 * or was replaced after ignoring a cancellation. The pool starts a new
 * worker in its place; tasks that were only queued to it move to other
 * workers and do not see this error. `started` is false for a task that
 * never ran but could not be moved (its input had been transferred).
 *
 * @example
 * ```ts
 * import { pool, WorkerExitError } from 'weft';
 * const p = pool<number, number>(new URL('./crashy.js', import.meta.url), { threads: 1 });
 * try { await p.run(0); }
 * catch (e) { if (e instanceof WorkerExitError) console.log(e.exitCode, e.workerId); }
 * await p.close();
 * ```
 */
export class WorkerExitError extends WeftError {
  /** The thread's exit code. */
  readonly exitCode: number;
  /** Whether the task had started (it may have partly run). */
  readonly started: boolean;
  /** Slot of the worker in the pool. */
  readonly workerId: number;
  constructor(exitCode: number, started: boolean, workerId: number, cause?: unknown) {
    super(
      `pool: worker ${workerId} exited (code ${exitCode}) ${started ? 'while running this task; it may have partly run' : 'before running this task'}; ` +
        'a new worker took its place' +
        (cause instanceof Error ? ` (${cause.message})` : typeof cause === 'string' ? ` (${cause})` : ''),
      cause === undefined ? undefined : { cause },
    );
    this.exitCode = exitCode;
    this.started = started;
    this.workerId = workerId;
  }
}

/**
 * A component running on a thread of its own (see `spawnThread`) ended
 * without reporting how: its thread crashed (an uncaught error in a timer
 * or callback, `process.exit`, out of memory) or was terminated. Its
 * `cleanup` did not run. `cause` is the uncaught error, or the reason given
 * to `terminate()`.
 *
 * @example
 * ```ts
 * import { spawnThread, ThreadExitError } from 'weft';
 * const c = spawnThread(new URL('./crashy.js', import.meta.url), { inputs: {} });
 * try { await c.done; }
 * catch (e) { if (e instanceof ThreadExitError) console.log(e.component, e.exitCode); }
 * ```
 */
export class ThreadExitError extends WeftError {
  /** The component's name. */
  readonly component: string;
  /** The thread's exit code. */
  readonly exitCode: number;
  constructor(component: string, exitCode: number, cause?: unknown) {
    super(
      `component "${component}": its thread exited (code ${exitCode}) before the component ended; its cleanup did not run` +
        (cause instanceof Error ? ` (${cause.message})` : typeof cause === 'string' ? ` (${cause})` : ''),
      cause === undefined ? undefined : { cause },
    );
    this.component = component;
    this.exitCode = exitCode;
  }
}
