/**
 * The entry of a component's own thread (see `spawnThread`): load the
 * module, build the body, run `spawn` over the inputs moved in, report how
 * it ended to the parent, then let the thread exit.
 *
 * @internal
 */
import { parentPort, workerData } from 'node:worker_threads';
import type { Receiver } from '../channel/receiver.js';
import type { Sender } from '../channel/sender.js';
import { workerHandles } from '../shared/index.js';
import type { MonitorToken } from '../monitor/index.js';
import { isComponentBody, spawn, type ComponentBody, type ComponentInputs } from './component.js';
import { joinMonitorOf } from './watch.js';
import { clonable, toWire } from './pool-wire.js';
import { OUTCOME, type ThreadOutcome, type ThreadStop } from './thread.js';

interface Data {
  readonly module: string;
  readonly export: string;
  readonly name: string;
  readonly inputs: readonly string[];
  readonly handles: readonly string[];
  readonly data: unknown;
  readonly monitor?: MonitorToken;
  readonly hangTimeouts?: { readonly transientMs: number; readonly permanentMs: number };
}

const data = workerData as Data;
const port = parentPort!;
const all = workerHandles<Record<string, Receiver<unknown> | Sender<unknown>>>();
const inputs: Record<string, Receiver<unknown>> = {};
const handles: Record<string, Receiver<unknown> | Sender<unknown>> = {};
for (const k of data.inputs) inputs[k] = all[`i:${k}`] as Receiver<unknown>;
for (const k of data.handles) handles[k] = all[`h:${k}`]!;

const ac = new AbortController();
port.on('message', (m: ThreadStop) => {
  if (m?.type === 'stop' && !ac.signal.aborted) ac.abort(m.reason);
});

const member = await joinMonitorOf(data);

async function load(): Promise<ComponentBody<ComponentInputs, unknown, unknown>> {
  const mod = (await import(data.module)) as Record<string, unknown>;
  let found = mod[data.export];
  if (typeof found === 'function') found = await (found as (setup: unknown) => unknown)({ handles, data: data.data });
  if (!isComponentBody(found)) {
    throw new TypeError(
      `component "${data.name}": the module ${data.module} must export, as "${data.export}", a component body (an object with a handle function) ` +
        'or a function returning one (pass another export\'s name as the `export` option)',
    );
  }
  return found;
}

let outcome: ThreadOutcome;
try {
  const body = await load();
  const exit = await spawn(body, { inputs, name: data.name, signal: ac.signal }).done;
  outcome = { [OUTCOME]: true, type: 'done', reason: exit.reason, result: exit.result, ...(exit.cause === undefined ? {} : { cause: exit.cause }) };
} catch (e) {
  outcome = { [OUTCOME]: true, type: 'error', error: toWire(e) };
} finally {
  for (const rx of Object.values(inputs)) rx.close(); // already closed, unless the body never started
  for (const h of Object.values(handles)) h.close();
}

if (outcome.type === 'done' && !clonable(outcome.result)) {
  const why = new TypeError(`component "${data.name}": the result of its cleanup cannot be copied to the parent thread (return plain data)`);
  outcome = { [OUTCOME]: true, type: 'error', error: toWire(why) };
}
if (outcome.type === 'done' && !clonable(outcome.cause)) outcome = { ...outcome, cause: String(outcome.cause) };
member?.leave();
port.postMessage(outcome);
// Nothing more to hear: let the thread end once the module's own work (if any) is done.
port.removeAllListeners('message');
port.unref();
