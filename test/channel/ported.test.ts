/**
 * The cases a user would hit, ported by idea from Go's channel tests
 * (src/runtime/chan_test.go) and crossbeam-channel's test suite
 * (crossbeam-channel/tests/{array,list,zero,select,ready,after,tick,never,
 * iter,same_channel}.rs), rewritten for one JavaScript event loop: threads
 * become async tasks, `thread::sleep` becomes a macrotask turn or a short
 * timer used only to order events, and every wait on another task is
 * bounded by a generous hang guard. No assertion depends on how fast the
 * machine is; timer tests check ordering and at-least semantics only.
 */
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { getEventListeners } from 'node:events';
import { spawnSync } from 'node:child_process';
import {
  after,
  at,
  bounded,
  configure,
  never,
  ready,
  recv,
  select,
  send,
  tick,
  tryReady,
  trySelect,
  unbounded,
  ClosedHandleError,
  RecvError,
  RecvTimeoutError,
  SelectTimeoutError,
  SendError,
  SendTimeoutError,
  TryRecvError,
  TrySendError,
  type Receiver,
  type SelectCases,
  type Sender,
} from '../../src/index.js';

// These tests drop handles at the end of their scope like the Rust originals
// do; the forgotten-handle backstop and its warning are tested in leaks.test.ts.
configure({ leakWarnings: false });

// ---------------------------------------------------------------------------
// Helpers

/** Lets pending microtasks and one macrotask turn run. */
const turn = (): Promise<void> => new Promise((resolve) => setImmediate(resolve));
/** Waits `ms` milliseconds: used only to order events, never to measure speed. */
const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

/** `p`, or a rejection naming `what` when it does not settle within `ms` (a hang guard). */
async function within<T>(p: Promise<T>, what = 'operation', ms = 5000): Promise<T> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  const hang = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`${what} did not settle within ${ms} ms`)), ms);
  });
  try {
    return await Promise.race([p, hang]);
  } finally {
    clearTimeout(timer);
  }
}

/** Follows a promise so a test can ask synchronously whether it settled. */
function track<T>(p: Promise<T>): { settled: boolean; value?: T; error?: unknown; promise: Promise<T> } {
  const s: { settled: boolean; value?: T; error?: unknown; promise: Promise<T> } = { settled: false, promise: p };
  p.then(
    (v) => {
      s.settled = true;
      s.value = v;
    },
    (e: unknown) => {
      s.settled = true;
      s.error = e;
    },
  );
  return s;
}

function activeTimers(): number {
  return process.getActiveResourcesInfo().filter((r) => r === 'Timeout').length;
}

const isEmpty = (e: unknown): boolean => e instanceof TryRecvError && e.kind === 'empty';
const isRecvDisconnected = (e: unknown): boolean => e instanceof TryRecvError && e.kind === 'disconnected';
const isFull = (e: unknown): boolean => e instanceof TrySendError && e.kind === 'full';
const isRecvTimeout = (e: unknown): boolean => e instanceof RecvTimeoutError && e.kind === 'timeout';

/** A loose view of a select result. */
type AnyResult = { case: string; ok: boolean; value?: unknown; error?: unknown };
const sel = (cases: SelectCases, options?: Parameters<typeof select>[1]): Promise<AnyResult> =>
  select(cases, options) as unknown as Promise<AnyResult>;
const trySel = (cases: SelectCases, options?: Parameters<typeof trySelect>[1]): AnyResult | undefined =>
  trySelect(cases, options) as unknown as AnyResult | undefined;

interface Flavor {
  name: string;
  cap: number | undefined;
  make<T>(): [Sender<T>, Receiver<T>];
}
const flavor = (cap: number | undefined): Flavor => ({
  name: cap === undefined ? 'unbounded' : `bounded(${cap})`,
  cap,
  make<T>() {
    return cap === undefined ? unbounded<T>() : bounded<T>(cap);
  },
});
const FLAVORS: Flavor[] = [flavor(0), flavor(1), flavor(3), flavor(undefined)];
const BUFFERED: Flavor[] = [flavor(1), flavor(3), flavor(100), flavor(undefined)];

/** Runs an ESM snippet in a fresh `node --expose-gc`, for tests that need a clean heap. */
function runScript(script: string): { stdout: string; stderr: string; status: number | null } {
  const res = spawnSync(process.execPath, ['--expose-gc', '--input-type=module', '-e', script], {
    encoding: 'utf8',
    timeout: 60_000,
  });
  return { stdout: res.stdout, stderr: res.stderr, status: res.status };
}
const indexUrl = JSON.stringify(new URL('../../src/index.js', import.meta.url).href);

