/** Receipts per supplier as of a date (point in time: received before today), for learned lead times. */
import { addDays, daysBetween } from '../dates.js';
import { RECEIPT_WINDOW_DAYS, statsFromSums, type ReceiptStats } from '../inventory/lead-times.js';
import { qOf, type DbOrQ } from './handle.js';
import { num } from './query.js';

/**
 * Count, sum and sum of squares of the real lead time (received - ordered, days)
 * and the lateness (received - expected, days) per supplier, over the receipts of
 * the window; day differences are computed in TypeScript (whole days, exact).
 */
export async function supplierReceiptStats(db: DbOrQ, asOf: string, supplierId?: number): Promise<Map<number, ReceiptStats>> {
  let q = qOf(db)
    .selectFrom('purchase_orders')
    .select(['supplier_id', 'ordered_on', 'received_on', 'expected_on'])
    .where('received_on', 'is not', null)
    .where('received_on', '<', asOf)
    .where('received_on', '>=', addDays(asOf, -RECEIPT_WINDOW_DAYS))
    .where('status', '!=', 'cancelled');
  if (supplierId !== undefined) q = q.where('supplier_id', '=', supplierId);
  const sums = new Map<number, { n: number; s1: number; s2: number; t1: number; t2: number }>();
  for (const r of await q.orderBy('id').execute()) {
    if (!r.ordered_on || !r.received_on) continue;
    const lt = daysBetween(r.ordered_on, r.received_on);
    if (!(lt >= 0)) continue;
    const id = num(r.supplier_id);
    const s = sums.get(id) ?? sums.set(id, { n: 0, s1: 0, s2: 0, t1: 0, t2: 0 }).get(id)!;
    s.n++;
    s.s1 += lt;
    s.s2 += lt * lt;
    if (r.expected_on) {
      const late = daysBetween(r.expected_on, r.received_on);
      s.t1 += late;
      s.t2 += late * late;
    }
  }
  return new Map([...sums.entries()].map(([id, s]) => [id, statsFromSums(s.n, s.s1, s.s2, s.t1, s.t2)]));
}
