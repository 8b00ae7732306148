/**
 * The raw postMessage worker of the pool benchmark: one message in, one
 * message out, nothing else — the floor any postMessage-based pool pays.
 * Also runs the busy floor of the 1 ms case (op 2).
 */
import { parentPort } from 'node:worker_threads';
import inc, { spin } from './pool-task.js';

const port = parentPort!;
port.on('message', (m: { id: number; op: number; x: number }) => {
  if (m.op === 2) {
    // The busy floor: `x` 1 ms tasks back to back, no messages between them.
    for (let i = 0; i < m.x; i++) spin(1);
    port.postMessage({ id: m.id, r: m.x });
    return;
  }
  port.postMessage({ id: m.id, r: m.op === 0 ? inc(m.x) : spin(m.x) });
});
