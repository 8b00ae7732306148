// Shared channels used from one thread: the core semantics (same as the
// in-loop channels), values, refusals, large messages, tokens, memory.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import {
  bounded,
  select,
  after,
  trySelect,
  send,
  ready,
  selectSync,
  TrySendError,
  TryRecvError,
  RecvError,
  SendError,
  SendTimeoutError,
  RecvTimeoutError,
  SendAbortedError,
  ClosedHandleError,
  InvalidValueError,
} from '../../src/index.js';
import {
  sharedBounded,
  sharedUnbounded,
  transfer,
  revive,
  reviveSender,
  discard,
  channelStats,
  sharedStats,
} from '../../src/shared/index.js';
import { guard, track, turn } from '../helpers.js';

test('sharedBounded: FIFO, capacity, trySend full / tryRecv empty, len and isFull', () => {
  const [tx, rx] = sharedBounded<number>(3);
  assert.equal(tx.capacity, 3);
  tx.trySend(1);
  tx.trySend(2);
  tx.trySend(3);
  assert.equal(tx.len, 3);
  assert.equal(tx.isFull, true);
  assert.throws(() => tx.trySend(4), (e: unknown) => e instanceof TrySendError && e.kind === 'full' && e.value === 4);
  assert.equal(tx.offer(5), false);
  assert.deepEqual([rx.tryRecv(), rx.tryRecv(), rx.tryRecv()], [1, 2, 3]);
  assert.throws(() => rx.tryRecv(), (e: unknown) => e instanceof TryRecvError && e.kind === 'empty');
  assert.equal(rx.poll('none'), 'none');
  assert.equal(rx.isEmpty, true);
  tx.close();
  assert.throws(() => rx.tryRecv(), (e: unknown) => e instanceof TryRecvError && e.kind === 'disconnected');
  rx.close();
});

test('send waits while full and completes when a receive makes room; recv waits for a send', async () => {
  const [tx, rx] = sharedBounded<string>(1);
  await tx.send('a');
  const second = track(tx.send('b'));
  await turn();
  assert.equal(second.settled, false);
  assert.equal(await rx.recv(), 'a');
  await guard(second.promise);
  assert.equal(await rx.recv(), 'b');
  const later = track(rx.recv());
  await turn();
  assert.equal(later.settled, false);
  await tx.send('c');
  assert.equal(await guard(later.promise), 'c');
  tx.close();
  rx.close();
});

test('disconnection: receivers drain then get RecvError; senders get SendError with the value', async () => {
  const [tx, rx] = sharedBounded<number>(4);
  const tx2 = tx.clone();
  await tx.send(1);
  tx.close();
  assert.equal(rx.isDisconnected, false);
  tx2.close();
  assert.equal(rx.isDisconnected, true);
  assert.equal(await rx.recv(), 1);
  await assert.rejects(rx.recv(), RecvError);
  const [tx3, rx3] = sharedBounded<number>(1);
  const waiting = tx3.send(1).then(() => tx3.send(2));
  await turn();
  rx3.close();
  await assert.rejects(waiting, (e: unknown) => e instanceof SendError && e.value === 2);
  tx3.close();
});

test('a pending recv wakes with RecvError when the last sender closes', async () => {
  const [tx, rx] = sharedBounded<number>(2);
  const p = rx.recv();
  await turn();
  tx.close();
  await assert.rejects(guard(p), RecvError);
  rx.close();
});

test('rendezvous (capacity 0): send completes once a receiver took the value', async () => {
  const [tx, rx] = sharedBounded<number>(0);
  assert.equal(tx.capacity, 0);
  assert.equal(tx.isFull, true);
  assert.throws(() => tx.trySend(1), (e: unknown) => e instanceof TrySendError && e.kind === 'full');
  const s = track(tx.send(7));
  await turn();
  assert.equal(s.settled, false, 'no receiver yet');
  assert.equal(await rx.recv(), 7);
  await guard(s.promise);
  // A receiver that waits first: the send completes.
  const r = rx.recv();
  await turn();
  await guard(tx.send(8));
  assert.equal(await r, 8);
  tx.close();
  rx.close();
});

test('rendezvous: an aborted or timed-out send takes its value back', async () => {
  const [tx, rx] = sharedBounded<number>(0);
  await assert.rejects(tx.sendTimeout(1, 20), (e: unknown) => e instanceof SendTimeoutError && e.kind === 'timeout' && e.value === 1);
  const ac = new AbortController();
  const p = tx.send(2, { signal: ac.signal });
  await turn();
  ac.abort();
  await assert.rejects(p, (e: unknown) => e instanceof SendAbortedError && e.value === 2);
  assert.throws(() => rx.tryRecv(), (e: unknown) => e instanceof TryRecvError && e.kind === 'empty');
  tx.close();
  rx.close();
});

