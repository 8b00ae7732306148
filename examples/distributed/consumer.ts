/**
 * The consumer process (fan-in): tracks the steps of every workflow as
 * results arrive, in whatever order the workers finish them. When every
 * worker has closed its results Sender the loop ends; the consumer then
 * reports to the main process on `done`.
 */
import { link, names, ready, type StepDone, type Summary } from './shared.js';

const run = process.env.RUN ?? 'demo';
const nats = await link();
const { results: resultsName, done: doneName } = names(run);
const results = await nats.receiver<StepDone>(resultsName);
const done = await nats.sender<Summary>(doneName);
ready();

const trackSteps = new Map<number, Set<number>>(); // workflow → steps done
const stepsOf = new Map<number, number>();
const byWorker: Record<string, number> = {};
let duplicates = 0;
let steps = 0;
for await (const r of results) {
  let seen = trackSteps.get(r.workflow);
  if (seen === undefined) trackSteps.set(r.workflow, (seen = new Set()));
  if (seen.has(r.step)) duplicates++;
  seen.add(r.step);
  stepsOf.set(r.workflow, Math.max(stepsOf.get(r.workflow) ?? 0, r.step + 1));
  byWorker[r.worker] = (byWorker[r.worker] ?? 0) + 1;
  steps++;
}
results.close();
const complete = [...trackSteps].filter(([wf, s]) => s.size === stepsOf.get(wf)).length;
await done.send({ workflows: trackSteps.size, steps, complete, duplicates, byWorker });
done.close();
await nats.close();
console.log(`consumer: ${steps} steps of ${trackSteps.size} workflows`);
