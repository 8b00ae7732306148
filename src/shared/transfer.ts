/**
 * Handles crossing threads outside weft channels: transfer tokens.
 *
 * `transfer(handle)` closes the handle here and returns a plain object (a
 * token) that holds the handle's count while it travels — through
 * `postMessage`, `workerData`, or anything else that structured-clones.
 * `revive(token)` in the destination thread turns it back into a live
 * handle, exactly once: a token is backed by a ticket in shared memory that
 * the first revival claims, so a copied, replayed or forged token is
 * refused with a TypeError instead of corrupting the counts.
 *
 * A token that is never revived keeps its channel open (its count is
 * outstanding); `discard(token)` gives the count back.
 *
 * @module
 */
import { Receiver } from '../channel/receiver.js';
import { Sender } from '../channel/sender.js';
import type { Handle } from '../channel/handle.js';
import { ClosedHandleError } from '../channel/errors.js';
import { contextFor } from './context.js';
import { SharedCore, releaseShared } from './core.js';

/**
 * A handle in flight between threads, made by {@link transfer}: plain data
 * that `postMessage` and `workerData` carry. It holds one handle count until
 * {@link revive} or {@link discard} is called on it, once.
 *
 * @example
 * ```ts
 * import { sharedBounded, transfer, type HandleToken } from 'weft';
 * const [tx, rx] = sharedBounded<number>(8);
 * const token: HandleToken = transfer(rx);
 * worker.postMessage({ rx: token });
 * ```
 */
export interface HandleToken {
  readonly weft: 'shared-handle';
  readonly v: 1;
  /** The arena (shared memory) the channel lives in. */
  readonly arena: SharedArrayBuffer;
  readonly side: 'send' | 'recv';
  readonly ticket: number;
  readonly serial: number;
}

/**
 * Turns a shared Sender or Receiver into a token for `postMessage` or
 * `workerData`; the handle is closed here (clone first to keep one).
 *
 * @example
 * ```ts
 * import { sharedBounded, transfer } from 'weft';
 * import { Worker } from 'node:worker_threads';
 * const [tx, rx] = sharedBounded<number>(16);
 * new Worker(new URL('./w.js', import.meta.url), { workerData: { rx: transfer(rx) } });
 * ```
 */
export function transfer(handle: Sender<unknown> | Receiver<unknown>): HandleToken {
  const h = handle as Handle<unknown>;
  if (h.isClosed) throw new ClosedHandleError('transfer');
  const core = h.core;
  if (!(core instanceof SharedCore)) {
    throw new TypeError('transfer: only handles of shared channels (sharedBounded/sharedUnbounded) can cross threads');
  }
  const side = h.side;
  // The token takes its own count, then the handle releases this thread's.
  const ticket = core.a.addTicket(core.slot, core.serial, side === 'send' ? 0 : 1);
  core.acquireShared(side);
  h.close();
  return Object.freeze({ weft: 'shared-handle', v: 1, arena: core.a.sab, side, ticket: ticket.index, serial: ticket.serial });
}

function check(token: unknown): HandleToken {
  const t = token as Partial<HandleToken> | null;
  if (
    typeof t !== 'object' || t === null || t.weft !== 'shared-handle' || t.v !== 1 || !(t.arena instanceof SharedArrayBuffer) ||
    (t.side !== 'send' && t.side !== 'recv') || !Number.isInteger(t.ticket) || !Number.isInteger(t.serial)
  ) {
    throw new TypeError('revive: not a weft handle token (expected the object returned by transfer())');
  }
  return t as HandleToken;
}

/**
 * Turns a token from {@link transfer} back into a live handle in this
 * thread. Each token revives once.
 *
 * @throws TypeError for something that is not a token, a forged or
 *   corrupted one, or one already revived or discarded.
 * @example
 * ```ts
 * // worker.js
 * import { workerData } from 'node:worker_threads';
 * import { revive } from 'weft';
 * const rx = revive<number>(workerData.rx);
 * ```
 */
