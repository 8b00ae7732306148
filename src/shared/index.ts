/**
 * weft's cross-thread layer: the same Sender/Receiver/select API as the
 * in-loop channels, between worker threads, carried by SharedArrayBuffer
 * and Atomics. See docs/SHARED.md.
 *
 * @module
 */
import { releaseDeadSlot } from './core.js';
import { setDeathHandler } from './context.js';
import { ALIVE, DEAD, T_STATE, T_TID } from './arena.js';

export { sharedBounded, sharedUnbounded, isShared, channelStats, sharedStats, type ChannelStats, type SharedStats } from './channels.js';
export type { SharedChannelOptions } from './core.js';
export { transfer, revive, reviveSender, reviveReceiver, discard, isHandleToken, type HandleToken } from './transfer.js';
export { spawnWorker, workerHandles, type SpawnWorkerOptions, type SpawnOptions, type HandleMap } from './worker.js';
export { configureShared, type SharedConfig } from './context.js';
export { selectSync } from '../channel/select.js';
export { UnserializableValueError, MessageTooLargeError } from './codec.js';

// A thread found dead (its Worker 'exit'): mark it, release its handles,
// wake everyone who might wait on it, and free its slot.
setDeathHandler((ctx, slot) => {
  const a = ctx.arena;
  const at = a.threadEntry(slot);
  if (Atomics.compareExchange(a.i32, at + T_STATE, ALIVE, DEAD) !== ALIVE) return;
  releaseDeadSlot(a, slot);
  Atomics.store(a.i32, at + T_TID, 0);
  Atomics.store(a.i32, at + T_STATE, 0);
});
