/**
 * The auditor: a component on its own worker thread (`spawnThread`). It
 * receives audit requests on a shared-memory channel; each request carries
 * the Sender its answer goes to (request/reply across threads, the reply
 * Sender inside the message). Started with the hang monitor, its loop
 * reports activity and waiting from its thread by itself.
 *
 * Once, on purpose, it "reconciles the ledger" with a busy loop that blocks
 * its thread for a while: the monitor, on its own thread, catches it and
 * samples this thread's stack while it is still stuck.
 */
import { threadId } from 'node:worker_threads';
import type { ComponentFactory, HandleMap, Receiver, Sender } from 'weft';
import { priceOf, type Audit, type Order } from './orders.js';

export interface AuditRequest {
  readonly order: Order;
  readonly cents: number;
  readonly reply: Sender<Audit>;
}

export interface AuditorData {
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

/** The component: built from its settings, run by `spawnThread` on a thread of its own. */
export const auditor: ComponentFactory<{ requests: Receiver<AuditRequest> }, { seen: number }, void, HandleMap, AuditorData> = ({ data }) => ({
  init: () => ({ seen: 0 }),
  async handle(state, msg) {
    const { order, cents, reply } = msg.value;
    state.seen++;
    if (state.seen === data.hangOn) reconcileLedgerSlowly(data.hangMs);
    await reply.send({ id: order.id, ok: priceOf(order) === cents, thread: threadId });
    reply.close();
  },
});
