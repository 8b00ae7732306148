/** Durable writes: the answer waits for the sync; one sync covers a whole batch (group commit). */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { openLog, type LogHooks } from '../../src/log/index.js';
import { track } from '../helpers.js';
import { Gate, settle, tempDir, until } from './helpers.js';

/** Sync hooks whose first `gated` syncs wait until the test lets each one go. */
function gatedSyncs(gated = Infinity): { hooks: LogHooks; started: number; finished: number; gates: Gate[]; release(): void } {
  const state = {
    started: 0,
    finished: 0,
    gates: [] as Gate[],
    hooks: {} as LogHooks,
    release(): void {
      for (const g of state.gates) g.open();
    },
  };
  state.hooks = {
    async sync(next) {
      const gate = new Gate();
      state.gates.push(gate);
      state.started++;
      if (state.started <= gated) await gate.wait;
      await next();
      state.finished++;
    },
  };
  return state;
}

test('a durable write resolves only after the sync that covers it, never before', async () => {
  const dir = await tempDir();
  const path = join(dir, 'ack.log');
  const syncs = gatedSyncs();
  const [log, writer] = await openLog(path, { hooks: syncs.hooks });
  const durable = track(log.writeDurable('precious'));
  await until(() => syncs.started === 1, 'the sync to start');
  assert.equal(await readFile(path, 'utf8'), 'precious\n', 'the line is written before the sync');
  await settle();
  assert.equal(durable.settled, false, 'not confirmed while the sync is in flight');
  syncs.gates[0]!.open();
  await durable.promise;
  assert.equal(syncs.finished, 1);
  log.close();
  await writer.done;
});

test('group commit: durable writes that arrive during a sync share the next one', async () => {
  const dir = await tempDir();
  const path = join(dir, 'group.log');
  const syncs = gatedSyncs();
  const [log, writer] = await openLog(path, { hooks: syncs.hooks });
  const first = track(log.writeDurable('first'));
  await until(() => syncs.started === 1, 'the first sync to start');
  // 10 producers, 20 durable writes each, all while the first sync is blocked.
  const producers = Array.from({ length: 10 }, () => log.clone());
  const rest = producers.flatMap((p, k) => Array.from({ length: 20 }, (_, i) => track(p.writeDurable(`p${k} ${i}`))));
  await settle();
  assert.equal(syncs.started, 1, 'no second sync while the first is in flight');
  assert.ok(rest.every((r) => !r.settled) && !first.settled);
  syncs.release();
  await first.promise;
  await until(() => syncs.started === 2, 'the second sync');
  assert.ok(rest.every((r) => !r.settled), 'the next batch waits for its own sync');
  syncs.release();
  await Promise.all(rest.map((r) => r.promise));
  assert.equal(syncs.started, 2, '201 durable writes, 2 syncs');
  assert.equal(writer.stats.writes, 2);
  for (const p of producers) p.close();
  log.close();
  await writer.done;
});

test('flush confirms earlier fire-and-forget lines once they are synced', async () => {
  const dir = await tempDir();
  const path = join(dir, 'flush.log');
  const syncs = gatedSyncs(1);
  const [log, writer] = await openLog(path, { hooks: syncs.hooks });
  for (let i = 0; i < 10; i++) await log.write(`ff ${i}`);
  const flushed = track(log.flush());
  await until(() => syncs.started === 1, 'the flush to sync');
  await settle();
  assert.equal(flushed.settled, false);
  syncs.release();
  await flushed.promise;
  assert.equal((await readFile(path, 'utf8')).split('\n').length - 1, 10);
  log.close();
  await writer.done;
  assert.equal(syncs.started, 1, 'nothing new to sync at close');
});

test('fire-and-forget lines are not synced one by one: only durable writes, flushes, rotations and close sync', async () => {
  const dir = await tempDir();
  const path = join(dir, 'nosync.log');
  let syncs = 0;
  const [log, writer] = await openLog(path, {
    hooks: {
      async sync(next) {
        syncs++;
        await next();
      },
    },
  });
  for (let i = 0; i < 500; i++) await log.write(`line ${i}`);
  await until(() => writer.stats.lines === 500, 'all lines written');
  assert.equal(syncs, 0);
  log.close();
  await writer.done;
  assert.equal(syncs, 1, 'one sync at close');
});
