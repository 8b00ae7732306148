/** it-pushable: an unbounded async iterable you push into; one reader at a time. */
import { pushable, type Pushable } from 'it-pushable';
import { closedEarly, WHY, type Peer } from './types.js';

export const itPushable: Peer<Pushable<number>> = {
  name: 'it-pushable',
  module: import.meta.url,
  pkg: 'it-pushable',
  note: 'pushable({ objectMode: true }); await push() (synchronous); await next()',
  unsupported(workload, flavor) {
    if (flavor !== 'unbounded') return WHY.noBounded;
    if (workload === 'mpmc') return WHY.oneReader;
    if (workload === 'select_rx' || workload === 'select_both') return WHY.noSelect;
    return undefined;
  },
  make: () => pushable<number>({ objectMode: true }),
  dispose: (p) => void p.end(),
  async sendLoop(p, from, count) {
    for (let i = from, end = from + count; i < end; i++) await p.push(i);
  },
  async recvLoop(p, count) {
    let sum = 0;
    for (let i = 0; i < count; i++) {
      const r = await p.next();
      if (r.done === true) throw closedEarly('it-pushable');
      sum += r.value;
    }
    return sum;
  },
};
