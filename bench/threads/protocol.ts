/**
 * What the main thread and the benchmark workers agree on: the job a worker
 * gets in `workerData`, and the control words in shared memory.
 *
 * @module
 */
import type { MessagePort } from 'node:worker_threads';
import type { HandleToken } from '../../src/shared/index.js';
import type { Kind } from './values.js';

/** Messages per `sendMany`/`recvMany` call and per batched `postMessage`. */
export const BATCH = 100;

/** Control words (Int32 indices): the open phase, then the message count of phase 1 and 2. */
export const CTL_GATE = 0;
export const CTL_N = 1;
export const CTL_WORDS = 4;

/** What a worker is asked to do. */
export interface WorkerJob {
  role: string;
  ctl: SharedArrayBuffer;
  kind?: Kind;
  /** 'one' | 'many' (weft) | 'batch' (postMessage). */
  mode?: string;
  /** This worker's index among `parts` workers splitting the same messages. */
  index?: number;
  parts?: number;
  tokens?: Record<string, HandleToken>;
  port?: MessagePort;
  ring?: SharedArrayBuffer;
}
