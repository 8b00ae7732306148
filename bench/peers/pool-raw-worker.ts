/**
 * The raw postMessage worker of the pool benchmark: one message in, one
 * message out, nothing else — the floor any postMessage-based pool pays.
 */
import { parentPort } from 'node:worker_threads';
import inc, { spin } from './pool-task.js';

const port = parentPort!;
port.on('message', (m: { id: number; op: number; x: number }) => {
  port.postMessage({ id: m.id, r: m.op === 0 ? inc(m.x) : spin(m.x) });
});
