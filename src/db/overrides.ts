/**
 * Forecast overrides and their audit trail: every add and remove writes the
 * override change and its audit row in one transaction.
 */
import type { Override } from '../inventory/overrides.js';
import { inTransaction, type Q } from './query.js';

export interface SeriesIds { productId: number | null; locationId: number | null }

/** Product and location ids by SKU and location code (null where unknown). */
export async function seriesIds(q: Q, sku: string, location: string): Promise<SeriesIds> {
  const p = await q.selectFrom('products').select('id').where('sku', '=', sku).executeTakeFirst();
  const l = await q.selectFrom('locations').select('id').where('code', '=', location).executeTakeFirst();
  return { productId: p ? Number(p.id) : null, locationId: l ? Number(l.id) : null };
}

export interface NewOverride {
  productId: number;
  locationId: number;
  from: string;
  to: string;
  factor: number | null;
  quantity: number | null;
  reason: string;
  user: string;
  at: string;
  /** JSON text kept in the audit row. */
  details: string;
}

/** Adds an active override and its 'add' audit row; returns the override id. */
export async function insertOverride(q: Q, o: NewOverride): Promise<number> {
  return inTransaction(q, async (trx) => {
    const { id } = await trx
      .insertInto('forecast_overrides')
      .values({ product_id: o.productId, location_id: o.locationId, from_date: o.from, to_date: o.to, factor: o.factor, quantity: o.quantity, reason: o.reason, created_by: o.user, created_at: o.at, active: 1 })
      .returning('id')
      .executeTakeFirstOrThrow();
    await trx.insertInto('override_audit').values({ override_id: id, action: 'add', os_user: o.user, at: o.at, details: o.details }).execute();
    return Number(id);
  });
}

export async function overrideById(q: Q, id: number): Promise<{ id: number; active: number } | undefined> {
  const r = await q.selectFrom('forecast_overrides').select(['id', 'active']).where('id', '=', id).executeTakeFirst();
  return r ? { id: Number(r.id), active: Number(r.active) } : undefined;
}

/** Deactivates an override and writes its 'remove' audit row. */
export async function deactivateOverride(q: Q, id: number, user: string, at: string): Promise<void> {
  await inTransaction(q, async (trx) => {
    await trx.updateTable('forecast_overrides').set({ active: 0 }).where('id', '=', id).execute();
    await trx.insertInto('override_audit').values({ override_id: id, action: 'remove', os_user: user, at, details: '{}' }).execute();
  });
}

export interface OverrideListRow {
  id: number; sku: string; location: string; from_date: string; to_date: string; factor: number | null; quantity: number | null;
  reason: string; created_by: string; created_at: string; active: number;
}

/** Overrides with their SKU and location code, by id (active ones only unless `all`). */
export async function listOverrideRows(q: Q, all: boolean): Promise<OverrideListRow[]> {
  let b = q
    .selectFrom('forecast_overrides as x')
    .innerJoin('products as p', 'p.id', 'x.product_id')
    .innerJoin('locations as l', 'l.id', 'x.location_id')
    .select(['x.id', 'p.sku', 'l.code as location', 'x.from_date', 'x.to_date', 'x.factor', 'x.quantity', 'x.reason', 'x.created_by', 'x.created_at', 'x.active'])
    .orderBy('x.id');
  if (!all) b = b.where('x.active', '=', 1);
  return (await b.execute()).map((r) => ({ ...r, id: Number(r.id), active: Number(r.active) }));
}

export interface OverrideAuditRow { id: number; override_id: number; action: string; os_user: string; at: string; details: string }

export async function overrideAuditRows(q: Q): Promise<OverrideAuditRow[]> {
  const rows = await q.selectFrom('override_audit').select(['id', 'override_id', 'action', 'os_user', 'at', 'details']).orderBy('id').execute();
  return rows.map((r) => ({ ...r, id: Number(r.id), override_id: Number(r.override_id) }));
}

interface ActiveRow { id: number; product_id: number; location_id: number; from_date: string; to_date: string; factor: number | null; quantity: number | null; reason: string }

function groupBySeries(rows: ActiveRow[]): Map<string, Override[]> {
  const out = new Map<string, Override[]>();
  for (const r of rows) {
    const k = `${Number(r.product_id)}:${Number(r.location_id)}`;
    (out.get(k) ?? out.set(k, []).get(k)!).push({ id: Number(r.id), fromDate: r.from_date, toDate: r.to_date, factor: r.factor === null ? null : Number(r.factor), quantity: r.quantity === null ? null : Number(r.quantity), reason: r.reason });
  }
  return out;
}

/** Active overrides per series ("productId:locationId") that touch [from, to], one query for all series. */
export async function activeOverridesBySeries(q: Q, from: string, to: string, series?: { productId: number; locationId: number }): Promise<Map<string, Override[]>> {
  let b = q
    .selectFrom('forecast_overrides')
    .select(['id', 'product_id', 'location_id', 'from_date', 'to_date', 'factor', 'quantity', 'reason'])
    .where('active', '=', 1)
    .where('to_date', '>=', from)
    .where('from_date', '<=', to);
  if (series) b = b.where('product_id', '=', series.productId).where('location_id', '=', series.locationId);
  return groupBySeries(await b.orderBy('id').execute());
}
