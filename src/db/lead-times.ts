/** Receipts per supplier as of a date (point in time: received before today), for learned lead times. */
import type BetterSqlite3 from 'better-sqlite3';
import { addDays, daysBetween } from '../dates.js';
import { receiptStats, RECEIPT_WINDOW_DAYS, type Receipt, type ReceiptStats } from '../inventory/lead-times.js';

export function supplierReceiptStats(sqlite: BetterSqlite3.Database, asOf: string, supplierId?: number): Map<number, ReceiptStats> {
  const one = supplierId !== undefined ? ' and supplier_id = ?' : '';
  const args: unknown[] = [asOf, addDays(asOf, -RECEIPT_WINDOW_DAYS)];
  if (supplierId !== undefined) args.push(supplierId);
  const rows = sqlite
    .prepare(`select supplier_id, ordered_on, expected_on, received_on from purchase_orders where received_on is not null and received_on < ? and received_on >= ? and status != 'cancelled'${one}`)
    .raw(true)
    .all(...args) as [number, string, string, string][];
  const by = new Map<number, Receipt[]>();
  for (const [s, ordered, expected, received] of rows) {
    const list = by.get(s) ?? by.set(s, []).get(s)!;
    list.push({ leadTime: daysBetween(ordered, received), lateness: daysBetween(expected, received) });
  }
  const out = new Map<number, ReceiptStats>();
  for (const [s, list] of by) {
    const st = receiptStats(list);
    if (st) out.set(s, st);
  }
  return out;
}