// ===========================================================================
describe('Go runtime/chan_test.go', () => {
  test('TestChan: blocking, non-blocking, closing, FIFO and len/cap, for capacities 0–20 and 100', async () => {
    for (const cap of [...Array.from({ length: 21 }, (_, i) => i), 100]) {
      const where = `cap ${cap}`;
      {
        // A receive from an empty channel waits; a non-blocking one does not.
        const [tx, rx] = bounded<number>(cap);
        const r1 = track(rx.recv());
        const r2 = track(rx.recv());
        await turn();
        assert.equal(r1.settled || r2.settled, false, `${where}: receive from an empty channel completed`);
        assert.throws(() => rx.tryRecv(), isEmpty);
        assert.equal(trySel({ rx }), undefined, `${where}: non-blocking select received from an empty channel`);
        await tx.send(1);
        await tx.send(2);
        assert.deepEqual(await within(Promise.all([r1.promise, r2.promise])), [1, 2], `${where}: waiting receivers are served FIFO`);
      }
      {
        // A send to a full channel waits; a non-blocking one does not.
        const [tx, rx] = bounded<number>(cap);
        for (let i = 0; i < cap; i++) await tx.send(i);
        const s = track(tx.send(cap));
        await turn();
        assert.equal(s.settled, false, `${where}: send to a full channel completed`);
        assert.equal(trySel({ s: send(tx, -1) }), undefined, `${where}: non-blocking select sent to a full channel`);
        assert.equal(rx.len, cap);
        assert.equal(await rx.recv(), 0, `${where}: the oldest value (the waiting sender's, for cap 0)`);
        await within(s.promise, `${where}: the waiting send`);
      }
      {
        // After the last Sender closes, the buffered values come out in order, then the end.
        const [tx, rx] = bounded<number>(cap);
        for (let i = 0; i < cap; i++) await tx.send(i);
        tx.close();
        for (let i = 0; i < cap; i++) assert.equal(await rx.recv(), i, where);
        await assert.rejects(rx.recv(), RecvError);
        const r = await sel({ rx });
        assert.equal(r.case, 'rx');
        assert.equal(r.ok, false);
        assert.ok(r.error instanceof RecvError);
      }
      {
        // Closing unblocks a waiting receive.
        const [tx, rx] = bounded<number>(cap);
        const r = track(rx.recv());
        await turn();
        tx.close();
        await assert.rejects(within(r.promise), RecvError);
      }
      {
        // 100 values from another task arrive uncorrupted, in FIFO order.
        const [tx, rx] = bounded<number>(cap);
        const producer = (async () => {
          for (let i = 0; i < 100; i++) await tx.send(i);
        })();
        for (let i = 0; i < 100; i++) assert.equal(await within(rx.recv()), i, where);
        await producer;
        // 4 producers × 1000 values and 4 consumers: every value arrives 4 times.
        const P = 4;
        const L = 1000;
        const producers = Array.from({ length: P }, async () => {
          for (let i = 0; i < L; i++) await tx.send(i);
        });
        const consumers = Array.from({ length: P }, async () => {
          const got = new Map<number, number>();
          for (let i = 0; i < L; i++) {
            const v = await rx.recv();
            got.set(v, (got.get(v) ?? 0) + 1);
          }
          return got;
        });
        const maps = await within(Promise.all(consumers), `${where}: consumers`);
        await within(Promise.all(producers), `${where}: producers`);
        const total = new Map<number, number>();
        for (const m of maps) for (const [k, v] of m) total.set(k, (total.get(k) ?? 0) + v);
        assert.equal(total.size, L, where);
        for (const [k, v] of total) assert.equal(v, P, `${where}: value ${k} received ${v} times`);
      }
      {
        // len/cap
        const [tx, rx] = bounded<number>(cap);
        assert.equal(rx.len, 0);
        assert.equal(tx.capacity, cap);
        for (let i = 0; i < cap; i++) tx.trySend(i);
        assert.equal(tx.len, cap);
        assert.equal(rx.capacity, cap);
      }
    }
  });

  test('TestNonblockRecvRace: a buffered value stays receivable by a non-blocking select while the channel is closed', async () => {
    for (let i = 0; i < 10_000; i++) {
      const [tx, rx] = bounded<number>(1);
      tx.trySend(1);
      const ticks = i % 3;
      const g = (async () => {
        for (let k = 0; k < ticks; k++) await null;
        return trySel({ rx });
      })();
      for (let k = 0; k < (i >> 2) % 3; k++) await null;
      tx.close();
      const r = await g;
      assert.ok(r !== undefined && r.ok && r.value === 1, `iteration ${i}: the channel was not ready`);
      await assert.rejects(rx.recv(), RecvError);
    }
  });

  test('TestNonblockSelectRace / Race2: a non-blocking select over two channels never misses while one is always ready', async () => {
    for (const closeSecond of [false, true]) {
      for (let i = 0; i < 5000; i++) {
        const [tx1, rx1] = bounded<number>(1);
        const [tx2, rx2] = closeSecond ? bounded<number>(0) : bounded<number>(1);
        tx1.trySend(1);
        const j = i % 4;
        const other = (async () => {
          for (let k = 0; k < j; k++) await null;
          return trySel({ rx1, rx2 });
        })();
        for (let k = 0; k < (i >> 2) % 3; k++) await null;
        if (closeSecond) tx2.close();
        else tx2.trySend(1);
        for (let k = 0; k < (i >> 4) % 3; k++) await null;
        trySel({ rx1 });
        assert.notEqual(await other, undefined, `iteration ${i}: no channel was ready`);
      }
    }
  });

  test('TestSelfSelect: a select sending and receiving on the same channel never receives its own value (rendezvous), and never deadlocks', async () => {
    for (const cap of [0, 10]) {
      const [tx, rx] = bounded<number>(cap);
      const tasks = [0, 1].map(async (p) => {
        for (let i = 0; i < 1000; i++) {
          const r =
            p === 0 || i % 2 === 0 ? await sel({ s: send(tx, p), r: rx }) : await sel({ r: rx, s: send(tx, p) });
          if (r.case === 'r' && cap === 0) assert.notEqual(r.value, p, 'self receive');
        }
      });
      await within(Promise.all(tasks), `cap ${cap}: the two selecting tasks`);
    }
  });

  test('TestSelectStress: plain senders/receivers and selects over 4 channels (caps 0, 0, 2, 3) all finish', async () => {
    const N = 10_000;
    const caps = [0, 0, 2, 3];
    const c = caps.map((cap) => bounded<number>(cap));
    const tasks: Promise<void>[] = [];
    for (let k = 0; k < 4; k++) {
      tasks.push(
        (async () => {
          for (let i = 0; i < N; i++) await c[k]![0].send(0);
        })(),
      );
      tasks.push(
        (async () => {
          for (let i = 0; i < N; i++) await c[k]![1].recv();
        })(),
      );
    }
    tasks.push(
      (async () => {
        const n = [0, 0, 0, 0];
        for (let i = 0; i < 4 * N; i++) {
          const cases: SelectCases = {};
          for (const k of [3, 2, 0, 1]) cases[`c${k}`] = n[k]! < N ? send(c[k]![0] as Sender<unknown>, 0) : never();
          const r = await sel(cases);
          n[Number(r.case.slice(1))]!++;
        }
        assert.deepEqual(n, [N, N, N, N]);
      })(),
    );
    tasks.push(
      (async () => {
        const n = [0, 0, 0, 0];
        for (let i = 0; i < 4 * N; i++) {
          const cases: SelectCases = {};
          for (const k of [0, 1, 2, 3]) cases[`c${k}`] = n[k]! < N ? (c[k]![1] as Receiver<unknown>) : never();
          const r = await sel(cases);
          n[Number(r.case.slice(1))]!++;
        }
        assert.deepEqual(n, [N, N, N, N]);
      })(),
    );
    await within(Promise.all(tasks), 'the stress tasks', 30_000);
  });

  test('TestChanSendInterface: a non-blocking select with send cases on a full channel sends nothing', () => {
    const [tx, rx] = bounded<object>(1);
    const m = {};
    tx.trySend(m);
    assert.equal(trySel({ a: send(tx, m) }), undefined);
    assert.equal(trySel({ a: send(tx, m), b: send(tx, {}) }), undefined);
    assert.equal(rx.len, 1);
    assert.equal(rx.tryRecv(), m);
    assert.throws(() => rx.tryRecv(), isEmpty);
  });

  /** Go's TestPseudoRandomSend: `select { case c <- 1: case c <- 0: }` n times, the receiver yielding before each receive. */
  async function pseudoRandomSend(cap: number): Promise<{ zeros: number; ones: number }> {
    const n = 100;
    const [tx, rx] = bounded<number>(cap);
    const got: number[] = [];
    const receiver = (async () => {
      for (let i = 0; i < n; i++) {
        await turn(); // runtime.Gosched()
        got.push(await rx.recv());
      }
    })();
    for (let i = 0; i < n; i++) await within(sel({ one: send(tx, 1), zero: send(tx, 0) }));
    await within(receiver);
    const ones = got.filter((v) => v === 1).length;
    return { zeros: n - ones, ones };
  }

  test('TestPseudoRandomSend, cap 100: a select between two sends picks pseudo-randomly', async () => {
    const { zeros, ones } = await pseudoRandomSend(100);
    assert.ok(zeros > 10 && ones > 10, `want pseudo-random, got ${zeros} zeros and ${ones} ones`);
  });

  test('TestPseudoRandomSend, cap 0: a select that has to wait also picks pseudo-randomly between its ready cases', async () => {
    // The receiver yields first, so the select parks both send cases and the
    // receiver then finds both parked on the channel. Go enqueues a select's
    // cases in a random order, crossbeam shuffles them before registering;
    // either way both values must show up.
    const { zeros, ones } = await pseudoRandomSend(0);
    assert.ok(zeros > 10 && ones > 10, `want pseudo-random, got ${zeros} zeros and ${ones} ones`);
  });

  test('TestMultiConsumer: 23 workers between two channels lose and duplicate nothing', async () => {
    const nwork = 23;
    const niter = 27_183;
    const pn = [2, 3, 7, 11, 13, 17, 19, 23, 27, 31];
    const [qtx, q] = bounded<number>(nwork * 3);
    const [rtx, r] = bounded<number>(nwork * 3);
    const workers = Array.from({ length: nwork }, (_, w) => {
      const out = rtx.clone();
      return (async () => {
        for await (const v of q) {
          if (pn[w % pn.length] === v) await null; // mess with the FIFO-ish nature of range
          await out.send(v);
        }
        out.close();
      })();
    });
    rtx.close();
    let expect = 0;
    const feeder = (async () => {
      for (let i = 0; i < niter; i++) {
        const v = pn[i % pn.length]!;
        expect += v;
        await qtx.send(v);
      }
      qtx.close();
    })();
    let n = 0;
    let s = 0;
    await within(
      (async () => {
        for await (const v of r) {
          n++;
          s += v;
        }
      })(),
      'the consumer',
      30_000,
    );
    await within(Promise.all([feeder, ...workers]));
    assert.equal(n, niter);
    assert.equal(s, expect);
  });

  test('TestSelectDuplicateChannel: a select parked twice on one channel leaves it clean once woken elsewhere', async () => {
    const [ctx, c] = bounded<number>(0);
    const [dtx, d] = bounded<number>(0);
    const [etx, e] = bounded<number>(0);
    const a = (async () => {
      await sel({ c1: c, c2: c, d });
      await etx.send(9);
    })();
    await turn(); // A is queued on c first
    const b = (async () => c.recv())();
    await turn(); // B is queued on c after A
    await within(dtx.send(7), 'send on d'); // wakes A, which must dequeue itself from c
    assert.equal(await within(e.recv(), 'A reporting back'), 9);
    await within(ctx.send(8), 'send on c'); // must wake B, not A's stale waiters
    assert.equal(await within(b, 'B'), 8);
    await a;
  });

  test('TestSelectFairness: over 10,000 selects on two always-ready channels each is chosen 45–55% of the time', async () => {
    const trials = 10_000;
    const [tx1, c1] = bounded<number>(trials + 1);
    const [tx2, c2] = bounded<number>(trials + 1);
    for (let i = 0; i < trials + 1; i++) {
      tx1.trySend(1);
      tx2.trySend(2);
    }
    const [, c3] = bounded<number>(0);
    const [, c4] = bounded<number>(0);
    let cnt1 = 0;
    let cnt2 = 0;
    for (let i = 0; i < trials; i++) {
      const r = await sel({ c3, c4, c1, c2 });
      if (r.value === 1) cnt1++;
      else if (r.value === 2) cnt2++;
      else assert.fail(`unexpected ${JSON.stringify(r)}`);
    }
    // 45–55% is 10 standard deviations of a fair coin over 10,000 trials.
    assert.ok(cnt1 >= 4500 && cnt1 <= 5500, `c1 chosen ${cnt1} times of ${trials}`);
    assert.ok(cnt2 >= 4500 && cnt2 <= 5500, `c2 chosen ${cnt2} times of ${trials}`);
  });

  test('biased select always takes the first listed ready case', async () => {
    const [tx1, c1] = unbounded<number>();
    const [tx2, c2] = unbounded<number>();
    const [, c3] = bounded<number>(0);
    const [otx, out] = bounded<number>(1000);
    for (let i = 0; i < 1000; i++) {
      tx1.trySend(1);
      tx2.trySend(2);
    }
    for (let i = 0; i < 1000; i++) {
      const r = await sel({ c3, c1, c2, s: send(otx, i) }, { biased: true });
      assert.equal(r.case, 'c1');
    }
    for (let i = 0; i < 1000; i++) {
      assert.equal(trySel({ s: send(otx, i), c2, c3 }, { biased: true })?.case, 's');
    }
    assert.equal(c2.len, 1000, 'the later cases were never touched');
    assert.equal(out.len, 1000);
    // Biased readiness too.
    assert.equal(tryReady({ c3, c2, c1 }, { biased: true }), 'c2');
    assert.equal(await ready({ c3, c2, c1 }, { biased: true }), 'c2');
  });
});

