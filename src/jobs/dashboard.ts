/**
 * The dashboard tail of the nightly batch: kpis, savings, revenue, trends,
 * top-urgent, dormant. Formulas and units are in README.md ("Formulas").
 */
import { addDays, daysBetween, weekday } from '../dates.js';
import { historyFor } from '../db/history.js';
import { currentStock, StateReader, stockValues } from '../db/state.js';
import { activeAlerts, alertCountsOn, alertsFingerprint, firstAlertDay } from '../db/alerts.js';
import { actualRevenue, anyForecastOnOrBefore, firstSaleBefore, forecastUnits, forEachSeriesSales, kpiCacheGet, kpiCachePut, kpiInputsFingerprint, lastSaleBefore, latestChangeId, ordersFromSuggestions, ordersReceivedAfterAlerts, predictedRevenue, replaceDormant, replaceRevenueDaily, replaceTrends, saveSavings, savingsHistory, savingsTotal, seriesNames, stockChangesAfter, type TrendRow } from '../db/kpis.js';
import { requireCoverage, seriesWithoutStock } from '../db/coverage.js';
import { forecastRuns, runCovering } from '../db/forecast-runs.js';
import { trendStats } from '../inventory/trend-stats.js';
import { MissingInputError } from '../errors.js';
import { type Job, type JobContext, withoutIds } from './types.js';
import { roundOrNull } from '../numbers.js';
import { cappedSum, DEFAULT_OUTLIER_FACTOR } from '../inventory/outliers.js';


/** Stock value at past dates, cached per date in kpi_cache (invalidated by stock imports touching it). */
async function snapshotValues(ctx: JobContext, dates: string[]): Promise<number[]> {
  const q = ctx.db.kysely;
  const changeId = await latestChangeId(q);
  const cached = await kpiCacheGet(q, dates.map((d) => `stock_value:${d}`));
  const parsed = dates.map((d) => {
    const row = cached.get(`stock_value:${d}`);
    return row ? (JSON.parse(row.payload) as { value: number; change_id: number }) : null;
  });
  // Stock imports since the oldest cached value: a value is stale when one touched its date or earlier.
  const oldest = Math.min(...parsed.map((p) => (p ? p.change_id : Infinity)));
  const changes = Number.isFinite(oldest) ? await stockChangesAfter(q, oldest) : [];
  const out: (number | null)[] = parsed.map((p, i) => (p && !changes.some((c) => c.id > p.change_id && c.min_date !== null && c.min_date <= dates[i]) ? p.value : null));
  const missing = dates.filter((_, i) => out[i] === null);
  if (missing.length) {
    const values = await stockValues(ctx.db, missing);
    const now = new Date();
    const keep = new Date(now.getTime() + 400 * 86_400_000).toISOString();
    missing.forEach((d, j) => (out[dates.indexOf(d)] = values[j]));
    await kpiCachePut(q, missing.map((d, j) => ({ key: `stock_value:${d}`, payload: JSON.stringify({ value: values[j], change_id: changeId }), computed_at: now.toISOString(), expires_at: keep })));
  }
  return out as number[];
}

/**
 * The pre-optiflow stock level to measure reduced overstock against: optiflow
 * is in use from its first alert day; the baseline is the mean stock value of
 * the 90 days before that day (weekly samples), in days of cover at that
 * period's cost of goods sold. Nothing is claimed until optiflow has been in
 * use before the day measured, and there is stock history before it.
 */
