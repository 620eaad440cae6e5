/**
 * What the data-quality check reads: one query per rule over all series (or, for
 * the per-series rules, one query per table and per chunk of series), never a
 * query per series. Rows come back plain; the rules (src/check/rules.ts) judge them.
 *
 * Text ordering (SKUs, codes) is done by the caller in TypeScript: SQLite compares
 * bytes, PostgreSQL compares with the database's collation, and the check must
 * list its findings in the same order on both.
 */
import { sql } from 'kysely';
import { dayNumber } from '../dates.js';
import { num, type Q } from './query.js';
import { ZERO_RUN_PROBABILITY } from '../ml/zero-runs.js';
import { fastSqlite, qOf, type DbOrQ } from './handle.js';

export interface CheckSeries { p: number; l: number; sku: string; loc: string }

/** Active products with at least one sales row at a location. */
export async function activeSalesSeries(q: Q): Promise<CheckSeries[]> {
  const rows = await sql<CheckSeries>`select p.id as p, l.id as l, p.sku, l.code as loc from products p cross join locations l
    where p.active = 1 and (select 1 from sales s where s.product_id = p.id and s.location_id = l.id limit 1) is not null order by p.id, l.id`.execute(q);
  return rows.rows;
}

/** Series (any product) with at least one stock record. */
export async function stockSeries(q: Q): Promise<CheckSeries[]> {
  const rows = await sql<CheckSeries>`select p.id as p, l.id as l, p.sku, l.code as loc from products p cross join locations l
    where (select 1 from stock_levels x where x.product_id = p.id and x.location_id = l.id limit 1) is not null order by p.id, l.id`.execute(q);
  return rows.rows;
}

/** A sale: product, location, date, quantity, unit price, revenue, on promotion (0/1). */
export type SaleRow = [p: number, l: number, date: string, quantity: number, unitPrice: number | null, revenue: number | null, onPromo: number];
/** A dated quantity of a series: product, location, date, quantity. */
export type DatedQty = [p: number, l: number, date: string, q: number];

const CHUNK_SQL = {
  sales: 'select product_id, location_id, date, quantity, unit_price, revenue, on_promo from sales where product_id >= ? and product_id <= ? and date < ? order by product_id, location_id, date',
  stock: 'select product_id, location_id, date, on_hand from stock_levels where product_id >= ? and product_id <= ? and date < ? order by product_id, location_id, date',
  receipts: `select product_id, location_id, received_on, quantity from purchase_orders where product_id >= ? and product_id <= ? and received_on is not null and received_on < ? and status != 'cancelled' order by product_id, location_id, received_on, id`,
  losses: 'select product_id, location_id, date, quantity_lost from quality_incidents where product_id >= ? and product_id <= ? and date < ? order by product_id, location_id, date',
} as const;

/**
 * Everything the per-series rules read for the products with ids in [fromId, toId],
 * before `asOf`: sales, stock records, receipts and losses, each ordered by series and
 * date, as tuples. On SQLite the statements return arrays directly (the rows of a
 * 30,000-series check are read once; objects per row cost more than the reads).
 */
export async function seriesChunk(d: DbOrQ, fromId: number, toId: number, asOf: string): Promise<{ sales: SaleRow[]; stock: DatedQty[]; receipts: DatedQty[]; losses: DatedQty[] }> {
  const fast = fastSqlite(d);
  const read = async <T>(text: string): Promise<T[]> => {
    if (fast) return fast.prepare(text).raw(true).all(fromId, toId, asOf) as T[];
    // The same statement through kysely: placeholders become $1.. on PostgreSQL.
    const parts = text.split('?');
    const q = sql.join([sql.raw(parts[0]), sql`${fromId}`, sql.raw(parts[1]), sql`${toId}`, sql.raw(parts[2]), sql`${asOf}`, sql.raw(parts[3])], sql``);
    const rows = await sql<Record<string, unknown>>`${q}`.execute(qOf(d));
    return rows.rows.map((r) => Object.values(r)) as T[];
  };
  return { sales: await read<SaleRow>(CHUNK_SQL.sales), stock: await read<DatedQty>(CHUNK_SQL.stock), receipts: await read<DatedQty>(CHUNK_SQL.receipts), losses: await read<DatedQty>(CHUNK_SQL.losses) };
}

