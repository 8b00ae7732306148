/** Repair on reopen: a partial last line (a crash cut the last write short) is cut off. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { access, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { openLog, repairLog } from '../../src/log/index.js';
import { tempDir } from './helpers.js';

test('a torn last line is truncated back to the last newline on open, then writing goes on', async () => {
  const dir = await tempDir();
  const path = join(dir, 'torn.log');
  await writeFile(path, 'a\nb\npartial');
  const [log, writer] = await openLog(path);
  assert.deepEqual(writer.recovery, { existed: true, bytes: 4, truncatedBytes: 7, segments: 0 });
  await log.writeDurable('c');
  log.close();
  await writer.done;
  assert.equal(await readFile(path, 'utf8'), 'a\nb\nc\n');
});

test('a file without any newline is emptied; a whole file is left alone', async () => {
  const dir = await tempDir();
  const none = join(dir, 'none.log');
  await writeFile(none, 'half a line');
  const whole = join(dir, 'whole.log');
  await writeFile(whole, 'one\ntwo\n');
  for (const [path, cut, rest] of [
    [none, 11, ''],
    [whole, 0, 'one\ntwo\n'],
  ] as const) {
    const [log, writer] = await openLog(path);
    assert.equal(writer.recovery.truncatedBytes, cut);
    log.close();
    await writer.done;
    assert.equal(await readFile(path, 'utf8'), rest);
  }
});

test('a torn tail longer than the read chunk is found and cut', async () => {
  const dir = await tempDir();
  const path = join(dir, 'long.log');
  const tail = 'y'.repeat(200_000);
  await writeFile(path, 'keep me\n' + tail);
  const r = await repairLog(path);
  assert.deepEqual(r, { existed: true, bytes: 8, truncatedBytes: tail.length, segments: 0 });
  assert.equal(await readFile(path, 'utf8'), 'keep me\n');
});

test('repairLog works without a writer and does not create a missing file', async () => {
  const dir = await tempDir();
  const path = join(dir, 'missing.log');
  assert.deepEqual(await repairLog(path), { existed: false, bytes: 0, truncatedBytes: 0, segments: 0 });
  await assert.rejects(access(path));
  await writeFile(path, 'x\ny');
  assert.equal((await repairLog(path)).truncatedBytes, 1);
  assert.equal(await readFile(path, 'utf8'), 'x\n');
});

test('multi-byte characters: the cut happens at the newline byte, never inside a character', async () => {
  const dir = await tempDir();
  const path = join(dir, 'utf8.log');
  const whole = 'é€😀\n';
  await writeFile(path, Buffer.concat([Buffer.from(whole), Buffer.from('😀').subarray(0, 2)]));
  const [log, writer] = await openLog(path);
  assert.equal(writer.recovery.truncatedBytes, 2);
  await log.writeDurable('ñ');
  log.close();
  await writer.done;
  assert.equal(await readFile(path, 'utf8'), whole + 'ñ\n');
});
