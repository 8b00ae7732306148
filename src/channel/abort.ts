/**
 * One `'abort'` listener per AbortSignal, however many operations wait on it.
 *
 * A signal is often shared: a pipeline stage with `concurrency: 64` passes
 * one signal to 64 calls, a component's signal guards every receive of its
 * loop. Adding an EventTarget listener per operation makes Node warn about a
 * leak past ten, and each add/remove is slower than a Set's. So each signal
 * gets a single listener that fans out to the operations registered now.
 *
 * @internal
 */

/** Something to tell when a signal aborts (an object: no closure per operation). */
export interface AbortWatcher {
  handleEvent(): void;
}

interface Entry {
  readonly set: Set<AbortWatcher>;
  readonly listener: () => void;
}

const entries = new WeakMap<AbortSignal, Entry>();

/** Calls `w.handleEvent()` once when `signal` aborts, unless removed first with {@link offAbort}. */
export function onAbort(signal: AbortSignal, w: AbortWatcher): void {
  let e = entries.get(signal);
  if (e === undefined) {
    const set = new Set<AbortWatcher>();
    const listener = (): void => {
      entries.delete(signal);
      for (const x of set) x.handleEvent();
      set.clear();
    };
    e = { set, listener };
    entries.set(signal, e);
    signal.addEventListener('abort', listener, { once: true });
  }
  e.set.add(w);
}

/** Forgets `w`: it will not be told. The signal's listener goes with its last watcher. */
export function offAbort(signal: AbortSignal, w: AbortWatcher): void {
  const e = entries.get(signal);
  if (e === undefined || !e.set.delete(w) || e.set.size > 0) return;
  entries.delete(signal);
  signal.removeEventListener('abort', e.listener);
}
