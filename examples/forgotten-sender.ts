/**
 * Example 14 (article 002, "Multiple Producers"; article 003): the
 * forgotten original Sender, and how weft reports it.
 *
 * Five producers each get a clone of the Sender and close it when done. If
 * the original is never closed, the channel never ends: the consumer gets
 * all five messages and then waits forever for an end that cannot come.
 *
 * Part 1 shows the hang, caught by a watchdog (a select with an `after`
 * case) so that the example can go on: five messages, then silence, and
 * `rx.isDisconnected` is still false.
 *
 * Part 2 shows weft's backstop. The original Sender is forgotten inside a
 * function and becomes garbage. When the garbage collector takes it, weft
 * closes it (the consumer's loop then ends) and, in development mode,
 * emits a `WeftLeakWarning` with the stack of the line that created it.
 * Garbage collection runs when the engine decides, so the example forces
 * it; in a real program the hang can last arbitrarily long — the warning
 * says where to look, it is not the fix.
 *
 * Part 3 is the fix: close the original after cloning (here with `using`),
 * and the loop ends right after the last message.
 *
 * Run: `node dist/examples/forgotten-sender.js`
 */
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import { after, select, unbounded, type Receiver, type Sender } from 'weft';

const PRODUCERS = 5;

async function producer(id: number, mine: Sender<string>): Promise<void> {
  using tx = mine; // each producer closes its own clone
  await after(5 * id).recv();
  await tx.send(`message from producer ${id}`);
}

/** Receives until the channel ends, or until `watchdogMs` pass without a message. */
async function consume(rx: Receiver<string>, watchdogMs: number): Promise<{ got: number; ended: boolean }> {
  let got = 0;
  for (;;) {
    const r = await select({ msg: rx, watchdog: after(watchdogMs) });
    if (r.case === 'watchdog') return { got, ended: false };
    if (!r.ok) return { got, ended: true }; // every Sender closed and the queue drained
    got++;
  }
}

// ---------------------------------------------------------------- part 1: the bug

async function theBug(): Promise<boolean> {
  console.log('part 1: the original Sender is never closed');
  const [tx, rx] = unbounded<string>();
  for (let id = 0; id < PRODUCERS; id++) void producer(id, tx.clone());
  // Missing here: tx.close()

  const { got, ended } = await consume(rx, 500);
  console.log(`  received ${got} messages, then nothing for 500 ms; channel ended: ${ended}; rx.isDisconnected: ${rx.isDisconnected}`);
  console.log(`  → a \`for await (const m of rx)\` loop would wait here forever: the original Sender still holds the channel open`);
  const hung = got === PRODUCERS && !ended && !rx.isDisconnected;
  tx.close(); // clean up the demonstration
  rx.close();
  return hung;
}

// ---------------------------------------------------------------- part 2: the backstop

const gc = ((): (() => void) => {
  setFlagsFromString('--expose-gc'); // only so that this example can force a collection
  return runInNewContext('gc') as () => void;
})();

/** Starts the producers and returns only the Receiver: the original Sender becomes garbage, still open. */
function startProducers(): Receiver<string> {
  const [tx, rx] = unbounded<string>();
  for (let id = 0; id < PRODUCERS; id++) void producer(id, tx.clone());
  return rx; // forgot tx.close()
}

async function theBackstop(): Promise<boolean> {
  console.log('part 2: the forgotten Sender is garbage-collected');
  let warning: Error | undefined;
  const onWarning = (w: Error): void => {
    if (w.name === 'WeftLeakWarning') warning = w;
  };
  process.on('warning', onWarning);

  using rx = startProducers();
  const consumer = consume(rx, 30_000); // a long watchdog: here the channel is expected to end
  // Force collections until weft has closed the forgotten Sender (the consumer then sees the end).
  const collector = setInterval(gc, 20);
  const { got, ended } = await consumer;
  clearInterval(collector);
  for (let i = 0; i < 5 && warning === undefined; i++) await after(10).recv(); // the warning is emitted on a later tick
  process.off('warning', onWarning);

  console.log(`  received ${got} messages; channel ended: ${ended} (weft closed the collected Sender)`);
  const createdAt = /at (startProducers) \((.*?)\)/.exec(warning?.message ?? '');
  if (warning !== undefined) {
    console.log(`  weft warned: ${warning.name}: ${warning.message.split('.')[0]}`);
    console.log(`  the warning names where the Sender was created: ${createdAt ? `${createdAt[1]} (${createdAt[2]!.replace(/^.*\//, '')})` : '(no stack)'}`);
  }
  const warningsOn = process.env['NODE_ENV'] !== 'production'; // production mode closes the handle without a warning
  if (!warningsOn) console.log('  no warning: NODE_ENV is "production", where weft closes forgotten handles silently');
  return got === PRODUCERS && ended && (warningsOn ? createdAt !== null : warning === undefined);
}

// ---------------------------------------------------------------- part 3: the fix

async function theFix(): Promise<boolean> {
  console.log('part 3: the fix — close the original after cloning');
  const [original, rx] = unbounded<string>();
  {
    using tx = original; // closed at the end of this block, right after the clones are made
    for (let id = 0; id < PRODUCERS; id++) void producer(id, tx.clone());
  }
  const { got, ended } = await consume(rx, 10_000);
  rx.close();
  console.log(`  received ${got} messages; channel ended: ${ended}, right after the last producer closed its clone`);
  return got === PRODUCERS && ended;
}

const bug = await theBug();
const backstop = await theBackstop();
const fix = await theFix();
if (!bug || !backstop || !fix) throw new Error(`check failed: ${JSON.stringify({ bug, backstop, fix })}`);
console.log('check: ok — the forgotten Sender hung the consumer; weft closed it when collected and named where it was created; closing the original fixes it');
