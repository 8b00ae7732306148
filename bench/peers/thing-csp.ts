/** @thi.ng/csp: `channel(n)` with a fifo buffer; `write` resolves once the value is read. */
import { channel, select, type Channel } from '@thi.ng/csp';
import { closedEarly, WHY, type Peer } from './types.js';

export const thingCsp: Peer<Channel<number>> = {
  name: '@thi.ng/csp',
  pkg: '@thi.ng/csp',
  note: 'channel(n) (fifo); await write()/read(); write() resolves only when its value is read; select() over reads',
  unsupported(workload, flavor) {
    if (flavor === 'bounded(0)') return WHY.noRendezvous + ' (fifo capacity must be >= 1)';
    if (flavor === 'unbounded') return WHY.noUnbounded + ' (fifo needs a capacity; at most 1024 queued writes)';
    if (workload === 'seq') return 'write() resolves only when read: one task cannot send then receive';
    if (workload === 'select_both') return WHY.noSendSelect;
    return undefined;
  },
  make: (capacity) => channel<number>(capacity),
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