// ===========================================================================
describe('crossbeam-channel array.rs / list.rs / zero.rs', () => {
  test('smoke: send then tryRecv / recv, then empty and recvTimeout times out (every flavor)', async () => {
    for (const f of BUFFERED) {
      const [tx, rx] = f.make<number>();
      tx.trySend(7);
      assert.equal(rx.tryRecv(), 7);
      await tx.send(8);
      assert.equal(await rx.recv(), 8);
      assert.throws(() => rx.tryRecv(), isEmpty);
      await assert.rejects(rx.recvTimeout(5), isRecvTimeout);
    }
    // zero.rs smoke: nobody receives, so nothing can be sent.
    const [tx, rx] = bounded<number>(0);
    assert.throws(() => tx.trySend(7), (e: unknown) => isFull(e) && (e as TrySendError<number>).value === 7);
    assert.throws(() => rx.tryRecv(), isEmpty);
    await assert.rejects(rx.recvTimeout(5), isRecvTimeout);
  });

  test('capacity: bounded(n) reports n on both ends, unbounded reports undefined', () => {
    for (let i = 0; i < 10; i++) {
      const [tx, rx] = bounded<void>(i);
      assert.equal(tx.capacity, i);
      assert.equal(rx.capacity, i);
    }
    const [tx, rx] = unbounded<void>();
    assert.equal(tx.capacity, undefined);
    assert.equal(rx.capacity, undefined);
    for (const bad of [-1, 1.5, NaN, Infinity, 2 ** 60]) assert.throws(() => bounded(bad), RangeError);
  });

  test('len_empty_full: bounded(2), unbounded and bounded(0)', async () => {
    {
      const [tx, rx] = bounded<void>(2);
      for (const h of [tx, rx]) assert.deepEqual([h.len, h.isEmpty, h.isFull], [0, true, false]);
      tx.trySend();
      for (const h of [tx, rx]) assert.deepEqual([h.len, h.isEmpty, h.isFull], [1, false, false]);
      tx.trySend();
      for (const h of [tx, rx]) assert.deepEqual([h.len, h.isEmpty, h.isFull], [2, false, true]);
      rx.tryRecv();
      for (const h of [tx, rx]) assert.deepEqual([h.len, h.isEmpty, h.isFull], [1, false, false]);
    }
    {
      const [tx, rx] = unbounded<void>();
      for (const h of [tx, rx]) assert.deepEqual([h.len, h.isEmpty, h.isFull], [0, true, false]);
      tx.trySend();
      for (const h of [tx, rx]) assert.deepEqual([h.len, h.isEmpty, h.isFull], [1, false, false]);
      rx.tryRecv();
      for (const h of [tx, rx]) assert.deepEqual([h.len, h.isEmpty, h.isFull], [0, true, false]);
    }
    {
      // zero.rs: always empty and full, even with a sender waiting.
      const [tx, rx] = bounded<number>(0);
      for (const h of [tx, rx]) assert.deepEqual([h.len, h.isEmpty, h.isFull], [0, true, true]);
      const s = tx.send(1);
      for (const h of [tx, rx]) assert.deepEqual([h.len, h.isEmpty, h.isFull], [0, true, true]);
      assert.equal(rx.tryRecv(), 1);
      await s;
    }
  });

  test('try_recv: empty, then the value sent later, then disconnected (every flavor)', async () => {
    for (const f of FLAVORS) {
      const [tx, rx] = f.make<number>();
      assert.throws(() => rx.tryRecv(), isEmpty);
      const producer = (async () => {
        await turn();
        await tx.send(7);
        tx.close();
      })();
      let got: number | undefined;
      for (let i = 0; i < 1000 && got === undefined; i++) {
        await turn();
        try {
          got = rx.tryRecv();
        } catch (e) {
          assert.ok(isEmpty(e), f.name);
        }
      }
      assert.equal(got, 7, f.name);
      await within(producer);
      assert.throws(() => rx.tryRecv(), isRecvDisconnected);
    }
  });

  test('recv: waits for values sent later, then ends with RecvError (every flavor)', async () => {
    for (const f of FLAVORS) {
      const [tx, rx] = f.make<number>();
      const consumer = (async () => {
        assert.equal(await rx.recv(), 7);
        await turn();
        assert.equal(await rx.recv(), 8);
        await turn();
        assert.equal(await rx.recv(), 9);
        await assert.rejects(rx.recv(), RecvError);
      })();
      await turn();
      await tx.send(7);
      await tx.send(8);
      await tx.send(9);
      tx.close();
      await within(consumer, f.name);
    }
  });

  test('recv_timeout: times out, then gets the value sent meanwhile, then reports the disconnection (every flavor)', async () => {
    for (const f of FLAVORS) {
      const [tx, rx] = f.make<number>();
      await assert.rejects(rx.recvTimeout(5), isRecvTimeout);
      setTimeout(() => {
        void tx.send(7).then(() => tx.close());
      }, 5);
      assert.equal(await rx.recvTimeout(10_000), 7);
      await assert.rejects(rx.recvTimeout(10_000), (e: unknown) => e instanceof RecvTimeoutError && e.kind === 'disconnected');
    }
  });

  test('recv_timeout_nonempty_expired: a zero timeout still takes a ready message', async () => {
    const [tx, rx] = unbounded<number>();
    tx.trySend(5);
    assert.equal(await rx.recvTimeout(0), 5);
    await assert.rejects(rx.recvTimeout(0), isRecvTimeout);
  });

  test('try_send: full with the value handed back, room again after a receive, then disconnected', () => {
    const [tx, rx] = bounded<number>(1);
    tx.trySend(1);
    assert.throws(() => tx.trySend(2), (e: unknown) => isFull(e) && (e as TrySendError<number>).value === 2);
    assert.equal(tx.offer(2), false);
    assert.equal(rx.tryRecv(), 1);
    assert.throws(() => rx.tryRecv(), isEmpty);
    tx.trySend(3);
    rx.close();
    assert.throws(
      () => tx.trySend(4),
      (e: unknown) => e instanceof TrySendError && e.kind === 'disconnected' && e.value === 4,
    );
    assert.throws(() => tx.offer(5), (e: unknown) => e instanceof TrySendError && e.kind === 'disconnected' && e.value === 5);
  });

  test('try_send on a rendezvous channel succeeds only while a receiver waits', async () => {
    const [tx, rx] = bounded<number>(0);
    assert.throws(() => tx.trySend(1), isFull);
    const r = rx.recv();
    tx.trySend(2);
    assert.equal(await r, 2);
    assert.throws(() => tx.trySend(3), isFull);
    rx.close();
    assert.throws(() => tx.trySend(4), (e: unknown) => e instanceof TrySendError && e.kind === 'disconnected');
  });

  test('send: a sender waits for room (bounded(1)) or for the receiver (bounded(0))', async () => {
    for (const cap of [0, 1]) {
      const [tx, rx] = bounded<number>(cap);
      const log: string[] = [];
      const producer = (async () => {
        for (const v of [7, 8, 9, 10]) {
          await tx.send(v);
          log.push(`sent ${v}`);
        }
      })();
      await turn();
      for (const v of [7, 8, 9]) {
        log.push(`recv ${v}`);
        assert.equal(await rx.recv(), v);
        await turn();
      }
      await turn();
      if (cap === 0) {
        // Every send completed only after its value was taken; the last one still waits.
        assert.deepEqual(log, ['recv 7', 'sent 7', 'recv 8', 'sent 8', 'recv 9', 'sent 9']);
      } else {
        assert.deepEqual(log, ['sent 7', 'recv 7', 'sent 8', 'recv 8', 'sent 9', 'recv 9', 'sent 10']);
      }
      rx.close();
      if (cap === 0) await assert.rejects(within(producer), (e: unknown) => e instanceof SendError && e.value === 10);
      else await producer;
    }
  });

  test('send_timeout: succeeds with room, times out handing the value back, fails once receivers are gone', async () => {
    const [tx, rx] = bounded<number>(2);
    await tx.sendTimeout(1, 1000);
    await tx.sendTimeout(2, 1000);
    await assert.rejects(tx.sendTimeout(3, 5), (e: unknown) => e instanceof SendTimeoutError && e.kind === 'timeout' && e.value === 3);
    const consumer = (async () => {
      await sleep(5);
      assert.equal(await rx.recv(), 1);
      await sleep(5);
      assert.equal(await rx.recv(), 2);
      assert.equal(await rx.recv(), 4);
      rx.close();
    })();
    await sleep(10);
    await tx.sendTimeout(4, 10_000);
    await within(consumer);
    await assert.rejects(tx.send(5), (e: unknown) => e instanceof SendError && e.value === 5);
    await assert.rejects(tx.sendTimeout(6, 10), (e: unknown) => e instanceof SendTimeoutError && e.kind === 'disconnected' && e.value === 6);
  });

  test('send_after_disconnect / recv_after_disconnect (every flavor)', async () => {
    for (const f of BUFFERED) {
      {
        const [tx, rx] = f.make<number>();
        const sendThree = async () => {
          for (const v of [1, 2, 3]) await tx.send(v);
        };
        if (f.cap !== undefined && f.cap < 3) {
          const drain = (async () => {
            for (let k = 0; k < 3; k++) await rx.recv();
          })();
          await sendThree();
          await drain;
        } else await sendThree();
        rx.close();
        await assert.rejects(tx.send(4), (e: unknown) => e instanceof SendError && e.value === 4);
        assert.throws(() => tx.trySend(5), (e: unknown) => e instanceof TrySendError && e.kind === 'disconnected' && e.value === 5);
        await assert.rejects(tx.sendTimeout(6, 500), (e: unknown) => e instanceof SendTimeoutError && e.kind === 'disconnected' && e.value === 6);
      }
      if (f.cap === undefined || f.cap >= 3) {
        const [tx, rx] = f.make<number>();
        for (const v of [1, 2, 3]) await tx.send(v);
        tx.close();
        assert.equal(await rx.recv(), 1);
        assert.equal(await rx.recv(), 2);
        assert.equal(await rx.recv(), 3);
        await assert.rejects(rx.recv(), RecvError);
      }
    }
  });

  test('len: exact while filling and draining a bounded(1000), never above capacity with two tasks', async () => {
    const CAP = 1000;
    const COUNT = 25_000;
    const [tx, rx] = bounded<number>(CAP);
    for (let k = 0; k < CAP / 10; k++) {
      for (let i = 0; i < 50; i++) {
        await tx.send(i);
        assert.equal(tx.len, i + 1);
      }
      for (let i = 0; i < 50; i++) {
        await rx.recv();
        assert.equal(rx.len, 50 - i - 1);
      }
    }
    for (let i = 0; i < CAP; i++) {
      await tx.send(i);
      assert.equal(tx.len, i + 1);
    }
    for (let i = 0; i < CAP; i++) await rx.recv();
    assert.equal(rx.len, 0);
    await within(
      Promise.all([
        (async () => {
          for (let i = 0; i < COUNT; i++) {
            assert.equal(await rx.recv(), i);
            assert.ok(rx.len <= CAP);
          }
        })(),
        (async () => {
          for (let i = 0; i < COUNT; i++) {
            await tx.send(i);
            assert.ok(tx.len <= CAP);
          }
        })(),
      ]),
    );
    assert.equal(tx.len, 0);
  });

  test('disconnect_wakes_sender / disconnect_wakes_receiver (every flavor)', async () => {
    for (const f of FLAVORS) {
      if (f.cap !== undefined) {
        const [tx, rx] = f.make<void>();
        for (let i = 0; i < f.cap; i++) await tx.send();
        const s = track(tx.send());
        await turn();
        assert.equal(s.settled, false);
        rx.close();
        await assert.rejects(within(s.promise), SendError);
      }
      const [tx, rx] = f.make<void>();
      const r = track(rx.recv());
      await turn();
      assert.equal(r.settled, false);
      tx.close();
      await assert.rejects(within(r.promise), RecvError);
    }
  });

  test('spsc: 50,000 messages in order, then the end (every flavor)', async () => {
    const COUNT = 50_000;
    for (const f of FLAVORS) {
      const [tx, rx] = f.make<number>();
      const consumer = (async () => {
        for (let i = 0; i < COUNT; i++) assert.equal(await rx.recv(), i);
        await assert.rejects(rx.recv(), RecvError);
      })();
      for (let i = 0; i < COUNT; i++) await tx.send(i);
      tx.close();
      await within(consumer, f.name, 30_000);
    }
  });

  test('mpmc: 4 producers and 4 consumers, every value received exactly 4 times (every flavor)', async () => {
    const COUNT = 10_000;
    const T = 4;
    for (const f of FLAVORS) {
      const [tx, rx] = f.make<number>();
      const seen = new Uint8Array(COUNT);
      const tasks = [
        ...Array.from({ length: T }, async () => {
          for (let i = 0; i < COUNT; i++) seen[await rx.recv()]!++;
        }),
        ...Array.from({ length: T }, async () => {
          for (let i = 0; i < COUNT; i++) await tx.send(i);
        }),
      ];
      await within(Promise.all(tasks), f.name, 30_000);
      assert.ok(seen.every((n) => n === T), f.name);
    }
  });

  test('stress_oneshot: 10,000 one-message channels, receiver and sender racing to start (every flavor)', async () => {
    for (const f of FLAVORS) {
      for (let i = 0; i < 10_000; i++) {
        const [tx, rx] = f.make<number>();
        const first = i % 2 === 0;
        const r = first ? rx.recv() : undefined;
        const s = tx.send(i);
        assert.equal(await (r ?? rx.recv()), i);
        await s;
      }
    }
  });

  test('stress_iter: request/response, draining responses with tryIter', async () => {
    const COUNT = 50_000;
    const [requestTx, requestRx] = bounded<void>(1);
    const [responseTx, responseRx] = bounded<number>(1);
    const asker = (async () => {
      let count = 0;
      for (;;) {
        for (const x of responseRx.tryIter()) {
          count += x;
          if (count === COUNT) {
            responseRx.close();
            requestTx.close();
            return count;
          }
        }
        await requestTx.send();
      }
    })();
    for await (const _ of requestRx) {
      try {
        await responseTx.send(1);
      } catch (e) {
        assert.ok(e instanceof SendError);
        break;
      }
    }
    assert.equal(await within(asker), COUNT);
  });

  test('stress_timeout_two_threads: sendTimeout/recvTimeout retry loops keep order (bounded(2))', async () => {
    const COUNT = 100;
    const [tx, rx] = bounded<number>(2);
    const producer = (async () => {
      for (let i = 0; i < COUNT; i++) {
        if (i % 10 === 0) await sleep(3);
        for (;;) {
          try {
            await tx.sendTimeout(i, 1);
            break;
          } catch (e) {
            assert.ok(e instanceof SendTimeoutError && e.kind === 'timeout' && e.value === i);
          }
        }
      }
    })();
    const consumer = (async () => {
      for (let i = 0; i < COUNT; i++) {
        if (i % 10 === 0) await sleep(3);
        for (;;) {
          try {
            assert.equal(await rx.recvTimeout(1), i);
            break;
          } catch (e) {
            if (e instanceof assert.AssertionError) throw e;
            assert.ok(isRecvTimeout(e));
          }
        }
      }
    })();
    await within(Promise.all([producer, consumer]), 'the two loops', 30_000);
  });

  test('drops: messages left in the channel are released when the last Receiver closes; delivered ones are not retained', () => {
    const res = runScript(`
      import { bounded, unbounded, configure } from ${indexUrl};
      configure({ leakWarnings: false });
      const settle = async () => { for (let i = 0; i < 3; i++) { await new Promise((r) => setImmediate(r)); gc(); } };
      const out = {};
      for (const [name, make] of [['bounded', () => bounded(50)], ['unbounded', () => unbounded()]]) {
        const [tx, rx] = make();
        const buffered = [];
        const delivered = [];
        (() => {
          for (let i = 0; i < 20; i++) { const m = { i }; (i < 10 ? delivered : buffered).push(new WeakRef(m)); tx.trySend(m); }
          for (let i = 0; i < 10; i++) rx.tryRecv();
        })();
        await settle();
        const deliveredAlive = delivered.filter((w) => w.deref() !== undefined).length;
        const bufferedAliveBefore = buffered.filter((w) => w.deref() !== undefined).length;
        rx.close();   // the last Receiver: the 10 buffered messages are dropped
        await settle();
        const bufferedAliveAfter = buffered.filter((w) => w.deref() !== undefined).length;
        out[name] = { deliveredAlive, bufferedAliveBefore, bufferedAliveAfter };
        tx.close();
      }
      console.log(JSON.stringify(out));
    `);
    assert.equal(res.status, 0, res.stderr);
    const out = JSON.parse(res.stdout.trim()) as Record<string, unknown>;
    const expected = { deliveredAlive: 0, bufferedAliveBefore: 10, bufferedAliveAfter: 0 };
    assert.deepEqual(out, { bounded: expected, unbounded: expected });
  });

  test('linearizable: with capacity = tasks, a send is always followed by a successful tryRecv', async () => {
    const T = 4;
    const COUNT = 25_000;
    for (const f of [flavor(T), flavor(undefined)]) {
      const [tx, rx] = f.make<number>();
      await within(
        Promise.all(
          Array.from({ length: T }, async () => {
            for (let i = 0; i < COUNT; i++) {
              await tx.send(0);
              rx.tryRecv();
            }
          }),
        ),
      );
    }
  });

  test('fairness / fairness_duplicates: selects over pre-filled channels spread their choices (bounded and unbounded)', async () => {
    const COUNT = 10_000;
    for (const f of [flavor(COUNT), flavor(undefined)]) {
      const [s1, r1] = f.make<void>();
      const [s2, r2] = f.make<void>();
      for (let i = 0; i < COUNT; i++) {
        s1.trySend();
        s2.trySend();
      }
      const hits = { r1: 0, r2: 0 };
      for (let i = 0; i < COUNT; i++) hits[(await sel({ r1, r2 })).case as 'r1' | 'r2']++;
      assert.ok(hits.r1 >= COUNT / 4 && hits.r2 >= COUNT / 4, `${f.name}: ${JSON.stringify(hits)}`);
      const [s, r] = f.make<void>();
      for (let i = 0; i < COUNT; i++) s.trySend();
      const dup: Record<string, number> = { a: 0, b: 0, c: 0, d: 0, e: 0 };
      for (let i = 0; i < COUNT; i++) dup[(await sel({ a: r, b: r, c: r, d: recv(r), e: recv(r) })).case]!++;
      assert.ok(Object.values(dup).every((n) => n >= COUNT / 10), `${f.name}: ${JSON.stringify(dup)}`);
    }
  });

  test('recv_in_send: a full channel does not take a send case; the value of a send case may come from the same channel', async () => {
    {
      const [tx, rx] = bounded<string>(1);
      tx.trySend('first');
      assert.equal(trySel({ s: send(tx, 'second') }), undefined);
      assert.equal(rx.len, 1);
    }
    {
      const [tx, rx] = bounded<number>(2);
      tx.trySend(1);
      const r = await sel({ s: send(tx, rx.tryRecv() + 1) });
      assert.deepEqual(r, { case: 's', ok: true });
      assert.equal(rx.tryRecv(), 2);
    }
  });

  test('channel_through_channel: Receivers sent through channels, 1000 hops (caps 0, 1, 2; plain and select)', async () => {
    const COUNT = 1000;
    type Box = { rx: Receiver<Box> | null };
    for (const cap of [0, 1, 2]) {
      for (const viaSelect of [false, true]) {
        let [tx, rx] = bounded<Box>(cap);
        const producer = (async () => {
          for (let i = 0; i < COUNT; i++) {
            const [nextTx, nextRx] = bounded<Box>(cap);
            const box: Box = { rx: nextRx };
            if (viaSelect) assert.deepEqual(await sel({ s: send(tx as Sender<unknown>, box) }), { case: 's', ok: true });
            else await tx.send(box);
            tx.close();
            tx = nextTx;
          }
        })();
        const consumer = (async () => {
          for (let i = 0; i < COUNT; i++) {
            const box = viaSelect ? ((await sel({ r: rx })).value as Box) : await rx.recv();
            const next = box.rx!;
            box.rx = null;
            rx.close();
            rx = next;
          }
        })();
        await within(Promise.all([producer, consumer]), `cap ${cap}`);
      }
    }
  });
});

