// The shared layer is part of the package root, next to the in-loop API.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as weft from '../../src/index.js';
import * as shared from '../../src/shared/index.js';
import { spawn as componentSpawn } from '../../src/patterns/index.js';

test('the package root exports the shared layer; spawn stays the component loop', () => {
  for (const name of [
    'sharedBounded', 'sharedUnbounded', 'isShared', 'channelStats', 'sharedStats', 'transfer', 'revive', 'reviveSender',
    'reviveReceiver', 'discard', 'isHandleToken', 'spawnWorker', 'workerHandles', 'configureShared',
    'UnserializableValueError', 'MessageTooLargeError',
  ] as const) {
    assert.equal(typeof weft[name], 'function', name);
    assert.equal(weft[name], shared[name], `${name} is the same binding from both entries`);
  }
  assert.equal(weft.spawn, componentSpawn);
  assert.equal(weft.selectSync, shared.selectSync);
  assert.equal('spawn' in shared, false, 'the worker helper is spawnWorker');
});

test('a shared channel made from the root entry crosses into a worker started with spawnWorker', async () => {
  const [inTx, inRx] = weft.sharedBounded<unknown>(4);
  const [outTx, outRx] = weft.sharedBounded<unknown>(4);
  const w = weft.spawnWorker(new URL('./workers/echo.js', import.meta.url), { handles: { input: inRx, output: outTx }, workerData: { mode: 'sync' } });
  const exited = new Promise((r) => w.once('exit', r)); // before anything can let it exit
  assert.equal(inRx.isClosed, true, 'handles given to the worker are moved');
  await inTx.send({ hello: 'worker' });
  assert.deepEqual(await outRx.recv(), { hello: 'worker' });
  inTx.close();
  await assert.rejects(outRx.recv(), weft.RecvError);
  outRx.close();
  await exited;
});
