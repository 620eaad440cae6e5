/**
 * What the HTML report shows, read from the database as of a date. Every
 * figure comes from the function that owns it elsewhere: KPIs from
 * `computeKpis`, urgency from the `top-urgent` job, the stock projection
 * from `projectStock`, safety stock from the series' policy or `orderFor`
 * (the computation `alerts` uses), forecast errors from `ErrorSums`.
 * A section whose input is missing carries a note naming the command that
 * supplies it instead of a figure.
 */
import { addDays, daysBetween } from '../dates.js';
import { readRange } from '../db/history.js';
import { productRef, StateReader } from '../db/state.js';
import { forecastRuns, runCovering } from '../db/forecast-runs.js';
import { projectStock } from '../inventory/projection.js';
import { orderFor } from '../inventory/order.js';
import { ErrorSums } from '../ml/metrics.js';
import { computeKpis, topUrgentJob } from '../jobs/dashboard.js';
import { thresholds } from '../jobs/alerts.js';
import { currentStock } from '../db/state.js';
import { UsageError } from '../errors.js';
import { roundOrNull } from '../numbers.js';
import type { JobContext } from '../jobs/types.js';
import { explainForecast } from '../jobs/explain.js';
import { overridesBySeries } from '../jobs/overrides.js';
import { describeOverride, overrideOn } from '../inventory/overrides.js';

export interface ReportOptions {
  /** Extra series to chart, "SKU" or "SKU@LOCATION". */
  skus?: string[];
  /** Days of history before today in each series chart. */
  historyDays?: number;
  /** Weeks of forecast accuracy. */
  weeks?: number;
  /** How many urgent series to chart. */
  urgent?: number;
}

export interface SeriesSection {
  sku: string;
  location: string;
  why: string;
  forecastRun: string | null;
  /** Days of history then forecast days, one axis. */
  dates: string[];
  /** Demand per day (null: unknown, e.g. a stock-out day, or in the future). */
  actual: (number | null)[];
  yhat: (number | null)[];
  lo: (number | null)[];
  hi: (number | null)[];
  /** Days with a planner override in force, at the (overridden) forecast. */
  overrides: { date: string; value: number; label: string }[];
  /** Stock projection from today: end-of-day stock and receipts per day. */
  projection: { dates: string[]; stock: number[]; receipts: number[] } | null;
  onHand: number | null;
  stockDate: string | null;
  reorderPoint: number | null;
  safetyStock: number | null;
  safetyStockSource: string;
  leadTimeDays: number;
  stockoutDate: string | null;
  /** Today's forecast split into its components (models with the regression; `models explain`). */
  components: { model: string; dates: string[]; parts: Record<string, number[]>; stored: number[] } | null;
  notes: string[];
}

export interface AbcCell { abc: string; xyz: string; series: number; stockValue: number }

export interface AccuracyRow { label: string; n: number; wape: number | null; bias: number | null; series?: number }

export interface ReportData {
  asOf: string;
  generatedAt: string;
  kpis: Awaited<ReturnType<typeof computeKpis>>;
  alerts: Record<string, string | number | null>[];
  series: SeriesSection[];
  abcxyz: { cells: AbcCell[]; computedOn: string | null; note: string | null };
  accuracy: { weeks: AccuracyRow[]; models: AccuracyRow[]; note: string | null };
  savings: { rows: { date: string; avoided_stockouts: number; reduced_overstock: number; optimized_orders: number }[]; total: number; note: string | null };
  notes: string[];
}

