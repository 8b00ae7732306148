/** The floor adapter: {@link FloorQueue}, spsc and seq on bounded(N >= 1) and unbounded. */
import { FloorQueue } from '../floor.js';
import type { Peer } from './types.js';

export const floor: Peer<FloorQueue<number>> = {
  name: 'floor',
  module: import.meta.url,
  pkg: '',
  note: 'hand-written ring buffer, one parked waiter per side, every op an awaited async call',
  unsupported(workload, flavor) {
    if (flavor === 'bounded(0)') return 'no rendezvous';
    if (workload !== 'spsc' && workload !== 'seq') return 'one waiter per side: spsc and seq only';
    return undefined;
  },
  make: (capacity) => new FloorQueue<number>(capacity),
  dispose() {},
  async sendLoop(q, from, count) {
    for (let i = from, end = from + count; i < end; i++) await q.send(i);
  },
  async recvLoop(q, count) {
    let sum = 0;
    for (let i = 0; i < count; i++) sum += await q.recv();
    return sum;
  },
};
