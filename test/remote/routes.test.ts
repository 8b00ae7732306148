/** Replies routed by the number that ends their subject (send-window acks, ack confirmations). */
import assert from 'node:assert/strict';
import type { Msg } from '@nats-io/transport-node';
import { test } from 'node:test';
import { lastNumber } from '../../src/remote/link.js';
import { link, rtest, useServer } from './helpers.js';

const server = useServer();

test('routes: the last token as a number, from the subject string', () => {
  const m = (subject: string) => ({ subject }) as unknown as Msg;
  assert.equal(lastNumber(m('_INBOX.abcR1.0')), 0);
  assert.equal(lastNumber(m('_INBOX.abcR1.123456789')), 123456789);
  assert.ok(Number.isNaN(lastNumber(m('_INBOX.abcR1.12a'))));
  assert.ok(Number.isNaN(lastNumber(m('_INBOX.abcR1.'))));
});

rtest('routes: a message of the real client is read from its subject bytes, with the same answers', async () => {
  const a = await link(server());
  try {
    const got: Array<{ fromBytes: boolean; n: number; viaString: number }> = [];
    const sub = a.nc.subscribe('routes.test.*', {
      callback: (_e, m) => {
        const fromBytes = (m as unknown as { _msg?: { subject?: unknown } })._msg?.subject instanceof Uint8Array;
        const n = lastNumber(m); // read before anything decodes the subject
        got.push({ fromBytes, n, viaString: lastNumber({ subject: m.subject } as unknown as Msg) });
      },
    });
    for (const t of ['0', '7', '4294967296', 'x1']) a.nc.publish(`routes.test.${t}`);
    await a.nc.flush(); // the server sends our own messages back before it answers the flush
    sub.unsubscribe();
    assert.equal(got.length, 4);
    assert.ok(got.every((g) => g.fromBytes), 'the client keeps subjects as bytes (the fast path is in use)');
    assert.deepEqual(got.map((g) => g.n).slice(0, 3), [0, 7, 4294967296]);
    assert.ok(Number.isNaN(got[3]!.n));
    for (const g of got) assert.ok(Object.is(g.n, g.viaString), 'both paths agree');
  } finally {
    await a.close();
  }
});