async function overstockBaseline(ctx: JobContext, day: string): Promise<{ daysOfCover: number | null; since: string | null; note: string | null }> {
  const since = await firstAlertDay(ctx.db.kysely);
  if (!since || since > day) return { daysOfCover: null, since, note: 'no baseline yet: optiflow had not changed any order before this day, so no overstock reduction is claimed' };
  const dates = Array.from({ length: 13 }, (_, k) => addDays(since, -7 * (k + 1)));
  const values = await stockValues(ctx.db, dates);
  const mean = values.reduce((a, b) => a + b, 0) / values.length;
  const daily = (await cogs(ctx, addDays(since, -90), since)) / 90;
  if (!(mean > 0) || !(daily > 0)) return { daysOfCover: null, since, note: `no baseline: no stock or sales history in the 90 days before optiflow was first used (${since})` };
  return { daysOfCover: mean / daily, since, note: null };
}

/**
 * Cost of goods sold (units x unit cost) over [from, to), each series' absurd
 * days capped (src/inventory/outliers.ts): one definition for rotation and
 * savings. Range scans of the sales key in key order; shared within a batch run.
 */
async function cogs(ctx: JobContext, from: string, to: string): Promise<number> {
  const key = `cogs:${from}:${to}`;
  const hit = ctx.cache?.get(key) as number | undefined;
  if (hit !== undefined) return hit;
  const factor = ctx.config.savings.outlierFactor ?? DEFAULT_OUTLIER_FACTOR;
  let total = 0;
  let capped = 0;
  const named: { productId: number; locationId: number }[] = [];
  await forEachSeriesSales(ctx.db, from, to, (productId, locationId, cost, qs) => {
    const r = cappedSum(qs, factor);
    total += r.sum * cost;
    if (r.capped) {
      capped += r.capped;
      if (named.length < 5) named.push({ productId, locationId });
    }
  });
  if (capped) {
    const names = await seriesNames(ctx.db.kysely, named);
    ctx.log.warn(`cost of goods sold ${from}..${to}: ${capped} sales day(s) above ${factor}x their series' typical day counted at that cap (${names.join(', ')}${capped > names.length ? ', ...' : ''}); check those sales rows`);
  }
  ctx.cache?.set(key, total);
  return total;
}

export async function computeKpis(ctx: JobContext) {
  const { asOf } = ctx;
  const q = ctx.db.kysely;
  const { bySeverity: counts, criticalSeries: critical } = await alertCountsOn(q, asOf);
  const stock = await currentStock(ctx.db, asOf);
  const stockValue = stock.reduce((s, r) => s + Math.max(0, r.onHand) * r.unitCost, 0);
  const first = await firstSaleBefore(q, asOf);
  const days = first ? Math.min(365, daysBetween(first, asOf)) : 0;
  const from = addDays(asOf, -days);
  const cogsWindow = days ? await cogs(ctx, from, asOf) : 0;
  // Average stock value: the stock value at the last calendar month-ends inside the window (12 at most).
  // A past month-end's value is computed once and kept in kpi_cache, until an import touches stock up to that date.
  const snapDates: string[] = [];
  for (let m = 1; m <= Math.max(1, Math.floor(days / 30.4)) && snapDates.length < 12; m++) {
    const firstOfMonth = new Date(Date.UTC(+asOf.slice(0, 4), +asOf.slice(5, 7) - m, 1));
    snapDates.push(addDays(firstOfMonth.toISOString().slice(0, 10), -1));
  }
  const snaps = await snapshotValues(ctx, snapDates.filter((d) => !first || d >= first));
  const avgStock = snaps.length ? snaps.reduce((a, b) => a + b, 0) / snaps.length : stockValue;
  const rotation = avgStock > 0 && days > 0 ? (cogsWindow * (365 / days)) / avgStock : null;
  const monthStart = asOf.slice(0, 8) + '01';
  const sav = { v: await savingsTotal(q, monthStart, asOf) };
  return {
    date: asOf,
    alerts: { CRITIQUE: counts.CRITIQUE ?? 0, ATTENTION: counts.ATTENTION ?? 0, INFO: counts.INFO ?? 0 },
    stock_value: roundOrNull(stockValue, 2),
    rotation_rate: roundOrNull(rotation, 3),
    rotation_basis: { cogs: roundOrNull(cogsWindow, 2), days, average_stock_value: roundOrNull(avgStock, 2), snapshots: snaps.length },
    critical_products: critical,
    savings_mtd: roundOrNull(sav.v, 2),
    // Series whose stock was never imported: left out of the stock value, not counted as 0.
    stock_unknown_series: await seriesWithoutStock(ctx.db, asOf),
  };
}

