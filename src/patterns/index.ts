/**
 * Patterns built from weft's channels: the component loop, request/reply
 * and actors, pipelines, and the worker pool. Each runs in this thread or
 * on worker threads with the same code: a component body with `spawn` or
 * `spawnThread`, a stage function with `stage(fn)` or
 * `stage(moduleUrl, { parallelism })`, a pool's worker code as a function
 * or a component.
 *
 * @example
 * ```ts
 * import { pipeline, stage } from 'weft';
 * const lengths = await pipeline(
 *   ['a', 'bb', 'ccc'],
 *   stage(async (s: string) => s.length, { concurrency: 2 }),
 *   async (items) => { const out: number[] = []; for await (const n of items) out.push(n); return out; },
 * );
 * console.log(lengths); // [1, 2, 3]
 * ```
 * @module
 */
export {
  spawn,
  type Component,
  type ComponentBody,
  type ComponentContext,
  type ComponentExit,
  type ComponentHooks,
  type ComponentInput,
  type ComponentInputs,
  type ComponentMessage,
  type InputValue,
  type SpawnOptions,
  type StopInfo,
  type StopReason,
} from './component.js';
export {
  spawnThread,
  type ComponentFactory,
  type ComponentSetup,
  type ThreadComponent,
  type ThreadSpawnOptions,
} from './thread.js';
export { watchLoops, loopHooks, type LoopHooks, type LoopWatcher } from './watch.js';
export { tasks, TaskGroup, type Parallel, type Task, type TaskResult } from './tasks.js';
export { call, respond, decline, type CallOptions, type ReplyFor } from './call.js';
export {
  actor,
  type ActorBody,
  type ActorContext,
  type ActorInputs,
  type ActorOptions,
  type Command,
  type Handlers,
  type ReplyOf,
} from './actor.js';
export { pipeline, type PipelineOptions, type StageLike } from './pipeline.js';
export { stage, Stage, type StageFn, type StageOptions } from './stage.js';
export type { Source, Sink, SinkFn, EndpointSink, ReadableStreamLike, WritableStreamLike, NodeWritableLike } from './ends.js';
export { pool, Pool, type PoolComponent, type PoolJob, type PoolMonitor, type PoolOptions, type RunOptions, type TaskContext, type TaskFn } from './pool.js';
export { move } from './pool-wire.js';
export { ActorGoneError, CallTimeoutError, PoolClosedError, ThreadExitError, WorkerExitError, type ActorGoneErrorKind } from './errors.js';
