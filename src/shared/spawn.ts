/**
 * Starting a worker with handles wired in.
 *
 * `spawn(url, { handles })` moves the given handles into the new worker
 * (tokens through Node's environment data, so `workerData` stays the
 * caller's own) and the worker gets them with `workerHandles()`. Any worker
 * created in a thread that loaded weft's shared layer is watched: its
 * `'exit'` (normal end, crash, or `terminate()`) releases the handles it
 * held within a few milliseconds.
 *
 * @module
 */
import { Worker, type WorkerOptions } from 'node:worker_threads';
import * as wt from 'node:worker_threads';
import type { Receiver } from '../channel/receiver.js';
import type { Sender } from '../channel/sender.js';
import { transfer, revive, type HandleToken } from './transfer.js';
import { context } from './context.js';

const KEY = 'weft.spawn.handles.v1';

/** Handles to move into a worker, by name. */
export type HandleMap = Record<string, Sender<never> | Receiver<never> | Sender<any> | Receiver<any>>;

/** Options of {@link spawn}: Node's WorkerOptions plus the handles. */
export interface SpawnOptions extends WorkerOptions {
  /** Handles moved into the worker (closed here; clone first to keep one). */
  handles?: HandleMap;
}

/**
 * Starts a worker thread with `handles` moved into it.
 *
 * @example
 * ```ts
 * import { sharedBounded, spawn } from 'weft/shared';
 * const [jobsTx, jobsRx] = sharedBounded<string>(64);
 * const [doneTx, doneRx] = sharedBounded<string>(64);
 * const w = spawn(new URL('./worker.js', import.meta.url), { handles: { jobs: jobsRx, done: doneTx } });
 * // worker.js:  const { jobs, done } = workerHandles<{ jobs: Receiver<string>; done: Sender<string> }>();
 * ```
 */
export function spawn(url: string | URL, options: SpawnOptions = {}): Worker {
  const { handles, ...workerOptions } = options;
  context(); // the arena exists (and is inherited) before the worker starts
  const tokens: Record<string, HandleToken> = {};
  if (handles !== undefined) for (const [name, h] of Object.entries(handles)) tokens[name] = transfer(h as Sender<unknown>);
  wt.setEnvironmentData(KEY, tokens as unknown as wt.Serializable);
  try {
    return new Worker(url, workerOptions);
  } finally {
    wt.setEnvironmentData(KEY, undefined as unknown as wt.Serializable);
  }
}

let received: Record<string, unknown> | undefined;

/**
 * In a worker started by {@link spawn}: its handles, by the names given to
 * `spawn`. Revived on the first call; later calls return the same handles.
 *
 * @example
 * ```ts
 * import { workerHandles } from 'weft/shared';
 * import type { Receiver, Sender } from 'weft';
 * const { jobs, done } = workerHandles<{ jobs: Receiver<string>; done: Sender<string> }>();
 * for (;;) done.sendSync(jobs.recvSync().toUpperCase());
 * ```
 */
export function workerHandles<H extends Record<string, unknown> = Record<string, Sender<any> | Receiver<any>>>(): H {
  if (received === undefined) {
    const tokens = wt.getEnvironmentData(KEY) as Record<string, HandleToken> | undefined;
    received = {};
    if (tokens !== undefined && tokens !== null) for (const [name, t] of Object.entries(tokens)) received[name] = revive(t);
  }
  return received as H;
}
