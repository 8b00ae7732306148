/** effect: `Queue` driven from `Effect.gen` fibers (one root fiber per task, run with `Effect.runPromise`). */
import { Effect, Queue } from 'effect';
import { closedEarly, WHY, type Peer } from './types.js';

export const effect: Peer<Queue.Queue<number>> = {
  name: 'effect',
  module: import.meta.url,
  pkg: 'effect',
  note: 'Queue.bounded(n) (0 = rendezvous)/Queue.unbounded(); each task one Effect.gen fiber doing yield* Queue.offer/take',
  unsupported: (workload) => (workload === 'select_rx' || workload === 'select_both' ? WHY.noSelect + ' over queues' : undefined),
  make: (capacity) => Effect.runSync(capacity === Infinity ? Queue.unbounded<number>() : Queue.bounded<number>(capacity)),
  dispose: (q) => void Effect.runSync(Queue.shutdown(q)),
  sendLoop: (q, from, count) =>
    Effect.runPromise(
      Effect.gen(function* () {
        for (let i = from, end = from + count; i < end; i++) {
          if (!(yield* Queue.offer(q, i))) throw closedEarly('effect');
        }
      }),
    ),
  recvLoop: (q, count) =>
    Effect.runPromise(
      Effect.gen(function* () {
        let sum = 0;
        for (let i = 0; i < count; i++) sum += yield* Queue.take(q);
        return sum;
      }),
    ),
};
