/**
 * The pool's task module: prices one order on a worker thread. A plain
 * exported function; the pool calls it with each input.
 */
import { priceOf, type Order, type PricedOrder } from './orders.js';

export default function price(order: Order): PricedOrder {
  return { id: order.id, customer: order.customer, cents: priceOf(order) };
}