export interface EventScope { start_date: string; end_date: string; product_id: number | null; category: string | null; location_id: number | null }

/** Events overlapping [from, to). */
export async function eventsOverlapping(q: Q, from: string, to: string): Promise<EventScope[]> {
  return q.selectFrom('events').select(['start_date', 'end_date', 'product_id', 'category', 'location_id'])
    .where('end_date', '>=', from).where('start_date', '<', to).orderBy('id').execute();
}

export async function productCategories(q: Q): Promise<Map<number, string | null>> {
  const rows = await q.selectFrom('products').select(['id', 'category']).execute();
  return new Map(rows.map((r) => [r.id, r.category]));
}

/** Sales rows per location and day before `asOf`, ordered by location and day (codes joined here, not per row). */
export async function salesRowsPerLocationDay(q: Q, asOf: string): Promise<{ location_id: number; code: string; date: string; n: number }[]> {
  const codes = new Map((await q.selectFrom('locations').select(['id', 'code']).execute()).map((l) => [l.id, l.code]));
  const rows = await q.selectFrom('sales').select(['location_id', 'date', (e) => e.fn.countAll().as('n')])
    .where('date', '<', asOf).groupBy(['location_id', 'date']).orderBy('location_id').orderBy('date').execute();
  return rows.map((r) => ({ location_id: r.location_id, code: codes.get(r.location_id) ?? String(r.location_id), date: r.date, n: num(r.n) }));
}

/**
 * A location's days with sales rows: its first and last day with a row (day
 * numbers), the typical (median) number of series with a row on such a day,
 * and the runs of days between first and last with NO sales row for any series
 * that are a missing import (`missing`, inclusive [from, to] day-number pairs).
 * A day without any row is missing when
 * - the location's typical day has rows for at least MIN_TYPICAL_SERIES
 *   series, or the run of such days is too long for the location's own quiet
 *   days: (1 - share)^g < 1e-4 (ZERO_RUN_PROBABILITY), with share its judged
 *   days (below) that have rows and g the run's days (two products that sell
 *   every day: any day without a row; one slow product: only a long run), and
 * - its weekday is a trading day there: of the days of that weekday within
 *   TRADING_WEEKS weeks before or after it that have a row elsewhere in their
 *   week (the 3 days before or after), at least half have rows themselves. A
 *   shop closed every Sunday has no Sunday rows and no missing Sundays, nor
 *   does one that started closing on Sundays; a month without any row leaves
 *   the weekday shares of the other weeks as they are, and its days are
 *   missing;
 * - the location is not known to be closed that day: a holiday (an event of
 *   kind holiday for every product, there or everywhere) or an event with
 *   planned_uplift -1 (no sales) there or everywhere (`closedDays`).
 * The one definition of "a whole day of sales missing" (`missingSalesRuns`):
 * `optiflow check` (missing-sales-days) reports these runs over the whole
 * history, and the demand history (src/db/history.ts) reads them as unknown
 * demand over the days it loads.
 */
export interface LocationSalesDays { location_id: number; code: string; first: number; last: number; days: number; typical: number; missing: [number, number][] }

/** Weeks before and after a day over which its weekday's trading is judged (missingSalesRuns): a quarter of a year. */
export const TRADING_WEEKS = 6;

/** Series with a row on a typical day below which a location's days without any row are not judged missing. */
export const MIN_TYPICAL_SERIES = 3;

/** Median of a sample (NaN when empty). */
export function median(xs: ArrayLike<number>): number {
  if (!xs.length) return NaN;
  const s = Array.from(xs).sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 ? s[m] : (s[m - 1] + s[m]) / 2;
}

/**
 * The missing days of one location (see LocationSalesDays) from its number of series with a sales row per day:
 * `counts[i]` for day `start + i`. `from` (an index) is the location's first day when it is known to sell before
 * its first row in `counts` (a loaded window that starts inside a gap); by default its first day with a row.
 * `through` (an index): the runs go on through that day, after the location's last row (the day before a run
 * date: sales not imported since); by default they end at its last row.
 */