/**
 * What the KPIs are computed from, in a few aggregates: alerts (which are
 * active, at which severity), imports of sales and stock (data_changes),
 * savings of the month, products' costs. A cached KPI set whose inputs differ
 * is recomputed, whatever its age.
 */
async function kpiInputs(ctx: JobContext): Promise<string> {
  const q = ctx.db.kysely;
  const rest = await kpiInputsFingerprint(q, ctx.asOf.slice(0, 8) + '01', ctx.asOf);
  return JSON.stringify({ alerts: await alertsFingerprint(q), ...rest });
}

export const kpisJob: Job = {
  name: 'kpis',
  description: 'dashboard KPIs: alerts by severity, stock value, rotation, critical products, savings month to date (cached 24 h)',
  dependsOn: ['alerts', 'savings'],
  async run(ctx, opts = {}) {
    const key = `dashboard_kpis:${ctx.asOf}`;
    const now = new Date();
    const cached = (await kpiCacheGet(ctx.db.kysely, [key])).get(key);
    const inputs = await kpiInputs(ctx);
    if (cached && !opts.refresh && cached.expires_at > now.toISOString()) {
      const { inputs: was, ...k } = JSON.parse(cached.payload) as Kpis & { inputs?: string };
      if (was === inputs) return { summary: flat(k, true), kpis: k, cached: true, computed_at: cached.computed_at };
      ctx.log.info('kpis: inputs changed since the cached figures were computed (alerts, imports, savings or products); recomputing');
    }
    const k = await computeKpis(ctx);
    const expires = new Date(now.getTime() + ctx.config.kpis.ttlHours * 3600_000);
    await kpiCachePut(ctx.db.kysely, [{ key, payload: JSON.stringify({ ...k, inputs }), computed_at: now.toISOString(), expires_at: expires.toISOString() }]);
    return { summary: flat(k, false), kpis: k, cached: false, computed_at: now.toISOString() };
  },
};

export type Kpis = Awaited<ReturnType<typeof computeKpis>>;

function flat(k: Kpis, cached: boolean) {
  return {
    date: k.date, critique: k.alerts.CRITIQUE, attention: k.alerts.ATTENTION, info: k.alerts.INFO, stock_value: k.stock_value,
    rotation_rate: k.rotation_rate, critical_products: k.critical_products, savings_mtd: k.savings_mtd, stock_unknown_series: k.stock_unknown_series ?? null, cached: cached ? 'yes' : 'no',
  };
}

