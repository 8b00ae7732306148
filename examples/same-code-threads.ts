/**
 * Example 15 (articles 000 and 001: "the same code on the current thread or
 * on a worker thread"): one stage function and one component body, run
 * first in this thread, then on worker threads, unchanged.
 *
 * The system scores words and tallies the scores:
 *
 *   words ──► score (a pipeline stage) ──► tally (a component) ──► result
 *
 * Run 1: `stage(score)` and `spawn(tally, …)` in this thread, over in-thread
 * channels. Run 2: the same `score` on two worker threads
 * (`stage(url, { parallelism: 2 })`, order kept) and the same `tally` on a
 * thread of its own (`spawnThread(url, …)`), over shared-memory channels.
 * This file is both the main program and the module the threads load (they
 * import `score` and `tally` from it; the main part runs only on the main
 * thread). The two runs must give the same result.
 *
 * Run: `node dist/examples/same-code-threads.js`
 */
import { isMainThread, threadId } from 'node:worker_threads';
import {
  bounded,
  pipeline,
  sharedBounded,
  spawn,
  spawnThread,
  stage,
  type ComponentBody,
  type Receiver,
} from 'weft';

export interface Scored {
  readonly word: string;
  readonly score: number;
  readonly thread: number;
}

/** The stage: a little CPU work per word (a hash, iterated). */
export function score(word: string): Scored {
  let h = 2166136261;
  for (let round = 0; round < 2000; round++) {
    for (let i = 0; i < word.length; i++) h = Math.imul(h ^ word.charCodeAt(i), 16777619) >>> 0;
  }
  return { word, score: h % 1000, thread: threadId };
}

export interface Tally {
  readonly words: number;
  readonly total: number;
  readonly best: string;
  readonly stageThreads: number;
  readonly tallyThread: number;
  /** Did the scored words arrive in the order they were sent? */
  readonly inOrder: boolean;
}

interface State {
  words: number;
  total: number;
  best: Scored | undefined;
  stageThreads: Set<number>;
  last: number;
  inOrder: boolean;
}

/** The component: owns the running tally; its cleanup returns the result. */
export const tally: ComponentBody<{ scored: Receiver<Scored & { i: number }> }, State, Tally> = {
  init: () => ({ words: 0, total: 0, best: undefined, stageThreads: new Set(), last: -1, inOrder: true }),
  handle(s, msg) {
    const x = msg.value;
    s.words++;
    s.total += x.score;
    if (s.best === undefined || x.score > s.best.score) s.best = x;
    s.stageThreads.add(x.thread);
    if (x.i !== s.last + 1) s.inOrder = false;
    s.last = x.i;
  },
  cleanup: (s) => ({
    words: s.words,
    total: s.total,
    best: s.best?.word ?? '',
    stageThreads: s.stageThreads.size,
    tallyThread: threadId,
    inOrder: s.inOrder,
  }),
};

const WORDS = 'the quick brown fox jumps over the lazy dog while seven wizards quietly hex jumbled flying boxes'.split(' ');
const N = 3000;

function* words(): Generator<{ i: number; word: string }> {
  for (let i = 0; i < N; i++) yield { i, word: `${WORDS[i % WORDS.length]}-${i}` };
}

/** Scores one numbered word (what the stage runs: `score`, keeping the number). */
export function scoreNumbered(x: { i: number; word: string }): Scored & { i: number } {
  return { ...score(x.word), i: x.i };
}

if (isMainThread) {
  const here = new URL(import.meta.url);

  // Run 1: everything in this thread.
  const [tx1, rx1] = bounded<Scored & { i: number }>(64);
  const local = spawn(tally, { inputs: { scored: rx1 }, name: 'tally' });
  await pipeline(words(), stage(scoreNumbered), tx1);
  const a = (await local.done).result;
  console.log(`in this thread:  ${a.words} words, total ${a.total}, best "${a.best}", stage on ${a.stageThreads} thread(s), tally on thread ${a.tallyThread}`);

  // Run 2: the same code on worker threads.
  const [tx2, rx2] = sharedBounded<Scored & { i: number }>(64);
  const remote = spawnThread<Tally>(here, { inputs: { scored: rx2 }, export: 'tally', name: 'tally' });
  await pipeline(words(), stage<{ i: number; word: string }, Scored & { i: number }>(here, { parallelism: 2, name: 'scoreNumbered' }), tx2);
  const b = (await remote.done).result;
  console.log(`on threads:      ${b.words} words, total ${b.total}, best "${b.best}", stage on ${b.stageThreads} thread(s), tally on thread ${b.tallyThread}`);

  const same = a.words === b.words && a.total === b.total && a.best === b.best;
  if (!same || !a.inOrder || !b.inOrder || a.words !== N || b.tallyThread === threadId || b.stageThreads < 1) {
    throw new Error(`check failed: ${JSON.stringify({ a, b })}`);
  }
  console.log(`check: ok — the same result both ways, in order, the second run off the main thread`);
}