// ===========================================================================
describe('crossbeam-channel select.rs', () => {
  test('smoke1 / smoke2: the only ready case fires with its value', async () => {
    const [s1, r1] = unbounded<number>();
    const [s2, r2] = unbounded<number>();
    s1.trySend(1);
    assert.deepEqual(await sel({ r1, r2 }), { case: 'r1', ok: true, value: 1 });
    s2.trySend(2);
    assert.deepEqual(await sel({ r1, r2 }), { case: 'r2', ok: true, value: 2 });
    const rs = Array.from({ length: 5 }, () => unbounded<number>());
    rs[4]![0].trySend(5);
    const cases: SelectCases = {};
    rs.forEach(([, r], i) => (cases[`r${i + 1}`] = r as Receiver<unknown>));
    assert.deepEqual(await sel(cases), { case: 'r5', ok: true, value: 5 });
  });

  test('disconnected: a channel whose Senders are gone fires with ok:false; a waiting select is woken by it', async () => {
    const [s1, r1] = unbounded<number>();
    const [s2, r2] = unbounded<number>();
    setImmediate(() => {
      s1.close();
      setTimeout(() => s2.trySend(5), 5);
    });
    const r = await within(sel({ r1, r2 }, { timeout: 10_000 }));
    assert.equal(r.case, 'r1');
    assert.equal(r.ok, false);
    assert.ok(r.error instanceof RecvError);
    assert.equal(await within(r2.recv()), 5);
    const again = await sel({ r1, r2 }, { timeout: 10_000 });
    assert.equal(again.case, 'r1', 'still disconnected, and it is the only ready case');
    setTimeout(() => s2.close(), 5);
    const last = await within(sel({ r2 }, { timeout: 10_000 }));
    assert.equal(last.ok, false);
  });

  test('default (trySelect): nothing ready → undefined; disconnection and messages are ready', () => {
    const [s1, r1] = unbounded<number>();
    const [s2, r2] = unbounded<number>();
    assert.equal(trySel({ r1, r2 }), undefined);
    s1.close();
    const r = trySel({ r1, r2 });
    assert.equal(r?.case, 'r1');
    assert.equal(r?.ok, false);
    s2.trySend(2);
    assert.deepEqual(trySel({ r2 }), { case: 'r2', ok: true, value: 2 });
    assert.equal(trySel({ r2 }), undefined);
    assert.equal(trySel({}), undefined);
  });

  test('timeout: a select gives up with SelectTimeoutError having taken nothing, then gets the later message', async () => {
    const [, r1] = unbounded<number>();
    const [s2, r2] = unbounded<number>();
    setTimeout(() => s2.trySend(2), 30);
    await assert.rejects(sel({ r1, r2 }, { timeout: 5 }), SelectTimeoutError);
    assert.deepEqual(await within(sel({ r1, r2 }, { timeout: 10_000 })), { case: 'r2', ok: true, value: 2 });
    // A select with no cases just times out (and a deadline works like a timeout).
    await assert.rejects(sel({}, { timeout: 5 }), SelectTimeoutError);
    await assert.rejects(sel({}, { deadline: new Date(Date.now() + 5) }), SelectTimeoutError);
    await assert.rejects(sel({}, { deadline: Date.now() - 1000 }), SelectTimeoutError);
    const [s, r] = unbounded<number>();
    setTimeout(() => s.close(), 5);
    await assert.rejects(sel({}, { timeout: 20 }), SelectTimeoutError);
    assert.equal(trySel({ r })?.ok, false);
  });

  test('default_when_disconnected: disconnected receive and send cases are ready for trySelect and select', async () => {
    {
      const [s, r] = unbounded<number>();
      s.close();
      assert.equal(trySel({ r })?.ok, false);
      const x = await sel({ r }, { timeout: 1000 });
      assert.equal(x.ok, false);
    }
    {
      const [s, r] = bounded<number>(0);
      r.close();
      const x = trySel({ s: send(s, 0) });
      assert.equal(x?.ok, false);
      assert.ok(x?.error instanceof SendError && x.error.value === 0);
      const y = await sel({ s: send(s, 1) }, { timeout: 1000 });
      assert.equal(y.ok, false);
      assert.ok(y.error instanceof SendError && y.error.value === 1);
    }
  });

  test('unblocks: a waiting select is completed by a later send, and a waiting send case by a later receive', async () => {
    const [s1, r1] = bounded<number>(0);
    const [s2, r2] = bounded<number>(0);
    setTimeout(() => void s2.send(2), 5);
    assert.deepEqual(await within(sel({ r1, r2 }, { timeout: 10_000 })), { case: 'r2', ok: true, value: 2 });
    const got = (async () => {
      await sleep(5);
      return r1.recv();
    })();
    assert.deepEqual(await within(sel({ a: send(s1, 1), b: send(s2, 2) }, { timeout: 10_000 })), { case: 'a', ok: true });
    assert.equal(await got, 1);
  });

  test('both_ready: a select with a receive and a send case, run twice against one partner, does each once', async () => {
    const [s1, r1] = bounded<number>(0);
    const [s2, r2] = bounded<number>(0);
    const partner = (async () => {
      await sleep(5);
      await s1.send(1);
      assert.equal(await r2.recv(), 2);
    })();
    const seen = new Set<string>();
    for (let i = 0; i < 2; i++) {
      const r = await within(sel({ r1, s2: send(s2, 2) }));
      if (r.case === 'r1') assert.equal(r.value, 1);
      seen.add(r.case);
    }
    assert.deepEqual([...seen].sort(), ['r1', 's2']);
    await within(partner);
  });

  test('loop_try: tasks polling with trySelect meet a blocking select', async () => {
    for (let run = 0; run < 20; run++) {
      const [s1, r1] = bounded<number>(0);
      const [s2, r2] = bounded<number>(0);
      const [sEnd, rEnd] = bounded<void>(0);
      const a = (async () => {
        for (;;) {
          const x = trySel({ s: send(s1, 1) });
          if (x !== undefined) return;
          if (trySel({ end: rEnd }) !== undefined) return;
          await turn();
        }
      })();
      const b = (async () => {
        for (;;) {
          try {
            assert.equal(r2.tryRecv(), 2);
            return;
          } catch (e) {
            if (e instanceof assert.AssertionError) throw e;
          }
          if (trySel({ end: rEnd }) !== undefined) return;
          await turn();
        }
      })();
      const c = (async () => {
        await sleep(1);
        try {
          const r = await sel({ r1, s2: send(s2, 2) }, { timeout: 1000 });
          if (r.case === 'r1') assert.equal(r.value, 1);
        } catch (e) {
          assert.ok(e instanceof SelectTimeoutError);
        }
        sEnd.close();
      })();
      await within(Promise.all([a, b, c]));
    }
  });

  test('cloning1 / cloning2: cloning and closing a Sender clone does not disturb a waiting select', async () => {
    {
      const [s1, r1] = unbounded<number>();
      const [, r2] = unbounded<number>();
      const p = track(sel({ r1, r2 }));
      await turn();
      s1.clone().close();
      await turn();
      assert.equal(p.settled, false, 'closing a clone is not a disconnection');
      s1.trySend(1);
      assert.deepEqual(await within(p.promise), { case: 'r1', ok: true, value: 1 });
    }
    {
      const [s1, r1] = unbounded<void>();
      const [s2, r2] = unbounded<void>();
      const p = sel({ r1, r2 });
      await sleep(1);
      s1.clone().close();
      s2.trySend();
      assert.equal((await within(p)).case, 'r2');
    }
  });

  test('preflight1–3: a select sees buffered messages before the disconnection behind them', async () => {
    {
      const [s, r] = unbounded<void>();
      s.trySend();
      assert.deepEqual(await sel({ r }), { case: 'r', ok: true, value: undefined });
    }
    {
      const [s, r] = unbounded<string>();
      s.clone().close();
      s.trySend('x');
      s.close();
      assert.deepEqual(await sel({ r }), { case: 'r', ok: true, value: 'x' });
      assert.throws(() => r.tryRecv(), isRecvDisconnected);
    }
    {
      const [s, r] = unbounded<string>();
      s.trySend('x');
      s.close();
      await r.recv();
      const x = await sel({ r });
      assert.equal(x.ok, false);
      assert.ok(x.error instanceof RecvError);
    }
  });

  test('duplicate_operations: the same receive and send listed twice each, all four get chosen', async () => {
    const [s, r] = unbounded<number>();
    const hit = { r0: false, r1: false, s0: false, s1: false };
    for (let i = 0; i < 10_000 && !Object.values(hit).every(Boolean); i++) {
      const x = await sel({ r0: r, r1: recv(r), s0: send(s, 0), s1: send(s, 0) });
      assert.equal(x.ok, true);
      hit[x.case as keyof typeof hit] = true;
    }
    assert.deepEqual(hit, { r0: true, r1: true, s0: true, s1: true });
  });

  test('nesting: selects inside the handling of other selects', async () => {
    const [s, r] = unbounded<number>();
    const a = await sel({ s: send(s, 0) });
    assert.equal(a.case, 's');
    const b = await sel({ r });
    assert.deepEqual(b, { case: 'r', ok: true, value: 0 });
    const c = await sel({ s: send(s, 1) });
    assert.equal(c.case, 's');
    assert.deepEqual(await sel({ r }), { case: 'r', ok: true, value: 1 });
  });

  test('stress_recv / stress_send / stress_mixed: 5,000 rounds of selects against a partner task', async () => {
    const COUNT = 5000;
    {
      const [s1, r1] = unbounded<number>();
      const [s2, r2] = bounded<number>(5);
      const [s3, r3] = bounded<void>(100);
      const partner = (async () => {
        for (let i = 0; i < COUNT; i++) {
          await s1.send(i);
          await r3.recv();
          await s2.send(i);
          await r3.recv();
        }
      })();
      for (let i = 0; i < COUNT; i++) {
        for (let k = 0; k < 2; k++) {
          const x = await sel({ r1, r2 });
          assert.equal(x.value, i);
          await s3.send();
        }
      }
      await within(partner);
    }
    {
      const [s1, r1] = bounded<number>(0);
      const [s2, r2] = bounded<number>(0);
      const [s3, r3] = bounded<void>(100);
      const partner = (async () => {
        for (let i = 0; i < COUNT; i++) {
          assert.equal(await r1.recv(), i);
          assert.equal(await r2.recv(), i);
          await r3.recv();
        }
      })();
      for (let i = 0; i < COUNT; i++) {
        for (let k = 0; k < 2; k++) await sel({ a: send(s1, i), b: send(s2, i) });
        await s3.send();
      }
      await within(partner);
    }
    {
      const [s1, r1] = bounded<number>(0);
      const [s2, r2] = bounded<number>(0);
      const [s3, r3] = bounded<void>(100);
      const partner = (async () => {
        for (let i = 0; i < COUNT; i++) {
          await s1.send(i);
          assert.equal(await r2.recv(), i);
          await r3.recv();
        }
      })();
      for (let i = 0; i < COUNT; i++) {
        for (let k = 0; k < 2; k++) {
          const x = await sel({ r1, s2: send(s2, i) });
          if (x.case === 'r1') assert.equal(x.value, i);
        }
        await s3.send();
      }
      await within(partner);
    }
  });

  test('stress_timeout_two_threads: selects with a timeout, retried, keep order', async () => {
    const COUNT = 40;
    const [tx, rx] = bounded<number>(2);
    const producer = (async () => {
      for (let i = 0; i < COUNT; i++) {
        if (i % 4 === 0) await sleep(3);
        for (;;) {
          try {
            assert.equal((await sel({ s: send(tx, i) }, { timeout: 1 })).case, 's');
            break;
          } catch (e) {
            if (!(e instanceof SelectTimeoutError)) throw e;
          }
        }
      }
    })();
    const consumer = (async () => {
      for (let i = 0; i < COUNT; i++) {
        if (i % 4 === 0) await sleep(3);
        for (;;) {
          try {
            assert.equal((await sel({ rx }, { timeout: 1 })).value, i);
            break;
          } catch (e) {
            if (!(e instanceof SelectTimeoutError)) throw e;
          }
        }
      }
    })();
    await within(Promise.all([producer, consumer]), 'the two loops', 30_000);
  });

  test('send_recv_same_channel: a select never pairs with itself on a rendezvous channel', async () => {
    {
      const [s, r] = bounded<number>(0);
      await assert.rejects(sel({ s: send(s, 0), r }, { timeout: 10 }), SelectTimeoutError);
      assert.throws(() => r.tryRecv(), isEmpty, 'the losing send case left nothing behind');
    }
    {
      const [s, r] = unbounded<number>();
      assert.deepEqual(await sel({ s: send(s, 0), r }, { timeout: 10 }), { case: 's', ok: true });
      assert.equal(r.tryRecv(), 0);
    }
  });

  test('matching / matching_with_leftover: selects {recv, send(i)} on a rendezvous channel pair up, none receives its own value', async () => {
    for (const [T, leftover] of [
      [44, false],
      [55, true],
    ] as const) {
      const [s, r] = bounded<number>(0);
      const tasks = Array.from({ length: T }, async (_, i) => {
        const x = await sel({ r, s: send(s, i) });
        if (x.case === 'r') assert.notEqual(x.value, i, 'received its own value');
        return x.case;
      });
      if (leftover) await within(s.send(-1), 'the leftover send');
      const cases = await within(Promise.all(tasks), `${T} matching selects`);
      const receives = cases.filter((c) => c === 'r').length;
      assert.equal(receives, (T + (leftover ? 1 : 0)) / 2, 'every send met exactly one receive');
      assert.throws(() => r.tryRecv(), isEmpty);
    }
  });

  test('linearizable_try / linearizable_timeout: one of two channels is always ready for a non-blocking or zero-timeout select', async () => {
    const COUNT = 5000;
    for (const mode of ['try', 'timeout'] as const) {
      for (const f of [flavor(1), flavor(undefined)]) {
        const [startS, startR] = bounded<void>(0);
        const [endS, endR] = bounded<void>(0);
        const [s1, r1] = f.make<number>();
        const [s2, r2] = f.make<number>();
        const a = (async () => {
          for (let i = 0; i < COUNT; i++) {
            await startS.send();
            await s1.send(1);
            const x = mode === 'try' ? trySel({ r1, r2 }) : await sel({ r1, r2 }, { timeout: 0 });
            assert.ok(x !== undefined && x.ok, `iteration ${i}: neither channel was ready`);
            await endS.send();
            r2.poll(undefined);
          }
        })();
        for (let i = 0; i < COUNT; i++) {
          await startR.recv();
          await s2.send(1);
          r1.poll(undefined);
          await endR.recv();
        }
        await within(a);
      }
    }
  });

  test('fairness1: receive cases on bounded, unbounded and after(0) are all chosen', async () => {
    const COUNT = 10_000;
    const [s1, r1] = bounded<void>(COUNT);
    const [s2, r2] = unbounded<void>();
    for (let i = 0; i < COUNT; i++) {
      s1.trySend();
      s2.trySend();
    }
    const hits: Record<string, number> = { r1: 0, r2: 0, t: 0 };
    for (let i = 0; i < COUNT; i++) hits[(await sel({ r1, r2, t: after(0) })).case]!++;
    assert.ok(Object.values(hits).every((n) => n >= COUNT / 3 / 2), JSON.stringify(hits));
  });

  test('fairness2: a sender selecting among unbounded, bounded(1) and rendezvous channels serves all of them', async () => {
    const COUNT = 10_000;
    const [s1, r1] = unbounded<void>();
    const [s2, r2] = bounded<void>(1);
    const [s3, r3] = bounded<void>(0);
    const sender = (async () => {
      for (let i = 0; i < COUNT; i++) {
        const cases: SelectCases = {};
        if (s1.isEmpty) cases['a'] = send(s1, undefined);
        if (s2.isEmpty) cases['b'] = send(s2, undefined);
        cases['c'] = send(s3, undefined);
        assert.equal((await sel(cases)).ok, true);
      }
    })();
    const hits: Record<string, number> = { r1: 0, r2: 0, r3: 0 };
    for (let i = 0; i < COUNT; i++) {
      // In one event loop the two tasks would otherwise run in lockstep: the
      // receiver empties a channel at every step, so the sender always has a
      // buffered case ready and never waits on the rendezvous one. A receiver
      // that now and then yields lets the buffers fill, as threads would.
      if (i % 2 === 0) await turn();
      hits[(await sel({ r1, r2, r3 })).case]!++;
    }
    await within(sender);
    assert.ok(Object.values(hits).every((n) => n >= COUNT / 3 / 50), JSON.stringify(hits));
  });

  test('sync_and_clone / reuse: one cases object shared by many selects, and reused across iterations', async () => {
    {
      const [s, r] = bounded<number>(0);
      const cases = { r, s: send(s, -1) };
      const tasks = Array.from({ length: 20 }, () => sel(cases));
      const results = await within(Promise.all(tasks));
      assert.equal(results.filter((x) => x.case === 'r').length, 10);
      assert.ok(results.filter((x) => x.case === 'r').every((x) => x.value === -1));
      assert.throws(() => r.tryRecv(), isEmpty);
    }
    {
      const COUNT = 10_000;
      const [s1, r1] = bounded<number>(0);
      const [s2, r2] = bounded<number>(0);
      const [s3, r3] = bounded<void>(100);
      const partner = (async () => {
        for (let i = 0; i < COUNT; i++) {
          await s1.send(i);
          assert.equal(await r2.recv(), i);
          await r3.recv();
        }
      })();
      for (let i = 0; i < COUNT; i++) {
        const seen = new Set<string>();
        for (let k = 0; k < 2; k++) {
          const x = await sel({ r1, s2: send(s2, i) });
          if (x.case === 'r1') assert.equal(x.value, i);
          seen.add(x.case);
        }
        assert.equal(seen.size, 2);
        await s3.send();
      }
      await within(partner);
    }
  });
});

