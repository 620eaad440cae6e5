/** Receipts per supplier as of a date (point in time: received before today), for learned lead times. */
import { sql } from 'kysely';
import { addDays } from '../dates.js';
import { RECEIPT_WINDOW_DAYS, statsFromSums, type ReceiptStats } from '../inventory/lead-times.js';
import { isPostgres, qOf, type DbOrQ } from './handle.js';
import { num } from './query.js';

/** Whole days from `a` to `b` (ISO date text columns), in each dialect's own date arithmetic. */
function dayDiff(pg: boolean, b: string, a: string) {
  return pg ? sql.raw(`(${b}::date - ${a}::date)`) : sql.raw(`(julianday(${b}) - julianday(${a}))`);
}

/**
 * Count, sum and sum of squares of the real lead time (received - ordered, days)
 * and the lateness (received - expected, days) per supplier, over the receipts of
 * the window, aggregated in SQL (one indexed range: a `suggest` for one supplier
 * reads a handful of sums, not every receipt).
 */
export async function supplierReceiptStats(db: DbOrQ, asOf: string, supplierId?: number): Promise<Map<number, ReceiptStats>> {
  const pg = isPostgres(db);
  const lt = dayDiff(pg, 'received_on', 'ordered_on');
  const late = dayDiff(pg, 'received_on', 'expected_on');
  const one = supplierId !== undefined ? sql` and supplier_id = ${supplierId}` : sql``;
  const r = await sql<{ supplier_id: number; n: unknown; s1: unknown; s2: unknown; t1: unknown; t2: unknown }>`
    select supplier_id, count(*) as n, sum(lt) as s1, sum(lt * lt) as s2, sum(late) as t1, sum(late * late) as t2 from (
      select supplier_id, ${lt} as lt, ${late} as late from purchase_orders
      where received_on is not null and ordered_on is not null and received_on < ${asOf} and received_on >= ${addDays(asOf, -RECEIPT_WINDOW_DAYS)}
        and status != 'cancelled'${one}
    ) x where lt >= 0 group by supplier_id`.execute(qOf(db));
  return new Map(r.rows.map((x) => [num(x.supplier_id), statsFromSums(num(x.n), num(x.s1), num(x.s2), num(x.t1), num(x.t2))]));
}
