/**
 * A grown unbounded channel whose last Receiver lives in a worker that exits
 * without closing it: the exit handler drains the channel in the main thread,
 * whose view of the arena may predate the growth. It must map the grown
 * memory first, not crash the process.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { sharedUnbounded, transfer } from '../../src/shared/index.js';
import { guard } from '../helpers.js';
import { runDrainRole, until } from './helpers.js';

test('the last Receiver of a grown unbounded channel exits in a worker: the main thread survives and the Sender sees the end', async () => {
  const [tx, rx] = sharedUnbounded<number>();
  const n = 100_000; // enough to grow the channel well past its first ring
  await guard(runDrainRole('send', transfer(tx.clone()), n), 60_000, 'sender');
  await guard(runDrainRole('recv', transfer(rx), n / 2), 60_000, 'receiver'); // leaves half in the channel
  // The exit handler drops what the receiver left (at once, or a moment later if a lock
  // was taken), mapping the grown memory to do so.
  await until(() => tx.len === 0, 'the exit handler to drain the channel');
  assert.equal(tx.isDisconnected, true);
  assert.throws(() => tx.trySend(1), (e: unknown) => (e as { kind?: string }).kind === 'disconnected');
  tx.close();
});
