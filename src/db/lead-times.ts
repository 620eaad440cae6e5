/** Receipts per supplier as of a date (point in time: received before today), for learned lead times. */
import type BetterSqlite3 from 'better-sqlite3';
import { addDays } from '../dates.js';
import { RECEIPT_WINDOW_DAYS, statsFromSums, type ReceiptStats } from '../inventory/lead-times.js';

/**
 * Count, sum and sum of squares of the real lead time and the lateness per
 * supplier, aggregated in SQL (one indexed range per supplier: a suggest reads
 * one supplier in well under a millisecond).
 */
export function supplierReceiptStats(sqlite: BetterSqlite3.Database, asOf: string, supplierId?: number): Map<number, ReceiptStats> {
  const one = supplierId !== undefined ? ' and supplier_id = ?' : '';
  const args: unknown[] = [asOf, addDays(asOf, -RECEIPT_WINDOW_DAYS)];
  if (supplierId !== undefined) args.push(supplierId);
  const rows = sqlite
    .prepare(
      `select supplier_id, count(*) as n, sum(lt) as s1, sum(lt * lt) as s2, sum(late) as t1, sum(late * late) as t2 from (
         select supplier_id, julianday(received_on) - julianday(ordered_on) as lt, julianday(received_on) - julianday(expected_on) as late
         from purchase_orders where received_on is not null and received_on < ? and received_on >= ? and status != 'cancelled'${one}
       ) where lt >= 0 group by supplier_id`,
    )
    .all(...args) as { supplier_id: number; n: number; s1: number; s2: number; t1: number; t2: number }[];
  return new Map(rows.map((r) => [r.supplier_id, statsFromSums(r.n, r.s1, r.s2, r.t1, r.t2)]));
}