export const savingsJob: Job = {
  name: 'savings',
  description: 'savings of the previous day: avoided stock-outs, reduced overstock, optimized orders',
  dependsOn: ['alerts'],
  async run(ctx) {
    const { asOf, config } = ctx;
    const day = addDays(asOf, -1);
    // 1. Avoided stock-outs: orders received yesterday, placed within 2 days after a stock-out alert, before its projected stock-out.
    const q = ctx.db.kysely;
    const orders = (await ordersReceivedAfterAlerts(q, day, config.leadTimeDefaultDays)).filter((o) => o.ordered_on <= addDays(o.created_on, 2));
    const seen = new Set<number>();
    let avoided = 0;
    const avoidedDetails: Record<string, unknown>[] = [];
    for (const o of orders) {
      if (seen.has(o.id)) continue;
      seen.add(o.id);
      const units = Math.min(o.quantity, await forecastUnits(q, o.product_id, o.location_id, o.created_on, o.stockout_date, addDays(o.stockout_date, o.lead)));
      const v = units * Math.max(0, o.unit_price - o.unit_cost);
      avoided += v;
      avoidedDetails.push({ order: o.id, alert: o.alert_id, units: roundOrNull(units, 2), margin: roundOrNull(v, 2) });
    }
    // 2. Reduced overstock: holding cost of the stock below the measured pre-optiflow baseline (README "Savings").
    const stockValue = (await currentStock(ctx.db, asOf)).reduce((s, r) => s + Math.max(0, r.onHand) * r.unitCost, 0);
    const dailyCogs = (await cogs(ctx, addDays(asOf, -365), asOf)) / 365;
    const base = await overstockBaseline(ctx, day);
    const baseline = base.daysOfCover === null ? null : base.daysOfCover * dailyCogs;
    const reduced = baseline === null ? null : ((baseline - stockValue) * config.savings.holdingRatePerYear) / 365;
    // 3. Optimized orders: price-break gains of orders placed yesterday that followed a recorded suggestion.
    const opt = await ordersFromSuggestions(q, day);
    let optimized = 0;
    for (const o of opt) optimized += Math.max(0, o.list_unit_cost - (o.unit_cost ?? o.list_unit_cost)) * o.quantity;
    const details = { day, avoided_stockouts: avoidedDetails, reduced_overstock: { baseline_value: roundOrNull(baseline, 2), baseline_days_of_cover: roundOrNull(base.daysOfCover, 1), optiflow_since: base.since, stock_value: roundOrNull(stockValue, 2), holding_rate: config.savings.holdingRatePerYear, note: base.note }, optimized_orders: opt.map((o) => o.id) };
    await saveSavings(q, { date: asOf, avoided_stockouts: roundOrNull(avoided, 2)!, reduced_overstock: roundOrNull(reduced ?? 0, 2)!, optimized_orders: roundOrNull(optimized, 2)!, details: JSON.stringify(details) });
    const history = await savingsHistory(q, asOf, 30);
    return { summary: { date: asOf, avoided_stockouts: roundOrNull(avoided, 2), reduced_overstock: roundOrNull(reduced, 2), optimized_orders: roundOrNull(optimized, 2), total: roundOrNull(avoided + (reduced ?? 0) + optimized, 2), ...(base.note ? { reduced_overstock_note: base.note } : {}) }, rows: history, details };
  },
};

export const revenueJob: Job = {
  name: 'revenue',
  isolated: true,
  description: 'predicted against actual revenue for each of the last 30 days',
  dependsOn: ['predict'],
  async run(ctx) {
    // Actual revenue of days after the last imported sale is unknown, not zero.
    await requireCoverage(ctx);
    const { asOf } = ctx;
    const q = ctx.db.kysely;
    if (!(await anyForecastOnOrBefore(q, asOf))) throw new MissingInputError(`forecasts issued on or before ${asOf}`, `optiflow predict --as-of ${asOf}`);
    // The forecast of day d: the latest run on or before d that covers d (index forecasts(run_date, date)).
    const runs = await forecastRuns(ctx.db, addDays(asOf, -120), asOf);
    const rows: { date: string; predicted: number | null; actual: number; variance_pct: number | null; forecast_run: string | null }[] = [];
    for (let i = 30; i >= 1; i--) {
      const d = addDays(asOf, -i);
      const run = await runCovering(ctx.db, runs, d);
      const p = run ? await predictedRevenue(q, run, d) : null;
      const a = await actualRevenue(q, d);
      const predicted = p && p.n ? roundOrNull(p.v, 2) : null;
      rows.push({ date: d, predicted, actual: roundOrNull(a, 2)!, variance_pct: predicted ? roundOrNull(((a - predicted) / predicted) * 100, 2) : null, forecast_run: run });
    }
    await replaceRevenueDaily(ctx.db, asOf, rows.map((r) => ({ date: r.date, predicted: r.predicted ?? 0, actual: r.actual, variance_pct: r.variance_pct })));
    const withP = rows.filter((r) => r.predicted !== null);
    const tp = withP.reduce((s, r) => s + r.predicted!, 0);
    const ta = withP.reduce((s, r) => s + r.actual, 0);
    return { summary: { days: rows.length, days_with_forecast: withP.length, predicted: roundOrNull(tp, 2), actual: roundOrNull(ta, 2), variance_pct: tp > 0 ? roundOrNull(((ta - tp) / tp) * 100, 2) : null }, rows };
  },
};

