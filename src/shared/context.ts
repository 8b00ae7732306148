/**
 * Per-thread state of the shared layer: this thread's registration in the
 * arena, its scratch buffers, the cache of channel cores it holds handles
 * on, the waker that runs its async waits, and the death watcher.
 *
 * @internal
 */
import { Arena, type ArenaOptions } from './arena.js';
import { cannotBlock, type WaitDomain } from '../channel/core.js';
import { now } from '../channel/clock.js';
import { inheritedArena, isMainThread, keepAlive, onWorkerCreated, publishArena, type KeepAlive } from './platform.js';

/** `Atomics.waitAsync` (ES2024; in Node 20): the lib setting here is ES2023. */
const waitAsync = (Atomics as unknown as {
  waitAsync(a: Int32Array, i: number, v: number): { async: false; value: string } | { async: true; value: Promise<string> };
}).waitAsync;

/** Something with parked async operations that must be retried when the thread is woken. */
export interface Pumpable {
  /** Retries parked operations; returns true while some are still parked. */
  pump(): boolean;
}

/**
 * Runs every async wait of this thread with ONE `Atomics.waitAsync` on the
 * thread's wake word. Notifiers bump the wake word of every thread whose bit
 * is set on the channel side that changed; the waker then retries the
 * parked operations of its cores (readiness wake-up → retry: an operation is
 * only ever completed by its own thread after it performed it on shared
 * memory itself, which is what keeps select and cancellation exact).
 *
 * While anything is parked a ref'd interval keeps the event loop alive (a
 * pending waitAsync alone does not); when nothing is, it is unref'd, so an
 * idle channel never keeps the process alive.
 */
export class Waker {
  private readonly pending = new Set<Pumpable>();
  private armed = false;
  private retry: ReturnType<typeof setTimeout> | undefined;
  private readonly keep: KeepAlive = keepAlive();
  private kept = false;

  constructor(private readonly arena: Arena) {}

  /** `p` has parked operations: retry them whenever this thread is woken. */
  add(p: Pumpable): void {
    this.pending.add(p);
    if (!this.kept) {
      this.kept = true;
      this.keep.ref();
    }
    if (!this.armed) this.loop();
  }

  delete(p: Pumpable): void {
    this.pending.delete(p);
    if (this.pending.size === 0 && this.kept) {
      this.kept = false;
      this.keep.unref();
    }
  }

  private loop(): void {
    const a = this.arena;
    for (let rounds = 0; ; rounds++) {
      // Read the wake word BEFORE retrying: a notify after the retry changes
      // it, so waitAsync below returns at once instead of missing the wake.
      const v = Atomics.load(a.i32, a.wakeIndex);
      a.busy = false;
      for (const p of this.pending) if (!p.pump()) this.delete(p);
      if (this.pending.size === 0) return;
      if (a.busy && this.retry === undefined) {
        // A lock could not be taken without blocking: try again shortly.
        this.retry = setTimeout(this.onRetry, 1);
      }
      // Check the value first: waitAsync costs ~640 ns even when it returns at once.
      if (Atomics.load(a.i32, a.wakeIndex) !== v && rounds < 64) continue;
      a.parkSelf();
      const r = waitAsync(a.i32, a.wakeIndex, v);
      if (!r.async) continue;
      this.armed = true;
      void r.value.then(this.onWake);
      return;
    }
  }

  private readonly onWake = (): void => {
    this.armed = false;
    if (this.pending.size > 0) this.loop();
  };

  private readonly onRetry = (): void => {
    this.retry = undefined;
    if (this.pending.size > 0 && !this.armed) this.loop();
    else if (this.pending.size > 0) {
      // Poke ourselves: the armed waitAsync resolves and the loop retries.
      this.arena.wakeSlot(this.arena.slot);
    }
  };
}

/** Adaptive spinning for blocking operations (per thread). */
export class Spin {
  /**
   * Never less than about what parking costs (a futex wake on a halted core:
   * tens of µs). Below that, a stream whose two sides run at the same speed
   * falls into a cycle where each side parks because the other just did.
   */
  static readonly MIN = 4096;
  /** Iterations to spin before parking, from MIN. Grows when spins succeed, shrinks when they fail. */
  limit = Spin.MIN;
  static readonly MAX = 1 << 16;
  won(): void {
    if (this.limit < Spin.MAX) this.limit <<= 1;
  }
  lost(): void {
    if (this.limit > Spin.MIN) this.limit >>= 1;
  }
  /**
   * A short pause between two polls. A poller that reads the line the other
   * thread is writing, back to back, steals it mid-write and makes that
   * thread fetch it again for each store; JavaScript has no pause
   * instruction, so a few iterations of local work stand in for one.
   */
  static pause(): void {
    let x = pauseSink;
    for (let i = 0; i < PAUSE_STEPS; i++) x = (x * 31 + i) | 0;
    pauseSink = x;
  }
}

/** Iterations of {@link Spin.pause} (a few tens of ns). */
const PAUSE_STEPS = 32;
let pauseSink = 0;

