/**
 * quality-risk's reads and writes: perishable series, daily zone conditions from
 * the sensors, incidents, the sales and stock rows of the perishable series over
 * a window (one query each per chunk of products, grouped in TypeScript), and the day's risk rows.
 */
import { sql } from 'kysely';
import { inTransaction, insertMany, num, type Q } from './query.js';

export interface Perishable { product_id: number; location_id: number; sku: string; location: string; storage: string; shelf: number }

/** Active products with a shelf life, at every location that holds stock of them. */
export async function perishableSeries(q: Q): Promise<Perishable[]> {
  const r = await sql<Perishable>`
    select p.id as product_id, l.id as location_id, p.sku, l.code as location, coalesce(p.storage, 'ambient') as storage, p.shelf_life_days as shelf
    from products p cross join locations l where p.shelf_life_days is not null and p.active = 1
    and (select 1 from stock_levels s where s.product_id = p.id and s.location_id = l.id limit 1) is not null -- a probe per series (see docs/data-layer.md)
    order by p.id, l.id`.execute(q);
  return r.rows.map((x) => ({ ...x, product_id: Number(x.product_id), location_id: Number(x.location_id), shelf: Number(x.shelf) }));
}

export interface ZoneDay { location_id: number; d: string; out: number; hum: number; n: number }

/**
 * Per location and day in [from, to): readings of `zone` outside [lo, hi] degrees,
 * readings with humidity above 90 % or below 20 %, and all readings.
 */
export async function zoneDays(q: Q, zone: string, lo: number, hi: number, from: string, to: string): Promise<ZoneDay[]> {
  const r = await sql<ZoneDay>`
    select location_id, substr(ts, 1, 10) as d,
      sum(case when temperature_c < ${lo} or temperature_c > ${hi} then 1 else 0 end) as out,
      sum(case when humidity_pct > 90 or humidity_pct < 20 then 1 else 0 end) as hum,
      count(*) as n
    from sensor_readings where zone = ${zone} and ts >= ${from} and ts < ${to}
    group by location_id, substr(ts, 1, 10)`.execute(q);
  return r.rows.map((x) => ({ location_id: Number(x.location_id), d: x.d, out: num(x.out), hum: num(x.hum), n: num(x.n) }));
}

export async function incidentsBefore(q: Q, day: string): Promise<{ product_id: number; location_id: number; date: string }[]> {
  return q.selectFrom('quality_incidents').select(['product_id', 'location_id', 'date']).where('date', '<', day).orderBy('product_id').orderBy('location_id').orderBy('date').execute();
}

/**
 * The rows of perishable products, in the id range when one is given. The range goes inside the product
 * list as well as on the rows: with it only outside, SQLite walked the whole list of perishable products
 * for every chunk (3.4 s a chunk of 500 products on 30,000 series, 0.24 s with it inside).
 */
const perishable = (r?: ProductIdRange) =>
  sql`product_id in (select id from products where shelf_life_days is not null and active = 1${r ? sql` and id >= ${r.from} and id <= ${r.to}` : sql``})${inRange(r)}`;

/** Products with ids in [from, to] (inclusive): reading the series a chunk of products at a time keeps the rows in memory bounded. */
export interface ProductIdRange { from: number; to: number }
const inRange = (r?: ProductIdRange) => (r ? sql` and product_id >= ${r.from} and product_id <= ${r.to}` : sql``);

/** Daily sales of the perishable series over [from, to), by series and date. */
export async function perishableSales(q: Q, from: string, to: string, products?: ProductIdRange): Promise<{ product_id: number; location_id: number; date: string; quantity: number }[]> {
  const r = await sql<{ product_id: number; location_id: number; date: string; quantity: number }>`
    select product_id, location_id, date, quantity from sales
    where ${perishable(products)} and date >= ${from} and date < ${to}
    order by product_id, location_id, date`.execute(q);
  return r.rows;
}

/**
 * The stock rows of the perishable series dated in [from, to), plus each
 * series' latest row before `from`, by series and date: enough to read "current
 * stock" (the latest row before a day) on any morning in (from, to].
 */
export async function perishableStockRows(q: Q, from: string, to: string, products?: ProductIdRange): Promise<{ product_id: number; location_id: number; date: string; on_hand: number }[]> {
  const r = await sql<{ product_id: number; location_id: number; date: string; on_hand: number }>`
    select s.product_id, s.location_id, s.date, s.on_hand from stock_levels s
    join (select product_id, location_id, max(date) as d from stock_levels where ${perishable(products)} and date < ${from} group by product_id, location_id) m
      on m.product_id = s.product_id and m.location_id = s.location_id and s.date = m.d
    union all
    select product_id, location_id, date, on_hand from stock_levels
    where ${perishable(products)} and date >= ${from} and date < ${to}
    order by 1, 2, 3`.execute(q);
  return r.rows;
}

export interface RiskRow { product_id: number; location_id: number; risk: number; level: string; details: string }

/** Replaces the risk rows of `date` by `rows`, in one transaction. */
export async function replaceQualityRisk(q: Q, date: string, method: string, rows: readonly RiskRow[]): Promise<void> {
  await inTransaction(q, async (trx) => {
    await trx.deleteFrom('quality_risk').where('date', '=', date).execute();
    await insertMany(trx, 'quality_risk', rows.map((r) => ({ product_id: r.product_id, location_id: r.location_id, date, risk: r.risk, level: r.level, method, details: r.details })));
  });
}
