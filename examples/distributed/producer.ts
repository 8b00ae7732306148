/**
 * The producer process: emits every step of every workflow on `jobs`, then
 * closes its Sender — which, once the other processes are done with theirs,
 * is how the workers learn there is no more work.
 */
import { link, names, ready, type Job } from './shared.js';

const run = process.env.RUN ?? 'demo';
const workflows = Number(process.env.WORKFLOWS ?? 20);
const steps = Number(process.env.STEPS ?? 5);

const nats = await link();
const jobs = await nats.sender<Job>(names(run).jobs);
ready();
for (let step = 0; step < steps; step++) {
  for (let workflow = 0; workflow < workflows; workflow++) await jobs.send({ workflow, step, steps });
}
jobs.close(); // waits until everything sent is stored, then tells the receivers
await nats.close();
console.log(`producer: sent ${workflows * steps} steps of ${workflows} workflows`);
