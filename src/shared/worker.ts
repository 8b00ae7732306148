/**
 * Starting a worker with handles wired in.
 *
 * `spawnWorker(url, { handles })` moves the given handles into the new
 * worker (as transfer tokens, through Node's environment data, so
 * `workerData` stays the caller's own) and the worker takes them with
 * `workerHandles()`. Any worker created in a thread that loaded weft's
 * shared layer is watched: its `'exit'` (normal end, crash, or
 * `terminate()`) releases the handles it held. A worker that dies before
 * calling `workerHandles()` never took its handles: they are given back
 * on its `'exit'` too, so its peers see the disconnection all the same.
 *
 * @module
 */
import { Worker, type WorkerOptions } from 'node:worker_threads';
import * as wt from 'node:worker_threads';
import type { Receiver } from '../channel/receiver.js';
import type { Sender } from '../channel/sender.js';
import { transfer, revive, discardUnclaimed, type HandleToken } from './transfer.js';
import { context } from './context.js';

const KEY = 'weft.spawn.handles.v1';

/**
 * Handles to move into a worker, by name.
 *
 * @example
 * ```ts
 * import { sharedBounded, type HandleMap } from 'weft';
 * const [tx, rx] = sharedBounded<string>(8);
 * const handles: HandleMap = { jobs: rx };
 * ```
 */
export type HandleMap = Record<string, Sender<unknown> | Receiver<unknown>>;

/**
 * Options of {@link spawnWorker}: Node's `WorkerOptions` plus the handles.
 *
 * @example
 * ```ts
 * import { sharedBounded, spawnWorker, type SpawnWorkerOptions } from 'weft';
 * const [tx, rx] = sharedBounded<string>(8);
 * const options: SpawnWorkerOptions = { handles: { jobs: rx }, workerData: { name: 'resizer' } };
 * const w = spawnWorker(new URL('./worker.js', import.meta.url), options);
 * ```
 */
export interface SpawnWorkerOptions extends WorkerOptions {
  /** Handles moved into the worker (closed here; clone first to keep one). */
  handles?: HandleMap;
}

/** @deprecated The former name of {@link SpawnWorkerOptions}. */
export type SpawnOptions = SpawnWorkerOptions;

/**
 * Starts a worker thread with `handles` moved into it. The handles given
 * are closed in this thread (clone one first to keep it); the worker gets
 * them with {@link workerHandles}.
 *
 * @example
 * ```ts
 * import { sharedBounded, spawnWorker } from 'weft';
 * const [jobsTx, jobsRx] = sharedBounded<string>(64);
 * const [doneTx, doneRx] = sharedBounded<string>(64);
 * const w = spawnWorker(new URL('./worker.js', import.meta.url), { handles: { jobs: jobsRx, done: doneTx } });
 * await jobsTx.send('hello');
 * console.log(await doneRx.recv()); // 'HELLO'
 * // worker.js:
 * //   const { jobs, done } = workerHandles<{ jobs: Receiver<string>; done: Sender<string> }>();
 * //   for (;;) done.sendSync(jobs.recvSync().toUpperCase());
 * ```
 */
export function spawnWorker(url: string | URL, options: SpawnWorkerOptions = {}): Worker {
  const { handles, ...workerOptions } = options;
  context(); // the arena exists (and is inherited) before the worker starts
  const tokens: Record<string, HandleToken> = {};
  if (handles !== undefined) for (const [name, h] of Object.entries(handles)) tokens[name] = transfer(h as Sender<unknown>);
  wt.setEnvironmentData(KEY, tokens as unknown as wt.Serializable);
  let worker: Worker;
  try {
    worker = new Worker(url, workerOptions);
  } catch (e) {
    for (const t of Object.values(tokens)) discardUnclaimed(t);
    throw e;
  } finally {
    wt.setEnvironmentData(KEY, undefined as unknown as wt.Serializable);
  }
  // A worker that dies before workerHandles() (a crash while loading, an
  // early terminate()) would otherwise keep these counts forever.
  if (Object.keys(tokens).length > 0) {
    worker.once('exit', () => {
      for (const t of Object.values(tokens)) discardUnclaimed(t);
    });
  }
  return worker;
}

let received: Record<string, unknown> | undefined;

/**
 * In a worker started by {@link spawnWorker}: its handles, by the names
 * given there. Revived on the first call; later calls return the same
 * handles. In any other thread it returns an empty object.
 *
 * @example
 * ```ts
 * // worker.js
 * import { workerHandles, type Receiver, type Sender } from 'weft';
 * const { jobs, done } = workerHandles<{ jobs: Receiver<string>; done: Sender<string> }>();
 * for (;;) done.sendSync(jobs.recvSync().toUpperCase());
 * ```
 */
export function workerHandles<H extends Record<string, unknown> = Record<string, Sender<unknown> | Receiver<unknown>>>(): H {
  if (received === undefined) {
    const tokens = wt.getEnvironmentData(KEY) as Record<string, HandleToken> | undefined;
    received = {};
    if (tokens !== undefined && tokens !== null) for (const [name, t] of Object.entries(tokens)) received[name] = revive(t);
  }
  return received as H;
}
