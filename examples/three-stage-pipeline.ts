/**
 * Example 8 (article 002, "Building a Pipeline"): the three-stage pipeline —
 * generate 0..19, square each number, collect the results.
 *
 * Written twice. First by hand, as in the article: two channels and three
 * concurrent tasks, each owning its piece (the generator owns the first
 * Sender, the squarer the first Receiver and the second Sender, the
 * collector the second Receiver). Closing a Sender is what ends the next
 * stage's loop. Then with `pipeline()`, which makes the same channels
 * (bounded, so a slow collector slows the generator) and the same cascade.
 *
 * Run: `node dist/examples/three-stage-pipeline.js`
 */
import { bounded, pipeline, type Receiver, type Sender } from 'weft';

const N = 20;

async function byHand(): Promise<number[]> {
  const [tx1, rx1] = bounded<number>(4); // generate → square
  const [tx2, rx2] = bounded<number>(4); // square → collect

  const producer = async (out: Sender<number>): Promise<void> => {
    using tx = out; // closed on return: the squarer's loop then ends
    for (let i = 0; i < N; i++) await tx.send(i);
  };
  const transformer = async (input: Receiver<number>, out: Sender<number>): Promise<void> => {
    using rx = input;
    using tx = out;
    for await (const v of rx) await tx.send(v * v); // ends when the producer's Sender closes
  };
  const consumer = async (input: Receiver<number>): Promise<number[]> => {
    using rx = input;
    const results: number[] = [];
    for await (const v of rx) results.push(v);
    return results;
  };

  const [, , results] = await Promise.all([producer(tx1), transformer(rx1, tx2), consumer(rx2)]);
  return results;
}

async function withPipeline(): Promise<number[]> {
  return pipeline(
    (function* generate() {
      for (let i = 0; i < N; i++) yield i;
    })(),
    (v: number) => v * v,
    async (squares) => {
      const results: number[] = [];
      for await (const v of squares) results.push(v);
      return results;
    },
    { capacity: 4 },
  );
}

const expected = Array.from({ length: N }, (_, i) => i * i);

const a = await byHand();
console.log(`by hand:       Pipeline output: [${a.join(', ')}]`);
const b = await withPipeline();
console.log(`with pipeline: Pipeline output: [${b.join(', ')}]`);

if (JSON.stringify(a) !== JSON.stringify(expected) || JSON.stringify(b) !== JSON.stringify(expected)) {
  throw new Error('check failed: the pipelines did not produce the squares of 0..19 in order');
}
console.log(`check: ok — both produced the ${N} squares of 0..${N - 1} in order, and both ended by closing, with no quit message`);