// ===========================================================================
describe('crossbeam-channel ready.rs', () => {
  test('smoke: ready names a ready case and completes nothing', async () => {
    const [s1, r1] = unbounded<number>();
    const [, r2] = unbounded<number>();
    s1.trySend(1);
    assert.equal(await ready({ r1, r2 }), 'r1');
    assert.equal(r1.len, 1, 'ready() did not take the message');
    assert.equal(r1.tryRecv(), 1);
    const [s, r] = bounded<number>(1);
    assert.equal(await ready({ out: send(s, 5), r }), 'out');
    assert.equal(r.len, 0, 'ready() did not send');
  });

  test('disconnected / default / timeout: readiness of disconnection, tryReady, and the timeout', async () => {
    const [s1, r1] = unbounded<number>();
    const [s2, r2] = unbounded<number>();
    assert.equal(tryReady({ r1, r2 }), undefined);
    setTimeout(() => s1.close(), 5);
    assert.equal(await within(ready({ r1, r2 }, { timeout: 10_000 })), 'r1');
    assert.throws(() => r1.tryRecv(), isRecvDisconnected);
    assert.equal(tryReady({ r1, r2 }), 'r1');
    await assert.rejects(ready({ r2 }, { timeout: 5 }), SelectTimeoutError);
    s2.trySend(2);
    assert.equal(tryReady({ r2 }), 'r2');
    assert.equal(tryReady({}), undefined);
  });

  test('unblocks / both_ready: ready wakes on a later send or receive', async () => {
    const [s1, r1] = bounded<number>(0);
    const [s2, r2] = bounded<number>(0);
    setTimeout(() => void s2.send(2), 5);
    assert.equal(await within(ready({ r1, r2 })), 'r2');
    assert.equal(r2.tryRecv(), 2);
    const waiting = r1.recv();
    assert.equal(await within(ready({ a: send(s1, 1), b: send(s2, 2) })), 'a');
    s1.trySend(1);
    assert.equal(await waiting, 1);
  });

  test('send_recv_same_channel: a rendezvous channel is not ready for one party alone', async () => {
    const [s, r] = bounded<number>(0);
    await assert.rejects(ready({ s: send(s, 0), r }, { timeout: 10 }), SelectTimeoutError);
    const [us, ur] = unbounded<number>();
    assert.equal(await ready({ s: send(us, 0), r: ur }, { timeout: 10 }), 's');
  });

  test('fairness: tryReady over two always-ready channels names both', () => {
    const COUNT = 10_000;
    const [s1, r1] = unbounded<void>();
    const [s2, r2] = unbounded<void>();
    s1.trySend();
    s2.trySend();
    const hits: Record<string, number> = { r1: 0, r2: 0 };
    for (let i = 0; i < COUNT; i++) hits[tryReady({ r1, r2 })!]!++;
    assert.ok(hits['r1']! >= COUNT / 4 && hits['r2']! >= COUNT / 4, JSON.stringify(hits));
  });

  test('closing the handle a ready() waits on ends the wait with ClosedHandleError, as it ends a select', async () => {
    const [tx, rx] = unbounded<number>();
    const mine = rx.clone();
    const waitingSelect = track(select({ mine }));
    const waitingReady = track(ready({ mine }));
    mine.close();
    await turn();
    assert.ok(waitingSelect.error instanceof ClosedHandleError, 'the select on the closed Receiver was ended');
    await assert.rejects(within(waitingReady.promise, 'ready() on a Receiver that was closed', 500), ClosedHandleError);
    // The same for a timer receiver: closing it must not leave ready() waiting forever.
    const t = after(60_000);
    const timerReady = track(ready({ t }));
    t.close();
    await assert.rejects(within(timerReady.promise, 'ready() on an after() that was closed', 500), ClosedHandleError);
    tx.close();
    rx.close();
  });
});

