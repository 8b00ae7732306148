/**
 * What the three processes of the distributed example share: the message
 * types, the channel names, and how to connect.
 *
 * The workflow is the reference articles' fan-out/fan-in: a producer emits
 * workflows made of steps; a pool of workers executes steps; one consumer
 * tracks every workflow's progress and, at the end, tells the main process
 * the outcome. Here each role is its own OS process, connected by named
 * remote channels on NATS:
 *
 *   producer ──jobs──▶ workers (a pool of worker loops) ──results──▶ consumer ──done──▶ run.ts
 */
import { connect, type Link } from 'weft/nats';

/** One step of one workflow: the unit of work. */
export interface Job {
  readonly workflow: number;
  readonly step: number;
  readonly steps: number;
}

/** A step done by a worker. */
export interface StepDone {
  readonly workflow: number;
  readonly step: number;
  readonly worker: string;
  readonly result: number;
}

/** The consumer's final report. */
export interface Summary {
  readonly workflows: number;
  readonly steps: number;
  readonly complete: number;
  readonly duplicates: number;
  readonly byWorker: Record<string, number>;
}

/** Channel names of one run: `RUN` keeps runs apart on a shared server. */
export function names(run: string): { jobs: string; results: string; done: string } {
  return { jobs: `wf-${run}-jobs`, results: `wf-${run}-results`, done: `wf-${run}-done` };
}

/** Connects with the server and credentials from the environment. */
export function link(): Promise<Link> {
  const url = process.env.NATS_URL ?? 'nats://127.0.0.1:4222';
  return connect({
    servers: url.split(','),
    token: process.env.NATS_TOKEN,
    user: process.env.NATS_USER,
    pass: process.env.NATS_PASS,
    credentials: process.env.NATS_CREDS_CONTENT,
    name: `weft-example ${process.argv[1]?.split('/').pop() ?? ''} ${process.pid}`,
    graceMs: 3000,
  });
}

/** Tells the parent (run.ts) this process holds its channel handles. */
export function ready(): void {
  process.stdout.write(`READY ${process.pid}\n`);
}

export const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));
