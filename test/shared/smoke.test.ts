import { test } from 'node:test';
import assert from 'node:assert/strict';
import { sharedBounded, spawnWorker } from '../../src/shared/index.js';

const echo = new URL('./workers/echo.js', import.meta.url);

for (const mode of ['sync', 'async']) {
  test(`echo through a worker (${mode})`, async () => {
    const [inTx, inRx] = sharedBounded<unknown>(4);
    const [outTx, outRx] = sharedBounded<unknown>(4);
    const w = spawnWorker(echo, { handles: { input: inRx, output: outTx }, workerData: { mode } });
    const exited = new Promise((r) => w.once('exit', r)); // before anything can let it exit
    const N = 1000;
    const sending = (async () => {
      for (let i = 0; i < N; i++) await inTx.send({ i, s: 'x' + i });
      inTx.close();
    })();
    for (let i = 0; i < N; i++) assert.deepEqual(await outRx.recv(), { i, s: 'x' + i });
    await sending;
    await assert.rejects(outRx.recv());
    await exited;
  });
}
