/**
 * @thi.ng/csp: `channel(n)` with a fifo buffer. An awaited `write()` resolves
 * only once its value is read, whatever the buffer size: for a writer every
 * channel is a rendezvous. So `channel(1)` is its bounded(0), and it has no
 * bounded(1)/bounded(N) whose send completes on enqueue (bench/semantics.ts
 * checks both claims).
 */
import { channel, select, type Channel } from '@thi.ng/csp';
import { closedEarly, WHY, type Peer } from './types.js';

export const thingCsp: Peer<Channel<number>> = {
  name: '@thi.ng/csp',
  module: import.meta.url,
  pkg: '@thi.ng/csp',
  note: 'channel(1) as rendezvous (an awaited write() resolves only when its value is read); await write()/read(); select() over reads',
  unsupported(workload, flavor) {
    if (flavor === 'bounded(1)' || flavor === 'bounded(N)') {
      return 'no buffered send: an awaited write() resolves only when its value is read, so channel(n) is a rendezvous (bench/semantics.ts)';
    }
    if (flavor === 'unbounded') return WHY.noUnbounded + ' (fifo needs a capacity; at most 1024 queued writes)';
    if (workload === 'seq') return 'write() resolves only when read: one task cannot send then receive';
    if (workload === 'select_both') return WHY.noSendSelect;
    return undefined;
  },
  // Its fifo needs a capacity >= 1; with writes that wait for their read, channel(1) is a rendezvous.
  make: (capacity) => channel<number>(Math.max(1, capacity)),
  dispose: (ch) => ch.close(),
  async sendLoop(ch, from, count) {
    for (let i = from, end = from + count; i < end; i++) {
      if (!(await ch.write(i))) throw closedEarly('@thi.ng/csp');
    }
  },
  async recvLoop(ch, count) {
    let sum = 0;
    for (let i = 0; i < count; i++) {
      const v = await ch.read();
      if (v === undefined) throw closedEarly('@thi.ng/csp');
      sum += v;
    }
    return sum;
  },
  async selectRecvLoop(chs, count) {
    const [a, b, c, d] = chs as [Channel<number>, Channel<number>, Channel<number>, Channel<number>];
    let sum = 0;
    for (let i = 0; i < count; i++) {
      const [v] = await select(a, b, c, d);
      if (v === undefined) throw closedEarly('@thi.ng/csp');
      sum += v;
    }
    return sum;
  },
};
