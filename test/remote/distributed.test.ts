/** The distributed example (examples/distributed) runs end to end: three OS processes, one command. */
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { dirname, join } from 'node:path';
import { rtest, useServer } from './helpers.js';

const server = useServer();
const RUN = join(dirname(fileURLToPath(import.meta.url)), '..', '..', 'examples', 'distributed', 'run.js');

rtest('examples/distributed: producer, workers and consumer processes process every step exactly once', async () => {
  const child = spawn(process.execPath, [RUN], {
    env: { ...process.env, NATS_URL: server().url, WORKFLOWS: '12', STEPS: '4', POOL: '3' },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let out = '';
  child.stdout.on('data', (b: Buffer) => (out += b.toString()));
  child.stderr.on('data', (b: Buffer) => (out += b.toString()));
  const timer = setTimeout(() => child.pid !== undefined && process.kill(child.pid, 'SIGKILL'), 60_000);
  const code = await new Promise<number | null>((resolve) => child.once('exit', resolve));
  clearTimeout(timer);
  assert.equal(code, 0, out);
  assert.match(out, /every step of every workflow processed exactly once/);
  assert.match(out, /"steps":48/);
});
