// A worker with a shared-memory arena of its own (it made a channel before
// its parent had any), which then gets a Sender from its parent's arena and
// calls the actor behind it. Reports through parentPort.
import { parentPort } from 'node:worker_threads';
import { call, reviveSender, sharedBounded, type Sender } from '../../../src/index.js';

interface Ask {
  n: number;
  reply: Sender<number>;
}

const [own, ownRx] = sharedBounded<number>(1); // this thread's own arena
const port = parentPort!;
port.once('message', (token: unknown) => {
  void (async () => {
    const ask = reviveSender<Ask>(token);
    try {
      const answer = await call(ask, (reply) => ({ n: 41, reply }), { timeout: 10_000 });
      port.postMessage({ answer });
    } catch (e) {
      port.postMessage({ error: `${(e as Error).name}: ${(e as Error).message}` });
    } finally {
      ask.close();
      own.close();
      ownRx.close();
    }
  })();
});
port.postMessage('ready');
