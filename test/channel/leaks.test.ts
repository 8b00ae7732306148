import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';

const indexUrl = new URL('../../src/index.js', import.meta.url).href;

/** Runs an ESM snippet in a fresh `node --expose-gc` and returns its output. */
function run(script: string, env: Record<string, string> = {}): { stdout: string; stderr: string; status: number | null } {
  const res = spawnSync(process.execPath, ['--expose-gc', '--input-type=module', '-e', script], {
    encoding: 'utf8',
    timeout: 30_000,
    env: { ...process.env, ...env },
  });
  return { stdout: res.stdout, stderr: res.stderr, status: res.status };
}

const forgetSender = `
  import { unbounded, RecvError } from ${JSON.stringify(indexUrl)};
  const [tx, rx] = unbounded();
  function startProducer() {
    const mine = tx.clone();          // the forgotten handle: never closed
    mine.trySend('hello');
  }
  startProducer();
  tx.close();
  const got = [];
  const done = (async () => {
    try { for (;;) got.push(await rx.recv()); } catch (e) { return e instanceof RecvError; }
  })();
  const keepAlive = setInterval(() => {}, 1000);
  for (let i = 0; i < 50 && !(await Promise.race([done, new Promise((r) => setTimeout(() => r(false), 10))])); i++) gc();
  clearInterval(keepAlive);
  console.log(JSON.stringify({ ended: await Promise.race([done, Promise.resolve(false)]), got }));
`;

test('a Sender garbage-collected without close() counts as closed, and the warning names where it was made', () => {
  const res = run(forgetSender);
  assert.equal(res.status, 0, res.stderr);
  assert.deepEqual(JSON.parse(res.stdout.trim()), { ended: true, got: ['hello'] });
  assert.match(res.stderr, /WeftLeakWarning/);
  assert.match(res.stderr, /Sender was garbage-collected without close\(\)/);
  assert.match(res.stderr, /startProducer/, 'the warning shows the function that created the handle');
});

test('in production mode the handle is still closed, without the warning', () => {
  const res = run(forgetSender, { NODE_ENV: 'production' });
  assert.equal(res.status, 0, res.stderr);
  assert.deepEqual(JSON.parse(res.stdout.trim()), { ended: true, got: ['hello'] });
  assert.doesNotMatch(res.stderr, /WeftLeakWarning/);
});

test('a Receiver garbage-collected without close() lets senders see the disconnection', () => {
  const res = run(`
    import { unbounded, SendError, configure } from ${JSON.stringify(indexUrl)};
    configure({ leakWarnings: false });
    const [tx, rx] = unbounded();
    (() => { const lost = rx.clone(); rx.close(); void lost; })();
    let failed = false;
    for (let i = 0; i < 50 && !failed; i++) {
      gc();
      await new Promise((r) => setTimeout(r, 10));
      try { tx.trySend(i); } catch (e) { failed = e.kind === 'disconnected'; }
    }
    console.log(failed);
  `);
  assert.equal(res.status, 0, res.stderr);
  assert.equal(res.stdout.trim(), 'true');
  assert.doesNotMatch(res.stderr, /WeftLeakWarning/);
});

test('a handle with a pending operation is not collected while it waits', () => {
  const res = run(`
    import { unbounded } from ${JSON.stringify(indexUrl)};
    const [tx, rx] = unbounded();
    const p = (() => rx.clone().recv())();   // the clone is reachable only through its pending recv
    rx.close();
    for (let i = 0; i < 5; i++) { gc(); await new Promise((r) => setTimeout(r, 5)); }
    tx.trySend(42);
    console.log(await p);
  `);
  assert.equal(res.status, 0, res.stderr);
  assert.equal(res.stdout.trim(), '42');
});
