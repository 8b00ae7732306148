/**
 * Producers on worker threads: the writer consumes a shared-memory channel
 * (weft/shared) exactly like an in-thread one, and producers in workers hold
 * only a Sender of commands.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { once } from 'node:events';
import { join } from 'node:path';
import { sharedBounded, spawnWorker } from '../../src/shared/index.js';
import { LogWriter, type LogCommand } from '../../src/log/index.js';
import { readLines, tempDir } from './helpers.js';

test('three worker threads write fire-and-forget and durable lines through a shared channel', async () => {
  const dir = await tempDir();
  const path = join(dir, 'threads.log');
  const [tx, rx] = sharedBounded<LogCommand>(32);
  const writer = await LogWriter.open(path, rx);
  const LINES = 300;
  const workers = [0, 1, 2].map((id) =>
    spawnWorker(new URL('./fixtures/thread-producer.js', import.meta.url), { handles: { log: tx.clone() }, workerData: { id, lines: LINES } }),
  );
  tx.close();
  const exits = await Promise.all(workers.map(async (w) => (await once(w, 'exit')) as [number]));
  assert.deepEqual(exits.map(([code]) => code), [0, 0, 0]);
  const stats = await writer.done; // every Sender (all in the workers now) closed
  assert.equal(stats.lines, 3 * LINES);
  assert.equal(stats.acks > 0, true);
  const lines = await readLines(path);
  for (const id of [0, 1, 2]) {
    const mine = lines.filter((l) => l.startsWith(`w${id} `));
    assert.deepEqual(mine.map((l) => Number(l.split(' ')[1])), Array.from({ length: LINES }, (_, i) => i), `worker ${id} in order`);
  }
});
