/**
 * The dashboard's reads and writes: the KPI cache, sales over a window series
 * by series (cost of goods sold), savings, predicted and actual revenue,
 * trends, dormant stock. Async and portable; one SQLite fast path (streaming
 * the sales key in key order) behind the same interface.
 */
import { sql } from 'kysely';
import type { Db } from './connection.js';
import { inTransaction, insertMany, num, type Q } from './query.js';
import type { TrendsTable } from './types.js';

// ---- KPI cache -------------------------------------------------------------

export interface KpiCacheRow {
  key: string;
  payload: string;
  computed_at: string;
  expires_at: string;
}

export async function kpiCacheGet(q: Q, keys: string[]): Promise<Map<string, KpiCacheRow>> {
  const out = new Map<string, KpiCacheRow>();
  if (!keys.length) return out;
  for (const r of await q.selectFrom('kpi_cache').selectAll().where('key', 'in', keys).execute()) out.set(r.key, r);
  return out;
}

/** Inserts or replaces cache entries. */
export async function kpiCachePut(q: Q, rows: KpiCacheRow[]): Promise<void> {
  for (let i = 0; i < rows.length; i += 1000)
    await q
      .insertInto('kpi_cache')
      .values(rows.slice(i, i + 1000))
      .onConflict((oc) => oc.column('key').doUpdateSet((e) => ({ payload: e.ref('excluded.payload'), computed_at: e.ref('excluded.computed_at'), expires_at: e.ref('excluded.expires_at') })))
      .execute();
}

/** The id of the latest import recorded in data_changes (0 when none). */
export async function latestChangeId(q: Q): Promise<number> {
  const r = await q.selectFrom('data_changes').select((e) => e.fn.max('id').as('id')).executeTakeFirst();
  return num(r?.id);
}

/** Stock imports recorded after change `afterId`: their id and first date touched. */
export async function stockChangesAfter(q: Q, afterId: number): Promise<{ id: number; min_date: string | null }[]> {
  return q.selectFrom('data_changes').select(['id', 'min_date']).where('entity', '=', 'stock').where('id', '>', afterId).execute();
}

// ---- Sales over a window, series by series ------------------------------------

/** Products per query on the portable path: bounds the rows held in memory. */
const PRODUCTS_PER_QUERY = 500;

/**
 * Calls `visit` once per series with sales in [from, to): its unit cost and its
 * daily quantities in date order (series in the order the database reads them).
 * SQLite streams the sales key in key order (no sort, flat memory); the
 * portable path reads a range of products per query.
 */
export async function forEachSeriesSales(db: Db, from: string, to: string, visit: (productId: number, locationId: number, unitCost: number, quantities: number[]) => void): Promise<void> {
  let cur = -1;
  let curL = -1;
  let cost = 0;
  let qs: number[] = [];
  const push = (p: number, l: number, q: number, c: number) => {
    if (p !== cur || l !== curL) {
      if (qs.length) visit(cur, curL, cost, qs);
      cur = p;
      curL = l;
      cost = c;
      qs = [];
    }
    qs.push(q);
  };
  if (db.sqlite) {
    // products x locations drives a range scan of the sales primary key per series, in key order.
    const rows = db.sqlite
      .prepare('select s.product_id, s.location_id, s.quantity, p.unit_cost from products p cross join locations l join sales s on s.product_id = p.id and s.location_id = l.id and s.date >= ? and s.date < ?')
      .raw(true)
      .iterate(from, to) as Iterable<[number, number, number, number]>;
    for (const [p, l, q, c] of rows) push(p, l, q, c);
  } else {
    const bounds = await db.kysely.selectFrom('products').select([(e) => e.fn.min('id').as('lo'), (e) => e.fn.max('id').as('hi')]).executeTakeFirst();
    const lo = num(bounds?.lo);
    const hi = num(bounds?.hi);
    for (let a = lo; bounds?.lo != null && a <= hi; a += PRODUCTS_PER_QUERY) {
      const rows = await db.kysely
        .selectFrom('sales as s')
        .innerJoin('products as p', 'p.id', 's.product_id')
        .select(['s.product_id', 's.location_id', 's.quantity', 'p.unit_cost'])
        .where('s.product_id', '>=', a)
        .where('s.product_id', '<', a + PRODUCTS_PER_QUERY)
        .where('s.date', '>=', from)
        .where('s.date', '<', to)
        .orderBy('s.product_id')
        .orderBy('s.location_id')
        .orderBy('s.date')
        .execute();
      for (const r of rows) push(r.product_id, r.location_id, Number(r.quantity), Number(r.unit_cost));
    }
  }
  if (qs.length) visit(cur, curL, cost, qs);
}

/** "SKU@LOCATION" names of series given as (product, location) ids. */
export async function seriesNames(q: Q, series: { productId: number; locationId: number }[]): Promise<string[]> {
  if (!series.length) return [];
  const p = new Map((await q.selectFrom('products').select(['id', 'sku']).where('id', 'in', series.map((s) => s.productId)).execute()).map((r) => [r.id, r.sku]));
  const l = new Map((await q.selectFrom('locations').select(['id', 'code']).where('id', 'in', series.map((s) => s.locationId)).execute()).map((r) => [r.id, r.code]));
  return series.map((s) => (p.has(s.productId) && l.has(s.locationId) ? `${p.get(s.productId)}@${l.get(s.locationId)}` : `${s.productId}:${s.locationId}`));
}