test('unbounded: grows in shared memory; order is kept across growth', async () => {
  const [tx, rx] = sharedUnbounded<{ i: number; pad: string }>({ ringBytes: 1024 });
  assert.equal(tx.capacity, undefined);
  const N = 20000;
  for (let i = 0; i < N; i++) tx.trySend({ i, pad: 'x'.repeat(i % 50) });
  assert.equal(rx.len, N);
  assert.ok(channelStats(rx).ringBytes > 1024, 'the ring grew');
  for (let i = 0; i < N; i++) assert.equal(rx.tryRecv().i, i);
  assert.equal(rx.isEmpty, true);
  // Interleaved growth while consuming.
  for (let round = 0; round < 5; round++) {
    for (let i = 0; i < 3000; i++) tx.trySend({ i, pad: '' });
    for (let i = 0; i < 2500; i++) assert.equal((await rx.recv()).i, i);
    for (let i = 2500; i < 3000; i++) assert.equal(rx.tryRecv().i, i);
  }
  tx.close();
  rx.close();
});

test('unbounded at its maxBytes ceiling behaves as full', () => {
  const [tx, rx] = sharedUnbounded<string>({ ringBytes: 1024, maxBytes: 4096, inlineMax: 512 });
  let n = 0;
  while (tx.offer('y'.repeat(100))) n++;
  assert.ok(n > 10 && n < 100, `filled ${n}`);
  assert.throws(() => tx.trySend('z'), (e: unknown) => e instanceof TrySendError && e.kind === 'full');
  rx.tryRecv();
  assert.equal(tx.offer('again'), true);
  tx.close();
  rx.close();
});

const values: [string, unknown][] = [
  ['undefined', undefined],
  ['null', null],
  ['booleans', [true, false]],
  ['integers', [0, 1, -1, 127, -128, 2 ** 31 - 1, -(2 ** 31), 2 ** 53]],
  ['floats', [0.5, -0, NaN, Infinity, -Infinity, Math.PI]],
  ['strings', ['', 'a', 'héllo', '😀 emoji', 'x'.repeat(10000), '\ud800 lone']],
  ['bigints', [0n, -5n, 2n ** 64n, -(2n ** 100n)]],
  ['plain object', { id: 1, name: 'alice', tags: ['a', 'b'], nested: { deep: [1, { x: null }] } }],
  ['Date', new Date(1234567890)],
  ['typed arrays', [new Uint8Array([1, 2, 3]), new Float64Array([1.5, -2]), new BigInt64Array([5n]), new Int16Array(0)]],
  ['ArrayBuffer', new Uint8Array([9, 8, 7]).buffer],
  ['DataView', new DataView(new Uint8Array([4, 5]).buffer)],
  ['Map and Set', [new Map<unknown, unknown>([[1, 'a'], ['k', { v: 2 }]]), new Set([1, 'two'])]],
  ['RegExp', /ab+c/gi],
  ['Error', new RangeError('bad')],
  ['boxed', [Object(1), Object('s'), Object(true)]],
  ['sparse array', [1, , 3]], // eslint-disable-line no-sparse-arrays
  ['cycle', (() => { const o: Record<string, unknown> = { a: 1 }; o.self = o; return o; })()],
  ['class instance (as plain data)', new (class P { x = 1; y = 'z'; })()],
];

test('values: everything structured clone accepts round-trips', () => {
  const [tx, rx] = sharedBounded<unknown>(64);
  for (const [name, v] of values) {
    tx.trySend(v);
    const got = rx.tryRecv();
    assert.deepEqual(got, structuredClone(v), name);
  }
  tx.close();
  rx.close();
});

