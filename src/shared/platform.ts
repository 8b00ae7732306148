/**
 * Everything the shared layer needs from Node beyond standard JavaScript
 * (Atomics, SharedArrayBuffer, MessagePort are standard and used directly
 * elsewhere). A browser build replaces this one file.
 *
 * - `isMainThread`: blocking operations are refused on the main thread.
 * - `threadId`: Node's id of this thread, matched against `Worker#threadId`
 *   when a worker's `'exit'` event reports its death.
 * - environment data: every Worker created after this thread published the
 *   arena inherits it (`worker_threads.setEnvironmentData` is cloned into
 *   each new worker; a SharedArrayBuffer clones as shared memory), so user
 *   code that calls `new Worker(...)` itself needs no wiring.
 * - `onWorkerCreated`: `process.on('worker')` hands weft every Worker
 *   created in this thread, so it can watch its `'exit'` event.
 *
 * @internal
 */
import * as wt from 'node:worker_threads';
import type { Worker } from 'node:worker_threads';

export const isMainThread: boolean = wt.isMainThread;
export const threadId: number = wt.threadId;

const ENV_KEY = 'weft.shared.arena.v1';

/** The arena this thread inherited from the thread that created it, if any. */
export function inheritedArena(): SharedArrayBuffer | undefined {
  const v = wt.getEnvironmentData(ENV_KEY);
  return v instanceof SharedArrayBuffer ? v : undefined;
}

/** Makes `sab` the arena inherited by workers created from now on in this thread. */
export function publishArena(sab: SharedArrayBuffer): void {
  wt.setEnvironmentData(ENV_KEY, sab as unknown as wt.Serializable);
}

/** Calls `fn` with every Worker created in this thread from now on. */
export function onWorkerCreated(fn: (w: Worker) => void): void {
  process.on('worker', fn);
}

/** A ref'd/unref'd handle that keeps the event loop alive while async waits are pending. */
export interface KeepAlive {
  ref(): void;
  unref(): void;
}

export function keepAlive(): KeepAlive {
  // One long interval, toggled with ref()/unref(): toggling costs a flag,
  // creating and clearing a timer per parked operation would cost far more.
  const t = setInterval(noop, 0x7fffffff);
  t.unref();
  return t;
}

function noop(): void {}

/** Reads an environment variable (undefined outside Node). */
export function env(name: string): string | undefined {
  return (globalThis as { process?: { env?: Record<string, string | undefined> } }).process?.env?.[name];
}
