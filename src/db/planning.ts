/**
 * The planning commands' reads and writes: the forecast run they plan from,
 * recorded suggestions, inventory policies, and what `simulate` knows on the
 * morning of its first day (open purchase orders, planned promotions).
 */
import type { Q } from './query.js';

/** The latest forecast run on or before `asOf` (of one series when given), or null. */
export async function latestForecastRun(q: Q, asOf: string, series?: { productId: number; locationId: number }): Promise<string | null> {
  let b = q.selectFrom('forecasts').select((e) => e.fn.max('run_date').as('r')).where('run_date', '<=', asOf);
  if (series) b = b.where('product_id', '=', series.productId).where('location_id', '=', series.locationId);
  const r = await b.executeTakeFirst();
  return (r?.r as string | null | undefined) ?? null;
}

export async function productExists(q: Q, sku: string): Promise<boolean> {
  return !!(await q.selectFrom('products').select('id').where('sku', '=', sku).executeTakeFirst());
}

export interface NewSuggestion {
  productId: number; locationId: number; createdOn: string; supplierId: number | null; quantity: number; unitCost: number; listUnitCost: number;
  /** JSON text of the suggestion as shown. */
  payload: string;
}

/** Stores a suggestion; returns its id. */
export async function insertSuggestion(q: Q, s: NewSuggestion): Promise<number> {
  const r = await q
    .insertInto('suggestions')
    .values({ product_id: s.productId, location_id: s.locationId, created_on: s.createdOn, supplier_id: s.supplierId, quantity: s.quantity, unit_cost: s.unitCost, list_unit_cost: s.listUnitCost, payload: s.payload })
    .returning('id')
    .executeTakeFirstOrThrow();
  return Number(r.id);
}

export interface PolicyRow {
  product_id: number; location_id: number; computed_on: string; abc: string; xyz: string; service_level: number; safety_stock: number; reorder_point: number; order_up_to: number;
}

/** Writes the policies (one row per series, replacing the previous one), in multi-row statements. */
export async function upsertPolicies(q: Q, rows: readonly PolicyRow[]): Promise<void> {
  const per = Math.floor(30_000 / 9);
  for (let i = 0; i < rows.length; i += per) {
    await q
      .insertInto('inventory_policies')
      .values(rows.slice(i, i + per) as PolicyRow[])
      .onConflict((oc) =>
        oc.columns(['product_id', 'location_id']).doUpdateSet((eb) => ({
          computed_on: eb.ref('excluded.computed_on'), abc: eb.ref('excluded.abc'), xyz: eb.ref('excluded.xyz'), service_level: eb.ref('excluded.service_level'),
          safety_stock: eb.ref('excluded.safety_stock'), reorder_point: eb.ref('excluded.reorder_point'), order_up_to: eb.ref('excluded.order_up_to'),
        })),
      )
      .execute();
  }
}

export interface PromotionRow { start_date: string; end_date: string; product_id: number | null; category: string | null; location_id: number | null }

/** Promotions planned in `events` that touch [from, to]. */
export async function promotionsBetween(q: Q, from: string, to: string): Promise<PromotionRow[]> {
  return q
    .selectFrom('events')
    .select(['start_date', 'end_date', 'product_id', 'category', 'location_id'])
    .where('kind', '=', 'promotion')
    .where('end_date', '>=', from)
    .where('start_date', '<=', to)
    .orderBy('id')
    .execute();
}

/**
 * Purchase orders placed before `day` and arriving on or after it (received, or
 * else expected), cancelled ones excluded, per series ("productId:locationId").
 */
export async function pipelinesOn(q: Q, day: string): Promise<Map<string, { quantity: number; arrive: string }[]>> {
  const rows = await q
    .selectFrom('purchase_orders')
    .select(['product_id', 'location_id', 'quantity', (e) => e.fn.coalesce('received_on', 'expected_on').as('arrive')])
    .where('ordered_on', '<', day)
    .where('status', '!=', 'cancelled')
    .where((e) => e(e.fn.coalesce('received_on', 'expected_on'), '>=', day))
    .orderBy('id')
    .execute();
  const out = new Map<string, { quantity: number; arrive: string }[]>();
  for (const r of rows) {
    const k = `${r.product_id}:${r.location_id}`;
    (out.get(k) ?? out.set(k, []).get(k)!).push({ quantity: r.quantity, arrive: r.arrive as string });
  }
  return out;
}
