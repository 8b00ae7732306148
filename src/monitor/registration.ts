/**
 * The per-component handle and the per-thread registrar.
 * Every operation is synchronous, never waits for the monitor, and becomes a
 * no-op once the monitor is gone.
 * @module
 */
import { threadId, type MessagePort } from 'node:worker_threads';
import type { HangMonitor, HangMonitorMember } from './monitor.js';
import { watchLoops, type LoopWatcher } from '../patterns/watch.js';
import { allocate, free, isStopped, nextAnnotationId, wordIndex, type Table } from './table.js';

/**
 * Timeouts of a registered component, in milliseconds: busy (active, not
 * waiting) past `transientMs` raises a `'transient'` alert, past
 * `permanentMs` a `'permanent'` one with a stack sample.
 *
 * @example
 * ```ts
 * import type { RegisterOptions } from 'weft/monitor';
 * const interactive: RegisterOptions = { transientMs: 100, permanentMs: 1000 };
 * console.log(interactive.permanentMs); // 1000
 * ```
 */
export interface RegisterOptions {
  transientMs: number;
  permanentMs: number;
}

/** Throws a RangeError saying what to pass when the timeouts are not numbers >= 0. */
export function checkTimeouts(what: string, options: RegisterOptions): void {
  const { transientMs, permanentMs } = options;
  if (!(transientMs >= 0) || !(permanentMs >= 0)) {
    throw new RangeError(`${what}: transientMs and permanentMs must be numbers >= 0 (milliseconds), got ${transientMs} and ${permanentMs}`);
  }
}

/** Messages from a registrar to the monitor. @internal */
export type RegistrarMessage =
  | { type: 'register'; slot: number; gen: number; name: string; threadId: number; transientMs: number; permanentMs: number }
  | { type: 'unregister'; slot: number; gen: number }
  | { type: 'annotation'; id: number; text: string };

/** One thread's connection to the monitor. @internal */
export class Registrar {
  private readonly annotations = new Map<string, number>();
  private closed = false;
  constructor(
    readonly table: Table,
    private readonly port: MessagePort,
  ) {}

  get active(): boolean {
    return !this.closed && !isStopped(this.table);
  }

  post(m: RegistrarMessage): void {
    if (!this.active) return;
    try {
      this.port.postMessage(m);
    } catch {
      // a gone monitor is not an error
    }
  }

  intern(text: string): number {
    let id = this.annotations.get(text);
    if (id === undefined) {
      id = nextAnnotationId(this.table);
      this.annotations.set(text, id);
      this.post({ type: 'annotation', id, text });
    }
    return id;
  }

  register(name: string, options: RegisterOptions): ComponentRegistration {
    checkTimeouts(`register(${name})`, options);
    const { transientMs, permanentMs } = options;
    if (!this.active) return new ComponentRegistration(this, name, -1, 0);
    const got = allocate(this.table);
    if (got === undefined) throw new RangeError(`register(${name}): the hang monitor's table is full (${this.table.size} slots)`);
    const [slot, gen] = got;
    this.post({ type: 'register', slot, gen, name, threadId, transientMs, permanentMs });
    return new ComponentRegistration(this, name, slot, gen);
  }

  /**
   * Registers every loop weft starts on this thread from now on (components,
   * pool workers) with `options`, until the returned undo runs. While it
   * watches, the thread holds an idle anchor registration, so the monitor
   * does not exit between one loop's end and the next one's start.
   */
  watchLoops(options: RegisterOptions): () => void {
    checkTimeouts('components', options);
    if (!this.active) return () => {};
    const anchor = this.register(`(loops of thread ${threadId})`, { transientMs: Infinity, permanentMs: Infinity });
    const watcher: LoopWatcher = (name) => {
      if (!this.active) return undefined;
      let reg: ComponentRegistration;
      try {
        reg = this.register(name, options);
      } catch {
        return undefined; // a full table leaves the loop unwatched rather than failing it
      }
      return { onActivity: reg.hooks.onActivity, onWait: reg.hooks.onWait, detach: () => reg.unregister() };
    };
    const previous = watchLoops(watcher);
    let undone = false;
    this.unwatch = () => {
      if (undone) return;
      undone = true;
      const now = watchLoops(previous);
      if (now !== watcher) watchLoops(now); // someone else installed theirs since: keep it
      anchor.unregister();
    };
    return this.unwatch;
  }

