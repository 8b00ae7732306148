/**
 * queueable: `Channel`, a push-pull queue. `push` enqueues at once and
 * returns a promise that settles when the value is pulled: awaited, that is
 * a rendezvous; not awaited, an unbounded send (the loop still awaits the
 * send's synchronous completion, like every other producer).
 */
import { Channel } from 'queueable';
import { closedEarly, WHY, type Peer } from './types.js';

interface Q {
  readonly ch: Channel<number>;
  readonly rendezvous: boolean;
}

export const queueable: Peer<Q> = {
  name: 'queueable',
  module: import.meta.url,
  pkg: 'queueable',
  note: 'new Channel(); unbounded: push() then await; bounded(0): await push() (settles when pulled); await next()',
  unsupported(workload, flavor) {
    if (flavor === 'bounded(1)' || flavor === 'bounded(N)') return WHY.noBounded + ' (its limit drops the oldest)';
    if (workload === 'select_rx' || workload === 'select_both') return WHY.noSelect;
    return undefined;
  },
  make: (capacity) => ({ ch: new Channel<number>(), rendezvous: capacity === 0 }),
  dispose: ({ ch }) => ch.close(),
  async sendLoop({ ch, rendezvous }, from, count) {
    const end = from + count;
    if (rendezvous) for (let i = from; i < end; i++) await ch.push(i);
    else for (let i = from; i < end; i++) await void ch.push(i);
  },
  async recvLoop({ ch }, count) {
    let sum = 0;
    for (let i = 0; i < count; i++) {
      const r = await ch.next();
      if (r.done) throw closedEarly('queueable');
      sum += r.value;
    }
    return sum;
  },
};
