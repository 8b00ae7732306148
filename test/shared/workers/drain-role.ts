// Sends or receives `n` integers on a shared channel handed over as a token, then exits
// without closing its handle (the thread's exit releases it).
import { parentPort, workerData } from 'node:worker_threads';
import { revive, type HandleToken } from '../../../src/shared/index.js';
import type { Receiver, Sender } from '../../../src/index.js';

const { token, role, n } = workerData as { token: HandleToken; role: 'send' | 'recv'; n: number };
if (role === 'send') {
  const tx = revive(token) as Sender<number>;
  for (let i = 0; i < n; i++) tx.sendSync(i);
} else {
  const rx = revive(token) as Receiver<number>;
  for (let i = 0; i < n; i++) rx.recvSync();
}
parentPort!.postMessage('done');
