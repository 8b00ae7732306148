/**
 * `npm start`: weft's showcase, an order desk across threads.
 *
 *   orders ─▶ validate ─▶ price (pool of 2 worker threads) ─▶ book (ledger actor)
 *          ─▶ audit (a component on its own worker thread, request/reply) ─▶ durable log
 *
 * Everything the reference articles describe, in one program:
 * - a pipeline whose stages are connected by bounded channels: backpressure
 *   end to end, and shutdown that cascades stage by stage when the orders end;
 * - a worker pool (fan-out to two threads over shared memory, fan-in of the
 *   priced orders);
 * - request/reply: booking is a `call` to an actor that owns the ledger; an
 *   audit is a `call` to a component on another thread, the reply Sender
 *   travelling inside the request;
 * - the background hang monitor, on its own thread: the auditor hangs once on
 *   purpose, and the monitor reports it, with the stack of the stuck thread,
 *   while the rest of the desk keeps working;
 * - the durable log writer: every booked order is a line; every 100th is
 *   written durably (the stage waits until it is on disk).
 *
 * At the end it reads the log back and checks that every order went through
 * exactly once, that the ledger matches the log, and that the hang was
 * caught. In a terminal it shows a live view; elsewhere, plain lines.
 *
 * Environment: SHOWCASE_ORDERS (default 60000), SHOWCASE_HANG_MS (1500).
 */
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { actor, bounded, call, pipeline, pool, sharedBounded, spawnThread, stage, type Sender } from 'weft';
import { listSegments, openLog } from 'weft/log';
import { formatAlert, startHangMonitor, type HangAlert } from 'weft/monitor';
import type { AuditorData, AuditRequest } from './auditor.js';
import { makeOrder, type Order, type PricedOrder } from './orders.js';
import { LiveView } from './view.js';

const ORDERS = Number(process.env['SHOWCASE_ORDERS'] ?? 60_000);
const HANG_MS = Number(process.env['SHOWCASE_HANG_MS'] ?? 1500);
const AUDIT_EVERY = 250;
const DURABLE_EVERY = 100;

type Ledger =
  | { type: 'book'; order: PricedOrder; reply: Sender<number> }
  | { type: 'totals'; reply: Sender<{ orders: number; cents: number; byCustomer: Record<string, number> }> };