// ===========================================================================
describe('crossbeam-channel after.rs / tick.rs / never.rs', () => {
  test('after fire: no message before the deadline, one at it (no earlier than ~ms), none after', async () => {
    const t0 = performance.now();
    const wall0 = Date.now();
    const r = after(50);
    assert.throws(() => r.tryRecv(), isEmpty);
    const fired = await r.recv();
    assert.ok(performance.now() - t0 >= 49, 'not before the deadline (1 ms timer granularity)');
    assert.ok(fired instanceof Date && fired.getTime() >= wall0);
    assert.throws(() => r.tryRecv(), isEmpty);
    assert.equal(trySel({ r }), undefined);
    assert.equal((await sel({ r, other: after(5) })).case, 'other');
  });

  test('after capacity / len_empty_full: capacity 1, full once due, empty once taken', async () => {
    for (let i = 0; i < 10; i++) assert.equal(after(i).capacity, 1);
    const r = after(50);
    assert.deepEqual([r.len, r.isEmpty, r.isFull], [0, true, false]);
    await sleep(60);
    assert.deepEqual([r.len, r.isEmpty, r.isFull], [1, false, true]);
    r.tryRecv();
    assert.deepEqual([r.len, r.isEmpty, r.isFull], [0, true, false]);
  });

  test('after try_recv / recv_timeout: nothing early, the message once, then nothing', async () => {
    const t0 = performance.now();
    const r = after(100);
    assert.throws(() => r.tryRecv(), isEmpty);
    await assert.rejects(r.recvTimeout(5), isRecvTimeout);
    const fired = await r.recvTimeout(10_000);
    assert.ok(fired instanceof Date);
    assert.ok(performance.now() - t0 >= 99);
    await assert.rejects(r.recvTimeout(5), isRecvTimeout);
    assert.throws(() => r.tryRecv(), isEmpty);
  });

  test('after recv_two / clones: the one message goes to exactly one of the receivers', async () => {
    const r1 = after(5);
    const r2 = after(5);
    const results = await within(Promise.all([sel({ r1, r2 }), sel({ r1, r2 })]));
    assert.deepEqual(results.map((x) => x.case).sort(), ['r1', 'r2']);
    const shared = after(5);
    const clones = [shared, shared.clone(), shared.clone()];
    const winners = await within(Promise.all(clones.map((c) => sel({ c, guard: after(40) }))));
    assert.equal(winners.filter((w) => w.case === 'c').length, 1, 'one message, one receiver');
    for (const c of clones) c.close();
  });

  test('after recv_race / stress_default: the earlier deadline wins; after(0) is ready at once, after(100) is not', async () => {
    assert.equal((await sel({ a: after(5), b: after(60) })).case, 'a');
    assert.equal((await sel({ b: after(60), a: after(5) })).case, 'a');
    for (let i = 0; i < 10; i++) assert.equal(trySel({ t: after(0) })?.case, 't');
    for (let i = 0; i < 10; i++) assert.equal(trySel({ t: after(100) }), undefined);
  });

  test('after select / ready: 4 tasks share 100 timers; every timer message is taken exactly once', async () => {
    const COUNT = 100;
    const timers = Array.from({ length: COUNT }, (_, i) => after(i % 10));
    let hits = 0;
    const viaReady = [false, false, true, true];
    await within(
      Promise.all(
        viaReady.map(async (useReady) => {
          for (;;) {
            const timeout = after(50);
            const cases: SelectCases = { timeout };
            timers.forEach((t, i) => (cases[`t${i}`] = t));
            if (useReady) {
              const name = await ready(cases);
              if (name === 'timeout') {
                if (timeout.tryRecv() instanceof Date) return;
              } else {
                try {
                  timers[Number(name.slice(1))]!.tryRecv();
                  hits++;
                } catch (e) {
                  assert.ok(isEmpty(e), 'someone else took it');
                }
              }
            } else {
              const x = await sel(cases);
              if (x.case === 'timeout') return;
              hits++;
            }
          }
        }),
      ),
      'the selecting tasks',
      10_000,
    );
    assert.equal(hits, COUNT);
  });

  test('after fairness / fairness_duplicates (when ready at the poll): both timers and every duplicate case get chosen', async () => {
    const COUNT = 1000;
    const hits = [0, 0];
    for (let i = 0; i < COUNT; i++) hits[(await sel({ a: after(0), b: after(0) })).case === 'a' ? 0 : 1]!++;
    assert.ok(hits.every((n) => n >= COUNT / 4), JSON.stringify(hits));
    const dup: Record<string, number> = { a: 0, b: 0, c: 0, d: 0, e: 0 };
    for (let i = 0; i < COUNT; i++) {
      const r = after(0);
      dup[(await sel({ a: r, b: r, c: r, d: r, e: r })).case]!++;
    }
    assert.ok(Object.values(dup).every((n) => n >= COUNT / 10), JSON.stringify(dup));
  });

  test('at(): fires at an absolute time, a past time is ready at once', async () => {
    const t0 = performance.now();
    assert.ok((await at(Date.now() + 20).recv()) instanceof Date);
    assert.ok(performance.now() - t0 >= 18, 'not before the time (1 ms granularity of the wall clock and of timers)');
    assert.equal(trySel({ t: at(new Date(Date.now() - 1)) })?.case, 't');
  });

  test('tick fire / intervals: ticks come on the period grid, a late receiver finds one tick, not a backlog', async () => {
    const P = 40;
    const t0 = performance.now();
    const r = tick(P);
    const tc = performance.now(); // the grid starts between t0 and tc
    assert.throws(() => r.tryRecv(), isEmpty);
    await r.recv();
    const t1 = performance.now();
    assert.ok(t1 - t0 >= P - 1, `first tick after ${t1 - t0} ms`);
    await sleep(3 * P + 5);
    const t2 = performance.now();
    assert.ok(r.tryRecv() instanceof Date, 'a tick is waiting');
    assert.throws(() => r.tryRecv(), isEmpty, 'missed ticks were dropped');
    await r.recv();
    const t3 = performance.now();
    // The next tick lies on the grid (creation + k·P), strictly after the late take.
    const nextGrid = P * (Math.floor((t2 - tc) / P) + 1);
    assert.ok(t3 - t0 >= nextGrid - 1, `third tick at ${t3 - t0} ms, before the grid point ${nextGrid}`);
    assert.throws(() => r.tryRecv(), isEmpty);
    r.close();
  });

  test('tick capacity / len_empty_full / recv_two: capacity 1; each tick goes to exactly one receiver', async () => {
    for (let i = 1; i < 10; i++) {
      const t = tick(i);
      assert.equal(t.capacity, 1);
      t.close();
    }
    const r = tick(50);
    assert.deepEqual([r.len, r.isEmpty, r.isFull], [0, true, false]);
    await sleep(60);
    assert.deepEqual([r.len, r.isEmpty, r.isFull], [1, false, true]);
    r.tryRecv();
    assert.deepEqual([r.len, r.isEmpty, r.isFull], [0, true, false]);
    r.close();
    const r1 = tick(5);
    const r2 = tick(5);
    const counts = await within(
      Promise.all(
        [0, 1].map(async () => {
          for (let i = 0; i < 10; i++) await sel({ r1, r2 });
          return 10;
        }),
      ),
    );
    assert.deepEqual(counts, [10, 10]);
    r1.close();
    r2.close();
  });

  test('tick recv_race / stress_default / select: the shorter period fires first; ticks shared by tasks are each taken once', async () => {
    {
      const a = tick(5);
      const b = tick(60);
      assert.equal((await sel({ b, a })).case, 'a');
      a.close();
      b.close();
    }
    for (let i = 0; i < 10; i++) {
      const t = tick(100);
      assert.equal(trySel({ t }), undefined);
      t.close();
    }
    const t0 = performance.now();
    const r1 = tick(20);
    const r2 = tick(30);
    let hits = 0;
    await within(
      Promise.all(
        Array.from({ length: 4 }, async () => {
          const timeout = after(115);
          for (;;) {
            const x = await sel({ r1, r2, timeout });
            if (x.case === 'timeout') return;
            hits++;
          }
        }),
      ),
    );
    // A tick can be dropped (a late receiver finds one, not a backlog) but
    // never delivered twice: no more hits than grid points that have passed.
    const elapsed = performance.now() - t0;
    const gridPoints = Math.floor(elapsed / 20) + Math.floor(elapsed / 30);
    assert.ok(hits <= gridPoints, `${hits} ticks taken in ${elapsed.toFixed(1)} ms (${gridPoints} grid points)`);
    r1.close();
    r2.close();
  });

  test('never: never ready, never disconnected; switches a case off (optional, tick_n)', async () => {
    const n = never<number>();
    assert.equal(trySel({ n }), undefined);
    assert.throws(() => n.tryRecv(), isEmpty);
    await assert.rejects(n.recvTimeout(5), isRecvTimeout);
    assert.equal(n.len, 0);
    assert.equal(n.isEmpty, true);
    assert.equal(n.isDisconnected, false);
    assert.equal(n.sameChannel(n.clone()), true);
    {
      const [s, r] = unbounded<number>();
      s.trySend(1);
      s.trySend(2);
      let maybe: Receiver<number> | null = r;
      assert.equal(trySel({ x: maybe ?? never() })?.case, 'x');
      maybe = null;
      assert.equal(trySel({ x: maybe ?? never() }), undefined);
    }
    {
      let r: Receiver<Date> = tick(2);
      const ticker = r;
      let step = 0;
      for (;;) {
        try {
          await sel({ r }, { timeout: 40 });
          step++;
        } catch (e) {
          assert.ok(e instanceof SelectTimeoutError);
          break;
        }
        if (step === 10) r = never();
      }
      assert.equal(step, 10);
      ticker.close();
    }
  });
});

