/**
 * weft: typed channels for TypeScript with the semantics of Rust's
 * crossbeam-channel. Share your Sender, keep your Receiver. The same
 * channels work across worker threads when made with `sharedBounded` /
 * `sharedUnbounded` (shared memory; see docs/SHARED.md).
 *
 * @example
 * ```ts
 * import { bounded } from 'weft';
 * const [tx, rx] = bounded<number>(16);
 * void (async () => { for (let i = 0; i < 3; i++) await tx.send(i); tx.close(); })();
 * for await (const n of rx) console.log(n);
 * ```
 * @module
 */
export * from './channel/index.js';
export * from './patterns/index.js';
export {
  sharedBounded,
  sharedUnbounded,
  isShared,
  channelStats,
  sharedStats,
  type ChannelStats,
  type SharedStats,
  type SharedChannelOptions,
  transfer,
  revive,
  reviveSender,
  reviveReceiver,
  discard,
  isHandleToken,
  type HandleToken,
  spawnWorker,
  workerHandles,
  type SpawnWorkerOptions,
  type HandleMap,
  configureShared,
  type SharedConfig,
  UnserializableValueError,
  MessageTooLargeError,
} from './shared/index.js';
