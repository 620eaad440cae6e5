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
import { activeOverridesBySeries } from '../db/overrides.js';
import { describeOverride, overrideOn } from '../inventory/overrides.js';
import * as r from '../db/report.js';

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
  const { asOf } = ctx;
  const q = ctx.db.kysely;
  const notes: string[] = [];
  if (!(await r.hasSales(q))) notes.push('no sales history: import it with `optiflow import sales FILE.csv`');
  const latestRun = await r.latestRunOnOrBefore(q, asOf);
  if (!latestRun) notes.push(`no forecast issued on or before ${asOf}: run \`optiflow predict --as-of ${asOf}\``);
  else if (latestRun !== asOf) notes.push(`the latest forecast was issued on ${latestRun}, not today (${asOf}): run \`optiflow batch --as-of ${asOf}\``);
  const alertsDay = await r.activeAlertsDay(q);
  if (alertsDay && alertsDay !== asOf) notes.push(`the active alerts were computed on ${alertsDay}: run \`optiflow alerts --as-of ${asOf}\``);

  const alerts: Record<string, string | number | null>[] = await r.activeAlerts(q);

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
      const known = await r.skuExists(q, sku);
      throw new UsageError(known ? `--sku: unknown location "${location}" in "${s}"` : `--sku: unknown SKU "${sku}"; list products with \`optiflow export products\``);
    }
    add(sku, location, 'asked for');
  }
  if (alerts.length) {
    const urgent = await topUrgentJob.run(ctx, { n: o.urgent ?? ctx.config.topUrgent.n });
    for (const u of urgent.rows ?? []) add(String(u.sku), String(u.location), `${u.severity} ${u.kind ?? ''} alert`.replace('  ', ' '));
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
    ...(await reportTables(ctx, o.weeks ?? 8)),
    notes,
  };
}