/** Blocking waits on this thread's wake word (see WaitDomain in channel/core.ts). */
class ThreadWaitDomain implements WaitDomain {
  constructor(
    private readonly arena: Arena,
    private readonly spin: Spin,
  ) {}
  check(what: string): void {
    if (isMainThread) throw cannotBlock(what, 'the async form (the main thread must never block)');
  }
  snapshot(): number {
    return Atomics.load(this.arena.i32, this.arena.wakeIndex);
  }
  park(snapshot: number, deadline: number): void {
    const a = this.arena;
    const limit = this.spin.limit;
    for (let i = 0; i < limit; i++) {
      if (Atomics.load(a.i32, a.wakeIndex) !== snapshot) {
        this.spin.won();
        return;
      }
    }
    this.spin.lost();
    const ms = deadline - now();
    if (ms <= 0) return;
    a.parkSelf();
    Atomics.wait(a.i32, a.wakeIndex, snapshot, ms === Infinity ? undefined : ms);
  }
}

/** This thread's state for one arena. */
export class ThreadContext {
  readonly waker: Waker;
  readonly spin = new Spin();
  readonly waitDomain: WaitDomain;
  /** Channel cores this thread holds handles on, by channel slot. */
  readonly cores = new Map<number, { serial: number; core: unknown }>();
  private scratchSab = new SharedArrayBuffer(4096);
  /** Thread-local scratch in shared memory: decoding from it keeps the decoder's views. */
  scratch = new Uint8Array(this.scratchSab);
  /** The same scratch as Int32 words (its size is always a multiple of 4). */
  scratch32 = new Int32Array(this.scratchSab);

  constructor(readonly arena: Arena) {
    arena.register();
    this.waker = new Waker(arena);
    this.waitDomain = new ThreadWaitDomain(arena, this.spin);
  }

  /** Scratch with room for `n` bytes. */
  scratchFor(n: number): Uint8Array {
    if (n > this.scratch.length) {
      let size = this.scratch.length;
      while (size < n) size *= 2;
      this.scratchSab = new SharedArrayBuffer(size);
      this.scratch = new Uint8Array(this.scratchSab);
      this.scratch32 = new Int32Array(this.scratchSab);
    }
    return this.scratch;
  }
}

let arenaOptions: ArenaOptions = {};
let current: ThreadContext | undefined;
const others = new Map<SharedArrayBuffer, ThreadContext>();
/** Called with (context, slot) when a thread registered in `context`'s arena is found dead. */
let onDeath: ((ctx: ThreadContext, slot: number) => void) | undefined;

/**
 * Options of {@link configureShared}: the limits of the shared-memory arena.
 *
 * @example
 * ```ts
 * import { configureShared, type SharedConfig } from 'weft';
 * const limits: SharedConfig = { maxBytes: 256 << 20, maxThreads: 32 };
 * configureShared(limits);
 * ```
 */
export interface SharedConfig extends ArenaOptions {}

/**
 * Sets the limits of the shared-memory arena. Must be called before the
 * first shared channel is created in the process (the arena is created
 * once, then inherited by every worker).
 *
 * @example
 * ```ts
 * import { configureShared } from 'weft';
 * configureShared({ maxBytes: 256 << 20, maxThreads: 64 });
 * ```
 */
export function configureShared(options: SharedConfig): void {
  if (current !== undefined) throw new Error('configureShared: the arena already exists in this thread; call it before creating shared channels');
  arenaOptions = { ...options };
}

/** This thread's context in its default arena (inherited, or created and published). */
export function context(): ThreadContext {
  if (current !== undefined) return current;
  const inherited = inheritedArena();
  let arena: Arena;
  if (inherited !== undefined) arena = Arena.attach(inherited);
  else {
    arena = Arena.create(arenaOptions);
    publishArena(arena.sab);
  }
  current = new ThreadContext(arena);
  others.set(arena.sab, current);
  return current;
}

/** This thread's context in the arena `sab` (attaching to it if needed). */
export function contextFor(sab: SharedArrayBuffer): ThreadContext {
  const c = current !== undefined && current.arena.sab === sab ? current : others.get(sab);
  if (c !== undefined) return c;
  if (current === undefined && inheritedArena() === undefined) {
    // First contact with weft in this thread is a token: adopt its arena.
    const ctx = new ThreadContext(Arena.attach(sab));
    current = ctx;
    publishArena(sab);
    others.set(sab, ctx);
    return ctx;
  }
  if (current === undefined) context();
  if (current!.arena.sab === sab) return current!;
  const ctx = new ThreadContext(Arena.attach(sab));
  others.set(sab, ctx);
  return ctx;
}

/** Every arena context of this thread. */
export function contexts(): Iterable<ThreadContext> {
  return others.values();
}

/** @internal Installs the function that releases a dead thread's handles. */
export function setDeathHandler(fn: (ctx: ThreadContext, slot: number) => void): void {
  onDeath = fn;
}

/**
 * Marks the weft threads with Node threadId `id` dead in every arena this
 * thread knows, and releases their handles.
 */
export function nodeThreadExited(id: number): void {
  // A thread that never used weft itself may still have started workers that did.
  if (others.size === 0 && inheritedArena() !== undefined) context();
  for (const ctx of others.values()) {
    for (const slot of ctx.arena.slotsOfNodeThread(id)) onDeath?.(ctx, slot);
  }
}

// Watch every Worker created in this thread from now on: its 'exit' event
// (a few ms after exit, crash or terminate()) releases its handles. This is
// what makes user-created workers work without wiring.
onWorkerCreated((w) => {
  const id = w.threadId;
  w.once('exit', () => nodeThreadExited(id));
});

export { isMainThread };
