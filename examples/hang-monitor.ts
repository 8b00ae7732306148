/**
 * Example: a background hang monitor watching a small document pipeline.
 *
 * Three components run on the main thread: a tokenizer feeds an indexer, and
 * an alert printer reads the monitor's alerts (they arrive on an ordinary
 * Receiver). None of them mentions the monitor: starting it is enough, every
 * component spawned afterwards reports activity and waiting by itself.
 *
 * One document is "locked", and the indexer busy-waits for the lock with a
 * deadline instead of waiting on a channel: the whole main thread freezes,
 * timers included. The monitor, on its own thread, sees the indexer stay busy
 * past 100 ms (a transient alert) and past 500 ms (a permanent alert with the
 * main thread's stack, sampled while it is still stuck, which names the
 * function that spins). The printer shows both once the thread runs again.
 * At the end the example checks what it saw and prints `check: ok`.
 *
 * Run: `node dist/examples/hang-monitor.js`
 */
import { bounded, spawn } from 'weft';
import { formatAlert, startHangMonitor, type HangAlert } from 'weft/monitor';

interface Doc {
  readonly id: number;
  readonly text: string;
  readonly locked: boolean;
}

const DOCS: Doc[] = Array.from({ length: 12 }, (_, id) => ({ id, text: `document ${id} says hello to document ${id + 1}`, locked: id === 7 }));
const LOCK_WAIT_MS = 1200;

/** The bug: a busy-wait on a lock nobody releases (bounded by a deadline, so the example ends). */
function spinUntilUnlocked(doc: Doc, deadlineMs: number): boolean {
  const end = Date.now() + deadlineMs;
  let spins = 0;
  while (doc.locked && Date.now() < end) spins++;
  return spins >= 0 && !doc.locked;
}

async function main(): Promise<void> {
  const monitor = startHangMonitor({ components: { transientMs: 100, permanentMs: 500 } });
  await monitor.ready;
  console.log('hang monitor: 3 components on the main thread, transient after 100 ms, permanent after 500 ms');

  const printer = spawn(
    {
      init: () => [] as HangAlert[],
      handle(seen, msg) {
        seen.push(msg.value);
        console.log(formatAlert(msg.value, 3));
      },
      cleanup: (seen) => seen,
    },
    { inputs: { alerts: monitor.alerts }, name: 'alert-printer' },
  );

  const [docs, docsRx] = bounded<Doc>(4);
  const [tokens, tokensRx] = bounded<{ doc: Doc; words: string[] }>(4);
  const tokenizer = spawn(
    {
      async handle(_s, msg) {
        await tokens.send({ doc: msg.value, words: msg.value.text.split(' ') });
      },
      cleanup: () => tokens.close(),
    },
    { inputs: { docs: docsRx }, name: 'tokenizer' },
  );
  const indexer = spawn(
    {
      init: () => new Map<string, number>(),
      handle(index, msg) {
        const { doc, words } = msg.value;
        if (doc.locked) spinUntilUnlocked(doc, LOCK_WAIT_MS);
        for (const w of words) index.set(w, (index.get(w) ?? 0) + 1);
      },
      cleanup: (index) => index.get('document') ?? 0,
    },
    { inputs: { tokens: tokensRx }, name: 'indexer' },
  );

  for (const d of DOCS) await docs.send(d);
  docs.close();
  await tokenizer.done;
  const indexed = (await indexer.done).result / 2; // "document" appears twice per text
  console.log(`indexed ${indexed} documents`);
  await monitor.shutdown(); // disconnects the alerts: the printer ends
  const alerts = (await printer.done).result;

  // Check what the monitor reported: the indexer, both kinds, with the spinning function in the stack.
  // A component caught mid-message on the same thread (the tokenizer between its receive and its
  // send) cannot progress either and may be reported too: its stack then names the same culprit.
  const mine = alerts.filter((a) => a.component === 'indexer');
  const permanent = mine.find((a) => a.kind === 'permanent');
  const spins = (a: HangAlert): boolean => (a.frames ?? []).some((f) => f.functionName === 'spinUntilUnlocked');
  const problems: string[] = [];
  if (indexed !== DOCS.length) problems.push(`indexed ${indexed} of ${DOCS.length}`);
  if (!mine.some((a) => a.kind === 'transient')) problems.push('no transient alert for the indexer');
  if (permanent === undefined) problems.push('no permanent alert for the indexer');
  else if (!spins(permanent)) problems.push('the stack does not show spinUntilUnlocked');
  if (mine.some((a) => a.annotation !== 'tokens')) problems.push('an indexer alert without its input name');
  const odd = alerts.filter((a) => a.component !== 'indexer' && (a.threadId !== 0 || (a.kind === 'permanent' && !spins(a))));
  if (odd.length > 0) problems.push(`unexpected alerts: ${odd.map((a) => a.component).join(', ')}`);
  if (problems.length > 0) {
    console.log(`check: FAILED — ${problems.join('; ')}`);
    process.exitCode = 1;
  } else {
    console.log(`check: ok — ${DOCS.length} documents indexed, the hang in "indexer" reported transient then permanent, its stack names spinUntilUnlocked`);
  }
}

await main();