export function missingSalesRuns(start: number, counts: ArrayLike<number>, from?: number, through?: number, closed?: ReadonlyMap<number, boolean>): { first: number; last: number; days: number; typical: number; missing: [number, number][] } {
  let lo = -1;
  let hi = -1;
  const sold: number[] = [];
  for (let i = 0; i < counts.length; i++)
    if (counts[i] > 0) {
      if (lo < 0) lo = i;
      hi = i;
      sold.push(counts[i]);
    }
  if (lo < 0) return { first: NaN, last: NaN, days: 0, typical: NaN, missing: [] };
  if (from !== undefined && from >= 0 && from < lo) lo = from;
  const typical = median(sold);
  const missing: [number, number][] = [];
  if (sold.length >= 2) {
    // Trading weekdays, judged around each day (TRADING_WEEKS weeks before and after): the share of the same
    // weekday's days with rows, among those whose week has rows on another day. A shop that starts closing on
    // Sundays has no missing Sundays from then on; a month without any row leaves the other weeks' shares as they are.
    const judged = new Int8Array(counts.length); // 1 judged without rows, 2 judged with rows
    for (let i = lo; i <= hi; i++) {
      let around = false;
      for (let k = Math.max(lo, i - 3); k <= Math.min(hi, i + 3) && !around; k++) around = k !== i && counts[k] > 0;
      if (around) judged[i] = counts[i] > 0 ? 2 : 1;
    }
    // The share of judged days with rows: below MIN_TYPICAL_SERIES series a day, a run of g days without any row
    // is missing only when (1 - share)^g < ZERO_RUN_PROBABILITY (two products that sell every day: any day
    // without a row; one slow product: only a run too long for its own quiet days).
    let judgedDays = 0;
    let judgedWithRows = 0;
    for (let i = lo; i <= hi; i++) if (judged[i]) {
      judgedDays++;
      if (judged[i] === 2) judgedWithRows++;
    }
    const quiet = judgedDays ? 1 - judgedWithRows / judgedDays : 1;
    const implausible = (g: number) => typical >= MIN_TYPICAL_SERIES || Math.pow(quiet, g) < ZERO_RUN_PROBABILITY;
    const trading = (i: number): boolean => {
      let n = 0;
      let withRows = 0;
      for (let k = i - 7 * TRADING_WEEKS; k <= i + 7 * TRADING_WEEKS; k += 7) {
        if (k < lo || k > hi || !judged[k]) continue;
        n++;
        if (judged[k] === 2) withRows++;
      }
      return n > 0 && 2 * withRows >= n;
    };
    // Through `through` when given: the days after the location's last row (an import that stopped) too.
    const end = through !== undefined && through > hi ? through : hi;
    let run = -1;
    for (let i = lo; i <= end + 1; i++) {
      // After the last row, a day's weekday is judged as on the same weekday of the last weeks with rows.
      const gap = i <= end && !(counts[i] > 0) && !closed?.has(start + i) && trading(i <= hi ? i : i - 7 * Math.ceil((i - hi) / 7));
      if (gap && run < 0) run = i;
      if (!gap && run >= 0) {
        if (implausible(i - run)) missing.push([start + run, start + i - 1]);
        run = -1;
      }
    }
  }
  return { first: start + lo, last: start + hi, days: sold.length, typical, missing };
}

/**
 * The days (day numbers) of [from, to) a location is known to be closed, by location id (null: every location),
 * each with whether it is shut by an event with planned_uplift -1 (no sales) for every product (true), or a
 * holiday for every product whose planned uplift does not say the shop trades (null or at most 0: false). Neither
 * is a missing import when it has no rows; the shut days are also unknown demand for the models (the shop could
 * not sell), and `events-impact` forecasts them at zero.
 */
export async function closedDays(q: Q, from: string, to: string): Promise<Map<number | null, Map<number, boolean>>> {
  const rows = await q.selectFrom('events').select(['kind', 'start_date', 'end_date', 'location_id', 'planned_uplift'])
    .where('product_id', 'is', null).where('category', 'is', null).where('end_date', '>=', from).where('start_date', '<', to).execute();
  const out = new Map<number | null, Map<number, boolean>>();
  for (const e of rows) {
    const uplift = e.planned_uplift === null ? null : Number(e.planned_uplift);
    const shut = uplift !== null && uplift <= -1;
    if (!shut && !(e.kind === 'holiday' && (uplift === null || uplift <= 0))) continue;
    const l = e.location_id === null ? null : num(e.location_id);
    const days = out.get(l) ?? out.set(l, new Map()).get(l)!;
    for (let d = Math.max(dayNumber(e.start_date), dayNumber(from)); d <= Math.min(dayNumber(e.end_date), dayNumber(to) - 1); d++) days.set(d, shut || days.get(d) === true);
  }
  return out;
}

