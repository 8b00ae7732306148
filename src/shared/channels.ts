/**
 * Making shared channels: `sharedBounded`, `sharedUnbounded`, and stats.
 *
 * @module
 */
import { Receiver } from '../channel/receiver.js';
import { Sender } from '../channel/sender.js';
import type { Handle } from '../channel/handle.js';
import { context, contexts, type ThreadContext } from './context.js';
import { KIND_BOUNDED, KIND_RENDEZVOUS, KIND_UNBOUNDED, SharedCore, setReplyChannelFactory, type ChannelStats, type SharedChannelOptions } from './core.js';

/**
 * A channel in shared memory with room for `capacity` messages, usable from
 * any thread: hand its Sender or Receiver to workers (see `transfer`,
 * `spawnWorker`, or send a handle inside a message). `sharedBounded(0)` is a
 * rendezvous channel. Same API as `bounded`, plus blocking methods inside
 * workers (`sendSync`, `recvSync`, `selectSync`, ...).
 *
 * Values are copied (structured-clone semantics); a value that cannot be
 * cloned, or is larger than `maxMessageBytes`, is refused at send with
 * `InvalidValueError` and the channel stays usable.
 *
 * @param capacity a whole number from 0 to 2^31 - 1
 * @example
 * ```ts
 * import { sharedBounded, spawnWorker } from 'weft';
 * const [tx, rx] = sharedBounded<{ id: number }>(1024);
 * const worker = spawnWorker(new URL('./worker.js', import.meta.url), { handles: { rx } });
 * await tx.send({ id: 1 });
 * ```
 */
export function sharedBounded<T>(capacity: number, options?: SharedChannelOptions): [Sender<T>, Receiver<T>] {
  if (typeof capacity !== 'number' || !Number.isInteger(capacity) || capacity < 0 || capacity > 0x7fffffff) {
    throw new RangeError(
      `sharedBounded(capacity): capacity must be a whole number from 0 to ${0x7fffffff} (0 makes a rendezvous channel); ` +
        `got ${String(capacity)}. Use sharedUnbounded() for no limit.`,
    );
  }
  return ends(SharedCore.create<T>(context(), capacity === 0 ? KIND_RENDEZVOUS : KIND_BOUNDED, capacity, options), sharedBounded);
}

/**
 * A shared channel without a message limit: `send` does not wait while the
 * ring can grow. The ring starts small and doubles in shared memory up to
 * `maxBytes` (default 64 MiB); at that ceiling sends wait for room like on a
 * bounded channel (and `trySend` reports `'full'`).
 *
 * @example
 * ```ts
 * import { sharedUnbounded } from 'weft';
 * const [tx, rx] = sharedUnbounded<string>({ maxBytes: 16 << 20 });
 * tx.trySend('never waits below the ceiling');
 * ```
 */
export function sharedUnbounded<T>(options?: SharedChannelOptions): [Sender<T>, Receiver<T>] {
  return ends(SharedCore.create<T>(context(), KIND_UNBOUNDED, 0, options), sharedUnbounded);
}

/**
 * Is `h` a handle of a shared channel (one that can cross threads)?
 *
 * @example
 * ```ts
 * import { bounded, sharedBounded, isShared } from 'weft';
 * console.log(isShared(sharedBounded<number>(1)[0])); // true
 * console.log(isShared(bounded<number>(1)[0])); // false
 * ```
 */
export function isShared(h: Handle<unknown>): boolean {
  return h.core instanceof SharedCore;
}

export type { ChannelStats } from './core.js';

/**
 * Depth and memory of the shared channel of `h`.
 *
 * @example
 * ```ts
 * import { sharedBounded, channelStats } from 'weft';
 * const [tx] = sharedBounded<number>(8);
 * tx.trySend(1);
 * console.log(channelStats(tx).len); // 1
 * ```
 */
export function channelStats(h: Handle<unknown>): ChannelStats {
  if (!(h.core instanceof SharedCore)) throw new TypeError('channelStats: not a shared channel');
  return h.core.stats();
}

/**
 * Process-wide shared-memory figures, from {@link sharedStats}.
 *
 * @example
 * ```ts
 * import { sharedStats, type SharedStats } from 'weft';
 * const s: SharedStats = sharedStats();
 * console.log(`${s.channels} channels, ${s.bytesInUse} of ${s.arenaBytes} bytes in use`);
 * ```
 */
export interface SharedStats {
  /** Bytes of the arena now (it grows on demand, never shrinks). */
  arenaBytes: number;
  /** Largest size the arena may reach. */
  maxBytes: number;
  /** Bytes in live blocks (channels, rings, out-of-line messages); freed blocks are reused. */
  bytesInUse: number;
  /** Shared channels alive now. */
  channels: number;
}

/**
 * Figures of the shared-memory arena.
 *
 * @example
 * ```ts
 * import { sharedStats } from 'weft';
 * console.log(sharedStats().bytesInUse);
 * ```
 */
export function sharedStats(): SharedStats {
  const a = context().arena;
  return { arenaBytes: a.byteLength, maxBytes: a.maxByteLength, bytesInUse: a.bytesInUse, channels: a.liveChannels };
}

export { contexts };

/** The two handles of a new shared channel, created by `creator` (named in leak warnings). */
function ends<T>(core: SharedCore<T>, creator: Function): [Sender<T>, Receiver<T>] {
  return [new Sender(core, creator), new Receiver(core, creator)];
}

// `call`'s one-shot reply channels, in the arena of the channel the request goes on.
setReplyChannelFactory(<R>(ctx: ThreadContext) => ends(SharedCore.create<R>(ctx, KIND_BOUNDED, 1), sharedBounded));
