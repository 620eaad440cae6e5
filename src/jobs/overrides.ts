/**
 * override: planner adjustments to the forecast, applied by `predict` on top of
 * the model (rules in src/inventory/overrides.ts), with an audit trail: every
 * add and remove is kept in override_audit with the OS user and the time.
 */
import { userInfo } from 'node:os';
import { isIsoDate } from '../dates.js';
import { UsageError } from '../errors.js';
import { applyOverride, overrideOn, type Override } from '../inventory/overrides.js';
import { deactivateOverride, insertOverride, listOverrideRows, overrideAuditRows, overrideById, seriesIds } from '../db/overrides.js';
import { nowIso, type JobContext } from './types.js';

export interface OverrideInput {
  sku: string;
  location?: string;
  from: string;
  to: string;
  factor?: number;
  qty?: number;
  reason: string;
}

export function osUser(): string {
  try {
    return userInfo().username || process.env.USER || 'unknown';
  } catch {
    return process.env.USER ?? process.env.USERNAME ?? 'unknown';
  }
}

async function seriesOf(ctx: JobContext, sku: string, location: string): Promise<{ p: number; l: number }> {
  const ids = await seriesIds(ctx.db.kysely, sku, location);
  if (ids.productId === null) throw new UsageError(`unknown SKU "${sku}" (see optiflow export products)`);
  if (ids.locationId === null) throw new UsageError(`--location: unknown location "${location}"`);
  return { p: ids.productId, l: ids.locationId };
}

export async function addOverride(ctx: JobContext, o: OverrideInput) {
  for (const [flag, v] of [['--from', o.from], ['--to', o.to]] as const) if (!isIsoDate(v)) throw new UsageError(`${flag}: "${v}" is not a date (YYYY-MM-DD)`);
  if (o.from > o.to) throw new UsageError(`--from ${o.from} is after --to ${o.to}`);
  if ((o.factor === undefined) === (o.qty === undefined)) throw new UsageError('give exactly one of --factor F (scale the forecast) or --qty Q (units per day)');
  if (o.factor !== undefined && !(o.factor >= 0 && Number.isFinite(o.factor))) throw new UsageError(`--factor: ${o.factor} must be a number >= 0 (e.g. 1.3 = +30 %)`);
  if (o.qty !== undefined && !(o.qty >= 0 && Number.isFinite(o.qty))) throw new UsageError(`--qty: ${o.qty} must be a number of units per day >= 0`);
  if (!o.reason || !o.reason.trim()) throw new UsageError('--reason: say why (it is shown next to every figure the override changes)');
  const location = o.location ?? 'MAIN';
  const { p, l } = await seriesOf(ctx, o.sku, location);
  const user = osUser();
  const at = nowIso();
  const id = await insertOverride(ctx.db.kysely, {
    productId: p, locationId: l, from: o.from, to: o.to, factor: o.factor ?? null, quantity: o.qty ?? null, reason: o.reason.trim(), user, at, details: JSON.stringify({ ...o, location }),
  });
  const applies = o.to >= ctx.asOf ? 'applied by the next optiflow predict (to the forecast days it covers)' : 'its days are all in the past: it changes no future forecast';
  return { id, sku: o.sku, location, from: o.from, to: o.to, factor: o.factor ?? null, qty: o.qty ?? null, reason: o.reason.trim(), created_by: user, created_at: at, note: applies };
}

export async function listOverrides(ctx: JobContext, o: { all?: boolean } = {}): Promise<Record<string, unknown>[]> {
  return (await listOverrideRows(ctx.db.kysely, !!o.all)) as unknown as Record<string, unknown>[];
}

export async function removeOverride(ctx: JobContext, id: number) {
  const row = await overrideById(ctx.db.kysely, id);
  if (!row) throw new UsageError(`override ${id} does not exist (see optiflow override list --all)`);
  if (!row.active) throw new UsageError(`override ${id} was already removed`);
  const user = osUser();
  const at = nowIso();
  await deactivateOverride(ctx.db.kysely, id, user, at);
  return { id, removed: true, by: user, at, note: 'the next optiflow predict forecasts without it' };
}

export async function overrideAudit(ctx: JobContext): Promise<Record<string, unknown>[]> {
  return (await overrideAuditRows(ctx.db.kysely)) as unknown as Record<string, unknown>[];
}

/** Active overrides per series ("productId:locationId") that touch [from, to] (synchronous read of the embedded database). */

/**
 * For predict: the forecast of one series' days with its overrides applied
 * (arrays changed in place); returns the number of days changed.
 */
export function overrideForecast(list: Override[] | undefined, dates: string[], yhat: Float64Array | number[], lo: Float64Array | number[], hi: Float64Array | number[]): number {
  if (!list?.length) return 0;
  let n = 0;
  dates.forEach((d, h) => {
    const o = overrideOn(list, d);
    if (!o) return;
    const r = applyOverride({ date: d, yhat: yhat[h], lo: lo[h], hi: hi[h] }, o);
    yhat[h] = r.yhat;
    lo[h] = r.lo;
    hi[h] = r.hi;
    n++;
  });
  return n;
}