test('refusals: a function or symbol is refused at send with InvalidValueError carrying the value; the channel stays usable', async () => {
  const [tx, rx] = sharedBounded<unknown>(4);
  const fn = () => 1;
  for (const bad of [fn, Symbol('s'), { ok: 1, cb: fn }, new WeakMap(), Promise.resolve()]) {
    assert.throws(() => tx.trySend(bad), (e: unknown) => e instanceof InvalidValueError && e.value === bad && e.cause instanceof Error);
    await assert.rejects(tx.send(bad), (e: unknown) => e instanceof InvalidValueError && e.value === bad);
  }
  tx.trySend('fine');
  assert.equal(rx.tryRecv(), 'fine');
  // Oversize.
  const [stx, srx] = sharedBounded<unknown>(4, { maxMessageBytes: 1000 });
  const big = 'b'.repeat(5000);
  assert.throws(() => stx.trySend(big), (e: unknown) => e instanceof InvalidValueError && e.value === big && (e.cause as Error).name === 'MessageTooLargeError');
  stx.trySend('small');
  assert.equal(srx.tryRecv(), 'small');
  // Numbers have their own encoding path: the same limit holds for them.
  const [ntx, nrx] = sharedBounded<number>(4, { maxMessageBytes: 4 });
  assert.throws(() => ntx.trySend(0.5), (e: unknown) => e instanceof InvalidValueError && e.value === 0.5, 'a double is 9 bytes');
  ntx.trySend(7);
  assert.equal(nrx.tryRecv(), 7);
  for (const h of [tx, rx, stx, srx, ntx, nrx]) h.close();
});

test('large messages: larger than the ring travel out of line, whole', async () => {
  const [tx, rx] = sharedBounded<Uint8Array | string>(2, { ringBytes: 4096 });
  const big = new Uint8Array(3 << 20);
  for (let i = 0; i < big.length; i += 4096) big[i] = i & 0xff;
  const s = 'ü'.repeat(200000);
  const idle = channelStats(rx).bytes;
  const sending = (async () => {
    for (let i = 0; i < 5; i++) await tx.send(big);
    await tx.send(s);
  })();
  for (let i = 0; i < 5; i++) assert.deepEqual(await rx.recv(), big);
  assert.equal(await rx.recv(), s);
  await sending;
  assert.equal(channelStats(rx).bytes, idle, 'out-of-line blocks were freed');
  tx.close();
  rx.close();
});

test('select mixes shared channels, in-thread channels and timers', async () => {
  const [stx, srx] = sharedBounded<number>(1);
  const [ltx, lrx] = bounded<number>(1);
  const r1 = await select({ s: srx, l: lrx, t: after(20) });
  assert.equal(r1.case, 't');
  stx.trySend(1);
  const r2 = await select({ s: srx, l: lrx, t: after(1000) });
  assert.deepEqual([r2.case, r2.ok && 'value' in r2 ? r2.value : undefined], ['s', 1]);
  const p = select({ s: srx, l: lrx });
  await turn();
  ltx.trySend(2);
  const r3 = await guard(p);
  assert.equal(r3.case, 'l');
  // The shared case that lost consumed nothing.
  stx.trySend(3);
  assert.equal(srx.tryRecv(), 3);
  // Send cases.
  const r4 = trySelect({ out: send(stx, 9) });
  assert.equal(r4?.case, 'out');
  assert.equal(await ready({ srx }), 'srx');
  assert.equal(srx.tryRecv(), 9);
  for (const h of [stx, srx, ltx, lrx]) h.close();
});

test('cancellation: an aborted recv consumes nothing; a timed-out recv consumes nothing', async () => {
  const [tx, rx] = sharedBounded<number>(4);
  const ac = new AbortController();
  const p = rx.recv({ signal: ac.signal });
  await turn();
  ac.abort(new Error('stop'));
  await assert.rejects(p, /stop/);
  await assert.rejects(rx.recvTimeout(10), (e: unknown) => e instanceof RecvTimeoutError && e.kind === 'timeout');
  tx.trySend(1);
  assert.equal(rx.tryRecv(), 1);
  tx.close();
  rx.close();
});

test('closing a handle fails its pending operations with ClosedHandleError', async () => {
  const [tx, rx] = sharedBounded<number>(1);
  const p = rx.recv();
  await turn();
  rx.close();
  await assert.rejects(p, ClosedHandleError);
  tx.close();
});

test('blocking methods refuse the main thread and in-thread channels with a TypeError', () => {
  const [tx, rx] = sharedBounded<number>(1);
  assert.throws(() => rx.recvSync(), (e: unknown) => e instanceof TypeError && /worker thread/.test(e.message));
  assert.throws(() => tx.sendSync(1), TypeError);
  assert.throws(() => selectSync({ rx }), TypeError);
  const [ltx, lrx] = bounded<number>(1);
  assert.throws(() => lrx.recvSync(), (e: unknown) => e instanceof TypeError && /shared channels/.test(e.message));
  assert.throws(() => ltx.sendSync(1), TypeError);
  for (const h of [tx, rx, ltx, lrx]) h.close();
});

