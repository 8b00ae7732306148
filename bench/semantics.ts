/**
 * Checks that every benchmark adapter gives each flavor it claims the
 * meaning weft gives it, so the in-thread table compares like with like:
 *
 * - bounded(0): a send completes only once a receiver has taken its value;
 * - bounded(c), c >= 1: c sends complete with nobody receiving, the next one
 *   waits, and one receive lets it complete;
 * - unbounded: many sends complete with nobody receiving.
 *
 * It drives the adapters' own `sendLoop`/`recvLoop` (the code the benchmark
 * times), lets the event loop settle between steps (microtasks, immediates
 * and timers), and prints one line per (library, flavor): what the adapter
 * declares and what was observed. Exits 1 when an adapter runs a flavor
 * whose observed meaning differs; a flavor an adapter declares unsupported
 * is still probed and reported, so the reason given can be checked too.
 *
 * Run: `npx tsc -p . && node dist/bench/semantics.js`
 *
 * @module
 */
import { pathToFileURL } from 'node:url';
import { PEERS } from './peers/index.js';
import { FLAVORS, capacityOf, type Flavor, type Peer } from './peers/types.js';

/** The capacity of bounded(N) in this check: small, so filling it is quick. */
const CAP = 8;
/** Sends an unbounded channel must take with nobody receiving. */
const UNBOUNDED_SENDS = 2000;

/** Lets pending work run: several macrotask turns (each drains the microtasks), then a short timer. */
async function settle(): Promise<void> {
  for (let i = 0; i < 50; i++) await new Promise<void>((resolve) => setImmediate(resolve));
  await new Promise<void>((resolve) => setTimeout(resolve, 20));
  for (let i = 0; i < 50; i++) await new Promise<void>((resolve) => setImmediate(resolve));
}

/** A promise's state without waiting for it. */
function track<T>(p: Promise<T>): { readonly done: () => boolean; readonly promise: Promise<T> } {
  let done = false;
  const promise = p.then(
    (v) => {
      done = true;
      return v;
    },
    (e: unknown) => {
      done = true;
      throw e;
    },
  );
  promise.catch(() => {});
  return { done: () => done, promise };
}

/** What a flavor means, observed on `peer`: undefined when it matches, else what differed. */
async function probe(peer: Peer<unknown>, flavor: Flavor): Promise<string | undefined> {
  const capacity = capacityOf(flavor, CAP);
  let ch: unknown;
  try {
    ch = peer.make(capacity);
  } catch (e) {
    return `make(${capacity}) threw: ${(e as Error).message}`;
  }
  try {
    if (capacity === Infinity) {
      const sends = track(peer.sendLoop(ch, 0, UNBOUNDED_SENDS));
      await settle();
      if (!sends.done()) return `${UNBOUNDED_SENDS} sends with no receiver did not complete (not unbounded)`;
      const got = await peer.recvLoop(ch, UNBOUNDED_SENDS);
      if (got !== (UNBOUNDED_SENDS * (UNBOUNDED_SENDS - 1)) / 2) return `received the wrong values (sum ${got})`;
      return undefined;
    }
    // Fill the buffer: every one of these sends must complete with nobody receiving.
    if (capacity > 0) {
      const fill = track(peer.sendLoop(ch, 1, capacity));
      await settle();
      if (!fill.done()) return `${capacity} send(s) into an empty bounded(${capacity}) did not complete without a receiver (each send waits for its value to be taken: a rendezvous, not a buffer)`;
    }
    // The channel is full (or a rendezvous): the next send must wait for a receive.
    const next = track(peer.sendLoop(ch, 0, 1));
    await settle();
    if (next.done()) {
      return capacity === 0
        ? 'a send completed before any receiver took its value (not a rendezvous)'
        : `send ${capacity + 1} into a full bounded(${capacity}) completed without a receive (no backpressure)`;
    }
    const first = track(peer.recvLoop(ch, 1));
    await settle();
    if (!first.done()) return 'a receive did not complete although a send was waiting';
    if (!next.done()) return capacity === 0 ? 'the send did not complete after its value was taken' : 'a receive did not make room for the waiting send';
    if (capacity > 0) await peer.recvLoop(ch, capacity);
    return undefined;
  } catch (e) {
    return `threw: ${(e as Error).message}`;
  } finally {
    try {
      peer.dispose(ch);
    } catch {
      // a channel left with a waiting operation may refuse to close; it is dropped anyway
    }
  }
}

/** One (library, flavor) line of the report. */
export interface SemanticsRow {
  readonly library: string;
  readonly flavor: Flavor;
  /** The adapter's reason for not running the flavor (any workload), or undefined if it runs it. */
  readonly declared: string | undefined;
  /** What differed from weft's meaning, or undefined if nothing. */
  readonly observed: string | undefined;
}

/** Probes every adapter on every flavor. */
export async function checkSemantics(peers: readonly Peer<unknown>[] = PEERS): Promise<SemanticsRow[]> {
  const rows: SemanticsRow[] = [];
  for (const peer of peers) {
    for (const flavor of FLAVORS) {
      rows.push({ library: peer.name, flavor, declared: peer.unsupported('spsc', flavor), observed: await probe(peer, flavor) });
    }
  }
  return rows;
}

if (process.argv[1] !== undefined && import.meta.url === pathToFileURL(process.argv[1]).href) {
  const rows = await checkSemantics();
  let bad = 0;
  for (const r of rows) {
    const runs = r.declared === undefined;
    const verdict = r.observed === undefined ? (runs ? 'ok' : 'ok, but declared unsupported') : runs ? 'MISMATCH' : 'differs (declared unsupported)';
    if (runs && r.observed !== undefined) bad++;
    const why = [r.declared && `declared: ${r.declared}`, r.observed && `observed: ${r.observed}`].filter(Boolean).join('; ');
    console.log(`${r.library.padEnd(14)} ${r.flavor.padEnd(11)} ${verdict}${why ? ` — ${why}` : ''}`);
  }
  if (bad > 0) {
    console.log(`\n${bad} case(s) run by the benchmark with a meaning other than weft's: mark them unsupported in bench/peers/.`);
    process.exitCode = 1;
  }
  // Some libraries keep timers or parked operations alive after a probe; the verdict is in.
  setTimeout(() => process.exit(), 100).unref();
}