// ===========================================================================
describe('crossbeam-channel iter.rs / same_channel.rs', () => {
  test('nested_recv_iter / recv_iter_break: for-await sums until the end; break leaves the rest in the channel', async () => {
    {
      const [s, r] = unbounded<number>();
      const [totalS, totalR] = unbounded<number>();
      const summer = (async () => {
        let acc = 0;
        for await (const x of r) acc += x;
        await totalS.send(acc);
      })();
      s.trySend(3);
      s.trySend(1);
      s.trySend(2);
      s.close();
      assert.equal(await within(totalR.recv()), 6);
      await summer;
    }
    {
      const [s, r] = unbounded<number>();
      for (let i = 0; i < 4; i++) s.trySend(2);
      s.close();
      let count = 0;
      for await (const x of r) {
        if (count >= 3) break;
        count += x;
      }
      assert.equal(count, 4);
      assert.equal(r.isClosed, false, 'break does not close the Receiver');
      assert.equal(r.len, 1, 'the message seen at the break was consumed, the rest stays');
      assert.equal(await r.recv(), 2);
    }
  });

  test('recv_try_iter: request/response with tryIter until the asker has enough', async () => {
    const [requestS, requestR] = unbounded<void>();
    const [responseS, responseR] = unbounded<number>();
    const asker = (async () => {
      let count = 0;
      for (;;) {
        for (const x of responseR.tryIter()) {
          count += x;
          if (count === 6) {
            responseR.close();
            requestS.close();
            return count;
          }
        }
        requestS.trySend();
        await turn();
      }
    })();
    for await (const _ of requestR) {
      try {
        responseS.trySend(2);
      } catch (e) {
        assert.ok(e instanceof TrySendError && e.kind === 'disconnected');
        break;
      }
    }
    assert.equal(await within(asker), 6);
  });

  test('recv_into_iter: iterating drains in order and ends at the disconnection', async () => {
    const [s, r] = unbounded<number>();
    s.trySend(1);
    s.trySend(2);
    s.close();
    const it = r[Symbol.asyncIterator]();
    assert.deepEqual(await it.next(), { done: false, value: 1 });
    assert.deepEqual(await it.next(), { done: false, value: 2 });
    assert.equal((await it.next()).done, true);
    assert.deepEqual([...(() => {
      const [s2, r2] = unbounded<number>();
      s2.trySend(1);
      s2.trySend(2);
      return r2.tryIter();
    })()], [1, 2]);
  });

  test('same_channel: clones share a channel; distinct channels, timers and flavors do not', () => {
    for (const f of FLAVORS) {
      const [s, r] = f.make<number>();
      const s2 = s.clone();
      const r2 = r.clone();
      assert.ok(s.sameChannel(s2) && r.sameChannel(r2) && s.sameChannel(r));
      const [s3, r3] = f.make<number>();
      assert.ok(!s.sameChannel(s3) && !s2.sameChannel(s3) && !r.sameChannel(r3) && !r2.sameChannel(r3));
    }
    for (const make of [() => after(50), () => tick(50)]) {
      const r = make();
      const r2 = r.clone();
      assert.ok(r.sameChannel(r2));
      const r3 = make();
      assert.ok(!r.sameChannel(r3) && !r2.sameChannel(r3));
      for (const x of [r, r2, r3]) x.close();
    }
    const [s1] = bounded<number>(0);
    const [s2] = unbounded<number>();
    assert.ok(!s1.sameChannel(s2));
  });
});