  private unwatch: (() => void) | undefined;

  /** Stops this thread's registrar; the monitor drops its registrations. */
  close(): void {
    if (this.closed) return;
    this.unwatch?.();
    this.closed = true;
    try {
      this.port.close();
    } catch {
      // already closed
    }
  }
}

/**
 * The handle of one registered component, from `register` on a
 * {@link HangMonitor} or a {@link HangMonitorMember}. Call `notifyActivity`
 * when it starts handling something and `notifyWait` when it goes back to
 * waiting for input: both are plain writes to shared memory (no message; an
 * annotation costs one message the first time this thread uses it).
 *
 * @example
 * ```ts
 * import { startHangMonitor } from 'weft/monitor';
 * const monitor = startHangMonitor();
 * using reg = monitor.register('importer', { transientMs: 100, permanentMs: 2000 });
 * for (const file of files) {
 *   reg.notifyActivity('file'); importFile(file);
 * }
 * reg.notifyWait();
 * ```
 */
export class ComponentRegistration {
  // The hot path is two plain stores and no branch on liveness: a finished
  // registration points `words` at a private scratch array instead.
  private words: Int32Array;
  private w: number;
  /** The value last stored in this slot's heartbeat word: this handle is the word's only writer, so it never reads it back. */
  private beat = 0;
  private lastAnnotation: string | undefined;
  private done: boolean;
  /** Hooks to pass to `spawn(body, { hooks })`, for a component registered by hand. */
  readonly hooks: { onActivity(annotation: string): void; onWait(): void };

  constructor(
    private readonly registrar: Registrar,
    readonly name: string,
    private readonly slot: number,
    private readonly gen: number,
  ) {
    this.done = slot < 0;
    this.words = this.done ? new Int32Array(2) : registrar.table.words;
    this.w = this.done ? 0 : wordIndex(registrar.table, slot);
    this.hooks = {
      onActivity: (annotation: string) => this.notifyActivity(annotation),
      onWait: () => this.notifyWait(),
    };
  }

  /** The component is busy (optionally: with what; keep the set of annotations small, e.g. input names). */
  notifyActivity(annotation?: string): void {
    // A hot loop repeats its annotation: only a new one costs a lookup.
    if (annotation !== this.lastAnnotation) this.annotate(annotation);
    this.words[this.w] = this.beat = (this.beat + 2) | 1;
  }

  /** The component waits for input: never reported while waiting. */
  notifyWait(): void {
    this.words[this.w] = this.beat = (this.beat + 2) & ~1;
  }

  private annotate(annotation: string | undefined): void {
    this.lastAnnotation = annotation;
    if (!this.done) this.words[this.w + 1] = annotation === undefined ? 0 : this.registrar.intern(annotation);
  }

  /** Whether this registration is still live (false after unregister or a gone monitor). */
  get registered(): boolean {
    return !this.done && this.registrar.active;
  }

  /** Frees the slot and tells the monitor. Idempotent; a no-op after shutdown. */
  unregister(): void {
    if (this.done) return;
    this.done = true;
    this.notifyWait(); // never reported again, even if the monitor reads the slot before the message below
    this.words = new Int32Array(2);
    this.w = 0;
    this.registrar.post({ type: 'unregister', slot: this.slot, gen: this.gen });
    free(this.registrar.table, this.slot, this.gen);
  }

  [Symbol.dispose](): void {
    this.unregister();
  }
}
