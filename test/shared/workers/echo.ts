// Echo worker: receives from `input`, sends to `output`, until `input` is disconnected.
// mode (workerData.mode): 'sync' uses recvSync/sendSync, 'async' uses await.
import { workerData } from 'node:worker_threads';
import { RecvError, type Receiver, type Sender } from '../../../src/index.js';
import { workerHandles } from '../../../src/shared/index.js';

const { input, output } = workerHandles<{ input: Receiver<unknown>; output: Sender<unknown> }>();
const mode = (workerData as { mode?: string } | undefined)?.mode ?? 'sync';
if (mode === 'sync') {
  for (;;) {
    let v: unknown;
    try {
      v = input.recvSync();
    } catch (e) {
      if (e instanceof RecvError) break;
      throw e;
    }
    output.sendSync(v);
  }
} else {
  for await (const v of input) await output.send(v);
}
input.close();
output.close();
