/** Publishes written as protocol frames: exact bytes, order, fallbacks, and the real client's shape. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import type { NatsConnection } from '@nats-io/transport-node';
import { protocolOf, writePublishes, type PublishQueue } from '../../src/remote/wire.js';
import { link, rtest, uniq, useServer } from './helpers.js';

const TE = new TextEncoder();
const TD = new TextDecoder();

interface Pub {
  subject: string;
  data: Uint8Array;
  reply?: string;
  id?: string;
}

/** A fake connection: what was written, and what went to the fallback, in one log. */
function fake(options: { closed?: boolean; maxPayload?: number; draining?: boolean; headers?: boolean } = {}) {
  const log: Array<{ frames: Uint8Array } | { fallback: Pub }> = [];
  const proto = {
    outMsgs: 0,
    outBytes: 0,
    noMorePublishing: options.draining === true,
    sendCommand(cmd: Uint8Array) {
      log.push({ frames: new Uint8Array(cmd) }); // a copy, as a plain Uint8Array
    },
  };
  const nc = {
    isClosed: () => options.closed === true,
    info: { max_payload: options.maxPayload ?? 1 << 20, headers: options.headers ?? true },
    protocol: proto,
  } as unknown as NatsConnection;
  const fallback = (subject: string, data: Uint8Array, reply: string | undefined, id: string | undefined) => {
    const p: Pub = { subject, data };
    if (reply !== undefined) p.reply = reply;
    if (id !== undefined) p.id = id;
    log.push({ fallback: p });
  };
  return { nc, proto, log, fallback };
}

function queue(pubs: Array<Pub & { seq?: number }>): PublishQueue {
  const q: PublishQueue = [];
  for (const p of pubs) q.push(p.subject, p.data, p.reply, p.id, p.seq);
  return q;
}

/** What a queued publish means: with `seq`, reply and id get `.<seq>` appended. */
function meant(p: Pub & { seq?: number }): Pub {
  const out: Pub = { subject: p.subject, data: new Uint8Array(p.data) };
  const suffix = p.seq === undefined ? '' : `.${p.seq}`;
  if (p.reply !== undefined) out.reply = p.reply + suffix;
  if (p.id !== undefined) out.id = p.id + suffix;
  return out;
}

/** An independent reader of PUB/HPUB frames, as the server reads them. */
function parseFrames(bytes: Uint8Array): Pub[] {
  const out: Pub[] = [];
  let o = 0;
  while (o < bytes.length) {
    let eol = o;
    while (!(bytes[eol] === 0x0d && bytes[eol + 1] === 0x0a)) eol++;
    const line = TD.decode(bytes.subarray(o, eol)).split(' ');
    o = eol + 2;
    const op = line[0];
    let hlen = 0;
    let total: number;
    let args: string[];
    if (op === 'HPUB') {
      total = Number(line[line.length - 1]);
      hlen = Number(line[line.length - 2]);
      args = line.slice(1, -2);
    } else {
      assert.equal(op, 'PUB');
      total = Number(line[line.length - 1]);
      args = line.slice(1, -1);
    }
    const p: Pub = { subject: args[0]!, data: new Uint8Array(0) };
    if (args.length === 2) p.reply = args[1]!;
    if (hlen > 0) {
      const h = TD.decode(bytes.subarray(o, o + hlen));
      const m = /^NATS\/1\.0\r\nNats-Msg-Id: (.*)\r\n\r\n$/s.exec(h);
      assert.ok(m !== null, `header block ${JSON.stringify(h)}`);
      p.id = m[1]!;
    }
    p.data = bytes.slice(o + hlen, o + total);
    o += total;
    assert.equal(bytes[o], 0x0d);
    assert.equal(bytes[o + 1], 0x0a);
    o += 2;
    out.push(p);
  }
  return out;
}

function allFrames(log: ReturnType<typeof fake>['log']): Uint8Array {
  const parts = log.flatMap((e) => ('frames' in e ? [e.frames] : []));
  return new Uint8Array(Buffer.concat(parts));
}

