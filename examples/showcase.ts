/**
 * `npm start`: a short tour of weft's in-loop channels.
 *
 * Three producers share one bounded channel (clones of one Sender) and feed
 * a consumer that owns its Receiver. The consumer's loop is a select over the
 * work channel, a quit channel, a ticker for progress lines and an overall
 * timeout. Backpressure keeps the queue at its capacity; closing the last
 * Sender ends the consumer's loop; nothing is lost.
 */
import { after, bounded, select, tick } from 'weft';

interface Job {
  producer: number;
  seq: number;
}

const PRODUCERS = 3;
const PER_PRODUCER = 200_000;
const CAPACITY = 256;

async function produce(id: number, tx: import('weft').Sender<Job>): Promise<void> {
  using out = tx; // closed when this producer returns
  for (let seq = 0; seq < PER_PRODUCER; seq++) await out.send({ producer: id, seq });
}

async function main(): Promise<void> {
  console.log(`weft showcase: ${PRODUCERS} producers → bounded(${CAPACITY}) → 1 consumer`);
  const [tx, rx] = bounded<Job>(CAPACITY);
  const [quitTx, quit] = bounded<string>(1);
  const producers = Array.from({ length: PRODUCERS }, (_, id) => produce(id, tx.clone()));
  tx.close(); // share the clones, drop the original: the channel ends when the producers do

  const lastSeq = new Array<number>(PRODUCERS).fill(-1);
  let received = 0;
  let maxDepth = 0;
  const progress = tick(100);
  const deadline = after(30_000);
  const started = performance.now();

  for (let running = true; running; ) {
    const r = await select({ job: rx, quit, progress, deadline });
    switch (r.case) {
      case 'job':
        if (!r.ok) {
          running = false; // every Sender closed and the queue is drained
          break;
        }
        if (r.value.seq !== lastSeq[r.value.producer]! + 1) throw new Error('per-producer order broken');
        lastSeq[r.value.producer] = r.value.seq;
        received++;
        maxDepth = Math.max(maxDepth, rx.len);
        break;
      case 'progress':
        console.log(`  received ${received.toLocaleString('en')} · queue depth ${rx.len}/${CAPACITY}`);
        break;
      case 'quit':
        console.log(`  quit: ${r.ok ? r.value : 'quit channel closed'}`);
        running = false;
        break;
      case 'deadline':
        throw new Error('showcase took longer than 30 s');
    }
  }
  progress.close();
  quitTx.close();
  await Promise.all(producers);

  const seconds = (performance.now() - started) / 1000;
  const expected = PRODUCERS * PER_PRODUCER;
  console.log(
    `done: ${received.toLocaleString('en')}/${expected.toLocaleString('en')} messages in ${seconds.toFixed(2)} s ` +
      `(${Math.round(received / seconds).toLocaleString('en')} msg/s through select), ` +
      `max queue depth ${maxDepth} (capacity ${CAPACITY}), per-producer order intact, nothing lost: ${received === expected}`,
  );
  if (received !== expected) process.exitCode = 1;
}

await main();
