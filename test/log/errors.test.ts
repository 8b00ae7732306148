/** Error paths: closed writer or producer, refused lines, disk errors, open errors. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { bounded, ClosedHandleError, SendError, TrySendError, type Sender } from '../../src/index.js';
import {
  LogBusyError,
  LogClosedError,
  LogError,
  LogIOError,
  LogLineError,
  LogWriter,
  openLog,
  type LogAck,
  type LogCommand,
} from '../../src/log/index.js';
import { track } from '../helpers.js';
import { Gate, readLines, settle, sysError, tempDir, until } from './helpers.js';

test('writes after the writer closed fail with LogClosedError and hand the lines back', async () => {
  const dir = await tempDir();
  const [log, writer] = await openLog(join(dir, 'closed.log'));
  await writer.close();
  for (const [call, lines] of [
    [() => log.write('a'), ['a']],
    [() => log.writeDurable('b'), ['b']],
    [() => log.writeMany(['c', 'd']), ['c', 'd']],
    [() => log.writeManyDurable(['e']), ['e']],
  ] as const) {
    const p = call();
    assert.ok(p instanceof Promise, 'a rejection, never a synchronous throw');
    await assert.rejects(p, (e: unknown) => {
      assert.ok(e instanceof LogClosedError && e instanceof LogError);
      assert.deepEqual(e.lines, lines);
      assert.ok(e.cause instanceof SendError || e.cause instanceof TrySendError, 'the cause is the refused send');
      return true;
    });
  }
  await assert.rejects(log.flush(), LogClosedError);
  log.close();
});

test('writes on a closed producer handle fail with LogClosedError; clone throws', async () => {
  const dir = await tempDir();
  const [log, writer] = await openLog(join(dir, 'handle.log'));
  const mine = log.clone();
  mine.close();
  mine.close(); // twice is fine
  await assert.rejects(mine.write('x'), (e: unknown) => e instanceof LogClosedError && e.lines[0] === 'x' && /handle is closed/.test(e.message));
  await assert.rejects(mine.writeDurable('y'), (e: unknown) => e instanceof LogClosedError && e.lines[0] === 'y');
  assert.throws(() => mine.clone(), ClosedHandleError);
  log.close();
  await writer.done;
});

test('lines with a newline, or not strings, are refused by the producer before sending', async () => {
  const dir = await tempDir();
  const path = join(dir, 'lines.log');
  const [log, writer] = await openLog(path);
  await assert.rejects(log.write('two\nlines'), (e: unknown) => e instanceof LogLineError && e.reason === 'newline' && e.line === 'two\nlines');
  await assert.rejects(log.writeDurable(42 as unknown as string), (e: unknown) => e instanceof LogLineError && e.reason === 'not-a-string');
  await assert.rejects(log.writeManyDurable(['fine', 'not\nfine']), (e: unknown) => {
    assert.ok(e instanceof LogLineError);
    assert.deepEqual(e.lines, ['fine', 'not\nfine']);
    return true;
  });
  await log.writeDurable(JSON.stringify('two\nlines')); // the documented way
  await log.writeDurable('a carriage\rreturn is just a character');
  log.close();
  const stats = await writer.done;
  assert.equal(stats.rejected, 0, 'nothing bad reached the writer');
  assert.deepEqual(await readLines(path), ['"two\\nlines"', 'a carriage\rreturn is just a character']);
});

test('the writer refuses bad commands from a raw Sender: durable ones get an answer, the rest go to onError', async () => {
  const dir = await tempDir();
  const path = join(dir, 'raw.log');
  const reported: LogError[] = [];
  const [tx, rx] = bounded<LogCommand>(16);
  const writer = await LogWriter.open(path, rx, { onError: (e) => reported.push(e) });
  const ask = async (cmd: (reply: Sender<LogAck>) => LogCommand): Promise<LogAck> => {
    const [reply, answer] = bounded<LogAck>(1);
    await tx.send(cmd(reply));
    return answer.recv();
  };
  const bad = await ask((reply) => ({ line: 'a\nb', reply }));
  assert.equal(bad.ok, false);
  assert.ok(!bad.ok && bad.error === 'invalid' && bad.code === 'newline');
  const badMany = await ask((reply) => ({ lines: ['ok', 7 as unknown as string], reply }));
  assert.ok(!badMany.ok && badMany.error === 'invalid' && badMany.code === 'not-a-string');
  await tx.send('x\ny');
  await tx.send({} as unknown as LogCommand);
  await tx.send(null as unknown as LogCommand);
  assert.deepEqual(await ask((reply) => ({ line: 'good', reply })), { ok: true });
  tx.close();
  const stats = await writer.done;
  assert.equal(stats.rejected, 1 + 2 + 1 + 1 + 1, 'a refused command counts all its lines');
  assert.equal(reported.length, 3);
  assert.ok(reported.every((e) => e instanceof LogLineError));
  assert.equal(await readFile(path, 'utf8'), 'good\n');
});

test('a failing sync: durable writes reject with LogIOError, the writer reports and stops, later writes are refused', async () => {
  const dir = await tempDir();
  const path = join(dir, 'eio.log');
  const reported: LogError[] = [];
  const [log, writer] = await openLog(path, {
    onError: (e) => reported.push(e),
    hooks: {
      async sync() {
        throw sysError('EIO', 'input/output error');
      },
    },
  });
  await log.write('before');
  await assert.rejects(log.writeDurable('x'), (e: unknown) => {
    assert.ok(e instanceof LogIOError);
    assert.equal(e.code, 'EIO');
    assert.deepEqual(e.lines, ['x']);
    return true;
  });
  await assert.rejects(writer.done, (e: unknown) => e instanceof LogIOError && e.code === 'EIO');
  await assert.rejects(writer.close(), LogIOError);
  assert.equal(writer.failure?.code, 'EIO');
  assert.equal(reported.length, 1);
  assert.ok(reported[0] === writer.failure);
  await assert.rejects(log.write('after'), (e: unknown) => e instanceof LogClosedError && e.lines[0] === 'after');
  await assert.rejects(log.writeDurable('after'), LogClosedError);
  log.close();
});

test('a failing write: the durable writes of that batch and of every later one reject; none hangs', async () => {
  const dir = await tempDir();
  const path = join(dir, 'enospc.log');
  const first = new Gate();
  let writes = 0;
  const [log, writer] = await openLog(path, {
    hooks: {
      async write(next) {
        if (++writes === 1) {
          await first.wait;
          throw sysError('ENOSPC', 'no space left on device');
        }
        await next();
      },
    },
  });
  const a = track(log.writeDurable('a'));
  await until(() => writes === 1, 'the first write');
  const producers = Array.from({ length: 5 }, () => log.clone());
  const queued = producers.flatMap((p, k) => Array.from({ length: 10 }, (_, i) => track(p.writeDurable(`p${k} ${i}`))));
  const ff = log.write('fire and forget');
  await settle();
  first.open();
  for (const w of [a, ...queued]) {
    await assert.rejects(w.promise, (e: unknown) => e instanceof LogIOError && e.code === 'ENOSPC');
  }
  await ff; // it was taken; then lost with the writer
  await assert.rejects(writer.done, LogIOError);
  assert.equal(writer.stats.lost, 1 + 50 + 1);
  assert.equal(writer.stats.lines, 0);
  for (const p of producers) p.close();
  log.close();
});

test('a producer that stopped waiting for its answer does not disturb the writer', async () => {
  const dir = await tempDir();
  const path = join(dir, 'gone.log');
  const [tx, rx] = bounded<LogCommand>(4);
  const writer = await LogWriter.open(path, rx);
  const [reply, answer] = bounded<LogAck>(1);
  answer.close(); // nobody listens
  await tx.send({ line: 'unheard', reply });
  const [reply2, answer2] = bounded<LogAck>(1);
  await tx.send({ line: 'heard', reply: reply2 });
  assert.deepEqual(await answer2.recv(), { ok: true });
  tx.close();
  await writer.done;
  assert.equal(await readFile(path, 'utf8'), 'unheard\nheard\n');
});

test('a throwing onError handler does not stop the writer', async () => {
  const dir = await tempDir();
  const path = join(dir, 'handler.log');
  const [tx, rx] = bounded<LogCommand>(4);
  const writer = await LogWriter.open(path, rx, {
    onError: () => {
      throw new Error('handler bug');
    },
  });
  await tx.send('bad\nline');
  await tx.send('good');
  tx.close();
  const stats = await writer.done;
  assert.equal(stats.rejected, 1);
  assert.equal(await readFile(path, 'utf8'), 'good\n');
});

test('open errors: a second writer on one file, a folder as the path, bad options — and the input is closed', async () => {
  const dir = await tempDir();
  const path = join(dir, 'busy.log');
  const [log, writer] = await openLog(path);
  await assert.rejects(openLog(path), (e: unknown) => e instanceof LogBusyError && e.path === path);
  const [tx, rx] = bounded<LogCommand>(1);
  await assert.rejects(LogWriter.open(dir, rx), (e: unknown) => e instanceof LogIOError && e.code === 'EISDIR');
  assert.equal(rx.isClosed, true, 'the writer owned the Receiver and closed it');
  await assert.rejects(tx.send('x'), SendError);
  const [, rx2] = bounded<LogCommand>(1);
  await assert.rejects(LogWriter.open(join(dir, 'opts.log'), rx2, { maxBatchLines: 0 }), RangeError);
  assert.equal(rx2.isClosed, true);
  log.close();
  await writer.done;
  const [again, writer2] = await openLog(path); // free again once the first writer ended
  again.close();
  await writer2.done;
});

test('a path whose parent folder is a file fails to open with LogIOError', async () => {
  const dir = await tempDir();
  const file = join(dir, 'file');
  await writeFile(file, '');
  await assert.rejects(openLog(join(file, 'x.log')), (e: unknown) => e instanceof LogIOError && typeof e.code === 'string');
});