async function main(): Promise<void> {
  const started = performance.now();
  const view = new LiveView(`weft showcase: an order desk — ${ORDERS.toLocaleString('en')} orders, 2 pricing threads, 1 auditor thread`);
  for (const c of ['orders', 'validate', 'price', 'book', 'audit', 'log']) view.component(c);

  // The hang monitor, on its own thread. Main-thread loops report with generous timeouts.
  const monitor = startHangMonitor({ components: { transientMs: 1000, permanentMs: 4000 } });
  await monitor.ready;
  const alerts: HangAlert[] = [];
  const alertsDone = (async () => {
    for await (const a of monitor.alerts) {
      alerts.push(a);
      view.alert(formatAlert(a, 3));
    }
  })();

  // The durable log.
  const dir = await mkdtemp(join(tmpdir(), 'weft-showcase-'));
  const logPath = join(dir, 'orders.log');
  const [log, writer] = await openLog(logPath, { capacity: 1024 });

  // The ledger: an actor that owns the totals.
  const [ledger, ledgerRx] = bounded<Ledger>(64);
  const ledgerActor = actor(
    ledgerRx,
    {
      init: () => ({ orders: 0, cents: 0, byCustomer: {} as Record<string, number> }),
      handlers: {
        book: (s, c) => {
          s.orders++;
          s.cents += c.order.cents;
          s.byCustomer[c.order.customer] = (s.byCustomer[c.order.customer] ?? 0) + c.order.cents;
          return s.orders;
        },
        totals: (s) => ({ orders: s.orders, cents: s.cents, byCustomer: { ...s.byCustomer } }),
      },
    },
    { name: 'ledger' },
  );

  // The auditor: a component on its own thread, fed through a shared-memory channel.
  const [audits, auditsRx] = sharedBounded<AuditRequest>(8);
  const auditorData: AuditorData = { hangOn: 3, hangMs: HANG_MS };
  const auditor = spawnThread(new URL('./auditor.js', import.meta.url), {
    inputs: { requests: auditsRx },
    export: 'auditor',
    name: 'auditor',
    data: auditorData,
    monitor, // its loop reports to the hang monitor from its thread
    hangTimeouts: { transientMs: 200, permanentMs: 700 },
  });

  // The pricing pool.
  const pricing = pool<Order, PricedOrder>(new URL('./pricing.js', import.meta.url), {
    threads: 2,
    monitor, // the pricing workers report to the hang monitor too
    hangTimeouts: { transientMs: 1000, permanentMs: 4000 },
  });

  view.channel('ledger requests', ledger);
  view.channel('audit requests', audits);
  view.start();

  let audited = 0;
  let auditFailures = 0;
  async function* orders(): AsyncGenerator<Order> {
    for (let id = 0; id < ORDERS; id++) {
      view.count('orders');
      yield makeOrder(id);
    }
  }

  const logged = await pipeline(
    orders(),
    (o: Order) => {
      if (o.items.length === 0) throw new Error(`order ${o.id} has no items`);
      view.count('validate');
      return o;
    },
    stage(
      async (o: Order, signal) => {
        const p = await pricing.run(o, { signal });
        view.count('price');
        return p;
      },
      { concurrency: 64 },
    ),
    async (p: PricedOrder) => {
      await call(ledger, (reply) => ({ type: 'book', order: p, reply }));
      view.count('book');
      return p;
    },
    stage(
      async (p: PricedOrder) => {
        if (p.id % AUDIT_EVERY === 0) {
          const verdict = await call(audits, (reply) => ({ order: makeOrder(p.id), cents: p.cents, reply }));
          audited++;
          if (!verdict.ok) auditFailures++;
        }
        view.count('audit');
        return p;
      },
      { concurrency: 4 },
    ),
    async (priced) => {
      using out = log;
      let n = 0;
      for await (const p of priced) {
        const line = JSON.stringify({ id: p.id, customer: p.customer, cents: p.cents });
        if (p.id % DURABLE_EVERY === 0) await out.writeDurable(line);
        else await out.write(line);
        view.count('log');
        n++;
      }
      return n;
    },
    { capacity: 256 },
  );

  // Shutdown, in order: the pipeline ended, so close what it used.
  const totals = await call(ledger, (reply) => ({ type: 'totals', reply }));
  ledger.close();
  await ledgerActor.done;
  audits.close(); // the auditor's input ends: its loop ends, its thread exits
  await auditor.done;
  await pricing.close();
  const stats = await writer.done;
  await monitor.shutdown();
  await alertsDone;
  view.stop();

  // Check everything against the log on disk.
  const seen = new Uint8Array(ORDERS);
  let cents = 0;
  let lines = 0;
  for (const file of await listSegments(logPath)) {
    for (const line of (await readFile(file, 'utf8')).split('\n')) {
      if (line === '') continue;
      const r = JSON.parse(line) as { id: number; cents: number };
      seen[r.id]!++;
      cents += r.cents;
      lines++;
    }
  }
  const seconds = (performance.now() - started) / 1000;
  const hang = alerts.find((a) => a.component === 'auditor' && a.kind === 'permanent');
  const problems: string[] = [];
  if (logged !== ORDERS || lines !== ORDERS) problems.push(`logged ${logged}, ${lines} lines on disk, expected ${ORDERS}`);
  if (!seen.every((c) => c === 1)) problems.push('an order is missing or doubled in the log');
  if (totals.orders !== ORDERS || totals.cents !== cents) problems.push(`ledger ${totals.orders} orders / ${totals.cents} cents, log ${lines} / ${cents}`);
  if (audited !== Math.ceil(ORDERS / AUDIT_EVERY) || auditFailures > 0) problems.push(`audits: ${audited} done, ${auditFailures} failed`);
  if (hang === undefined) problems.push('the auditor hang was not reported');

  console.log('');
  console.log('summary');
  console.log(`  ${ORDERS.toLocaleString('en')} orders in ${seconds.toFixed(1)} s (${Math.round(ORDERS / seconds).toLocaleString('en')}/s), through 2 pricing threads and 1 auditor thread`);
  console.log(`  ledger: ${totals.orders.toLocaleString('en')} orders, ${(totals.cents / 100).toLocaleString('en', { minimumFractionDigits: 2 })} total, ${Object.keys(totals.byCustomer).length} customers`);
  console.log(`  log: ${lines.toLocaleString('en')} lines on disk in ${stats.writes.toLocaleString('en')} batched writes; ${Math.ceil(ORDERS / DURABLE_EVERY)} durable lines, each on disk before its order went on`);
  console.log(`  audits: ${audited} answered across threads, ${auditFailures} mismatches`);
  console.log(`  hang monitor: ${alerts.length} alert(s); ${hang === undefined ? 'no permanent alert for the auditor' : `auditor stuck ${Math.round(hang.durationMs)} ms, stack: ${(hang.frames ?? []).slice(0, 2).map((f) => f.functionName || '(anonymous)').join(' ← ') || 'not sampled'}`}`);
  console.log(problems.length === 0 ? '  check: ok — nothing lost, nothing doubled, ledger matches the log, hang caught' : `  check: FAILED — ${problems.join('; ')}`);
  await rm(dir, { recursive: true, force: true });
  if (problems.length > 0) process.exitCode = 1;
}

await main();