async function seriesSection(ctx: JobContext, sku: string, location: string, why: string, run: string | null, historyDays: number): Promise<SeriesSection> {
  const { asOf } = ctx;
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
  const list = (await activeOverridesBySeries(ctx.db.kysely, from, dates[dates.length - 1], ref)).get(`${ref.productId}:${ref.locationId}`) ?? [];
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

/** The report's tables that need no chart: ABC/XYZ grid, forecast accuracy, savings. */
export async function reportTables(ctx: JobContext, weeks: number): Promise<Pick<ReportData, 'abcxyz' | 'accuracy' | 'savings'>> {
  return { abcxyz: await abcGrid(ctx), accuracy: await accuracy(ctx, weeks), savings: await savings(ctx) };
}

/** For each past day, the forecast of the latest run on or before it that covers it. */
async function pastForecasts(ctx: JobContext, p: number, l: number, from: string, days: number) {
  const out = { yhat: new Array<number | null>(days).fill(null), lo: new Array<number | null>(days).fill(null), hi: new Array<number | null>(days).fill(null) };
  const runsFrom = addDays(from, -120);
  const runs = await forecastRuns(ctx.db, runsFrom, addDays(ctx.asOf, -1));
  // One read of the series' forecasts over the chart's days, then the run of each day picked here.
  const f = await r.seriesForecasts(ctx.db.kysely, p, l, from, addDays(from, days), runsFrom);
  for (let i = 0; i < days; i++) {
    const d = addDays(from, i);
    const run = runs.find((x) => x <= d);
    if (!run) continue;
    const x = f.get(`${run}|${d}`);
    if (!x) continue;
    out.yhat[i] = x.yhat;
    out.lo[i] = x.yhat_lo;
    out.hi[i] = x.yhat_hi;
  }
  return out;
}

async function abcGrid(ctx: JobContext): Promise<ReportData['abcxyz']> {
  const { asOf } = ctx;
  const rows = await r.policyClasses(ctx.db.kysely);
  if (!rows.length) return { cells: [], computedOn: null, note: 'no ABC/XYZ classes yet: run `optiflow optimize`' };
  const value = new Map((await currentStock(ctx.db, asOf)).map((s) => [`${s.productId}:${s.locationId}`, Math.max(0, s.onHand) * s.unitCost]));
  const cells: AbcCell[] = [];
  for (const abc of ['A', 'B', 'C']) for (const xyz of ['X', 'Y', 'Z']) cells.push({ abc, xyz, series: 0, stockValue: 0 });
  for (const x of rows) {
    const c = cells.find((y) => y.abc === x.abc && y.xyz === x.xyz);
    if (!c) continue;
    c.series++;
    c.stockValue += value.get(`${x.product_id}:${x.location_id}`) ?? 0;
  }
  for (const c of cells) c.stockValue = roundOrNull(c.stockValue, 2) ?? 0;
  const computedOn = rows.map((x) => x.computed_on).sort().pop() ?? null;
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
  const { asOf } = ctx;
  const q = ctx.db.kysely;
  const days = weeks * 7;
  const from = addDays(asOf, -days);
  const runs = await forecastRuns(ctx.db, addDays(from, -120), addDays(asOf, -1));
  if (!runs.length) return { weeks: [], models: [], note: `no forecasts issued in the last ${weeks} weeks: run \`optiflow batch\` nightly` };
  const refs = await r.seriesForecastBetween(q, addDays(from, -120), asOf);
  const idx = new Map(refs.map((r, i) => [`${r.productId}:${r.locationId}`, i]));
  const actual = await readRange(ctx.db, refs, from, asOf);
  const algo = await r.modelAlgorithms(q);
  const perWeek = Array.from({ length: weeks }, () => new ErrorSums());
  const perModel = new Map<string, { sums: ErrorSums; series: Set<number> }>();
  for (let t = 0; t < days; t++) {
    const d = addDays(from, t);
    const run = await runCovering(ctx.db, runs, d);
    if (!run) continue;
    for (const f of await r.forecastsOfDay(q, run, d)) {
      const i = idx.get(`${f.product_id}:${f.location_id}`);
      if (i === undefined) continue;
      const a = actual[i].y[t];
      if (!perWeek[Math.floor(t / 7)].add(a, f.yhat)) continue;
      // predict stores no model id for series forecast by the fallback (seasonal naive).
      const name = f.model_id === null ? 'fallback (seasonal naive)' : algo.get(f.model_id) ?? 'unknown';
      const m = perModel.get(name) ?? perModel.set(name, { sums: new ErrorSums(), series: new Set() }).get(name)!;
      m.sums.add(a, f.yhat);
      m.series.add(i);
    }
  }
  const row = (label: string, s: ErrorSums, series?: number): AccuracyRow => ({ label, n: s.n, wape: roundOrNull(s.wape, 4), bias: roundOrNull(s.n ? s.bias : null, 3), ...(series !== undefined ? { series } : {}) });
  const weekRows = perWeek.map((s, w) => row(addDays(from, w * 7), s)).filter((r) => r.n > 0);
  const models = [...perModel.entries()].map(([k, v]) => row(k, v.sums, v.series.size)).sort((a, b) => b.n - a.n);
  return { weeks: weekRows, models, note: weekRows.length ? null : `no forecast covers the last ${weeks} weeks yet: accuracy needs a few nights of \`optiflow batch\`` };
}

async function savings(ctx: JobContext): Promise<ReportData['savings']> {
  const { asOf } = ctx;
  const rows = await r.savingsBetween(ctx.db.kysely, addDays(asOf, -90), asOf);
  const monthStart = asOf.slice(0, 8) + '01';
  const total = rows.filter((r) => r.date >= monthStart).reduce((s, r) => s + r.avoided_stockouts + r.reduced_overstock + r.optimized_orders, 0);
  return { rows, total: roundOrNull(total, 2) ?? 0, note: rows.length ? null : 'no savings recorded yet: run `optiflow savings` (part of the nightly batch)' };
}

