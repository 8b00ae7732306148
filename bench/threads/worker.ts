/**
 * The worker side of the cross-thread benchmark: one module, one role per
 * worker (`workerData.role`). Every role runs two phases (a warm-up that
 * also calibrates the run size, then the measured run): it reports
 * `{ ready: phase }`, waits on the control word until the main thread opens
 * the phase, runs its share of the phase's message count, and reports
 * `{ done: phase, t0, t1, check }` with its own start and end times
 * (absolute, so they compare across threads) and the checksum of what it
 * received.
 *
 * @module
 */
import { parentPort, workerData } from 'node:worker_threads';
import type { Receiver, Sender } from '../../src/index.js';
import { revive, selectSync, type HandleToken } from '../../src/shared/index.js';
import { RingConsumer, RingProducer } from './ring.js';
import { checkOf, valueMaker, type Kind } from './values.js';
import { pmPingLoop, pmReceive } from './ports.js';
import { BATCH, CTL_GATE, CTL_N, type WorkerJob } from './protocol.js';

const job = workerData as WorkerJob;
const ctl = new Int32Array(job.ctl);
const post = (m: unknown): void => parentPort!.postMessage(m);
const clock = (): number => performance.timeOrigin + performance.now();
const kind: Kind = job.kind ?? 'int';

/** Every handle this worker revived: closed here at the end, so the channels are released by their own thread. */
const opened: { close(): void }[] = [];
const handle = <H extends { close(): void }>(name: string): H => {
  const h = revive(job.tokens![name] as HandleToken) as unknown as H;
  opened.push(h);
  return h;
};

/** This role's share of `n` messages: [first global index, count]. */
function share(n: number, parts: number, index: number): [number, number] {
  const each = n / parts;
  return [index * each, each];
}

type Role = (n: number) => number | Promise<number>;

function weftSend(): Role {
  const tx = handle<Sender<unknown>>('tx');
  const make = valueMaker(kind);
  const batch: unknown[] = [];
  return (n) => {
    const [from, count] = share(n, job.parts ?? 1, job.index ?? 0);
    if (job.mode === 'many') {
      for (let i = from; i < from + count; ) {
        batch.length = 0;
        const k = Math.min(BATCH, from + count - i);
        for (let j = 0; j < k; j++) batch.push(make(i + j));
        tx.sendManySync(batch);
        i += k;
      }
    } else {
      for (let i = from; i < from + count; i++) tx.sendSync(make(i));
    }
    return 0;
  };
}

function weftRecv(): Role {
  const rx = handle<Receiver<unknown>>('rx');
  const check = checkOf(kind);
  const into: unknown[] = [];
  return (n) => {
    const [, count] = share(n, job.parts ?? 1, job.index ?? 0);
    let s = 0;
    if (job.mode === 'many') {
      for (let got = 0; got < count; ) {
        into.length = 0;
        got += rx.recvManySync(into, Math.min(BATCH, count - got));
        for (const v of into) s += check(v);
      }
    } else {
      for (let i = 0; i < count; i++) s += check(rx.recvSync());
    }
    return s;
  };
}

function weftSelect(): Role {
  const names = Object.keys(job.tokens!);
  const cases: Record<string, Receiver<number>> = {};
  for (const name of names) cases[name] = handle<Receiver<number>>(name);
  return (n) => {
    // A producer that finished its share (last phase) disconnects its channel: select over the others.
    const live = { ...cases };
    let s = 0;
    for (let i = 0; i < n; ) {
      const r = selectSync(live);
      if (!r.ok) {
        delete live[r.case];
        if (Object.keys(live).length === 0) throw new Error(`select_rx: every channel disconnected after ${i} of ${n} messages`);
        continue;
      }
      s += r.value;
      i++;
    }
    return s;
  };
}

function pmSend(): Role {
  const port = job.port!;
  const make = valueMaker(kind);
  return (n) => {
    const [from, count] = share(n, job.parts ?? 1, job.index ?? 0);
    if (job.mode === 'batch') {
      for (let i = from; i < from + count; ) {
        const k = Math.min(BATCH, from + count - i);
        const batch = new Array<unknown>(k);
        for (let j = 0; j < k; j++) batch[j] = make(i + j);
        port.postMessage(batch);
        i += k;
      }
    } else {
      for (let i = from; i < from + count; i++) port.postMessage(make(i));
    }
    return 0;
  };
}

function pmRecv(): Role {
  const port = job.port!;
  return (n) => {
    const [, count] = share(n, job.parts ?? 1, job.index ?? 0);
    return pmReceive(port, kind, count, job.mode === 'batch');
  };
}

function ringSend(): Role {
  const ring = new RingProducer(job.ring!);
  return (n) => {
    for (let i = 0; i < n; i++) ring.push(i);
    return 0;
  };
}

function ringRecv(): Role {
  const ring = new RingConsumer(job.ring!);
  return (n) => {
    let s = 0;
    for (let i = 0; i < n; i++) s += ring.pop();
    return s;
  };
}

function weftPing(): Role {
  const ping = handle<Sender<number>>('ping');
  const pong = handle<Receiver<number>>('pong');
  return (n) => {
    let s = 0;
    for (let i = 0; i < n; i++) {
      ping.sendSync(i);
      s += pong.recvSync();
    }
    return s;
  };
}

function weftPong(): Role {
  const ping = handle<Receiver<number>>('ping');
  const pong = handle<Sender<number>>('pong');
  return (n) => {
    for (let i = 0; i < n; i++) pong.sendSync(ping.recvSync() + 1);
    return 0;
  };
}

function pmPing(): Role {
  const port = job.port!;
  return (n) => pmPingLoop(port, n);
}

function pmPong(): Role {
  const port = job.port!;
  return (n) =>
    new Promise<number>((resolve) => {
      let i = 0;
      const on = (v: unknown): void => {
        port.postMessage((v as number) + 1);
        if (++i >= n) {
          port.off('message', on);
          resolve(0);
        }
      };
      port.on('message', on);
    });
}

const roles: Record<string, () => Role> = {
  'weft-send': weftSend,
  'weft-recv': weftRecv,
  'weft-select': weftSelect,
  'pm-send': pmSend,
  'pm-recv': pmRecv,
  'ring-send': ringSend,
  'ring-recv': ringRecv,
  'weft-ping': weftPing,
  'weft-pong': weftPong,
  'pm-ping': pmPing,
  'pm-pong': pmPong,
};

if (parentPort !== null && job?.role !== undefined) {
  const make = roles[job.role];
  if (make === undefined) throw new Error(`unknown bench role ${job.role}`);
  const run = make();
  for (let phase = 1; phase <= 2; phase++) {
    post({ ready: phase });
    while (Atomics.load(ctl, CTL_GATE) < phase) Atomics.wait(ctl, CTL_GATE, phase - 1, 1000);
    const n = Atomics.load(ctl, CTL_N + phase - 1);
    const t0 = clock();
    const check = await run(n);
    const t1 = clock();
    post({ done: phase, t0, t1, check });
  }
  for (const h of opened) h.close();
  // The main thread ends the worker (a port it still listens on keeps it alive).
}
