/** examples/select-quit-timeout: select over work, quit and an idle timer; bounded waits that lose nothing. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { runExample } from './helpers.js';

test('examples/select-quit-timeout: work in order, one idle timeout, quit; every bounded wait ends and loses nothing', async () => {
  const run = await runExample('select-quit-timeout');
  assert.equal(run.code, 0, run.stderr);
  assert.equal(run.stderr, '');
  assert.deepEqual(run.lines, [
    'part 1: select over work, quit, and 150 ms without work',
    '  work: a',
    '  work: b',
    '  work: c',
    '  no work for 150 ms: telling main',
    '  main: consumer is idle → one last job, then quit',
    '  work: d',
    '  shutting down',
    '  consumer: processed a, b, c, d; idle 1 time(s)',
    '  check: ok — every job processed in order, one idle timeout, then quit',
    'part 2: bounded waits that never lose a message',
    '  tryRecv: empty',
    '  recvTimeout(50): timeout',
    '  select with timeout 50: timed out',
    '  recvTimeout(2000): got "delayed message"',
    '  recvTimeout after the Sender closed: disconnected',
    '  check: ok — each wait ended on time, and the message sent afterwards was not swallowed by any of them',
  ]);
});