/** The closed days of one location (its own and every location's; see closedDays), or undefined without any. */
export function closedAt(closed: Map<number | null, Map<number, boolean>>, location: number): Map<number, boolean> | undefined {
  const all = closed.get(null);
  const own = closed.get(location);
  if (!all) return own;
  if (!own) return all;
  const out = new Map(all);
  for (const [d, shut] of own) out.set(d, shut || out.get(d) === true);
  return out;
}

/** Each location's sales days before `asOf`, over the whole sales table (`optiflow check`). */
export async function locationSalesDays(q: Q, asOf: string): Promise<LocationSalesDays[]> {
  const closed = await closedDays(q, '0000-01-01', asOf);
  const per = new Map<number, { code: string; days: number[]; n: number[] }>();
  for (const r of await salesRowsPerLocationDay(q, asOf)) {
    const e = per.get(r.location_id) ?? per.set(r.location_id, { code: r.code, days: [], n: [] }).get(r.location_id)!;
    e.days.push(dayNumber(r.date));
    e.n.push(r.n);
  }
  const out: LocationSalesDays[] = [];
  for (const [location_id, { code, days, n }] of per) {
    const start = days[0];
    const counts = new Float64Array(days[days.length - 1] - start + 1);
    days.forEach((d, k) => (counts[d - start] = n[k]));
    out.push({ location_id, code, ...missingSalesRuns(start, counts, undefined, undefined, closedAt(closed, location_id)) });
  }
  return out;
}

export async function activeProductsMaster(q: Q): Promise<{ id: number; sku: string; unit_cost: number | null; has_supplier: boolean }[]> {
  const rows = await sql<{ id: number; sku: string; unit_cost: number | null; has_supplier: unknown }>`select p.id, p.sku, p.unit_cost,
    case when exists (select 1 from supplier_products sp where sp.product_id = p.id) then 1 else 0 end as has_supplier
    from products p where p.active = 1 order by p.id`.execute(q);
  return rows.rows.map((r) => ({ ...r, has_supplier: num(r.has_supplier) === 1 }));
}

export async function countOrders(q: Q, notCancelled: boolean): Promise<number> {
  let b = q.selectFrom('purchase_orders').select((e) => e.fn.countAll().as('n'));
  if (notCancelled) b = b.where('status', '!=', 'cancelled');
  return num((await b.executeTakeFirst())?.n);
}

export interface OrderCopy { id: number; sku: string; loc: string; ordered_on: string; expected_on: string; quantity: number; grp: string }

/** Non-cancelled orders that share supplier, series, quantity, order and expected dates with another, in id order. */
export async function repeatedOrders(q: Q): Promise<OrderCopy[]> {
  const rows = await sql<Omit<OrderCopy, 'grp'> & { supplier_id: number; product_id: number; location_id: number }>`
    select o.id, o.supplier_id, o.product_id, o.location_id, p.sku, l.code as loc, o.ordered_on, o.expected_on, o.quantity
    from purchase_orders o join products p on p.id = o.product_id join locations l on l.id = o.location_id
    join (select supplier_id, product_id, location_id, quantity, ordered_on, expected_on from purchase_orders where status != 'cancelled'
          group by supplier_id, product_id, location_id, quantity, ordered_on, expected_on having count(*) > 1) d
      on d.supplier_id = o.supplier_id and d.product_id = o.product_id and d.location_id = o.location_id
     and d.quantity = o.quantity and d.ordered_on = o.ordered_on and d.expected_on = o.expected_on
    where o.status != 'cancelled' order by o.id`.execute(q);
  return rows.rows.map((r) => ({ id: r.id, sku: r.sku, loc: r.loc, ordered_on: r.ordered_on, expected_on: r.expected_on, quantity: r.quantity, grp: JSON.stringify([r.supplier_id, r.product_id, r.location_id, r.quantity, r.ordered_on, r.expected_on]) }));
}

const CODE_TABLES = { products: 'sku', locations: 'code', suppliers: 'code' } as const;