test('wire: publishes become the exact PUB and HPUB frames, in order, in one write', () => {
  const f = fake();
  const ok = writePublishes(
    f.nc,
    f.proto,
    queue([
      { subject: 'a.b', data: TE.encode('abc') },
      { subject: 'a.b', data: TE.encode('+ACK'), reply: '_INBOX.x.1' },
      { subject: 'w.ch.jobs.m', data: new Uint8Array([0, 1, 2]), reply: '_INBOX.yR1.7', id: 'abc7' },
      { subject: 'empty', data: new Uint8Array(0) },
    ]),
    f.fallback,
  );
  assert.equal(ok, true);
  assert.equal(f.log.length, 1, 'one buffer for the whole turn');
  const expected = Buffer.concat([
    TE.encode('PUB a.b 3\r\nabc\r\n'),
    TE.encode('PUB a.b _INBOX.x.1 4\r\n+ACK\r\n'),
    TE.encode('HPUB w.ch.jobs.m _INBOX.yR1.7 31 34\r\nNATS/1.0\r\nNats-Msg-Id: abc7\r\n\r\n'),
    new Uint8Array([0, 1, 2]),
    TE.encode('\r\n'),
    TE.encode('PUB empty 0\r\n\r\n'),
  ]);
  assert.deepEqual(allFrames(f.log), new Uint8Array(expected));
  assert.equal(f.proto.outMsgs, 4, 'the client statistics count the messages');
  assert.equal(f.proto.outBytes, 3 + 4 + 34 + 0);
});

test('wire: a send window\'s publish carries its sequence in the reply subject and the message id', () => {
  const f = fake();
  const pubs = [0, 7, 10, 123_456_789].map((seq) => ({ subject: 'w.ch.jobs.m', data: TE.encode('d'), reply: '_INBOX.yR1', id: 'linkid', seq }));
  writePublishes(f.nc, f.proto, queue(pubs), f.fallback);
  const text = TD.decode(allFrames(f.log));
  assert.ok(text.startsWith('HPUB w.ch.jobs.m _INBOX.yR1.0 35 36\r\nNATS/1.0\r\nNats-Msg-Id: linkid.0\r\n\r\nd\r\n'), text);
  assert.deepEqual(parseFrames(allFrames(f.log)), pubs.map(meant));
  // the fallback gets the full strings too
  const g = fake({ maxPayload: 8 });
  writePublishes(g.nc, g.proto, queue([{ subject: 's', data: new Uint8Array(9), reply: 'r', id: 'i', seq: 42 }]), g.fallback);
  assert.deepEqual(g.log, [{ fallback: { subject: 's', data: new Uint8Array(9), reply: 'r.42', id: 'i.42' } }]);
});

test('wire: non-ASCII subjects are written as UTF-8, lengths in bytes', () => {
  const f = fake();
  writePublishes(f.nc, f.proto, queue([{ subject: 'ünï.çødé', data: TE.encode('x'), reply: 'r.✓', id: 'íd' }]), f.fallback);
  const got = parseFrames(allFrames(f.log));
  assert.deepEqual(got, [{ subject: 'ünï.çødé', data: TE.encode('x'), reply: 'r.✓', id: 'íd' }]);
});

test('wire: an oversize message goes to the fallback, in its place among the others', () => {
  const f = fake({ maxPayload: 16 });
  const big = new Uint8Array(17);
  writePublishes(
    f.nc,
    f.proto,
    queue([
      { subject: 's.1', data: TE.encode('one') },
      { subject: 's.2', data: big, reply: 'r' },
      { subject: 's.3', data: TE.encode('three') },
    ]),
    f.fallback,
  );
  assert.equal(f.log.length, 3);
  assert.deepEqual(parseFrames((f.log[0] as { frames: Uint8Array }).frames), [{ subject: 's.1', data: TE.encode('one') }]);
  assert.deepEqual(f.log[1], { fallback: { subject: 's.2', data: big, reply: 'r' } });
  assert.deepEqual(parseFrames((f.log[2] as { frames: Uint8Array }).frames), [{ subject: 's.3', data: TE.encode('three') }]);
  // the header counts against max_payload too
  const g = fake({ maxPayload: 40 });
  writePublishes(g.nc, g.proto, queue([{ subject: 's', data: new Uint8Array(10), id: 'x'.repeat(5) }]), g.fallback);
  assert.equal(g.log.length, 1);
  assert.ok('fallback' in g.log[0]!, '10 bytes of data + 32 of header exceed 40');
});