// ===========================================================================
describe('what a user hits', () => {
  /** Runs `iterations` races of an operation against a send, `parallel` at a time, and checks exactly-once. */
  async function raceAgainstSend(
    iterations: number,
    start: (rx: Receiver<number>, i: number) => { op: Promise<unknown>; cancel?: () => void },
    schedule: (i: number) => { sendAfter: number; cancelAfter: number },
  ): Promise<{ tookIt: number; leftIt: number }> {
    const delay = (d: number): Promise<void> =>
      d < 0 ? Promise.resolve() : d === 0 ? turn() : new Promise((resolve) => setTimeout(resolve, d - 1));
    let tookIt = 0;
    let leftIt = 0;
    const one = async (i: number): Promise<void> => {
      const f = FLAVORS[i % FLAVORS.length]!;
      const [tx, rx] = f.make<number>();
      const { sendAfter, cancelAfter } = schedule(i);
      const { op, cancel } = start(rx, i);
      const outcome = op.then(
        (v) => ({ ok: true as const, v }),
        (e: unknown) => ({ ok: false as const, e }),
      );
      const sent = delay(sendAfter).then(() => tx.send(i));
      if (cancel !== undefined) void delay(cancelAfter).then(cancel);
      const res = await within(outcome, `${f.name} race ${i}`);
      let got: unknown[] = [];
      if (res.ok) {
        const v = res.v as number | { case: string; value?: unknown };
        if (typeof v === 'number') got = [v];
        else if (v.case === 'rx') got = [v.value];
      }
      if (got.length === 1) tookIt++;
      else {
        leftIt++;
        // The operation gave up without the value: it must still be there.
        got = [await within(rx.recv(), `${f.name} race ${i}: the value after the operation gave up`)];
      }
      assert.deepEqual(got, [i], `${f.name} race ${i}`);
      await within(sent, `${f.name} race ${i}: the send`);
      assert.equal(rx.len, 0);
      assert.throws(() => rx.tryRecv(), isEmpty, `${f.name} race ${i}: received twice`);
      tx.close();
      rx.close();
    };
    const parallel = 100;
    for (let base = 0; base < iterations; base += parallel) {
      await Promise.all(Array.from({ length: Math.min(parallel, iterations - base) }, (_, k) => one(base + k)));
    }
    return { tookIt, leftIt };
  }

  test('a recvTimeout that times out right before a send never swallows the value', async (t) => {
    const r = await raceAgainstSend(
      4000,
      (rx) => ({ op: rx.recvTimeout(1) }),
      (i) => ({ sendAfter: [-1, 0, 1, 2, 3][i % 5]!, cancelAfter: -1 }),
    );
    t.diagnostic(`recvTimeout got the value ${r.tookIt} times, timed out first ${r.leftIt} times`);
    assert.equal(r.tookIt + r.leftIt, 4000);
  });

  test('a select whose after(0)/after(1) case wins the race against a send never swallows the value', async (t) => {
    const r = await raceAgainstSend(
      4000,
      (rx, i) => ({ op: select({ rx, t: after(i % 2) }) }),
      (i) => ({ sendAfter: [-1, 0, 1, 2][(i >> 1) % 4]!, cancelAfter: -1 }),
    );
    t.diagnostic(`select took the value ${r.tookIt} times, after() won ${r.leftIt} times`);
    const s = await raceAgainstSend(
      2000,
      (rx) => ({ op: select({ rx }, { timeout: 1 }) }),
      (i) => ({ sendAfter: [-1, 0, 1, 2][i % 4]!, cancelAfter: -1 }),
    );
    t.diagnostic(`select with a timeout took the value ${s.tookIt} times, timed out ${s.leftIt} times`);
  });

  test('an aborted recv (or select) racing a send never swallows the value', async (t) => {
    const r = await raceAgainstSend(
      4000,
      (rx, i) => {
        const ac = new AbortController();
        const op = i % 3 === 2 ? select({ rx }, { signal: ac.signal }) : rx.recv({ signal: ac.signal });
        return { op, cancel: () => ac.abort() };
      },
      (i) => ({ sendAfter: [-1, 0, 1, 2][i % 4]!, cancelAfter: [-1, 0, 1, 2][(i >> 2) % 4]! }),
    );
    t.diagnostic(`the receive got the value ${r.tookIt} times, was aborted first ${r.leftIt} times`);
  });

  test('an abort in the same synchronous step as the send: whichever comes first wins, exactly once', async () => {
    for (const f of FLAVORS) {
      for (const abortFirst of [true, false]) {
        const [tx, rx] = f.make<number>();
        const ac = new AbortController();
        const p = track(rx.recv({ signal: ac.signal }));
        let sendP: Promise<void>;
        if (abortFirst) {
          ac.abort();
          sendP = tx.send(1);
        } else {
          sendP = tx.send(1);
          ac.abort();
        }
        await turn();
        if (abortFirst) {
          assert.equal((p.error as { name?: string } | undefined)?.name, 'AbortError', `${f.name}: the receive was aborted`);
          assert.equal(await within(rx.recv()), 1, f.name);
        } else {
          assert.equal(p.value, 1, `${f.name}: the receive had already got the value; the late abort changes nothing`);
          assert.throws(() => rx.tryRecv(), isEmpty);
        }
        await within(sendP);
      }
    }
  });

  test('undefined and null are ordinary values: send/recv, trySend/tryRecv, select, iteration, batches', async () => {
    const NONE = Symbol('none');
    for (const f of FLAVORS) {
      const w = f.name;
      const [tx, rx] = f.make<undefined | null | number>();
      const rendezvous = f.cap === 0;
      // send / recv
      for (const v of [undefined, null]) {
        const r = rx.recv();
        await tx.send(v);
        assert.equal(await r, v, `${w}: send/recv ${String(v)}`);
        const s = tx.send(v);
        assert.equal(await rx.recv(), v, `${w}: send first, recv ${String(v)}`);
        await s;
      }
      // trySend / tryRecv / poll / recvTimeout
      for (const v of [undefined, null]) {
        const parked = rendezvous ? rx.recv() : undefined;
        tx.trySend(v);
        if (parked !== undefined) assert.equal(await parked, v);
        else {
          assert.equal(rx.len, 1, `${w}: a ${String(v)} message takes a slot`);
          assert.equal(rx.tryRecv(), v, `${w}: tryRecv ${String(v)}`);
        }
        if (!rendezvous) {
          assert.ok(tx.offer(v));
          assert.equal(rx.poll(NONE), v, `${w}: poll returns the ${String(v)} message, not the fallback`);
          assert.equal(rx.poll(NONE), NONE);
          tx.trySend(v);
          assert.equal(await rx.recvTimeout(100), v);
        }
      }
      // select: receive case and send case
      for (const v of [undefined, null]) {
        const s = tx.send(v);
        assert.deepEqual(await sel({ rx, other: never() }), { case: 'rx', ok: true, value: v }, `${w}: select receives ${String(v)}`);
        await s;
        const r = rendezvous ? rx.recv() : undefined;
        assert.deepEqual(await sel({ out: send(tx, v) }), { case: 'out', ok: true });
        assert.equal(await (r ?? rx.recv()), v, `${w}: a select send case sends ${String(v)}`);
      }
      // full: the value handed back is the undefined/null itself
      if (f.cap !== undefined) {
        for (let i = 0; i < f.cap; i++) tx.trySend(0);
        assert.throws(() => tx.trySend(null), (e: unknown) => isFull(e) && (e as TrySendError<null>).value === null);
        await assert.rejects(tx.sendTimeout(undefined, 1), (e: unknown) => e instanceof SendTimeoutError && 'value' in e && e.value === undefined);
        while (rx.len > 0) rx.tryRecv();
      }
      // iteration and batches
      const values = [undefined, null, 0, undefined];
      const producer = (async () => {
        for (const v of values) await tx.send(v);
        tx.close();
      })();
      const got: unknown[] = [];
      for await (const v of rx) got.push(v);
      await producer;
      assert.deepEqual(got, values, `${w}: for-await yields undefined and null and ends only at the disconnection`);
      if (!rendezvous) {
        const [tx2, rx2] = f.make<undefined | null>();
        tx2.trySend(undefined);
        const batch: (undefined | null)[] = [];
        assert.equal(await rx2.recvMany(batch, 10), 1);
        if ((f.cap ?? 2) >= 2) {
          tx2.trySend(null);
          tx2.trySend(undefined);
          assert.equal(rx2.tryRecvMany(batch, 10), 2);
          assert.deepEqual(batch, [undefined, null, undefined]);
          tx2.trySend(undefined);
          tx2.close();
          assert.deepEqual([...rx2.tryIter()], [undefined]);
        }
      }
    }
  });

  test('a loop of 1,000,000 selects with a timeout case leaves no timers, listeners or waiters behind', () => {
    // Run in a fresh process: its baseline (active resources, heap) is known,
    // and the loop is not slowed down by the test runner's async context tracking.
    const res = runScript(`
      import { getEventListeners } from 'node:events';
      import { select, after, unbounded, configure, SelectTimeoutError } from ${indexUrl};
      configure({ leakWarnings: false });
      const timers = () => process.getActiveResourcesInfo().filter((r) => r === 'Timeout').length;
      const resources = () => process.getActiveResourcesInfo().filter((r) => r !== 'TTYWrap').sort().join(',');
      const turn = () => new Promise((r) => setImmediate(r));
      await turn();
      const timersBefore = timers();
      const resourcesBefore = resources();
      gc();
      const heapBefore = process.memoryUsage().heapUsed;
      const [tx, rx] = unbounded();
      const ac = new AbortController();
      const signal = ac.signal;
      const out = { parkedWithListener: 0, parkedWithTimers: 0, bad: [], afterWins: 0, timeouts: 0 };
      const N = 1_000_000;
      for (let i = 0; i < N; i++) {
        const mode = i % 8;
        if (mode < 5) {
          tx.trySend(i); // ready at the poll: no timer or listener is ever registered
        } else {
          // Not ready: the select parks with its two timers and its listener, then the message arrives.
          queueMicrotask(() => {
            if (i % 50_000 === 5) {
              if (getEventListeners(signal, 'abort').length === 1) out.parkedWithListener++;
              if (timers() >= timersBefore + 2) out.parkedWithTimers++;
            }
            tx.trySend(i);
          });
        }
        const r = mode % 2 === 0
          ? await select({ rx, t: after(10_000) }, { timeout: 10_000, signal })
          : await select({ t: after(10_000), rx }, { timeout: 10_000, signal, biased: true });
        if ((r.case !== 'rx' || r.value !== i) && out.bad.length < 5) out.bad.push([i, r.case, r.value]);
        if (i % 100_000 === 99_999) {
          // Now and then the timer case wins, and a select times out.
          if ((await select({ rx, t: after(1) }, { signal })).case === 't') out.afterWins++;
          try { await select({ rx }, { timeout: 1, signal }); } catch (e) { if (e instanceof SelectTimeoutError) out.timeouts++; }
        }
      }
      await turn();
      out.timersLeft = timers() - timersBefore;
      out.listenersLeft = getEventListeners(signal, 'abort').length;
      out.resourcesSame = resources() === resourcesBefore;
      out.resources = resources();
      out.lenAfter = rx.len;
      tx.trySend(-1);
      out.lenAfterOneMore = rx.len; // 1 unless a stale receive waiter swallowed it
      out.next = rx.tryRecv();
      gc();
      out.heapGrowthMB = (process.memoryUsage().heapUsed - heapBefore) / 1024 / 1024;
      console.log(JSON.stringify(out));
      process.exit(0);
    `);
    assert.equal(res.status, 0, res.stderr);
    const out = JSON.parse(res.stdout.trim()) as Record<string, unknown>;
    assert.deepEqual(out['bad'], [], 'every select received the message of its iteration');
    assert.ok((out['parkedWithListener'] as number) > 0 && (out['parkedWithTimers'] as number) > 0, 'the parked selects did register a listener and timers, so the checks below can fail');
    assert.equal(out['afterWins'], 10);
    assert.equal(out['timeouts'], 10);
    assert.equal(out['timersLeft'], 0, 'no setTimeout left armed');
    assert.equal(out['listenersLeft'], 0, 'no abort listener left on the signal');
    assert.equal(out['resourcesSame'], true, `active resources back to the baseline (now: ${String(out['resources'])})`);
    assert.equal(out['lenAfter'], 0);
    assert.equal(out['lenAfterOneMore'], 1, 'no receive waiter was left parked to swallow the next message');
    assert.equal(out['next'], -1);
    assert.ok((out['heapGrowthMB'] as number) < 16, `the heap grew by ${String(out['heapGrowthMB'])} MB over 1,000,000 selects`);
  });

  test('40,000 timed and abortable sends, receives and ready() calls leave no timers or listeners behind', async () => {
    const timersBefore = activeTimers();
    const ac = new AbortController();
    const signal = ac.signal;
    for (const f of FLAVORS) {
      const [tx, rx] = f.make<number>();
      for (let i = 0; i < 10_000; i++) {
        switch (i % 4) {
          case 0: {
            const r = rx.recv({ signal });
            await tx.send(i, { signal });
            assert.equal(await r, i);
            break;
          }
          case 1: {
            const r = rx.recvTimeout(10_000, { signal });
            await tx.sendTimeout(i, 10_000, { signal });
            assert.equal(await r, i);
            break;
          }
          case 2: {
            const s = tx.sendTimeout(i, 10_000, { signal });
            assert.equal(await rx.recvTimeout(10_000, { signal }), i);
            await s;
            break;
          }
          default: {
            // ready() parks a watch (timer and listener) until a sender shows up.
            const p = ready({ rx }, { signal, timeout: 10_000 });
            if (f.cap === 0) {
              const s = tx.send(i, { signal }); // a rendezvous channel is ready once a sender waits
              assert.equal(await p, 'rx');
              assert.equal(rx.tryRecv(), i);
              await s;
            } else {
              queueMicrotask(() => tx.trySend(i));
              assert.equal(await p, 'rx');
              assert.equal(rx.tryRecv(), i);
            }
          }
        }
      }
      tx.close();
      rx.close();
    }
    await turn();
    assert.equal(activeTimers(), timersBefore);
    assert.equal(getEventListeners(signal, 'abort').length, 0);
  });

  test('recvMany that has already received a message resolves with it, even if the Receiver is closed before it resumes', async () => {
    // recv() in this situation resolves with the message it got before the close…
    {
      const [tx, rx] = unbounded<string>();
      const p = rx.recv();
      tx.trySend('a'); // completes the waiting receive: 'a' leaves the channel
      rx.close(); // before the receive's continuation runs
      assert.equal(await p, 'a');
    }
    // …and so must recvMany: a rejection means "nothing received" to the caller.
    const [tx, rx] = unbounded<string>();
    const batch: string[] = [];
    const p = rx.recvMany(batch, 10);
    tx.trySend('a');
    rx.close();
    const outcome = await p.then(
      (n) => ({ resolved: n }),
      (e: unknown) => ({ rejected: e instanceof Error ? e.name : String(e) }),
    );
    assert.deepEqual({ outcome, batch }, { outcome: { resolved: 1 }, batch: ['a'] }, 'recvMany took the message, then rejected as if it had not');
  });

  test('bug: a Sender last used in a select and then forgotten is still closed by the garbage-collection backstop', () => {
    const res = runScript(`
      import { unbounded, select, send, RecvError, configure } from ${indexUrl};
      configure({ leakWarnings: false });
      const [tx, rx] = unbounded();
      async function producer() {
        const mine = tx.clone();               // forgotten: never closed
        await select({ out: send(mine, 'hello') });
      }
      await producer();
      tx.close();
      const got = [];
      let ended = false;
      (async () => { try { for (;;) got.push(await rx.recv()); } catch (e) { ended = e instanceof RecvError; } })();
      for (let i = 0; i < 30 && !ended; i++) { gc(); await new Promise((r) => setTimeout(r, 10)); }
      console.log(JSON.stringify({ ended, got }));
      process.exit(0);
    `);
    assert.equal(res.status, 0, res.stderr);
    assert.deepEqual(JSON.parse(res.stdout.trim()), { ended: true, got: ['hello'] }, 'the forgotten Sender was never collected, so the receiver never saw the end');
  });
});
