/**
 * override: planner adjustments to the forecast, applied by `predict` on top of
 * the model (rules in src/inventory/overrides.ts), with an audit trail: every
 * add and remove is kept in override_audit with the OS user and the time.
 */
import { userInfo } from 'node:os';
import type BetterSqlite3 from 'better-sqlite3';
import { isIsoDate } from '../dates.js';
import { UsageError } from '../errors.js';
import { applyOverride, overrideOn, type Override } from '../inventory/overrides.js';
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

function seriesOf(sqlite: BetterSqlite3.Database, sku: string, location: string): { p: number; l: number } {
  const p = sqlite.prepare('select id from products where sku = ?').get(sku) as { id: number } | undefined;
  if (!p) throw new UsageError(`unknown SKU "${sku}" (see optiflow export products)`);
  const l = sqlite.prepare('select id from locations where code = ?').get(location) as { id: number } | undefined;
  if (!l) throw new UsageError(`--location: unknown location "${location}"`);
  return { p: p.id, l: l.id };
}

export function addOverride(ctx: JobContext, o: OverrideInput) {
  for (const [flag, v] of [['--from', o.from], ['--to', o.to]] as const) if (!isIsoDate(v)) throw new UsageError(`${flag}: "${v}" is not a date (YYYY-MM-DD)`);
  if (o.from > o.to) throw new UsageError(`--from ${o.from} is after --to ${o.to}`);
  if ((o.factor === undefined) === (o.qty === undefined)) throw new UsageError('give exactly one of --factor F (scale the forecast) or --qty Q (units per day)');
  if (o.factor !== undefined && !(o.factor >= 0 && Number.isFinite(o.factor))) throw new UsageError(`--factor: ${o.factor} must be a number >= 0 (e.g. 1.3 = +30 %)`);
  if (o.qty !== undefined && !(o.qty >= 0 && Number.isFinite(o.qty))) throw new UsageError(`--qty: ${o.qty} must be a number of units per day >= 0`);
  if (!o.reason || !o.reason.trim()) throw new UsageError('--reason: say why (it is shown next to every figure the override changes)');
  const location = o.location ?? 'MAIN';
  const { p, l } = seriesOf(ctx.sqlite, o.sku, location);
  const user = osUser();
  const at = nowIso();
  let id = 0;
  ctx.sqlite.transaction(() => {
    id = Number(
      ctx.sqlite
        .prepare('insert into forecast_overrides (product_id, location_id, from_date, to_date, factor, quantity, reason, created_by, created_at, active) values (?, ?, ?, ?, ?, ?, ?, ?, ?, 1)')
        .run(p, l, o.from, o.to, o.factor ?? null, o.qty ?? null, o.reason.trim(), user, at).lastInsertRowid,
    );
    ctx.sqlite.prepare('insert into override_audit (override_id, action, os_user, at, details) values (?, ?, ?, ?, ?)').run(id, 'add', user, at, JSON.stringify({ ...o, location }));
  })();
  const applies = o.to >= ctx.asOf ? 'applied by the next optiflow predict (to the forecast days it covers)' : 'its days are all in the past: it changes no future forecast';
  return { id, sku: o.sku, location, from: o.from, to: o.to, factor: o.factor ?? null, qty: o.qty ?? null, reason: o.reason.trim(), created_by: user, created_at: at, note: applies };
}

export function listOverrides(ctx: JobContext, o: { all?: boolean } = {}) {
  return ctx.sqlite
    .prepare(
      `select x.id, p.sku, l.code as location, x.from_date, x.to_date, x.factor, x.quantity, x.reason, x.created_by, x.created_at, x.active
       from forecast_overrides x join products p on p.id = x.product_id join locations l on l.id = x.location_id
       ${o.all ? '' : 'where x.active = 1'} order by x.id`,
    )
    .all() as Record<string, unknown>[];
}

export function removeOverride(ctx: JobContext, id: number) {
  const row = ctx.sqlite.prepare('select id, active from forecast_overrides where id = ?').get(id) as { id: number; active: number } | undefined;
  if (!row) throw new UsageError(`override ${id} does not exist (see optiflow override list --all)`);
  if (!row.active) throw new UsageError(`override ${id} was already removed`);
  const user = osUser();
  const at = nowIso();
  ctx.sqlite.transaction(() => {
    ctx.sqlite.prepare('update forecast_overrides set active = 0 where id = ?').run(id);
    ctx.sqlite.prepare('insert into override_audit (override_id, action, os_user, at, details) values (?, ?, ?, ?, ?)').run(id, 'remove', user, at, '{}');
  })();
  return { id, removed: true, by: user, at, note: 'the next optiflow predict forecasts without it' };
}

export function overrideAudit(ctx: JobContext) {
  return ctx.sqlite.prepare('select id, override_id, action, os_user, at, details from override_audit order by id').all() as Record<string, unknown>[];
}

/** Active overrides per series ("productId:locationId") that touch [from, to]. */
export function overridesBySeries(sqlite: BetterSqlite3.Database, from: string, to: string): Map<string, Override[]> {
  const out = new Map<string, Override[]>();
  for (const r of sqlite
    .prepare('select id, product_id, location_id, from_date, to_date, factor, quantity, reason from forecast_overrides where active = 1 and to_date >= ? and from_date <= ? order by id')
    .all(from, to) as { id: number; product_id: number; location_id: number; from_date: string; to_date: string; factor: number | null; quantity: number | null; reason: string }[]) {
    const k = `${r.product_id}:${r.location_id}`;
    (out.get(k) ?? out.set(k, []).get(k)!).push({ id: r.id, fromDate: r.from_date, toDate: r.to_date, factor: r.factor, quantity: r.quantity, reason: r.reason });
  }
  return out;
}

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