export async function collectReport(ctx: JobContext, o: ReportOptions = {}): Promise<ReportData> {
  const { sqlite, asOf } = ctx;
  const notes: string[] = [];
  if (!sqlite.prepare('select 1 from sales limit 1').get()) notes.push('no sales history: import it with `optiflow import sales FILE.csv`');
  const latestRun = (sqlite.prepare('select max(run_date) as r from forecasts where run_date <= ?').get(asOf) as { r: string | null }).r;
  if (!latestRun) notes.push(`no forecast issued on or before ${asOf}: run \`optiflow predict --as-of ${asOf}\``);
  else if (latestRun !== asOf) notes.push(`the latest forecast was issued on ${latestRun}, not today (${asOf}): run \`optiflow batch --as-of ${asOf}\``);
  const alertsDay = (sqlite.prepare('select max(created_on) as d from alerts where active = 1').get() as { d: string | null }).d;
  if (alertsDay && alertsDay !== asOf) notes.push(`the active alerts were computed on ${alertsDay}: run \`optiflow alerts --as-of ${asOf}\``);

  const alerts = sqlite
    .prepare(
      `select a.severity, a.kind, p.sku, l.code as location, a.stockout_date, a.days_of_cover, a.suggested_qty, a.revenue_at_risk, a.message
       from alerts a join products p on p.id = a.product_id join locations l on l.id = a.location_id where a.active = 1
       order by case a.severity when 'CRITIQUE' then 0 when 'ATTENTION' then 1 else 2 end, a.stockout_date is null, a.stockout_date, p.sku, a.kind`,
    )
    .all() as Record<string, string | number | null>[];

  // Urgent series as `top-urgent` ranks them, then the ones asked for.
  const wanted: { sku: string; location: string; why: string }[] = [];
  const seen = new Set<string>();
  const add = (sku: string, location: string, why: string) => {
    const k = `${sku}@${location}`;
    if (seen.has(k)) return;
    seen.add(k);
    wanted.push({ sku, location, why });
  };
  for (const s of o.skus ?? []) {
    const [sku, location = 'MAIN'] = s.split('@');
    if (!(await productRef(ctx.db, sku, location))) {
      const known = sqlite.prepare('select 1 from products where sku = ?').get(sku);
      throw new UsageError(known ? `--sku: unknown location "${location}" in "${s}"` : `--sku: unknown SKU "${sku}"; list products with \`optiflow export products\``);
    }
    add(sku, location, 'asked for');
  }
  if (alerts.length) {
    const urgent = await topUrgentJob.run(ctx, { n: o.urgent ?? ctx.config.topUrgent.n });
    for (const r of urgent.rows ?? []) add(String(r.sku), String(r.location), `${r.severity} ${r.kind ?? ''} alert`.replace('  ', ' '));
  }
  const series: SeriesSection[] = [];
  for (const w of wanted) series.push(await seriesSection(ctx, w.sku, w.location, w.why, latestRun, o.historyDays ?? 56));
  const memo = new Map<string, unknown>();
  for (const s of series) s.components = await componentsOf(ctx, s, memo);

  return {
    asOf,
    generatedAt: new Date().toISOString(),
    kpis: await computeKpis(ctx),
    alerts,
    series,
    abcxyz: await abcGrid(ctx),
    accuracy: await accuracy(ctx, o.weeks ?? 8),
    savings: savings(ctx),
    notes,
  };
}

async function seriesSection(ctx: JobContext, sku: string, location: string, why: string, run: string | null, historyDays: number): Promise<SeriesSection> {
  const { sqlite, asOf } = ctx;
  const ref = (await productRef(ctx.db, sku, location))!;
  const notes: string[] = [];
  const from = addDays(asOf, -historyDays);
  const hist = (await readRange(ctx.db, [ref], from, asOf))[0];
  const state = run ? await new StateReader(ctx.db, asOf, run).readOne(ref) : null;
  const H = state?.yhat.length ?? 0;
  const dates: string[] = [];
  for (let i = 0; i < historyDays + H; i++) dates.push(addDays(from, i));
  const nums = (xs: ArrayLike<number>) => Array.from(xs, (v) => (Number.isFinite(v) ? roundOrNull(v, 3) : null));
  const actual = [...nums(hist.y), ...new Array(H).fill(null)];
  // The forecast over the history days: the run covering each day, so the chart shows how past forecasts did.
  const past = await pastForecasts(ctx, ref.productId, ref.locationId, from, historyDays);
  const yhat = [...past.yhat, ...(state ? nums(state.yhat) : [])];
  const lo = [...past.lo, ...(state ? nums(state.lo) : [])];
  const hi = [...past.hi, ...(state ? nums(state.hi) : [])];
  // Days a planner override is in force: the forecast shown there is the overridden one (`predict` applies it).
  const list = overridesBySeries(sqlite, from, dates[dates.length - 1]).get(`${ref.productId}:${ref.locationId}`) ?? [];
  const overrides = dates
    .map((d, i) => ({ date: d, value: yhat[i], o: overrideOn(list, d) }))
    .filter((x) => x.o !== null && x.value !== null)
    .map((x) => ({ date: x.date, value: x.value as number, label: describeOverride(x.o!) }));
  let projection: SeriesSection['projection'] = null;
  let reorderPoint: number | null = null;
  let ss: number | null = null;
  let ssSource = '';
  let stockoutDate: string | null = null;
  const L = state?.supplier?.leadTimeDays ?? ctx.config.leadTimeDefaultDays;
  if (!state || !H) notes.push(`no forecast from today: run \`optiflow predict --as-of ${asOf}\``);
  else if (!state.stockDate) notes.push('no stock record: the stock projection needs one (`optiflow import stock FILE.csv`)');
  else {
    const p = projectStock(state.onHand, state.receipts, state.yhat);
    projection = { dates: dates.slice(historyDays), stock: Array.from(p.stock), receipts: Array.from(state.receipts.subarray(0, H)) };
    stockoutDate = p.stockoutDay === null ? null : addDays(asOf, p.stockoutDay);
    if (state.policy) {
      reorderPoint = state.policy.reorderPoint;
      ss = state.policy.safetyStock;
      ssSource = `policy from \`optimize\`, service level ${state.policy.serviceLevel}`;
    } else {
      const t = thresholds(ctx);
      ss = orderFor(state, { leadTime: L, targetDays: L + t.reviewPeriodDays, serviceLevel: t.serviceLevel, safetyMargin: 0, holdingRatePerYear: t.holdingRatePerYear }).safetyStock.units;
      ssSource = `from forecast errors, service level ${t.serviceLevel}`;
      notes.push('no inventory policy, so no reorder point: run `optiflow optimize`');
    }
  }
  return {
    sku, location, why, forecastRun: run, dates, actual, yhat, lo, hi, overrides, projection,
    onHand: state?.stockDate ? state.onHand : null, stockDate: state?.stockDate ?? null,
    reorderPoint: roundOrNull(reorderPoint, 2), safetyStock: roundOrNull(ss, 2), safetyStockSource: ssSource, leadTimeDays: L, stockoutDate, components: null, notes,
  };
}

