// Test worker: joins a hang monitor with the token from workerData, registers,
// and spins in a named function while active; posts the computed result.
import { parentPort, workerData } from 'node:worker_threads';
import { joinHangMonitor, type MonitorToken } from '../../../src/monitor/index.js';

const { token, spinMs, n, mode, stop } = workerData as { token: MonitorToken; spinMs: number; n: number; mode?: string; stop?: SharedArrayBuffer };

// Five distinct callees make the call site megamorphic, so it stays a real call
// (V8's Debugger.pause takes effect at the next function call; a tight loop with
// every call inlined may never reach one: sampling is best effort).
const ops = [(s: number, i: number) => s + i, (s: number, i: number) => i + s, (s: number, i: number) => s - -i, (s: number, i: number) => -(-s - i), (s: number, i: number) => s + i * 1];

function spinForever(ms: number, count: number): number {
  // Real work whose result is checked: the sum of 0..count-1, repeated until `ms` passed.
  const end = Date.now() + ms;
  let sum = 0;
  do {
    sum = 0;
    for (let i = 0; i < count; i++) sum = ops[i % 5](sum, i);
  } while (Date.now() < end);
  return sum;
}

const member = joinHangMonitor(token);
if (mode === 'register-loop') {
  // Registers and unregisters as fast as it can until told to stop (shutdown races).
  let stop = false;
  parentPort!.on('message', () => (stop = true));
  let k = 0;
  const loop = (): void => {
    for (let i = 0; i < 100; i++) {
      const r = member.register(`w${k++}`, { transientMs: 50, permanentMs: 300 });
      r.notifyActivity('x');
      r.notifyWait();
      r.unregister();
    }
    if (stop) {
      parentPort!.postMessage({ done: k });
      parentPort!.close();
    } else setImmediate(loop);
  };
  loop();
} else {
  const reg = member.register('worker-spinner', { transientMs: 50, permanentMs: 300 });
  parentPort!.once('message', () => {
    // Episodes of spinning until the parent sets the stop flag (sampling is best effort,
    // so the parent may want another try); each episode is a new activity.
    const flag = stop === undefined ? undefined : new Int32Array(stop);
    let result = 0;
    for (let ep = 0; ep < 6; ep++) {
      reg.notifyActivity('spin');
      result = spinForever(spinMs, n);
      reg.notifyWait();
      if (flag === undefined || Atomics.load(flag, 0) !== 0) break;
    }
    parentPort!.postMessage({ result });
    reg.unregister();
    member.leave();
    parentPort!.close();
  });
  parentPort!.postMessage({ ready: true });
}