/** Row count of a code table and its rows whose code equals another's but for case or surrounding spaces (key = lower(trim(code))). */
export async function codesEqualButForCase(q: Q, table: keyof typeof CODE_TABLES): Promise<{ count: number; rows: { id: number; code: string; k: string }[] }> {
  const col = sql.ref(CODE_TABLES[table]);
  const t = sql.table(table);
  const count = num((await sql<{ n: unknown }>`select count(*) as n from ${t}`.execute(q)).rows[0]?.n);
  const rows = await sql<{ id: number; code: string; k: string }>`select id, ${col} as code, lower(trim(${col})) as k from ${t}
    where lower(trim(${col})) in (select lower(trim(${col})) from ${t} group by lower(trim(${col})) having count(*) > 1) order by id`.execute(q);
  return { count, rows: rows.rows };
}

export async function countStockBefore(q: Q, asOf: string): Promise<number> {
  return num((await q.selectFrom('stock_levels').select((e) => e.fn.countAll().as('n')).where('date', '<', asOf).executeTakeFirst())?.n);
}

export async function negativeStockRows(q: Q, asOf: string): Promise<{ sku: string; loc: string; date: string; on_hand: number }[]> {
  return q.selectFrom('stock_levels as st').innerJoin('products as p', 'p.id', 'st.product_id').innerJoin('locations as l', 'l.id', 'st.location_id')
    .select(['p.sku', 'l.code as loc', 'st.date', 'st.on_hand']).where('st.on_hand', '<', 0).where('st.date', '<', asOf)
    .orderBy('st.product_id').orderBy('st.location_id').orderBy('st.date').execute();
}

export async function countSalesBefore(q: Q, asOf: string): Promise<number> {
  return num((await q.selectFrom('sales').select((e) => e.fn.countAll().as('n')).where('date', '<', asOf).executeTakeFirst())?.n);
}

/**
 * Sales with a negative quantity, revenue or price, or a date that is not YYYY-MM-DD
 * (digits and dashes). The date shape is checked in TypeScript on the distinct dates
 * (a few hundred), not per row: portable SQL has no GLOB or regular expression.
 */
export async function invalidSales(q: Q): Promise<{ sku: string; loc: string; date: string; quantity: number; revenue: number | null; unit_price: number | null }[]> {
  const dates = await q.selectFrom('sales').select('date').distinct().execute();
  const bad = dates.map((d) => d.date).filter((d) => !/^[0-9]{4}-[0-9]{2}-[0-9]{2}$/.test(d));
  const badDates = bad.length ? sql` or x.date in (${sql.join(bad)})` : sql``;
  const rows = await sql<{ sku: string; loc: string; date: string; quantity: number; revenue: number | null; unit_price: number | null }>`
    select p.sku, l.code as loc, x.date, x.quantity, x.revenue, x.unit_price from sales x join products p on p.id = x.product_id join locations l on l.id = x.location_id
    where (x.quantity < 0 or x.revenue < 0 or x.unit_price < 0${badDates}) order by x.product_id, x.location_id, x.date`.execute(q);
  return rows.rows;
}

export async function suspectOrderDates(q: Q, overdueBefore: string): Promise<{ id: number; sku: string; loc: string; ordered_on: string; expected_on: string; received_on: string | null; status: string }[]> {
  const rows = await sql<{ id: number; sku: string; loc: string; ordered_on: string; expected_on: string; received_on: string | null; status: string }>`
    select o.id, p.sku, l.code as loc, o.ordered_on, o.expected_on, o.received_on, o.status from purchase_orders o join products p on p.id = o.product_id join locations l on l.id = o.location_id
    where o.expected_on < o.ordered_on or o.received_on < o.ordered_on or (o.status = 'received' and o.received_on is null)
       or (o.status = 'open' and o.expected_on < ${overdueBefore}) order by o.id`.execute(q);
  return rows.rows;
}

export async function supplierTermRows(q: Q) {
  const suppliers = await q.selectFrom('suppliers').select(['id', 'code', 'lead_time_days', 'lead_time_sd_days', 'order_cost']).orderBy('id').execute();
  const products = await q.selectFrom('supplier_products as sp').innerJoin('products as p', 'p.id', 'sp.product_id').innerJoin('suppliers as s', 's.id', 'sp.supplier_id')
    .select(['p.sku', 's.code', 'sp.pack_size', 'sp.min_order_qty']).orderBy('sp.supplier_id').orderBy('sp.product_id').execute();
  return { suppliers, products };
}
