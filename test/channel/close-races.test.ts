/** Regression tests: closing a handle under ready() and recvMany(). */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { bounded, ready, send, unbounded, ClosedHandleError } from '../../src/index.js';
import { guard } from '../helpers.js';

test(
  'ready() on a handle that is then closed rejects with ClosedHandleError (as select() does) instead of hanging',
  async () => {
    const [tx, rx] = unbounded<number>();
    const onRecv = ready({ rx });
    rx.close();
    await assert.rejects(guard(onRecv, 200, 'ready({ rx }) after rx.close()'), ClosedHandleError);
    tx.close();

    const [tx0] = bounded<number>(0);
    const onSend = ready({ out: send(tx0, 1) });
    tx0.close();
    await assert.rejects(guard(onSend, 200, 'ready({ send(tx) }) after tx.close()'), ClosedHandleError);
  },
);

test(
  'recvMany never rejects after it has taken a message (the message would be reported as not received)',
  async () => {
    const [tx, rx] = unbounded<string>();
    const into: string[] = [];
    const p = rx.recvMany(into, 10);
    tx.trySend('a'); // handed straight to the parked recv
    rx.close(); // before recvMany's continuation runs
    assert.equal(await guard(p, 200, 'recvMany'), 1);
    assert.deepEqual(into, ['a']);
  },
);
