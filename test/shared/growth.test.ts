/**
 * An unbounded channel grows by linking to a larger ring, which may be
 * allocated where the arena itself grew. A thread that follows the link
 * (a receiver) or writes after another thread grew it (a second producer)
 * may not have that memory mapped yet: the ring's header can lie inside
 * its view while the ring's body does not. Every message must still arrive.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { sharedUnbounded, transfer } from '../../src/shared/index.js';
import { guard } from '../helpers.js';
import { runDrainRole } from './helpers.js';

test('a receiver in the main thread follows every growth a worker made while nobody received', async () => {
  for (const n of [50_000, 200_000, 400_000]) {
    const [tx, rx] = sharedUnbounded<number>();
    await guard(runDrainRole('send', transfer(tx), n), 60_000, 'sender');
    for (let i = 0; i < n; i++) assert.equal(rx.tryRecv(), i);
    assert.equal(rx.isDisconnected, true);
    rx.close();
  }
});

test('a receiver on one worker thread keeps up with a producer growing the channel on another', async () => {
  const end = performance.now() + 3000;
  for (let round = 0; round < 3 || performance.now() < end; round++) {
    const [tx, rx] = sharedUnbounded<number>();
    const n = 200_000;
    await guard(Promise.all([runDrainRole('send', transfer(tx), n), runDrainRole('recv', transfer(rx), n)]), 60_000, `round ${round}`);
  }
});