test('wire: a message id for a server without headers goes to the fallback', () => {
  const f = fake({ headers: false });
  writePublishes(f.nc, f.proto, queue([{ subject: 's.1', data: TE.encode('a'), reply: 'r', id: 'i', seq: 1 }, { subject: 's.2', data: TE.encode('b') }]), f.fallback);
  assert.deepEqual(f.log[0], { fallback: { subject: 's.1', data: TE.encode('a'), reply: 'r.1', id: 'i.1' } });
  assert.deepEqual(parseFrames((f.log[1] as { frames: Uint8Array }).frames), [{ subject: 's.2', data: TE.encode('b') }]);
});

test('wire: nothing is written on a closed or draining connection', () => {
  for (const opts of [{ closed: true }, { draining: true }]) {
    const f = fake(opts);
    assert.equal(writePublishes(f.nc, f.proto, queue([{ subject: 'a', data: TE.encode('x') }]), f.fallback), false);
    assert.deepEqual(f.log, []);
  }
});

test('wire: any mix of publishes reads back as the same messages (property)', () => {
  const token = fc.stringMatching(/^[A-Za-z0-9_$-]{1,12}$/);
  const uni = fc.string({ minLength: 1, maxLength: 6, unit: 'grapheme' }).filter((s) => !/[\s.]/u.test(s));
  const subject = fc.array(fc.oneof(token, uni), { minLength: 1, maxLength: 5 }).map((ts) => ts.join('.'));
  const pub = fc.record(
    {
      subject,
      data: fc.uint8Array({ maxLength: 300 }),
      reply: subject,
      id: fc.stringMatching(/^[A-Za-z0-9.]{1,40}$/),
      seq: fc.nat(),
    },
    { requiredKeys: ['subject', 'data'] },
  );
  fc.assert(
    fc.property(fc.array(pub, { maxLength: 40 }), (pubs) => {
      const f = fake();
      writePublishes(f.nc, f.proto, queue(pubs), f.fallback);
      assert.deepEqual(parseFrames(allFrames(f.log)), pubs.map(meant));
      assert.equal(f.proto.outMsgs, pubs.length);
    }),
  );
});

const server = useServer();

rtest('wire: a link on the real client writes its frames directly, and the server takes them', async () => {
  const a = await link(server());
  try {
    const proto = protocolOf(a.nc);
    assert.ok(proto !== undefined, 'the client has the protocol handler this fast path relies on');
    const name = uniq('wire');
    const [tx, rx] = await a.bounded<{ s: string }>(name, 10);
    // Watch both ways out: frames handed to the protocol handler, and the client's own publish.
    const frames: string[] = [];
    const published: string[] = [];
    const sendCommand = proto.sendCommand.bind(proto);
    const publish = a.nc.publish.bind(a.nc);
    proto.sendCommand = (cmd: Uint8Array) => {
      frames.push(new TextDecoder().decode(cmd));
      sendCommand(cmd);
    };
    a.nc.publish = (subject, ...rest) => {
      published.push(subject);
      publish(subject, ...rest);
    };
    try {
      await tx.send({ s: 'ünïcödé ✓' });
      assert.deepEqual(await rx.recv(), { s: 'ünïcödé ✓' });
    } finally {
      proto.sendCommand = sendCommand;
      a.nc.publish = publish;
    }
    const ours = (subject: string) => subject.includes(name);
    assert.ok(frames.some((f) => /^H?PUB /m.test(f) && f.includes(name)), `a PUB frame for the channel went through the protocol handler: ${frames.map((f) => f.slice(0, 60)).join(' | ')}`);
    assert.deepEqual(published.filter(ours), [], 'the message was not published through the client API');
    tx.close();
    rx.close();
  } finally {
    await a.close();
  }
});
