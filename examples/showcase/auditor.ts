/**
 * The auditor: a component on its own worker thread. It receives audit
 * requests on a shared-memory channel; each request carries the Sender its
 * answer goes to (request/reply across threads, the reply Sender inside the
 * message). It joined the hang monitor, so its loop reports activity and
 * waiting by itself.
 *
 * Once, on purpose, it "reconciles the ledger" with a busy loop that blocks
 * its thread for a while: the monitor, on its own thread, catches it and
 * samples this thread's stack while it is still stuck.
 */
import { threadId } from 'node:worker_threads';
import { spawn, workerHandles, type Receiver, type Sender } from 'weft';
import { joinHangMonitor, type MonitorToken } from 'weft/monitor';
import { priceOf, type Audit, type Order } from './orders.js';

export interface AuditRequest {
  readonly order: Order;
  readonly cents: number;
  readonly reply: Sender<Audit>;
}

export interface AuditorData {
  readonly token: MonitorToken;
  /** Which request triggers the hang (1-based; 0: never). */
  readonly hangOn: number;
  readonly hangMs: number;
}

/** The bug the monitor catches: a reconciliation that spins instead of waiting. */
function reconcileLedgerSlowly(ms: number): number {
  const end = Date.now() + ms;
  let x = 0;
  while (Date.now() < end) for (let i = 0; i < 1000; i++) x = (x + i) % 1000003;
  return x;
}

const { requests } = workerHandles<{ requests: Receiver<AuditRequest> }>();
const { workerData } = await import('node:worker_threads');
const data = workerData as AuditorData;
const member = joinHangMonitor(data.token, { components: { transientMs: 200, permanentMs: 700 } });

const auditor = spawn(
  {
    init: () => ({ seen: 0 }),
    async handle(state, msg) {
      const { order, cents, reply } = msg.value;
      state.seen++;
      if (state.seen === data.hangOn) reconcileLedgerSlowly(data.hangMs);
      await reply.send({ id: order.id, ok: priceOf(order) === cents, thread: threadId });
      reply.close();
    },
  },
  { inputs: { requests }, name: 'auditor' },
);
await auditor.done;
member.leave();
