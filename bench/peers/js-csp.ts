/** js-csp: core.async-style channels driven from go-blocks (generators); `alts` selects over puts and takes. */
import csp, { type AltResult, type Chan, type Instruction } from 'js-csp';
import { closedEarly, WHY, type Peer } from './types.js';

/** Runs a go-block and settles a promise with its result, so the harness can await it. */
function go<T>(body: () => Generator<Instruction, T, unknown>): Promise<T> {
  return new Promise<T>((resolve, reject) => {
    csp.go(function* () {
      try {
        resolve(yield* body());
      } catch (e) {
        reject(e);
      }
    });
  });
}

export const jsCsp: Peer<Chan> = {
  name: 'js-csp',
  module: import.meta.url,
  pkg: 'js-csp',
  note: 'csp.chan(n) (0 = unbuffered); one go-block per task: yield put/take, alts for select (it resumes every step via setImmediate)',
  unsupported: (_workload, flavor) => (flavor === 'unbounded' ? WHY.noUnbounded + ' (fixed buffers only)' : undefined),
  make: (capacity) => csp.chan(capacity),
  dispose: (ch) => ch.close(),
  sendLoop: (ch, from, count) =>
    go(function* () {
      for (let i = from, end = from + count; i < end; i++) {
        if ((yield csp.put(ch, i)) !== true) throw closedEarly('js-csp');
      }
    }),
  recvLoop: (ch, count) =>
    go(function* () {
      let sum = 0;
      for (let i = 0; i < count; i++) {
        const v = yield csp.take(ch);
        if (typeof v !== 'number') throw closedEarly('js-csp');
        sum += v;
      }
      return sum;
    }),
  selectSendLoop: (chs, from, count) =>
    go(function* () {
      for (let i = from, end = from + count; i < end; i++) {
        const r = (yield csp.alts(chs.map((ch) => [ch, i] as const))) as AltResult;
        if (r.value !== true) throw closedEarly('js-csp');
      }
    }),
  selectRecvLoop: (chs, count) =>
    go(function* () {
      let sum = 0;
      for (let i = 0; i < count; i++) {
        const r = (yield csp.alts(chs)) as AltResult;
        if (typeof r.value !== 'number') throw closedEarly('js-csp');
        sum += r.value;
      }
      return sum;
    }),
};
