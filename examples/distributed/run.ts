/**
 * One command for the distributed example:
 *
 *   node dist/examples/distributed/run.js
 *
 * Starts a throwaway nats-server (127.0.0.1, a free port, a temp store)
 * unless NATS_URL is set, creates the channels, starts the producer, workers
 * and consumer as three OS processes, waits for the consumer's report on
 * `done`, prints it, and stops everything. Exits 0 when every step of every
 * workflow was processed exactly once.
 *
 * Like the original Sender of a local channel, this process holds a Sender
 * of `jobs` and of `results` until every child has opened its own handles,
 * so that no channel looks finished before its real senders exist.
 *
 * Environment: NATS_URL (and NATS_TOKEN / NATS_USER / NATS_PASS), WORKFLOWS
 * (20), STEPS (5), POOL (3 workers).
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { startServer, type TestServer } from 'weft/nats';
import { link, names, type Job, type StepDone, type Summary } from './shared.js';

const here = dirname(fileURLToPath(import.meta.url));
const run = `${Date.now().toString(36)}${process.pid}`;
const workflows = Number(process.env.WORKFLOWS ?? 20);
const steps = Number(process.env.STEPS ?? 5);

let server: TestServer | undefined;
if (process.env.NATS_URL === undefined) {
  server = await startServer();
  process.env.NATS_URL = server.url;
  console.log(`run: started nats-server ${server.url} (pid ${server.pid})`);
}

const children: ChildProcess[] = [];
function start(script: string): Promise<void> {
  const child = spawn(process.execPath, [join(here, script)], { stdio: ['ignore', 'pipe', 'inherit'], env: { ...process.env, RUN: run } });
  children.push(child);
  return new Promise((resolve, reject) => {
    child.stdout!.on('data', (b: Buffer) => {
      for (const line of b.toString().split('\n')) {
        if (line.startsWith('READY')) resolve();
        else if (line !== '') console.log(line);
      }
    });
    child.once('exit', (code) => (code === 0 ? resolve() : reject(new Error(`${script} exited with ${code}`))));
  });
}

let ok = false;
const nats = await link();
try {
  const n = names(run);
  const jobsHold = await nats.sender<Job>(n.jobs, { capacity: 16 });
  const resultsHold = await nats.sender<StepDone>(n.results, { capacity: 64 });
  const done = await nats.receiver<Summary>(n.done, { capacity: 1 });
  await Promise.all(['consumer.js', 'workers.js', 'producer.js'].map(start));
  jobsHold.close();
  resultsHold.close();
  const summary = await done.recvTimeout(120_000);
  done.close();
  console.log(`run: ${JSON.stringify(summary)}`);
  const exits = await Promise.all(children.map((c) => (c.exitCode !== null ? c.exitCode : new Promise((r) => c.once('exit', r)))));
  ok =
    exits.every((c) => c === 0) &&
    summary.workflows === workflows &&
    summary.complete === workflows &&
    summary.steps === workflows * steps &&
    summary.duplicates === 0;
  console.log(ok ? 'run: every step of every workflow processed exactly once' : 'run: FAILED');
  for (const name of Object.values(n)) await nats.delete(name);
} finally {
  for (const c of children) if (c.exitCode === null && c.pid !== undefined) process.kill(c.pid, 'SIGKILL');
  await nats.close();
  await server?.stop();
}
process.exit(ok ? 0 : 1);