test('batches: trySendMany / sendMany / tryRecvMany / recvMany', async () => {
  const [tx, rx] = sharedBounded<number>(5);
  assert.equal(tx.trySendMany([1, 2, 3, 4, 5, 6, 7]), 5);
  const into: number[] = [];
  assert.equal(rx.tryRecvMany(into, 3), 3);
  const all = tx.sendMany([10, 11, 12, 13, 14, 15]);
  const got: number[] = [];
  while (got.length < 8) await rx.recvMany(got, 100);
  await all;
  assert.deepEqual([...into, ...got], [1, 2, 3, 4, 5, 10, 11, 12, 13, 14, 15]);
  rx.close();
  assert.throws(() => tx.trySendMany([1]), (e: unknown) => e instanceof TrySendError && e.kind === 'disconnected');
  tx.close();
  // In-loop channels have the batch methods too.
  const [ltx, lrx] = bounded<number>(2);
  assert.equal(ltx.trySendMany([1, 2, 3]), 2);
  assert.deepEqual([lrx.tryRecv(), lrx.tryRecv()], [1, 2]);
  ltx.close();
  lrx.close();
});

test('transfer tokens: revive once; replayed, forged and corrupted tokens are refused', () => {
  const [tx, rx] = sharedBounded<number>(2);
  const token = transfer(tx);
  assert.equal(tx.isClosed, true);
  assert.equal(rx.isDisconnected, false, 'the token holds the count');
  const tx2 = reviveSender<number>(token);
  tx2.trySend(5);
  assert.equal(rx.tryRecv(), 5);
  assert.throws(() => revive(token), (e: unknown) => e instanceof TypeError && /already revived/.test(e.message));
  assert.throws(() => revive({ weft: 'nope' }), TypeError);
  assert.throws(() => revive({ ...token, ticket: 999999 }), TypeError);
  assert.throws(() => revive({ ...token, serial: token.serial + 1 }), TypeError);
  assert.throws(() => revive({ ...token, ticket: -1 }), TypeError);
  assert.throws(() => revive({ ...token, arena: new SharedArrayBuffer(64) }), TypeError);
  const t2 = transfer(tx2);
  discard(t2);
  assert.equal(rx.isDisconnected, true, 'discarding the last sender token disconnects');
  assert.throws(() => discard(t2), TypeError);
  rx.close();
});

test('handles inside messages move: the sent handle closes, the received one is live', () => {
  const [tx, rx] = sharedBounded<{ reply: unknown }>(2);
  const [rtx, rrx] = sharedBounded<number>(1);
  tx.trySend({ reply: rtx });
  assert.equal(rtx.isClosed, true);
  assert.equal(rrx.isDisconnected, false, 'the message holds the count');
  const msg = rx.tryRecv() as { reply: import('../../src/index.js').Sender<number> };
  msg.reply.trySend(42);
  assert.equal(rrx.tryRecv(), 42);
  msg.reply.close();
  assert.equal(rrx.isDisconnected, true);
  // A failed send leaves the handle open.
  const [ftx, frx] = sharedBounded<unknown>(0);
  const [h] = sharedBounded<number>(1);
  assert.throws(() => ftx.trySend({ h }), TrySendError);
  assert.equal(h.isClosed, false);
  // Inside arrays too, at any depth.
  const [atx, arx] = sharedBounded<number>(1);
  tx.trySend({ reply: [[atx]] });
  assert.equal(atx.isClosed, true);
  const deep = rx.tryRecv() as { reply: [[import('../../src/index.js').Sender<number>]] };
  deep.reply[0][0].trySend(7);
  assert.equal(arx.tryRecv(), 7);
  deep.reply[0][0].close();
  // In-thread handles and closed handles are refused, and so is a Proxy around a handle (as structured clone refuses any Proxy).
  const [ltx] = bounded<number>(1);
  assert.throws(() => tx.trySend({ reply: ltx }), (e: unknown) => e instanceof InvalidValueError && /in-thread channel/.test(String(e.message)));
  const [ptx, prx] = sharedBounded<number>(1);
  assert.throws(() => tx.trySend({ reply: new Proxy(ptx, {}) }), (e: unknown) => e instanceof InvalidValueError && /Proxy/.test(String(e.message)));
  assert.equal(ptx.isClosed, false, 'a refused send leaves the handle open');
  assert.equal(rx.len, 0, 'nothing was queued');
  // Messages dropped with the last receiver release the handles they carry.
  const [dtx, drx] = sharedBounded<unknown>(2);
  const [ktx, krx] = sharedBounded<number>(1);
  dtx.trySend({ ktx });
  drx.close();
  assert.equal(krx.isDisconnected, true);
  for (const x of [tx, rx, rrx, arx, ltx, ptx, prx, ftx, frx, h, dtx, krx]) x.close();
});

