/**
 * The showcase's business types and the pure functions every thread shares.
 */

/** An order as it enters the desk. */
export interface Order {
  readonly id: number;
  readonly customer: string;
  readonly items: readonly { readonly sku: string; readonly qty: number }[];
}

/** An order with its price, computed on a pool thread. */
export interface PricedOrder {
  readonly id: number;
  readonly customer: string;
  readonly cents: number;
}

/** The auditor's verdict on a sample of booked orders. */
export interface Audit {
  readonly id: number;
  readonly ok: boolean;
  readonly thread: number;
}

const CUSTOMERS = ['ada', 'brian', 'chen', 'dana', 'emil', 'fatou', 'grace', 'hiro'];
const SKUS = ['loom', 'shuttle', 'bobbin', 'heddle', 'reed', 'warp', 'weft'];

/** The n-th order of the day: deterministic, so every run can be checked. */
export function makeOrder(id: number): Order {
  const items = Array.from({ length: 1 + (id % 4) }, (_, k) => ({ sku: SKUS[(id + k) % SKUS.length]!, qty: 1 + ((id * 7 + k) % 5) }));
  return { id, customer: CUSTOMERS[id % CUSTOMERS.length]!, items };
}

/** Unit price of a SKU in cents: a little CPU work, the reason pricing runs on a pool. */
export function unitCents(sku: string, rounds = 200): number {
  let h = 2166136261;
  for (let r = 0; r < rounds; r++) for (let i = 0; i < sku.length; i++) h = Math.imul(h ^ sku.charCodeAt(i), 16777619) >>> 0;
  return 100 + (h % 900);
}

/** The price of an order, in cents. */
export function priceOf(order: Order): number {
  let cents = 0;
  for (const it of order.items) cents += unitCents(it.sku) * it.qty;
  return cents;
}
