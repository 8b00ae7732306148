/** Backpressure: a slow or stuck disk makes producers wait; the writer's memory stays bounded. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { openLog } from '../../src/log/index.js';
import { Gate, readLines, settle, tempDir, until } from './helpers.js';

const CAPACITY = 4;
const BATCH = 8;
/** Lines the writer may hold: the channel, the batch being written, and the next one. */
const BOUND = CAPACITY + 2 * BATCH;

test('a stuck disk: producers stop once the channel and two batches are full, and resume when it moves', async () => {
  const dir = await tempDir();
  const path = join(dir, 'stuck.log');
  const disk = new Gate();
  let writes = 0;
  const [log, writer] = await openLog(path, {
    capacity: CAPACITY,
    maxBatchLines: BATCH,
    hooks: {
      async write(next) {
        writes++;
        await disk.wait;
        await next();
      },
    },
  });
  let accepted = 0;
  const TOTAL = 3 * 200;
  const producers = [0, 1, 2].map(async (p) => {
    const mine = log.clone();
    for (let i = 0; i < 200; i++) {
      await mine.write(`p${p} ${i}`);
      accepted++;
    }
    mine.close();
  });
  log.close();
  await until(() => writes === 1, 'the first write to start');
  // Let everything that can move, move.
  let before = -1;
  while (before !== accepted) {
    before = accepted;
    await settle();
  }
  assert.ok(accepted <= BOUND, `accepted ${accepted} lines while the disk is stuck; at most ${BOUND} may be held`);
  assert.ok(accepted < TOTAL);
  assert.equal(writer.stats.lines, 0, 'nothing reached the file');
  disk.open();
  await Promise.all(producers);
  await writer.done;
  assert.equal((await readLines(path)).length, TOTAL);
});

test('a slow disk: lines held by the writer never exceed the bound, whatever the producers do', async () => {
  const dir = await tempDir();
  const path = join(dir, 'slow.log');
  let written = 0;
  let accepted = 0;
  let maxHeld = 0;
  const [log, writer] = await openLog(path, {
    capacity: CAPACITY,
    maxBatchLines: BATCH,
    hooks: {
      async write(next, info) {
        await new Promise((r) => setTimeout(r, 1)); // a slow disk
        await next();
        written += info.lines;
      },
    },
  });
  const producers = Array.from({ length: 6 }, async (_, p) => {
    const mine = log.clone();
    for (let i = 0; i < 60; i++) {
      await mine.write(`p${p} ${i}`);
      accepted++;
      maxHeld = Math.max(maxHeld, accepted - written);
    }
    mine.close();
  });
  log.close();
  await Promise.all(producers);
  await writer.done;
  assert.ok(maxHeld <= BOUND, `held at most ${maxHeld} lines (bound ${BOUND})`);
  assert.equal(written, 360);
});

test('durable writes wait for room too: a stuck disk holds them back, none is lost when it moves', async () => {
  const dir = await tempDir();
  const path = join(dir, 'durable.log');
  const disk = new Gate();
  const [log, writer] = await openLog(path, {
    capacity: 2,
    maxBatchLines: 4,
    hooks: {
      async sync(next) {
        await disk.wait;
        await next();
      },
    },
  });
  const writes = Array.from({ length: 5 }, (_, p) => {
    const mine = log.clone();
    return (async () => {
      for (let i = 0; i < 20; i++) await mine.writeDurable(`p${p} ${i}`);
      mine.close();
    })();
  });
  log.close();
  await settle();
  assert.equal(writer.stats.acks, 0);
  disk.open();
  await Promise.all(writes);
  const stats = await writer.done;
  assert.equal(stats.acks, 100);
  assert.equal((await readLines(path)).length, 100);
});
