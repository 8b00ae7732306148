/** ts-chan: Go-style `Chan` and a reusable `Select`, both in unsafe mode (its documented fast mode). */
import { Chan, recv, Select, send } from 'ts-chan';
import { closedEarly, WHY, type Peer } from './types.js';

export const tsChan: Peer<Chan<number>> = {
  name: 'ts-chan',
  module: import.meta.url,
  pkg: 'ts-chan',
  note: 'new Chan(n).setUnsafe(true) (skips its macrotask yield); one Select per loop, reused, setUnsafe(true)',
  unsupported: (_workload, flavor) => (flavor === 'unbounded' ? WHY.noUnbounded + ' (buffer is preallocated)' : undefined),
  make: (capacity) => new Chan<number>(capacity).setUnsafe(true),
  dispose: (ch) => ch.close(),
  async sendLoop(ch, from, count) {
    for (let i = from, end = from + count; i < end; i++) await ch.send(i);
  },
  async recvLoop(ch, count) {
    let sum = 0;
    for (let i = 0; i < count; i++) {
      const r = await ch.recv();
      if (r.done) throw closedEarly('ts-chan');
      sum += r.value;
    }
    return sum;
  },
  async selectSendLoop(chs, from, count) {
    let v = from;
    const value = (): number => v;
    const sel = new Select(chs.map((ch) => send(ch, value))).setUnsafe(true);
    for (const end = from + count; v < end; v++) await sel.wait();
  },
  async selectRecvLoop(chs, count) {
    const sel = new Select(chs.map((ch) => recv(ch))).setUnsafe(true);
    let sum = 0;
    for (let i = 0; i < count; i++) {
      const r = sel.recv(sel.cases[await sel.wait()]!);
      if (r.done) throw closedEarly('ts-chan');
      sum += r.value;
    }
    return sum;
  },
};
