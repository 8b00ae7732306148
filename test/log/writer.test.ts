/** The log writer: order per producer, clean close, the end of the input, any Receiver. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { bounded, unbounded, type Receiver, type Sender } from '../../src/index.js';
import { LogProducer, LogWriter, openLog, type LogAck, type LogCommand, type LogHooks } from '../../src/log/index.js';
import { readLines, tempDir, until } from './helpers.js';

test('many producers, mixed fire-and-forget and durable writes: every line once, in order per producer', async () => {
  const dir = await tempDir();
  const path = join(dir, 'order.log');
  const [log, writer] = await openLog(path, { capacity: 8, maxBatchLines: 37 });
  const PRODUCERS = 24;
  const PER = 150;
  const producers = Array.from({ length: PRODUCERS }, async (_, p) => {
    const mine = log.clone();
    const pending: Promise<void>[] = [];
    for (let i = 0; i < PER; i++) {
      const line = `p${p} ${i}`;
      switch ((p + i) % 5) {
        case 0:
          pending.push(mine.writeDurable(line)); // not awaited: many in flight
          break;
        case 1:
          await mine.writeDurable(line);
          break;
        case 2:
          if (i + 1 < PER) {
            await mine.writeMany([line, `p${p} ${i + 1}`]);
            i++;
          } else await mine.write(line);
          break;
        default:
          await mine.write(line);
      }
    }
    await Promise.all(pending);
    mine.close();
  });
  log.close();
  await Promise.all(producers);
  const stats = await writer.done;
  const lines = await readLines(path);
  assert.equal(lines.length, PRODUCERS * PER);
  assert.equal(stats.lines, PRODUCERS * PER);
  const next = new Array<number>(PRODUCERS).fill(0);
  for (const l of lines) {
    const m = /^p(\d+) (\d+)$/.exec(l);
    assert.ok(m, `well-formed line: ${l}`);
    const p = Number(m[1]);
    assert.equal(Number(m[2]), next[p], `producer ${p} in order`);
    next[p]!++;
  }
  assert.ok(stats.writes < stats.lines, 'lines were batched');
  assert.ok(stats.largestBatch <= 37 + 1, 'batches respect maxBatchLines (a command is never split)');
});

test('clean close writes and syncs every line already sent, even fire-and-forget ones nobody awaited', async () => {
  const dir = await tempDir();
  const path = join(dir, 'close.log');
  let lastOp = '';
  const hooks: LogHooks = {
    async write(next) {
      await next();
      lastOp = 'write';
    },
    async sync(next) {
      await next();
      lastOp = 'sync';
    },
  };
  const [log, writer] = await openLog(path, { capacity: 4, hooks });
  const sends: Promise<void>[] = [];
  for (let i = 0; i < 100; i++) sends.push(log.write(`line ${i}`)); // most wait for room
  const stats = await writer.close();
  await Promise.all(sends); // every one was taken, none refused
  assert.equal(stats.lines, 100);
  assert.equal(lastOp, 'sync', 'the last disk operation of close() is a sync');
  assert.deepEqual(await readLines(path), Array.from({ length: 100 }, (_, i) => `line ${i}`));
  assert.equal(writer.isDone, true);
  log.close();
});

test('the writer ends by itself once every Sender is closed and everything is written', async () => {
  const dir = await tempDir();
  const path = join(dir, 'end.log');
  const [log, writer] = await openLog(path);
  const a = log.clone();
  const b = log.clone();
  log.close();
  void a.write('a1');
  void b.write('b1');
  a.close(); // close() lets writes already made go through
  b.close();
  const stats = await writer.done;
  assert.equal(stats.lines, 2);
  assert.deepEqual((await readLines(path)).sort(), ['a1', 'b1']);
});

test('a producer closed while its sends wait for room: they still go through, then its Sender closes', async () => {
  const dir = await tempDir();
  const path = join(dir, 'late-close.log');
  const [log, writer] = await openLog(path, { capacity: 1 });
  const sends = [log.write('1'), log.write('2'), log.writeDurable('3'), log.write('4')];
  log.close();
  assert.equal(log.isClosed, true);
  await Promise.all(sends);
  await writer.done;
  assert.deepEqual(await readLines(path), ['1', '2', '3', '4']);
});

test('the writer consumes any weft Receiver: rendezvous, unbounded, and a raw Sender with one-shot replies', async () => {
  const dir = await tempDir();
  const kinds: [string, () => [Sender<LogCommand>, Receiver<LogCommand>]][] = [
    ['rendezvous', () => bounded<LogCommand>(0)],
    ['unbounded', () => unbounded<LogCommand>()],
  ];
  for (const [name, make] of kinds) {
    const path = join(dir, `${name}.log`);
    const [tx, rx] = make();
    const writer = await LogWriter.open(path, rx);
    await tx.send('plain string');
    await tx.send({ line: 'one line' });
    await tx.send({ lines: ['two', 'lines'] });
    const [reply, answer] = bounded<LogAck>(1);
    await tx.send({ line: 'durable, raw', reply });
    assert.deepEqual(await answer.recv(), { ok: true });
    assert.equal(reply.isClosed, true, 'the writer closes the reply Sender after answering');
    assert.equal(answer.isDisconnected, true);
    const producer = new LogProducer(tx.clone());
    await producer.writeDurable('via a producer');
    producer.close();
    tx.close();
    await writer.done;
    assert.equal(await readFile(path, 'utf8'), 'plain string\none line\ntwo\nlines\ndurable, raw\nvia a producer\n', name);
  }
});

test('reopening appends after the existing lines', async () => {
  const dir = await tempDir();
  const path = join(dir, 'reopen.log');
  for (let round = 0; round < 3; round++) {
    const [log, writer] = await openLog(path);
    assert.equal(writer.recovery.existed, round > 0);
    assert.equal(writer.recovery.truncatedBytes, 0);
    await log.writeDurable(`round ${round}`);
    log.close();
    await writer.done;
  }
  assert.deepEqual(await readLines(path), ['round 0', 'round 1', 'round 2']);
});

test('stats count lines, bytes, writes, syncs and acks', async () => {
  const dir = await tempDir();
  const path = join(dir, 'stats.log');
  const [log, writer] = await openLog(path);
  await log.writeDurable('héllo'); // 6 bytes + newline
  await log.writeManyDurable(['a', 'b']);
  await log.flush();
  const s = writer.stats;
  assert.equal(s.lines, 3);
  assert.equal(s.bytes, 7 + 2 + 2);
  assert.equal(s.acks, 3);
  assert.equal(s.writes, 2);
  assert.equal(s.syncs, 2, 'a flush with nothing new to sync does not sync again');
  assert.equal(s.segment, path);
  log.close();
  await writer.done;
});

test('closing the Receiver handed to the writer ends the input like closing every Sender', async () => {
  const dir = await tempDir();
  const path = join(dir, 'rx-closed.log');
  const [tx, rx] = bounded<LogCommand>(8);
  const writer = await LogWriter.open(path, rx);
  await tx.send('one');
  await until(() => writer.stats.lines === 1, 'the first line');
  rx.close(); // the writer is parked in a select on it
  const stats = await writer.done;
  assert.equal(stats.lines, 1);
  await assert.rejects(tx.send('two'));
  tx.close();
});

test('close() takes durable writes made just before it in the same turn', async () => {
  const dir = await tempDir();
  const path = join(dir, 'same-turn.log');
  const [log, writer] = await openLog(path);
  const durable = log.writeDurable('durable');
  const plain = log.write('plain');
  const closing = writer.close();
  await Promise.all([durable, plain, closing]);
  assert.deepEqual(await readLines(path), ['durable', 'plain']);
  log.close();
});
