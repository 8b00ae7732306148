/**
 * Watching every loop of a thread: an observer (a hang monitor) installs one
 * watcher per thread, and each loop weft runs there afterwards (a component
 * from `spawn`, a pool worker's task loop) asks it for hooks when it starts,
 * reports through them on every turn, and detaches when it ends. Users get
 * the reporting without writing it into their loops.
 * @module
 */
import type { HangMonitorMember, MonitorToken } from '../monitor/index.js';

/**
 * What a watched loop reports to: `onActivity` before it handles something
 * (annotated with what), `onWait` before it blocks for input, `detach` once
 * when it ends. All three must be cheap and must not throw.
 *
 * @example
 * ```ts
 * import type { LoopHooks } from 'weft';
 * let busy = 0;
 * const hooks: LoopHooks = { onActivity: () => void busy++, onWait: () => {}, detach: () => {} };
 * hooks.onActivity('jobs');
 * console.log(busy); // 1
 * ```
 */
export interface LoopHooks {
  onActivity(annotation: string): void;
  onWait(): void;
  detach(): void;
}

/**
 * Gives the hooks for a loop named `name` that is starting on this thread,
 * or `undefined` to leave it unwatched.
 *
 * @example
 * ```ts
 * import type { LoopWatcher } from 'weft';
 * const started: string[] = [];
 * const watcher: LoopWatcher = (name) => (started.push(name), undefined);
 * console.log(watcher('parser'), started); // undefined ['parser']
 * ```
 */
export type LoopWatcher = (name: string) => LoopHooks | undefined;

let current: LoopWatcher | undefined;

/**
 * Installs `watcher` for the loops started on this thread from now on
 * (`undefined` removes it) and returns the one it replaces. Loops already
 * running keep the hooks they got. A hang monitor does this for you
 * (`startHangMonitor`, `joinHangMonitor` in `weft/monitor`).
 *
 * @example
 * ```ts
 * import { bounded, spawn, watchLoops } from 'weft';
 * const seen: string[] = [];
 * const previous = watchLoops((name) => ({ onActivity: (what) => seen.push(`${name}:${what}`), onWait() {}, detach() {} }));
 * const [tx, rx] = bounded<number>(1);
 * const c = spawn({ handle() {} }, { inputs: { rx }, name: 'sink' });
 * await tx.send(1); tx.close(); await c.done;
 * watchLoops(previous);
 * console.log(seen.includes('sink:rx')); // true
 * ```
 */
export function watchLoops(watcher: LoopWatcher | undefined): LoopWatcher | undefined {
  const previous = current;
  current = watcher;
  return previous;
}

/**
 * The hooks for a loop starting now on this thread, from the installed
 * watcher (undefined when nothing watches, or when the watcher throws:
 * watching never stops a loop from starting). Loops call it once at start.
 *
 * @example
 * ```ts
 * import { loopHooks } from 'weft';
 * const hooks = loopHooks('my-loop');
 * hooks?.onActivity('job'); // … handle the job …
 * hooks?.onWait();          // … block for the next …
 * hooks?.detach();          // the loop ends
 * ```
 */
export function loopHooks(name: string): LoopHooks | undefined {
  if (current === undefined) return undefined;
  try {
    return current(name);
  } catch {
    return undefined;
  }
}

/**
 * Joins the hang monitor a worker thread was started with (its token and
 * component timeouts from workerData), or does nothing without one. The
 * monitor module is loaded only then. @internal
 */
export async function joinMonitorOf(data: {
  readonly monitor?: MonitorToken;
  readonly hangTimeouts?: { readonly transientMs: number; readonly permanentMs: number };
}): Promise<HangMonitorMember | undefined> {
  if (data.monitor === undefined) return undefined;
  const { joinHangMonitor } = await import('../monitor/index.js');
  return joinHangMonitor(data.monitor, data.hangTimeouts === undefined ? {} : { components: data.hangTimeouts });
}