export const trendsJob: Job = {
  name: 'trends',
  readsHistory: true,
  description: 'growth over 28 days and year on year, slope, seasonality strength, per series and category',
  dependsOn: ['predict'],
  async run(ctx) {
    const { asOf } = ctx;
    const hist = await historyFor(ctx, 400, 0, { demandOnly: true });
    const wd = (i: number) => weekday(hist.startDay + i);
    const mo = (i: number) => new Date((hist.startDay + i) * 86_400_000).getUTCMonth();
    const rows: Record<string, unknown>[] = [];
    const cats = new Map<string, Float64Array>();
    hist.series.forEach((s, i) => {
      const ref = hist.refs[i];
      const t = trendStats(s.y, wd, mo);
      rows.push({ scope: 'series', key: `${ref.sku}@${ref.location}`, product_id: ref.productId, location_id: ref.locationId, category: ref.category, growth_28d: roundOrNull(t.growth28d, 3), growth_yoy: roundOrNull(t.growthYoy, 3), slope: roundOrNull(t.slope, 3), weekly_strength: roundOrNull(t.weeklyStrength, 3), yearly_strength: roundOrNull(t.yearlyStrength, 3), label: t.label });
      const c = cats.get(ref.category) ?? new Float64Array(hist.T);
      for (let k = 0; k < hist.T; k++) if (!Number.isNaN(s.y[k])) c[k] += s.y[k];
      cats.set(ref.category, c);
    });
    for (const [cat, y] of cats) {
      const t = trendStats(y, wd, mo);
      rows.push({ scope: 'category', key: cat, product_id: null, location_id: null, category: cat, growth_28d: roundOrNull(t.growth28d, 3), growth_yoy: roundOrNull(t.growthYoy, 3), slope: roundOrNull(t.slope, 3), weekly_strength: roundOrNull(t.weeklyStrength, 3), yearly_strength: roundOrNull(t.yearlyStrength, 3), label: t.label });
    }
    await replaceTrends(ctx.db, asOf, rows as unknown as TrendRow[]);
    const count = (l: string) => rows.filter((r) => r.scope === 'series' && r.label === l).length;
    const view = rows.map((r) => withoutIds(r as Record<string, unknown> & { product_id: unknown; location_id: unknown }));
    return { summary: { series: hist.series.length, categories: cats.size, rising: count('rising'), stable: count('stable'), declining: count('declining') }, rows: view.sort((a, b) => (a.scope === b.scope ? 0 : a.scope === 'category' ? -1 : 1)) };
  },
};

/**
 * Urgency order: severity (CRITIQUE, ATTENTION, INFO), then the earliest
 * stock-out date (none last), then the largest revenue at risk.
 */
/**
 * top-urgent ranking: severity (CRITIQUE, ATTENTION, INFO); then alerts that
 * ask for an action before "watch it" ones (a stock-out alert with nothing to
 * order and no revenue at risk); then the slack, days until the stock-out minus the supplier's lead
 * time (negative: an order placed now arrives too late), smallest first, no
 * stock-out date last; then revenue at risk, largest first.
 */
