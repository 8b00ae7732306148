/**
 * Forgotten handles.
 *
 * JavaScript has no destructors, so a Sender that goes out of scope without
 * `close()` would keep its channel open forever and a receiver waiting for
 * the end of the stream would hang. weft registers every Sender and Receiver
 * with a FinalizationRegistry: when one is garbage-collected while still
 * open, it is closed for it, and (in development mode) a warning names the
 * place where the forgotten handle was created.
 *
 * Garbage collection runs when the engine decides, so this is a backstop:
 * close handles explicitly, or declare them with `using`.
 *
 * @module
 */
import type { ChannelCore, Side } from './core.js';

/** Options of {@link configure}. */
export interface WeftConfig {
  /**
   * Record where each handle was created and warn (through
   * `process.emitWarning` where available, else `console.warn`) when an open
   * handle is garbage-collected. Costs a stack capture per created handle.
   * Default: on, unless `NODE_ENV` is `"production"`.
   */
  leakWarnings?: boolean;
}

interface Tracked {
  core: ChannelCore<unknown>;
  side: Side;
  origin: { stack?: string } | undefined;
}

const env = (globalThis as { process?: { env?: Record<string, string | undefined> } }).process?.env;
let leakWarnings = env?.NODE_ENV !== 'production';

/**
 * Sets weft's global options.
 *
 * @example
 * ```ts
 * import { configure } from 'weft';
 * configure({ leakWarnings: false }); // no creation stacks, no warnings
 * ```
 */
export function configure(options: WeftConfig): void {
  if (options.leakWarnings !== undefined) leakWarnings = options.leakWarnings;
}

const registry = new FinalizationRegistry<Tracked>((t) => {
  t.core.release(t.side);
  if (t.origin !== undefined) warnLeak(t);
});

function warnLeak(t: Tracked): void {
  const what = t.side === 'send' ? 'Sender' : 'Receiver';
  const consequence =
    t.side === 'send'
      ? 'until then its receivers could not see the channel end, and a loop waiting for the end would hang'
      : 'until then its senders could not see that nobody receives';
  const stack = (t.origin?.stack ?? '').split('\n').slice(1).join('\n');
  const message =
    `a ${what} was garbage-collected without close(); weft closed it, but ${consequence}. ` +
    `Call close() (or declare it with \`using\`) when you are done with it. It was created at:\n${stack}`;
  const proc = (globalThis as { process?: { emitWarning?: (m: string, o: { type: string; code: string }) => void } }).process;
  if (proc?.emitWarning) proc.emitWarning(message, { type: 'WeftLeakWarning', code: 'WEFT_LEAKED_HANDLE' });
  else console.warn(`WeftLeakWarning: ${message}`);
}

/** Starts watching a new open handle. @internal */
export function track(handle: object, core: ChannelCore<unknown>, side: Side, creator: Function): void {
  let origin: { stack?: string } | undefined;
  if (leakWarnings) {
    origin = {};
    // V8 records the trace lazily; `creator` trims weft's own frames.
    if (Error.captureStackTrace) Error.captureStackTrace(origin, creator);
    else origin = new Error();
  }
  registry.register(handle, { core, side, origin }, handle);
}

/** Stops watching a handle that was closed explicitly. @internal */
export function untrack(handle: object): void {
  registry.unregister(handle);
}
