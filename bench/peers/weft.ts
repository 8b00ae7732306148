/** weft itself: every flavor, every workload. */
import { bounded, select, send, unbounded, type Receiver, type Sender } from '../../src/index.js';
import type { Peer } from './types.js';

type Chan = readonly [Sender<number>, Receiver<number>];

export const weft: Peer<Chan> = {
  name: 'weft',
  module: import.meta.url,
  pkg: '',
  note: 'bounded(n)/unbounded(); tx.send/rx.recv awaited; select({...}) with a fresh cases object per call',
  unsupported: () => undefined,
  make: (capacity) => (capacity === Infinity ? unbounded<number>() : bounded<number>(capacity)),
  dispose([tx, rx]) {
    tx.close();
    rx.close();
  },
  async sendLoop([tx], from, count) {
    for (let i = from, end = from + count; i < end; i++) await tx.send(i);
  },
  async recvLoop([, rx], count) {
    let sum = 0;
    for (let i = 0; i < count; i++) sum += await rx.recv();
    return sum;
  },
  async selectSendLoop(chs, from, count) {
    const [a, b, c, d] = chs.map(([tx]) => tx) as [Sender<number>, Sender<number>, Sender<number>, Sender<number>];
    for (let i = from, end = from + count; i < end; i++) {
      const r = await select({ a: send(a, i), b: send(b, i), c: send(c, i), d: send(d, i) });
      if (!r.ok) throw r.error;
    }
  },
  async selectRecvLoop(chs, count) {
    const [a, b, c, d] = chs.map(([, rx]) => rx) as [Receiver<number>, Receiver<number>, Receiver<number>, Receiver<number>];
    let sum = 0;
    for (let i = 0; i < count; i++) {
      const r = await select({ a, b, c, d });
      if (!r.ok) throw r.error;
      sum += r.value;
    }
    return sum;
  },
};