/** The first sales date before `day`, or null. */
export async function firstSaleBefore(q: Q, day: string): Promise<string | null> {
  const r = await q.selectFrom('sales').select((e) => e.fn.min('date').as('d')).where('date', '<', day).executeTakeFirst();
  return (r?.d as string | null | undefined) ?? null;
}

/**
 * The last day with a sale (quantity > 0) before `day` for each series given:
 * one statement per chunk of series (a lookup of the sales key per series).
 */
export async function lastSaleBefore(q: Q, day: string, series: { productId: number; locationId: number }[]): Promise<Map<string, string>> {
  const out = new Map<string, string>();
  for (let i = 0; i < series.length; i += 1000) {
    const part = series.slice(i, i + 1000);
    const values = sql.join(part.map((s) => sql`(cast(${s.productId} as integer), cast(${s.locationId} as integer))`));
    const r = await sql<{ p: number; l: number; d: string | null }>`select v.column1 as p, v.column2 as l,
        (select max(s.date) from sales s where s.product_id = v.column1 and s.location_id = v.column2 and s.date < ${day} and s.quantity > 0) as d
      from (values ${values}) as v`.execute(q);
    for (const x of r.rows) if (x.d) out.set(`${x.p}:${x.l}`, x.d);
  }
  return out;
}

// ---- Savings -----------------------------------------------------------------

/** Sum of the savings recorded in [from, to] (all three parts). */
export async function savingsTotal(q: Q, from: string, to: string): Promise<number> {
  const r = await q
    .selectFrom('savings')
    .select(sql<number>`coalesce(sum(avoided_stockouts + reduced_overstock + optimized_orders), 0)`.as('v'))
    .where('date', '>=', from)
    .where('date', '<=', to)
    .executeTakeFirst();
  return num(r?.v);
}

/** A fingerprint of the inputs of the KPIs besides alerts: imports, the month's savings, products' costs. */
export async function kpiInputsFingerprint(q: Q, monthStart: string, day: string): Promise<{ changes: number; savings: string; products: string }> {
  const s = await q
    .selectFrom('savings')
    .select([(e) => e.fn.countAll().as('n'), sql<number>`coalesce(sum(avoided_stockouts + reduced_overstock + optimized_orders), 0)`.as('v')])
    .where('date', '>=', monthStart)
    .where('date', '<=', day)
    .executeTakeFirst();
  const p = await q
    .selectFrom('products')
    .select([(e) => e.fn.countAll().as('n'), sql<number>`coalesce(sum(unit_cost), 0)`.as('c'), sql<number>`coalesce(sum(active), 0)`.as('a')])
    .executeTakeFirst();
  return { changes: await latestChangeId(q), savings: `${num(s?.n)}:${num(s?.v)}`, products: `${num(p?.n)}:${num(p?.c)}:${num(p?.a)}` };
}

export interface ReceivedAfterAlert {
  id: number;
  product_id: number;
  location_id: number;
  quantity: number;
  ordered_on: string;
  unit_price: number;
  unit_cost: number;
  stockout_date: string;
  created_on: string;
  alert_id: number;
  lead: number;
}

/**
 * Orders received on `day` for a series with a stock-out alert raised on or
 * before the order date, received on or before the projected stock-out, with
 * the supplier's lead time (`defaultLead` when none). The caller keeps those
 * ordered within its window after the alert (date arithmetic in TypeScript).
 */
export async function ordersReceivedAfterAlerts(q: Q, day: string, defaultLead: number): Promise<ReceivedAfterAlert[]> {
  const rows = await q
    .selectFrom('purchase_orders as o')
    .innerJoin('products as p', 'p.id', 'o.product_id')
    .innerJoin('alerts as a', (j) => j.onRef('a.product_id', '=', 'o.product_id').onRef('a.location_id', '=', 'o.location_id').on('a.kind', '=', 'stockout').on('a.stockout_date', 'is not', null).onRef('o.ordered_on', '>=', 'a.created_on'))
    .leftJoin('suppliers as s', 's.id', 'o.supplier_id')
    .select(['o.id', 'o.product_id', 'o.location_id', 'o.quantity', 'o.ordered_on', 'p.unit_price', 'p.unit_cost', 'a.stockout_date', 'a.created_on', 'a.id as alert_id', 's.lead_time_days'])
    .where('o.received_on', '=', day)
    .whereRef('o.received_on', '<=', 'a.stockout_date')
    .orderBy('o.id')
    .orderBy('a.id')
    .execute();
  return rows.map((r) => ({ ...r, stockout_date: r.stockout_date!, lead: r.lead_time_days ?? defaultLead }));
}

