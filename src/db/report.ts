/**
 * What the HTML report reads that no other module owns: freshness of its inputs,
 * the active alerts, past forecasts of a charted series, ABC/XYZ classes,
 * forecasts for the accuracy table and recorded savings.
 */
import { type Q } from './query.js';

export async function hasSales(q: Q): Promise<boolean> {
  return !!(await q.selectFrom('sales').select('product_id').limit(1).executeTakeFirst());
}

export async function skuExists(q: Q, sku: string): Promise<boolean> {
  return !!(await q.selectFrom('products').select('id').where('sku', '=', sku).limit(1).executeTakeFirst());
}

/** The latest forecast run on or before `asOf`. */
export async function latestRunOnOrBefore(q: Q, asOf: string): Promise<string | null> {
  const r = await q.selectFrom('forecasts').select((e) => e.fn.max('run_date').as('r')).where('run_date', '<=', asOf).executeTakeFirst();
  return (r?.r as string | null | undefined) ?? null;
}

/** The day the active alerts were computed (the latest, when several). */
export async function activeAlertsDay(q: Q): Promise<string | null> {
  const r = await q.selectFrom('alerts').select((e) => e.fn.max('created_on').as('d')).where('active', '=', 1).executeTakeFirst();
  return (r?.d as string | null | undefined) ?? null;
}

export interface ReportAlert { [k: string]: string | number | null; severity: string; kind: string; sku: string; location: string; stockout_date: string | null; days_of_cover: number | null; suggested_qty: number | null; revenue_at_risk: number | null; message: string }

const SEVERITY_RANK: Record<string, number> = { CRITIQUE: 0, ATTENTION: 1 };
const cmp = (a: string, b: string) => (a < b ? -1 : a > b ? 1 : 0);

/**
 * Active alerts, most severe first, then by stock-out date (none last), SKU and kind.
 * Sorted in TypeScript: text order must not depend on the database's collation.
 */
export async function activeAlerts(q: Q): Promise<ReportAlert[]> {
  const rows = await q.selectFrom('alerts as a').innerJoin('products as p', 'p.id', 'a.product_id').innerJoin('locations as l', 'l.id', 'a.location_id')
    .select(['a.severity', 'a.kind', 'p.sku', 'l.code as location', 'a.stockout_date', 'a.days_of_cover', 'a.suggested_qty', 'a.revenue_at_risk', 'a.message'])
    .where('a.active', '=', 1).orderBy('a.id').execute();
  return (rows as ReportAlert[]).sort((a, b) =>
    (SEVERITY_RANK[a.severity] ?? 2) - (SEVERITY_RANK[b.severity] ?? 2)
    || Number(a.stockout_date === null) - Number(b.stockout_date === null)
    || cmp(a.stockout_date ?? '', b.stockout_date ?? '')
    || cmp(a.sku, b.sku)
    || cmp(a.kind, b.kind));
}

/** One series' forecasts for the days in [from, to) issued by runs on or after `runsFrom`: "run|date" -> forecast. */
export async function seriesForecasts(q: Q, p: number, l: number, from: string, to: string, runsFrom: string): Promise<Map<string, { yhat: number; yhat_lo: number; yhat_hi: number }>> {
  const rows = await q.selectFrom('forecasts').select(['run_date', 'date', 'yhat', 'yhat_lo', 'yhat_hi'])
    .where('product_id', '=', p).where('location_id', '=', l).where('date', '>=', from).where('date', '<', to).where('run_date', '>=', runsFrom).execute();
  return new Map(rows.map((r) => [`${r.run_date}|${r.date}`, { yhat: r.yhat, yhat_lo: r.yhat_lo, yhat_hi: r.yhat_hi }]));
}

export async function policyClasses(q: Q): Promise<{ product_id: number; location_id: number; abc: string; xyz: string; computed_on: string }[]> {
  return q.selectFrom('inventory_policies').select(['product_id', 'location_id', 'abc', 'xyz', 'computed_on']).orderBy('product_id').orderBy('location_id').execute() as Promise<{ product_id: number; location_id: number; abc: string; xyz: string; computed_on: string }[]>;
}

/** Series with a forecast from a run in [from, to), in series order. */
export async function seriesForecastBetween(q: Q, from: string, to: string): Promise<{ productId: number; locationId: number }[]> {
  const rows = await q.selectFrom('forecasts').select(['product_id', 'location_id']).distinct()
    .where('run_date', '>=', from).where('run_date', '<', to).orderBy('product_id').orderBy('location_id').execute();
  return rows.map((r) => ({ productId: r.product_id, locationId: r.location_id }));
}

export async function modelAlgorithms(q: Q): Promise<Map<number, string>> {
  const rows = await q.selectFrom('models').select(['id', 'algorithm']).execute();
  return new Map(rows.map((m) => [m.id, m.algorithm]));
}

/** Every series' forecast of one run for one day. */
export async function forecastsOfDay(q: Q, run: string, date: string): Promise<{ product_id: number; location_id: number; model_id: number | null; yhat: number }[]> {
  return q.selectFrom('forecasts').select(['product_id', 'location_id', 'model_id', 'yhat'])
    .where('run_date', '=', run).where('date', '=', date).orderBy('product_id').orderBy('location_id').execute();
}

export async function savingsBetween(q: Q, after: string, upTo: string): Promise<{ date: string; avoided_stockouts: number; reduced_overstock: number; optimized_orders: number }[]> {
  return q.selectFrom('savings').select(['date', 'avoided_stockouts', 'reduced_overstock', 'optimized_orders'])
    .where('date', '<=', upTo).where('date', '>', after).orderBy('date').execute();
}