/** The components of today's forecast from today on, when the series' model carries the regression. */
async function componentsOf(ctx: JobContext, s: SeriesSection, memo: Map<string, unknown>): Promise<SeriesSection['components']> {
  if (!s.forecastRun) return null;
  const e = await explainForecast(ctx, { sku: s.sku, location: s.location, memo });
  if (!e.model.algorithm.includes('regression') || e.note) {
    if (e.note) s.notes.push(`components: ${e.note}`);
    return null;
  }
  const days = e.days.filter((d) => d.date >= ctx.asOf);
  const names = [...new Set(days.flatMap((d) => Object.keys(d.components)))].filter((n) => n !== 'rounding' && n !== 'override' && days.some((d) => Math.abs(d.components[n] ?? 0) > 1e-9));
  return {
    model: e.model.algorithm,
    dates: days.map((d) => d.date),
    parts: Object.fromEntries(names.map((n) => [n, days.map((d) => d.components[n] ?? 0)])),
    stored: days.map((d) => d.stored),
  };
}

/** For each past day, the forecast of the latest run on or before it that covers it. */
async function pastForecasts(ctx: JobContext, p: number, l: number, from: string, days: number) {
  const out = { yhat: new Array<number | null>(days).fill(null), lo: new Array<number | null>(days).fill(null), hi: new Array<number | null>(days).fill(null) };
  const runs = await forecastRuns(ctx.db, addDays(from, -120), addDays(ctx.asOf, -1));
  const q = ctx.sqlite.prepare('select yhat, yhat_lo, yhat_hi from forecasts where product_id = ? and location_id = ? and run_date = ? and date = ?');
  for (let i = 0; i < days; i++) {
    const d = addDays(from, i);
    const run = runs.find((r) => r <= d);
    if (!run) continue;
    const r = q.get(p, l, run, d) as { yhat: number; yhat_lo: number; yhat_hi: number } | undefined;
    if (!r) continue;
    out.yhat[i] = r.yhat;
    out.lo[i] = r.yhat_lo;
    out.hi[i] = r.yhat_hi;
  }
  return out;
}

async function abcGrid(ctx: JobContext): Promise<ReportData['abcxyz']> {
  const { sqlite, asOf } = ctx;
  const rows = sqlite.prepare('select product_id, location_id, abc, xyz, computed_on from inventory_policies').all() as { product_id: number; location_id: number; abc: string; xyz: string; computed_on: string }[];
  if (!rows.length) return { cells: [], computedOn: null, note: 'no ABC/XYZ classes yet: run `optiflow optimize`' };
  const value = new Map((await currentStock(ctx.db, asOf)).map((s) => [`${s.productId}:${s.locationId}`, Math.max(0, s.onHand) * s.unitCost]));
  const cells: AbcCell[] = [];
  for (const abc of ['A', 'B', 'C']) for (const xyz of ['X', 'Y', 'Z']) cells.push({ abc, xyz, series: 0, stockValue: 0 });
  for (const r of rows) {
    const c = cells.find((x) => x.abc === r.abc && x.xyz === r.xyz);
    if (!c) continue;
    c.series++;
    c.stockValue += value.get(`${r.product_id}:${r.location_id}`) ?? 0;
  }
  for (const c of cells) c.stockValue = roundOrNull(c.stockValue, 2) ?? 0;
  const computedOn = rows.map((r) => r.computed_on).sort().pop() ?? null;
  const old = computedOn && daysBetween(computedOn, asOf) > 35 ? `classes computed on ${computedOn}; refresh them with \`optiflow optimize\`` : null;
  return { cells, computedOn, note: old };
}