test('memory: freed memory is reused; closing every handle frees the channel', () => {
  const before = sharedStats();
  for (let i = 0; i < 2000; i++) {
    const [tx, rx] = sharedBounded<string>(8);
    tx.trySend('x'.repeat(i % 100));
    tx.close();
    rx.close();
  }
  const after = sharedStats();
  assert.equal(after.channels, before.channels);
  assert.equal(after.bytesInUse, before.bytesInUse);
  assert.equal(after.arenaBytes, before.arenaBytes, 'no growth: blocks were reused');
});

test('memory: every channel header starts on a cache line, whatever was allocated before it', () => {
  // Messages out of line, of odd sizes and kept in flight, move the arena's top
  // by amounts that are not multiples of 64 between the channels made below.
  const [btx, brx] = sharedUnbounded<Uint8Array>({ inlineMax: 64 });
  const made: { close(): void }[] = [btx, brx];
  for (let i = 0; i < 24; i++) {
    btx.trySend(new Uint8Array(100 + 24 * i));
    const [tx, rx] = i % 2 === 0 ? sharedBounded<number>(i + 1) : sharedUnbounded<number>();
    const base = (tx as unknown as { core: { base: number } }).core.base;
    assert.equal(base % 64, 0, `channel ${i}: header at ${base}`);
    tx.trySend(i);
    assert.equal(rx.tryRecv(), i);
    made.push(tx, rx);
  }
  for (const h of made) h.close();
});

test('a pending async recv keeps the process alive; an idle channel does not', async () => {
  const { spawnSync } = await import('node:child_process');
  const mod = new URL('../../src/shared/index.js', import.meta.url).href;
  const keep = spawnSync(process.execPath, ['--input-type=module', '-e', `
    import { sharedBounded } from ${JSON.stringify(mod)};
    const [tx, rx] = sharedBounded(1);
    setTimeout(() => tx.trySend('late'), 100);
    console.log(await rx.recv());`], { encoding: 'utf8', timeout: 10000 });
  assert.equal(keep.stdout.trim(), 'late', keep.stderr);
  const idle = spawnSync(process.execPath, ['--input-type=module', '-e', `
    import { sharedBounded } from ${JSON.stringify(mod)};
    const [tx, rx] = sharedBounded(1);
    const ac = new AbortController();
    rx.recv({ signal: ac.signal }).catch(() => console.log('aborted'));
    setTimeout(() => ac.abort(), 50);`], { encoding: 'utf8', timeout: 10000 });
  assert.equal(idle.status, 0, idle.stderr);
  assert.equal(idle.stdout.trim(), 'aborted');
});

test('a word left in the ring by an earlier lap is never taken for the next message', () => {
  // Message bodies hold the sequence numbers the receiver will wait for a lap
  // later, at every byte alignment, so stale bytes line up with the commit
  // word of a record not written yet. The receiver must see "empty" there.
  for (let shift = 0; shift < 4; shift++) {
    const [tx, rx] = sharedBounded<{ n: number; b: Uint8Array }>(1000, { ringBytes: 256 });
    let sent = 0;
    let got = 0;
    let seed = 12345 + shift;
    const rand = () => (seed = (seed * 1103515245 + 12345) & 0x7fffffff) / 0x7fffffff;
    for (let it = 0; it < 20000; it++) {
      for (let k = Math.floor(rand() * 3); k > 0; k--) {
        const b = new Uint8Array(8 + Math.floor(rand() * 48));
        const dv = new DataView(b.buffer);
        for (let w = 0; (w + 1) * 4 + shift <= b.length; w++) dv.setInt32(w * 4 + shift, sent + 1 + w, true);
        if (tx.offer({ n: sent, b })) sent++;
      }
      for (let k = Math.floor(rand() * 3); k > 0; k--) {
        const v = rx.poll(undefined);
        if (v === undefined) {
          assert.equal(got, sent, 'empty only when everything sent was received');
          break;
        }
        assert.equal(v.n, got);
        got++;
      }
    }
    tx.close();
    rx.close();
  }
});
