/**
 * Example 10 (article 002, "The Limitations of mpsc"; article 003,
 * "crossbeam-channel"): several consumers sharing one channel.
 *
 * With `std::sync::mpsc` the article wraps the one Receiver in
 * `Arc<Mutex<…>>` so that four workers can take turns on it. weft channels
 * are multi-consumer, like crossbeam's: each worker gets its own clone of
 * the Receiver, there is no lock, each message goes to exactly one of them,
 * and every clone sees the end of the channel when the last Sender closes.
 *
 * The workers here do their work asynchronously (each item "takes" a few
 * milliseconds), so the items spread over the four of them: whoever is
 * free takes the next one, and waiting workers are served in turn.
 *
 * Run: `node dist/examples/shared-receiver.js`
 */
import { after, bounded, type Receiver } from 'weft';

const WORKERS = 4;
const ITEMS = 20;

async function worker(id: number, input: Receiver<number>): Promise<number[]> {
  using rx = input; // this worker's own clone
  const got: number[] = [];
  for await (const val of rx) {
    console.log(`  worker ${id} got: ${val}`);
    got.push(val);
    await after(2 + ((val * 7) % 5)).recv(); // some work of uneven length
  }
  return got; // the loop ended: every Sender closed and the queue drained
}

console.log(`${WORKERS} workers, each with a clone of one Receiver; ${ITEMS} messages`);
const [tx, rx] = bounded<number>(4);
const workers = Array.from({ length: WORKERS }, (_, id) => worker(id, rx.clone()));
rx.close(); // main keeps no Receiver of its own: only the workers hold one

for (let i = 0; i < ITEMS; i++) await tx.send(i);
tx.close(); // every worker's loop ends once the queue is drained

const got = await Promise.all(workers);
got.forEach((items, id) => console.log(`  worker ${id}: ${items.length} messages`));

const all = got.flat().sort((a, b) => a - b);
const exactlyOnce = all.length === ITEMS && all.every((v, i) => v === i);
const inOrderPerWorker = got.every((items) => items.every((v, i) => i === 0 || v > items[i - 1]!));
const busy = got.filter((items) => items.length > 0).length;
if (!exactlyOnce || !inOrderPerWorker || busy !== WORKERS) throw new Error(`check failed: ${JSON.stringify(got)}`);
console.log(`check: ok — each of the ${ITEMS} messages went to exactly one worker, all ${WORKERS} workers shared them and saw the end`);
