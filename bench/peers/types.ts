/**
 * The common interface of the in-thread benchmark's adapters: one per
 * library (and one for the hand-written floor).
 *
 * An adapter makes a channel of a flavor and runs the four task bodies the
 * workloads are built from. Every body awaits every operation. Each adapter
 * writes its own loops (a few lines each) so that every loop's inline caches
 * see only one library: a shared loop called with every library's closures
 * would go megamorphic and measure the harness, not the channel. For the
 * same reason each workload gets its own instance of the adapter's module:
 * in a program, a producer loop of one pattern is not the code of another,
 * and one compiled loop shaped by the feedback of every workload (a send
 * that always finds a parked receiver, and one that always parks) would
 * again measure the harness.
 *
 * @module
 */

/** Channel flavors, crossbeam-channel's benchmark set. `bounded(N)` has capacity {@link Flavor} `cap` (64 by default). */
export type Flavor = 'bounded(0)' | 'bounded(1)' | 'bounded(N)' | 'unbounded';
export const FLAVORS: readonly Flavor[] = ['bounded(0)', 'bounded(1)', 'bounded(N)', 'unbounded'];

/** Workloads, crossbeam-channel's benchmark set adapted to one event loop. */
export type Workload = 'seq' | 'spsc' | 'mpsc' | 'mpmc' | 'select_rx' | 'select_both';
export const WORKLOADS: readonly Workload[] = ['seq', 'spsc', 'mpsc', 'mpmc', 'select_rx', 'select_both'];

/** The capacity of a flavor: a number, or `Infinity` for unbounded. */
export function capacityOf(flavor: Flavor, cap: number): number {
  switch (flavor) {
    case 'bounded(0)':
      return 0;
    case 'bounded(1)':
      return 1;
    case 'bounded(N)':
      return cap;
    case 'unbounded':
      return Infinity;
  }
}

/**
 * One library under test. `C` is the adapter's own channel value; the
 * harness never looks inside it. Methods (not function properties) so that
 * a `Peer<X>` is usable where a `Peer<unknown>` is expected.
 */
export interface Peer<C> {
  /** Column label. */
  readonly name: string;
  /**
   * URL of the adapter's module (`import.meta.url`): the harness loads one
   * instance of it per workload, so each workload runs its own loop code
   * (see runInThread); the library underneath is one instance for all.
   */
  readonly module: string;
  /** npm package measured ('' for in-repo code). */
  readonly pkg: string;
  /** How the library is used here (mode, idiom, caveats); printed with the table. */
  readonly note: string;
  /** Why `workload` on `flavor` cannot run on this library, or undefined if it can. */
  unsupported(workload: Workload, flavor: Flavor): string | undefined;
  /** A new channel of `capacity` (0 = rendezvous, Infinity = unbounded). */
  make(capacity: number): C;
  /** Releases a channel after a run (close it; nothing may be waiting). */
  dispose(ch: C): void;
  /** Sends `from, from+1, …` (`count` values), awaiting each send. */
  sendLoop(ch: C, from: number, count: number): Promise<void>;
  /** Receives `count` values, awaiting each; resolves with their sum. */
  recvLoop(ch: C, count: number): Promise<number>;
  /** `count` times: one select over sends of the next value on every channel. */
  selectSendLoop?(chs: readonly C[], from: number, count: number): Promise<void>;
  /** `count` times: one select over receives on every channel; resolves with the sum. */
  selectRecvLoop?(chs: readonly C[], count: number): Promise<number>;
}

/** Reasons shared by several adapters. */
export const WHY = {
  noSelect: 'no select',
  noSendSelect: 'no select over sends',
  noRendezvous: 'no rendezvous (capacity 0) channel',
  noBounded: 'no bounded channel with backpressure',
  noUnbounded: 'no unbounded channel',
  oneReader: 'one pending next() at a time (a second concurrent reader strands the first)',
} as const;

/** The thrown value when a recv finds the channel closed mid-run. */
export function closedEarly(lib: string): Error {
  return new Error(`${lib}: channel reported closed before the run's messages were all received`);
}
