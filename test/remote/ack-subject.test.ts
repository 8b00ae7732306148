/** Reading the stream sequence of a delivery from its ack subject (the receive buffer's redelivery memory keys on it). */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { streamSeq } from '../../src/remote/buffer.js';

const PREFIX = '$JS.ACK.weft-ch-jobs.weft.';

test('ack subject: the stream sequence of both forms, with and without the known prefix', () => {
  fc.assert(
    fc.property(fc.nat(), fc.nat(), fc.nat(), fc.nat(), (delivered, sseq, dseq, pending) => {
      const v1 = `$JS.ACK.weft-ch-jobs.weft.${delivered}.${sseq}.${dseq}.1700000000000000000.${pending}`;
      const v2 = `$JS.ACK.hub.ACCHASH123.weft-ch-jobs.weft.${delivered}.${sseq}.${dseq}.1700000000000000000.${pending}.tok`;
      assert.equal(streamSeq(v1), sseq);
      assert.equal(streamSeq(v1, PREFIX), sseq, 'read from the front');
      assert.equal(streamSeq(v2), sseq);
      assert.equal(streamSeq(v2, PREFIX), sseq, 'another form falls back to counting from the end');
    }),
  );
});

test('ack subject: a subject that only looks like one gives no sequence', () => {
  assert.ok(Number.isNaN(streamSeq(`${PREFIX}1.12x.3.4.5`, PREFIX)));
  assert.ok(Number.isNaN(streamSeq(`${PREFIX}1.-5.3.4.5`, PREFIX)));
});