/** Units forecast by run `runDate` for a series over [from, to). */
export async function forecastUnits(q: Q, productId: number, locationId: number, runDate: string, from: string, to: string): Promise<number> {
  const r = await q
    .selectFrom('forecasts')
    .select(sql<number>`coalesce(sum(yhat), 0)`.as('u'))
    .where('product_id', '=', productId)
    .where('location_id', '=', locationId)
    .where('run_date', '=', runDate)
    .where('date', '>=', from)
    .where('date', '<', to)
    .executeTakeFirst();
  return num(r?.u);
}

/** Orders placed on `day` (not cancelled) that followed a recorded suggestion, with the suggestion's list unit cost. */
export async function ordersFromSuggestions(q: Q, day: string): Promise<{ id: number; quantity: number; unit_cost: number | null; list_unit_cost: number }[]> {
  return q
    .selectFrom('purchase_orders as o')
    .innerJoin('suggestions as s', 's.id', 'o.suggestion_id')
    .select(['o.id', 'o.quantity', 'o.unit_cost', 's.list_unit_cost'])
    .where('o.ordered_on', '=', day)
    .where('o.status', '!=', 'cancelled')
    .orderBy('o.id')
    .execute() as Promise<{ id: number; quantity: number; unit_cost: number | null; list_unit_cost: number }[]>;
}

export async function saveSavings(q: Q, row: { date: string; avoided_stockouts: number; reduced_overstock: number; optimized_orders: number; details: string }): Promise<void> {
  await q
    .insertInto('savings')
    .values(row)
    .onConflict((oc) =>
      oc.column('date').doUpdateSet((e) => ({ avoided_stockouts: e.ref('excluded.avoided_stockouts'), reduced_overstock: e.ref('excluded.reduced_overstock'), optimized_orders: e.ref('excluded.optimized_orders'), details: e.ref('excluded.details') })),
    )
    .execute();
}

/** The last `n` days of savings up to `day`, newest first. */
export async function savingsHistory(q: Q, day: string, n: number): Promise<Record<string, unknown>[]> {
  return q.selectFrom('savings').select(['date', 'avoided_stockouts', 'reduced_overstock', 'optimized_orders']).where('date', '<=', day).orderBy('date', 'desc').limit(n).execute();
}

// ---- Revenue -----------------------------------------------------------------

export async function anyForecastOnOrBefore(q: Q, day: string): Promise<boolean> {
  return !!(await q.selectFrom('forecasts').select('run_date').where('run_date', '<=', day).limit(1).executeTakeFirst());
}

/** Predicted revenue of day `d` by run `runDate`: sum of yhat x unit price, and the number of forecast rows. */
export async function predictedRevenue(q: Q, runDate: string, d: string): Promise<{ v: number; n: number }> {
  const r = await q
    .selectFrom('forecasts as f')
    .innerJoin('products as p', 'p.id', 'f.product_id')
    .select([sql<number>`coalesce(sum(f.yhat * p.unit_price), 0)`.as('v'), (e) => e.fn.countAll().as('n')])
    .where('f.run_date', '=', runDate)
    .where('f.date', '=', d)
    .executeTakeFirst();
  return { v: num(r?.v), n: num(r?.n) };
}

/** Actual revenue of day `d`: recorded revenue, else quantity x price (point lookups on the sales key, products x locations). */
export async function actualRevenue(q: Q, d: string): Promise<number> {
  const r = await sql<{ v: number | string }>`select coalesce(sum(coalesce(s.revenue, s.quantity * coalesce(s.unit_price, p.unit_price))), 0) as v
    from products p cross join locations l join sales s on s.product_id = p.id and s.location_id = l.id and s.date = ${d}`.execute(q);
  return num(r.rows[0]?.v);
}

/** Replaces the revenue rows computed on `computedOn`, in one transaction. */
export async function replaceRevenueDaily(db: Db | Q, computedOn: string, rows: { date: string; predicted: number; actual: number; variance_pct: number | null }[]): Promise<void> {
  await inTransaction(db, async (trx) => {
    await trx.deleteFrom('revenue_daily').where('computed_on', '=', computedOn).execute();
    await insertMany(trx, 'revenue_daily', rows.map((r) => ({ computed_on: computedOn, ...r })));
  });
}

// ---- Trends and dormant stock ---------------------------------------------------

export type TrendRow = Omit<TrendsTable, 'date'>;

/** Replaces the trends of `day`, in one transaction. */
export async function replaceTrends(db: Db | Q, day: string, rows: TrendRow[]): Promise<void> {
  await inTransaction(db, async (trx) => {
    await trx.deleteFrom('trends').where('date', '=', day).execute();
    await insertMany(trx, 'trends', rows.map((r) => ({ date: day, ...r })));
  });
}

export interface DormantRow {
  product_id: number;
  location_id: number;
  on_hand: number;
  value: number;
  last_sale: string | null;
  days_since_sale: number | null;
}

/** Replaces the dormant stock computed on `day`, in one transaction. */
export async function replaceDormant(db: Db | Q, day: string, rows: DormantRow[]): Promise<void> {
  await inTransaction(db, async (trx) => {
    await trx.deleteFrom('dormant_stock').where('computed_on', '=', day).execute();
    await insertMany(trx, 'dormant_stock', rows.map((r) => ({ computed_on: day, ...r })));
  });
}