/**
 * Forecast accuracy over the last `weeks` weeks: each day's forecast is the
 * latest run on or before that day that covers it (as `monitor` scores);
 * actual demand skips stock-out days. WAPE = sum|f - a| / sum a (fraction),
 * bias = mean(f - a) (units/day; > 0 over-forecast), per week and per algorithm.
 */
async function accuracy(ctx: JobContext, weeks: number): Promise<ReportData['accuracy']> {
  const { sqlite, asOf } = ctx;
  const days = weeks * 7;
  const from = addDays(asOf, -days);
  const runs = await forecastRuns(ctx.db, addDays(from, -120), addDays(asOf, -1));
  if (!runs.length) return { weeks: [], models: [], note: `no forecasts issued in the last ${weeks} weeks: run \`optiflow batch\` nightly` };
  const refs = sqlite.prepare(`select distinct f.product_id as productId, f.location_id as locationId from forecasts f where f.run_date >= ? and f.run_date < ?`).all(addDays(from, -120), asOf) as { productId: number; locationId: number }[];
  const idx = new Map(refs.map((r, i) => [`${r.productId}:${r.locationId}`, i]));
  const actual = await readRange(ctx.db, refs, from, asOf);
  const algo = new Map((sqlite.prepare('select id, algorithm from models').all() as { id: number; algorithm: string }[]).map((m) => [m.id, m.algorithm]));
  const q = sqlite.prepare('select product_id, location_id, model_id, yhat from forecasts where run_date = ? and date = ?');
  const perWeek = Array.from({ length: weeks }, () => new ErrorSums());
  const perModel = new Map<string, { sums: ErrorSums; series: Set<number> }>();
  for (let t = 0; t < days; t++) {
    const d = addDays(from, t);
    const run = await runCovering(ctx.db, runs, d);
    if (!run) continue;
    for (const r of q.all(run, d) as { product_id: number; location_id: number; model_id: number | null; yhat: number }[]) {
      const i = idx.get(`${r.product_id}:${r.location_id}`);
      if (i === undefined) continue;
      const a = actual[i].y[t];
      if (!perWeek[Math.floor(t / 7)].add(a, r.yhat)) continue;
      // predict stores no model id for series forecast by the fallback (seasonal naive).
      const name = r.model_id === null ? 'fallback (seasonal naive)' : algo.get(r.model_id) ?? 'unknown';
      const m = perModel.get(name) ?? perModel.set(name, { sums: new ErrorSums(), series: new Set() }).get(name)!;
      m.sums.add(a, r.yhat);
      m.series.add(i);
    }
  }
  const row = (label: string, s: ErrorSums, series?: number): AccuracyRow => ({ label, n: s.n, wape: roundOrNull(s.wape, 4), bias: roundOrNull(s.n ? s.bias : null, 3), ...(series !== undefined ? { series } : {}) });
  const weekRows = perWeek.map((s, w) => row(addDays(from, w * 7), s)).filter((r) => r.n > 0);
  const models = [...perModel.entries()].map(([k, v]) => row(k, v.sums, v.series.size)).sort((a, b) => b.n - a.n);
  return { weeks: weekRows, models, note: weekRows.length ? null : `no forecast covers the last ${weeks} weeks yet: accuracy needs a few nights of \`optiflow batch\`` };
}

function savings(ctx: JobContext): ReportData['savings'] {
  const { sqlite, asOf } = ctx;
  const rows = sqlite
    .prepare('select date, avoided_stockouts, reduced_overstock, optimized_orders from savings where date <= ? and date > ? order by date')
    .all(asOf, addDays(asOf, -90)) as ReportData['savings']['rows'];
  const monthStart = asOf.slice(0, 8) + '01';
  const total = rows.filter((r) => r.date >= monthStart).reduce((s, r) => s + r.avoided_stockouts + r.reduced_overstock + r.optimized_orders, 0);
  return { rows, total: roundOrNull(total, 2) ?? 0, note: rows.length ? null : 'no savings recorded yet: run `optiflow savings` (part of the nightly batch)' };
}

