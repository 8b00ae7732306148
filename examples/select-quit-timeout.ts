/**
 * Example 12 (article 003, "crossbeam-channel"; article 001, select and
 * `after`; article 002, "try_recv and recv_timeout"): select over a work
 * channel and a quit channel, and a timeout.
 *
 * Part 1 is the article's loop — `select! { recv(rx_work) …, recv(rx_quit)
 * … }` — with a third case, `after(ms)`, that fires when no work came for a
 * while. The consumer reports that idle moment to main on a status
 * channel; main answers with one more job and the quit message.
 *
 * Part 2 shows the other ways to bound a wait, and that none of them loses
 * a message: `recvTimeout` (and `tryRecv`) on an empty channel, a select with
 * a `timeout` option, and the "disconnected" outcome once every Sender is
 * gone.
 *
 * Run: `node dist/examples/select-quit-timeout.js`
 */
import { after, RecvTimeoutError, select, SelectTimeoutError, TryRecvError, unbounded } from 'weft';

const IDLE_MS = 150;

// ---------------------------------------------------------------- part 1

async function workQuitIdle(): Promise<void> {
  console.log(`part 1: select over work, quit, and ${IDLE_MS} ms without work`);
  const [txWork, rxWork] = unbounded<string>();
  const [txQuit, rxQuit] = unbounded<void>();
  const [txStatus, rxStatus] = unbounded<'idle'>();

  const consumer = (async () => {
    using work = rxWork;
    using quit = rxQuit;
    using status = txStatus;
    const processed: string[] = [];
    let idles = 0;
    for (;;) {
      // A fresh deadline each turn. Biased: when work and quit are both ready, queued work is
      // finished first (listing quit first would do the opposite: drop what is queued).
      const r = await select({ work, quit, idle: after(IDLE_MS) }, { biased: true });
      if (r.case === 'work') {
        if (!r.ok) break; // every work Sender closed
        console.log(`  work: ${r.value}`);
        processed.push(r.value);
      } else if (r.case === 'quit') {
        console.log('  shutting down');
        break;
      } else {
        idles++;
        console.log(`  no work for ${IDLE_MS} ms: telling main`);
        status.trySend('idle');
      }
    }
    return { processed, idles };
  })();

  for (const job of ['a', 'b', 'c']) txWork.trySend(job);
  await rxStatus.recv(); // the consumer went idle
  console.log('  main: consumer is idle → one last job, then quit');
  txWork.trySend('d');
  txQuit.trySend();

  const { processed, idles } = await consumer;
  txWork.close();
  txQuit.close();
  rxStatus.close();
  console.log(`  consumer: processed ${processed.join(', ')}; idle ${idles} time(s)`);
  if (processed.join('') !== 'abcd' || idles !== 1) throw new Error(`part 1 check failed: ${JSON.stringify({ processed, idles })}`);
  console.log('  check: ok — every job processed in order, one idle timeout, then quit');
}

// ---------------------------------------------------------------- part 2

async function boundedWaits(): Promise<void> {
  console.log('part 2: bounded waits that never lose a message');
  const [tx, rx] = unbounded<string>();
  const outcomes: string[] = [];

  try {
    rx.tryRecv();
  } catch (e) {
    if (!(e instanceof TryRecvError)) throw e;
    outcomes.push(`tryRecv: ${e.kind}`);
  }
  try {
    await rx.recvTimeout(50);
  } catch (e) {
    if (!(e instanceof RecvTimeoutError)) throw e;
    outcomes.push(`recvTimeout(50): ${e.kind}`);
  }
  try {
    await select({ msg: rx }, { timeout: 50 });
  } catch (e) {
    if (!(e instanceof SelectTimeoutError)) throw e;
    outcomes.push('select with timeout 50: timed out');
  }

  tx.trySend('delayed message'); // sent after all those gave up: it must still be there
  const got = await rx.recvTimeout(2_000);
  outcomes.push(`recvTimeout(2000): got "${got}"`);

  tx.close();
  try {
    await rx.recvTimeout(2_000);
  } catch (e) {
    if (!(e instanceof RecvTimeoutError)) throw e;
    outcomes.push(`recvTimeout after the Sender closed: ${e.kind}`);
  }
  rx.close();
  for (const o of outcomes) console.log(`  ${o}`);

  const expected = [
    'tryRecv: empty',
    'recvTimeout(50): timeout',
    'select with timeout 50: timed out',
    'recvTimeout(2000): got "delayed message"',
    'recvTimeout after the Sender closed: disconnected',
  ];
  if (JSON.stringify(outcomes) !== JSON.stringify(expected)) throw new Error(`part 2 check failed: ${JSON.stringify(outcomes)}`);
  console.log('  check: ok — each wait ended on time, and the message sent afterwards was not swallowed by any of them');
}

await workQuitIdle();
await boundedWaits();