export function rankUrgent<T extends { severity: string; kind: string; suggested_qty: number | null; slack_days: number | null; revenue_at_risk: number | null; id: number }>(rows: T[]): T[] {
  const sev = (s: string) => (s === 'CRITIQUE' ? 0 : s === 'ATTENTION' ? 1 : 2);
  // "Watch it": a stock-out alert with nothing to order and nothing at risk before an order could arrive.
  const watch = (r: T) => (r.kind === 'stockout' && !(Number(r.suggested_qty) > 0) && !((r.revenue_at_risk ?? 0) > 0) ? 1 : 0);
  return [...rows].sort((a, b) =>
    sev(a.severity) - sev(b.severity) || watch(a) - watch(b) || (a.slack_days ?? Infinity) - (b.slack_days ?? Infinity) || (b.revenue_at_risk ?? 0) - (a.revenue_at_risk ?? 0) || a.id - b.id);
}

export const topUrgentJob: Job = {
  name: 'top-urgent',
  description: 'the N most urgent active alerts (severity, action before watch, days to stock-out against lead time, revenue at risk)',
  dependsOn: ['alerts'],
  async run(ctx, opts = {}) {
    const n = Number(opts.n ?? ctx.config.topUrgent.n);
    const all = await activeAlerts(ctx.db.kysely, ctx.asOf);
    // Only the supplier's lead time of each series is needed: no series state (stock, forecasts, model errors) is read.
    const reader = new StateReader(ctx.db, ctx.asOf);
    const lead = new Map<string, number>();
    const withSlack = [];
    for (const a of all) {
      const k = `${a.product_id}:${a.location_id}`;
      if (a.stockout_date && !lead.has(k)) lead.set(k, (await reader.supplierOf(a.product_id))?.leadTimeDays ?? ctx.config.leadTimeDefaultDays);
      const { product_id: _p, location_id: _l, created_on: _c, ...rest } = a;
      withSlack.push({ ...rest, lead_time_days: lead.get(k) ?? null, slack_days: a.stockout_date ? daysBetween(ctx.asOf, a.stockout_date) - (lead.get(k) ?? 0) : null });
    }
    const rows = rankUrgent(withSlack).slice(0, n);
    const now = new Date();
    await kpiCachePut(ctx.db.kysely, [{ key: `top_urgent:${ctx.asOf}`, payload: JSON.stringify(rows), computed_at: now.toISOString(), expires_at: new Date(now.getTime() + ctx.config.kpis.ttlHours * 3600_000).toISOString() }]);
    return { summary: { n, returned: rows.length }, rows };
  },
};

export const dormantJob: Job = {
  name: 'dormant',
  isolated: true,
  description: 'series with stock on hand and no sale for N days (default 90), with tied-up value',
  dependsOn: [],
  async run(ctx, opts = {}) {
    const { asOf } = ctx;
    const days = Number(opts.days ?? ctx.config.dormant.days);
    const rows: { sku: string; location: string; on_hand: number; value: number; last_sale: string | null; days_since_sale: number | null; product_id: number; location_id: number }[] = [];
    const held = (await currentStock(ctx.db, asOf)).filter((s) => s.onHand > 0);
    const last = await lastSaleBefore(ctx.db.kysely, asOf, held);
    for (const s of held) {
      const d = last.get(`${s.productId}:${s.locationId}`) ?? null;
      const since = d ? daysBetween(d, asOf) : null;
      if (since !== null && since < days) continue;
      rows.push({ sku: s.sku, location: s.location, on_hand: s.onHand, value: roundOrNull(s.onHand * s.unitCost, 2)!, last_sale: d, days_since_sale: since, product_id: s.productId, location_id: s.locationId });
    }
    rows.sort((a, b) => b.value - a.value);
    await replaceDormant(ctx.db, asOf, rows.map((r) => ({ product_id: r.product_id, location_id: r.location_id, on_hand: r.on_hand, value: r.value, last_sale: r.last_sale, days_since_sale: r.days_since_sale })));
    return { summary: { days, series: rows.length, tied_up_value: roundOrNull(rows.reduce((s, r) => s + r.value, 0), 2) }, rows: rows.map(withoutIds) };
  },
};

