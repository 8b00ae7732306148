/** async-channel: `Channel(capacity)` (0 = rendezvous; Infinity taken as unbounded). */
import { Channel } from 'async-channel';
import { WHY, type Peer } from './types.js';

export const asyncChannel: Peer<Channel<number>> = {
  name: 'async-channel',
  module: import.meta.url,
  pkg: 'async-channel',
  note: 'new Channel(n), Infinity for unbounded; await push()/get(); its queues are arrays drained with shift()',
  unsupported: (workload) => (workload === 'select_rx' || workload === 'select_both' ? WHY.noSelect : undefined),
  make: (capacity) => new Channel<number>(capacity),
  dispose: (ch) => ch.close(),
  async sendLoop(ch, from, count) {
    for (let i = from, end = from + count; i < end; i++) await ch.push(i);
  },
  async recvLoop(ch, count) {
    let sum = 0;
    for (let i = 0; i < count; i++) sum += await ch.get();
    return sum;
  },
};
