/**
 * What `export` selects per entity: each importable entity in its canonical
 * CSV columns (so an export imports back), plus forecasts, alerts, models and
 * metrics. Portable SQL; `:run_date` is bound as a parameter, never spliced in.
 */
import { sql } from 'kysely';
import type { Db } from './connection.js';
import type { Q } from './query.js';

const LOC = `coalesce(l.code, 'MAIN')`;
export const EXPORT_QUERIES: Record<string, string> = {
  locations: `select code, name from locations order by code`,
  products: `select sku, name, category, unit_cost, unit_price, shelf_life_days, storage, active, like_sku, like_factor from products order by sku`,
  suppliers: `select code, name, lead_time_days, lead_time_sd_days, order_cost, review_days, min_order_value from suppliers order by code`,
  'supplier-products': `select s.code as supplier, p.sku, sp.pack_size, sp.min_order_qty, sp.unit_cost, sp.is_primary from supplier_products sp join suppliers s on s.id = sp.supplier_id join products p on p.id = sp.product_id order by s.code, p.sku`,
  'price-breaks': `select s.code as supplier, p.sku, pb.min_qty, pb.unit_cost from price_breaks pb join suppliers s on s.id = pb.supplier_id join products p on p.id = pb.product_id order by s.code, p.sku, pb.min_qty`,
  sales: `select x.date, p.sku, l.code as location, x.quantity, x.revenue, x.unit_price, x.on_promo from sales x join products p on p.id = x.product_id join locations l on l.id = x.location_id order by p.sku, l.code, x.date`,
  stock: `select x.date, p.sku, l.code as location, x.on_hand from stock_levels x join products p on p.id = x.product_id join locations l on l.id = x.location_id order by p.sku, l.code, x.date`,
  'purchase-orders': `select x.ref, s.code as supplier, p.sku, l.code as location, x.quantity, x.unit_cost, x.ordered_on, x.expected_on, x.received_on, x.status from purchase_orders x join suppliers s on s.id = x.supplier_id join products p on p.id = x.product_id join locations l on l.id = x.location_id order by x.id`,
  events: `select x.name, x.kind, x.start_date, x.end_date, p.sku, x.category, l.code as location, x.planned_uplift from events x left join products p on p.id = x.product_id left join locations l on l.id = x.location_id order by x.start_date, x.name`,
  weather: `select x.date, l.code as location, x.temp_max_c, x.precipitation_mm from weather x join locations l on l.id = x.location_id order by l.code, x.date`,
  sensors: `select x.ts, l.code as location, x.zone, x.temperature_c, x.humidity_pct from sensor_readings x join locations l on l.id = x.location_id order by l.code, x.zone, x.ts`,
  incidents: `select x.date, p.sku, l.code as location, x.quantity_lost, x.cause from quality_incidents x join products p on p.id = x.product_id join locations l on l.id = x.location_id order by p.sku, l.code, x.date`,
  forecasts: `select p.sku, ${LOC} as location, f.run_date, f.date, f.yhat, f.yhat_lo, f.yhat_hi, f.event_factor, f.model_id,
    (select 'override #' || o.id || ': ' || coalesce('x' || o.factor, o.quantity || '/day') || ' (' || o.reason || ')' from forecast_overrides o
     where o.active = 1 and o.product_id = f.product_id and o.location_id = f.location_id and f.date between o.from_date and o.to_date order by o.id desc limit 1) as override
    from forecasts f join products p on p.id = f.product_id join locations l on l.id = f.location_id where f.run_date = :run_date order by p.sku, l.code, f.date`,
  alerts: `select a.id, p.sku, l.code as location, a.created_on, a.severity, a.kind, a.stockout_date, a.days_of_cover, a.suggested_qty, a.revenue_at_risk, a.message, a.active from alerts a join products p on p.id = a.product_id join locations l on l.id = a.location_id where a.active = 1 order by a.id`,
  models: `select m.id, p.sku, l.code as location, m.version, m.algorithm, m.status, m.trained_at, m.train_end, m.reason, m.metrics from models m join products p on p.id = m.product_id join locations l on l.id = m.location_id order by p.sku, l.code, m.version`,
  'forecast-metrics': `select p.sku, l.code as location, m.date, m.mape, m.wape, m.rmse, m.bias, m.n from forecast_metrics m join products p on p.id = m.product_id join locations l on l.id = m.location_id order by m.date, p.sku, l.code`,
  overrides: `select x.id, p.sku, l.code as location, x.from_date, x.to_date, x.factor, x.quantity, x.reason, x.created_by, x.created_at, x.active from forecast_overrides x join products p on p.id = x.product_id join locations l on l.id = x.location_id order by x.id`,
  'order-drafts': `select d.id as draft_id, s.code as supplier, l.code as location, d.created_on, p.sku, x.quantity, x.unit_cost, x.reason, d.total, d.status, d.note from order_drafts d join order_draft_lines x on x.draft_id = d.id join suppliers s on s.id = d.supplier_id join locations l on l.id = d.location_id join products p on p.id = x.product_id order by d.id, p.sku`,
  policies: `select p.sku, l.code as location, x.abc, x.xyz, x.service_level, x.safety_stock, x.reorder_point, x.order_up_to, x.computed_on from inventory_policies x join products p on p.id = x.product_id join locations l on l.id = x.location_id order by p.sku, l.code`,
};

/** The latest forecast run on or before `day`, or null. */
export async function latestRunOnOrBefore(q: Q, day: string): Promise<string | null> {
  const r = await q.selectFrom('forecasts').select((e) => e.fn.max('run_date').as('d')).where('run_date', '<=', day).executeTakeFirst();
  return (r?.d as string | null | undefined) ?? null;
}

/**
 * The rows of an entity's export, in its order. SQLite streams them (flat
 * memory on millions of sales rows); PostgreSQL returns the result set.
 */
export async function* exportRows(db: Db, entity: string, runDate?: string): AsyncGenerator<Record<string, unknown>> {
  const q = EXPORT_QUERIES[entity];
  if (db.sqlite) {
    const stmt = db.sqlite.prepare(q);
    yield* stmt.iterate(q.includes(':run_date') ? { run_date: runDate } : {}) as Iterable<Record<string, unknown>>;
    return;
  }
  const [before, after] = q.split(':run_date');
  const query = after === undefined ? sql.raw<Record<string, unknown>>(q) : sql<Record<string, unknown>>`${sql.raw(before)}${runDate}${sql.raw(after)}`;
  yield* (await query.execute(db.kysely)).rows;
}
