/** Rotation by size: path.1, path.2, …; numbering survives reopening; old segments can be pruned. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFile, stat } from 'node:fs/promises';
import { basename, join } from 'node:path';
import { listSegments, openLog } from '../../src/log/index.js';
import { readLines, tempDir } from './helpers.js';

const line = (i: number): string => `line ${String(i).padStart(14, '0')}`; // 19 bytes + newline

test('a segment is closed as path.<n> before a write would take it past maxBytes', async () => {
  const dir = await tempDir();
  const path = join(dir, 'app.log');
  const [log, writer] = await openLog(path, { maxBytes: 100 });
  for (let i = 0; i < 23; i++) await log.writeDurable(line(i)); // one line per batch
  log.close();
  const stats = await writer.done;
  assert.equal(stats.rotations, 4);
  const files = await listSegments(path);
  assert.deepEqual(files.map((f) => basename(f)), ['app.log.1', 'app.log.2', 'app.log.3', 'app.log.4', 'app.log']);
  for (const f of files.slice(0, -1)) assert.equal((await stat(f)).size, 100, `${basename(f)} is full`);
  assert.equal(await readFile(path, 'utf8'), [20, 21, 22].map((i) => line(i) + '\n').join(''));
  assert.deepEqual(await readLines(path), Array.from({ length: 23 }, (_, i) => line(i)));
});

test('reopening continues the numbering; keepSegments deletes the oldest closed segments', async () => {
  const dir = await tempDir();
  const path = join(dir, 'app.log');
  for (let round = 0; round < 2; round++) {
    const [log, writer] = await openLog(path, { maxBytes: 40 });
    assert.equal(writer.recovery.segments, round === 0 ? 0 : 2);
    for (let i = 0; i < 6; i++) await log.writeDurable(line(round * 6 + i));
    log.close();
    await writer.done;
  }
  assert.deepEqual((await listSegments(path)).map((f) => basename(f)), ['app.log.1', 'app.log.2', 'app.log.3', 'app.log.4', 'app.log.5', 'app.log']);
  assert.deepEqual(await readLines(path), Array.from({ length: 12 }, (_, i) => line(i)));

  const [log, writer] = await openLog(path, { maxBytes: 40, keepSegments: 2 });
  for (let i = 12; i < 16; i++) await log.writeDurable(line(i));
  log.close();
  await writer.done;
  assert.deepEqual((await listSegments(path)).map((f) => basename(f)), ['app.log.6', 'app.log.7', 'app.log']);
  assert.deepEqual(await readLines(path), [10, 11, 12, 13, 14, 15].map(line));
});

test('a batch larger than maxBytes is written whole into a segment of its own', async () => {
  const dir = await tempDir();
  const path = join(dir, 'big.log');
  const [log, writer] = await openLog(path, { maxBytes: 50 });
  await log.writeDurable(line(0));
  await log.writeManyDurable([1, 2, 3, 4, 5].map(line)); // 100 bytes in one command
  await log.writeDurable(line(6));
  log.close();
  await writer.done;
  const files = await listSegments(path);
  assert.deepEqual(
    await Promise.all(files.map(async (f) => (await stat(f)).size)),
    [20, 100, 20],
  );
  assert.deepEqual(await readLines(path), [0, 1, 2, 3, 4, 5, 6].map(line));
});

test('rotation syncs the segment it closes, even when only fire-and-forget lines were written', async () => {
  const dir = await tempDir();
  const path = join(dir, 'ff.log');
  const ops: string[] = [];
  const [log, writer] = await openLog(path, {
    maxBytes: 60,
    maxBatchLines: 3, // each writeMany below is a batch of its own
    hooks: {
      async write(next, info) {
        await next();
        ops.push(`write ${info.lines}`);
      },
      async sync(next, info) {
        await next();
        ops.push(`sync ${info.bytes}`);
      },
    },
  });
  for (let i = 0; i < 4; i++) await log.writeMany([line(i), line(i + 100), line(i + 200)]);
  log.close();
  await writer.done;
  assert.deepEqual(ops, ['write 3', 'sync 60', 'write 3', 'sync 60', 'write 3', 'sync 60', 'write 3', 'sync 60']);
  assert.equal((await listSegments(path)).length, 4);
});
