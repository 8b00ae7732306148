/** examples/pool-component: a component owning a worker pool, its results a second input of its loop. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { runExample } from './helpers.js';

test('examples/pool-component: every range counted on the pool, at most four in flight, stops when its input ends', async () => {
  const run = await runExample('pool-component');
  assert.equal(run.code, 0, run.stderr);
  assert.equal(run.stderr, '', 'no warning (no forgotten handle)');

  assert.ok(run.lines.includes('main: sent 24 ranges of 20000 numbers, closed the channel'));
  const stopped = /^prime-counter: stopped \(disconnected\) after (\d+) results from (\d+) worker thread\(s\)$/m.exec(run.stdout);
  assert.ok(stopped, 'the component stopped because its input ended');
  assert.equal(Number(stopped[1]), 24, 'one result per range');
  assert.ok(Number(stopped[2]) >= 1 && Number(stopped[2]) <= 2, 'results came from the pool threads');
  const inFlight = /^prime-counter: at most (\d+) ranges in flight in the pool$/m.exec(run.stdout);
  assert.ok(inFlight && Number(inFlight[1]) >= 1 && Number(inFlight[1]) <= 4, 'accepts() capped the work in flight');

  // The total, checked against an independent count (a sieve) here.
  const limit = 24 * 20_000;
  const composite = new Uint8Array(limit);
  let primes = 0;
  for (let x = 2; x < limit; x++) {
    if (composite[x] === 1) continue;
    primes++;
    for (let m = x * x; m < limit; m += x) composite[m] = 1;
  }
  assert.ok(run.lines.includes(`prime-counter: ${primes} primes below ${limit}`), `the component counted ${primes} primes`);
  assert.equal(run.lines.at(-1), `check: ok — every range counted once, the total matches a count on the main thread (${primes})`);
});
