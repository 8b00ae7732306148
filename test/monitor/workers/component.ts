// Test worker: joins a hang monitor (watching its loops) and spawns a component
// whose handler spins in a named function; posts the handler's result.
import { parentPort, workerData } from 'node:worker_threads';
import { bounded, spawn } from '../../../src/index.js';
import { joinHangMonitor, type MonitorToken } from '../../../src/monitor/index.js';

const { token, spinMs } = workerData as { token: MonitorToken; spinMs: number };

function crunchInWorker(ms: number): number {
  const end = Date.now() + ms;
  let x = 0;
  while (Date.now() < end) for (let i = 0; i < 1000; i++) x = (x + i) % 1000003;
  return x >= 0 ? 1 : 0;
}

const member = joinHangMonitor(token, { components: { transientMs: 50, permanentMs: 300 } });
const [tx, rx] = bounded<number>(1);
const c = spawn(
  {
    handle(_s, msg) {
      parentPort!.postMessage({ result: crunchInWorker(msg.value) });
    },
  },
  { inputs: { tasks: rx }, name: 'worker-component' },
);
parentPort!.once('message', () => {
  void (async () => {
    await tx.send(spinMs);
    tx.close();
    await c.done;
    member.leave();
    parentPort!.close();
  })();
});
parentPort!.postMessage({ ready: true });
