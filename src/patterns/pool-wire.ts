/**
 * What a worker pool and its workers say to each other over shared
 * channels, and the one helper task code uses to hand back a result
 * without copying ({@link move}).
 *
 * Messages are flat arrays (the codec writes those fastest). A task message
 * carries several tasks when several wait, so a burst of short tasks costs
 * one message, one lock and one wake-up per batch rather than per task (a
 * results message can hold several too; workers send each as it comes):
 * - tasks, pool → worker: `[id, input, id, input, ...]`, or `[id]` alone
 *   when the input travels on the worker's MessagePort (moved, not copied);
 * - results, worker → pool: `[workerSlot, id, status, payload, id, status, payload, ...]`;
 * - control, worker → pool: `[workerId, op, payload?]`;
 * - cancel, pool → worker: a task id.
 *
 * @internal
 */
import type { TransferListItem } from 'node:worker_threads';

/** Tasks: `[id, input, id, input, ...]`, or `[id]` when the input is on the port. */
export type TaskMsg = unknown[];
/** A result: `[workerSlot, id, status, payload]`, one per message, sent as each task ends. */
export type ResultMsg = [number, number, number, unknown];
/** A control message: `[workerId, op, payload]`. */
export type ControlMsg = [number, number, unknown?];

/** Result statuses. */
export const R_OK = 0;
/** The task threw; the payload is a {@link WireError}. */
export const R_THREW = 1;
/** The value is on the port (moved). */
export const R_MOVED = 2;
/** The task was cancelled before it started: it never ran. */
export const R_SKIPPED = 3;

/** Progress word of a worker (shared memory): the id of the task it started last. */
export const P_STARTED = 0;

/** Control operations. */
export const C_READY = 0;
export const C_OFF = 1;
export const C_ON = 2;

/** A thrown value, made fit to cross threads. */
export interface WireError {
  /** True when the thrown value was an Error (rebuilt as one on the pool's side). */
  readonly error: boolean;
  readonly name?: string;
  readonly message?: string;
  readonly stack?: string;
  /** Own enumerable properties of the Error (`code`, ...), when they can be cloned; or the thrown non-Error value. */
  readonly value?: unknown;
}

/** Whether structured clone (postMessage, shared channels) can copy `v`. */
export function clonable(v: unknown): boolean {
  try {
    structuredClone(v);
    return true;
  } catch {
    return false;
  }
}

/** Turns a thrown value into a {@link WireError}. */
export function toWire(e: unknown): WireError {
  if (e instanceof Error) {
    const own: Record<string, unknown> = {};
    let some = false;
    for (const k of Object.keys(e)) {
      const v = (e as unknown as Record<string, unknown>)[k];
      if (clonable(v)) {
        own[k] = v;
        some = true;
      }
    }
    return { error: true, name: e.name, message: e.message, stack: e.stack, value: some ? own : undefined };
  }
  if (clonable(e)) return { error: false, value: e };
  return { error: true, name: 'Error', message: `the task threw a value that cannot cross threads: ${String(e)}` };
}

/** Rebuilds a thrown value on the pool's side: an Error with the worker's name, message and stack. */
export function fromWire(w: WireError): unknown {
  if (!w.error) return w.value;
  const e = new Error(w.message ?? '');
  if (w.name !== undefined && w.name !== 'Error') Object.defineProperty(e, 'name', { value: w.name, configurable: true, writable: true });
  if (w.stack !== undefined) e.stack = w.stack;
  if (w.value !== null && typeof w.value === 'object') Object.assign(e, w.value);
  return e;
}

const MOVE = Symbol.for('weft.pool.move');

/** A value with the buffers to move along with it (see {@link move}). */
export interface Moved<T> {
  readonly [MOVE]: true;
  readonly value: T;
  readonly transfer: readonly TransferListItem[];
}

/**
 * Marks a task's result to travel by moving `transfer` (ArrayBuffers,
 * MessagePorts) to the pool's thread instead of copying them: for large
 * binary results. The buffers become unusable in the worker. Return it from
 * a task function; the caller of `run` gets `value`.
 *
 * @example
 * ```ts
 * // task.js, run by a pool
 * import { move } from 'weft';
 * export default function render(size: number) {
 *   const pixels = new Uint8Array(size);
 *   return move(pixels, [pixels.buffer]);
 * }
 * ```
 */
export function move<T>(value: T, transfer: readonly TransferListItem[]): T {
  if (!Array.isArray(transfer)) throw new TypeError('move(value, transfer): transfer must be an array of ArrayBuffers or MessagePorts');
  return { [MOVE]: true, value, transfer } as unknown as T;
}

/** Is `v` the result of {@link move}? */
export function isMoved(v: unknown): v is Moved<unknown> {
  return typeof v === 'object' && v !== null && (v as { [MOVE]?: boolean })[MOVE] === true;
}
