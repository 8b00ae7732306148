/**
 * A few channel objects that live as long as the process, so that the
 * engine's hidden classes for channels never die.
 *
 * V8 holds the hidden classes (maps) an object goes through as it is built
 * weakly: once every instance is garbage, the GC may drop them, and every
 * optimized function that relied on them is thrown away and later rebuilt
 * from scratch, while the inline caches that saw the old classes drift
 * towards megamorphic. A program that makes and drops channels (a reply
 * channel per request, a channel per job) would pay that again and again.
 * One resident rendezvous channel with a parked send, and one unbounded
 * channel with a parked receive, keep one instance of each class of the hot
 * path alive (core, ring, waiter lists, observers, handles, parked
 * operation). A select parked on a receive and on a send does the same for
 * select's classes (its selection and case waiters): a program that selects
 * now and then would otherwise lose them between bursts, and with them the
 * optimized code of every send and receive whose inline caches had seen a
 * select's waiter. They are never completed, never tracked as leaks, and
 * hold no timer, so they cost a few hundred bytes and keep nothing else
 * alive.
 *
 * @internal
 */
import { Operation } from './operation.js';
import { QueueCore } from './queue.js';
import { Receiver } from './receiver.js';
import { select, send } from './select.js';
import { Sender } from './sender.js';

const residents: unknown[] = [];

/** Makes the resident objects (once). */
export function keepChannelClassesAlive(): void {
  if (residents.length > 0) return;
  const rendezvous = new QueueCore<undefined>(0);
  const tx = new Sender(rendezvous, undefined);
  const waitingSend = new Operation<undefined>(tx, undefined, 'send');
  void waitingSend.park(rendezvous);
  const buffered = new QueueCore<undefined>(undefined);
  const rx = new Receiver(buffered, undefined);
  const waitingRecv = new Operation<undefined>(rx, undefined, 'recv');
  void waitingRecv.park(buffered);
  residents.push(rendezvous, tx, new Receiver(rendezvous, undefined), waitingSend, buffered, rx, new Sender(buffered, undefined), waitingRecv);
  // Never ready: an empty channel whose Sender lives, and a rendezvous channel
  // whose Receiver lives but never receives.
  const quiet = new QueueCore<undefined>(undefined);
  const nobody = new QueueCore<undefined>(0);
  const quietRx = new Receiver(quiet, undefined);
  const nobodyTx = new Sender(nobody, undefined);
  const parked = select({ r: quietRx, s: send(nobodyTx, undefined) });
  residents.push(quiet, new Sender(quiet, undefined), quietRx, nobody, nobodyTx, new Receiver(nobody, undefined), parked);
}