export function revive<T>(token: HandleToken | unknown): Sender<T> | Receiver<T> {
  const t = check(token);
  const ctx = contextFor(t.arena);
  const gone = 'revive: this token was already revived or discarded, or is forged or corrupted';
  // Everything that can fail or take time happens before the claim, so that
  // claiming the count and recording it as this thread's are back to back
  // (a thread terminated between the two would leak the count).
  const ticket = ctx.arena.peekTicket(t.ticket, t.serial);
  if (ticket === undefined) throw new TypeError(gone);
  if (ticket.side !== (t.side === 'send' ? 0 : 1)) throw new TypeError('revive: corrupted token (side does not match its ticket)');
  const core = SharedCore.lookup<T>(ctx, ticket.chSlot, ticket.chSerial);
  const claim = ctx.arena.claimTicket(t.ticket, t.serial);
  if (claim === undefined) throw new TypeError(gone);
  core.adopt(t.side);
  return t.side === 'send' ? new Sender<T>(core, revive) : new Receiver<T>(core, revive);
}

/**
 * {@link revive} for a token that must be a Sender (a TypeError otherwise).
 *
 * @example
 * ```ts
 * import { workerData } from 'node:worker_threads';
 * import { reviveSender } from 'weft';
 * const results = reviveSender<string>(workerData.results);
 * results.sendSync('ready');
 * ```
 */
export function reviveSender<T>(token: HandleToken | unknown): Sender<T> {
  if (check(token).side !== 'send') throw new TypeError('reviveSender: this token is a Receiver');
  return revive<T>(token) as Sender<T>;
}

/**
 * {@link revive} for a token that must be a Receiver (a TypeError otherwise).
 *
 * @example
 * ```ts
 * import { workerData } from 'node:worker_threads';
 * import { reviveReceiver } from 'weft';
 * const jobs = reviveReceiver<string>(workerData.jobs);
 * for (;;) console.log(jobs.recvSync());
 * ```
 */
export function reviveReceiver<T>(token: HandleToken | unknown): Receiver<T> {
  if (check(token).side !== 'recv') throw new TypeError('reviveReceiver: this token is a Sender');
  return revive<T>(token) as Receiver<T>;
}

/**
 * Gives back the count a token holds, without reviving it (a token that
 * will never be revived would keep its channel open). Each token once.
 * Typical use: the worker a token was meant for exited before reviving it
 * (workers started with {@link spawnWorker} get this done for them).
 *
 * @example
 * ```ts
 * import { Worker } from 'node:worker_threads';
 * import { sharedBounded, transfer, discard } from 'weft';
 * const [tx, rx] = sharedBounded<number>(8);
 * const token = transfer(rx);
 * const w = new Worker(new URL('./w.js', import.meta.url), { workerData: { rx: token } });
 * w.once('exit', () => {
 *   try { discard(token); } catch { // revived by the worker: its exit released it already
 *   }
 * });
 * ```
 */
export function discard(token: HandleToken | unknown): void {
  const t = check(token);
  const ctx = contextFor(t.arena);
  const claim = ctx.arena.claimTicket(t.ticket, t.serial);
  if (claim === undefined) throw new TypeError('discard: this token was already revived or discarded, or is forged or corrupted');
  const off = ctx.arena.channelOffset(claim.chSlot, claim.chSerial);
  if (off !== 0) releaseShared(ctx.arena, off >> 2, t.side, 1);
}

/**
 * Gives back the count of a token nobody revived (true), or does nothing if
 * it was revived or discarded already (false). Used when the thread a token
 * was meant for died before reviving it.
 *
 * @internal
 */
export function discardUnclaimed(token: HandleToken): boolean {
  const ctx = contextFor(token.arena);
  const claim = ctx.arena.claimTicket(token.ticket, token.serial);
  if (claim === undefined) return false;
  const off = ctx.arena.channelOffset(claim.chSlot, claim.chSerial);
  if (off !== 0) releaseShared(ctx.arena, off >> 2, token.side, 1);
  return true;
}

/**
 * True when `v` looks like a handle token (does not check that it is still valid).
 *
 * @example
 * ```ts
 * import { parentPort } from 'node:worker_threads';
 * import { isHandleToken, revive } from 'weft';
 * parentPort!.on('message', (m: unknown) => {
 *   if (isHandleToken(m)) console.log('got a handle', revive(m));
 * });
 * ```
 */
export function isHandleToken(v: unknown): v is HandleToken {
  const t = v as Partial<HandleToken> | null;
  return typeof t === 'object' && t !== null && t.weft === 'shared-handle';
}
