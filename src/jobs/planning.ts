/**
 * On-demand planning: suggest, optimize, simulate. They share the stock
 * projection, safety stock and order-quantity code with `alerts`.
 */
import { addDays, daysBetween, isIsoDate } from '../dates.js';
import { loadHistory } from '../db/history.js';
import { productRef, productRefs, StateReader } from '../db/state.js';
import { MissingInputError, UsageError } from '../errors.js';
import { initBackend } from '../ml/backend.js';
import { forecastMany, forecastWith, parseChoice } from '../ml/engine.js';
import { projectStock, sum } from '../inventory/projection.js';
import { normalQuantile, safetyStock } from '../inventory/safety-stock.js';
import { suggestQuantity } from '../inventory/suggestion.js';
import { orderFor } from '../inventory/order.js';
import { minMaxPolicy, simulateSeries, StockSim, type SimResult } from '../inventory/simulation.js';
import { type JobContext, withoutIds } from './types.js';
import { roundTo } from '../numbers.js';

// ---------------------------------------------------------------- suggest

export interface SuggestOptions {
  sku: string;
  location?: string;
  targetDate?: string;
  safetyMargin?: number;
  serviceLevel?: number;
  record?: boolean;
}

export function validateSuggest(ctx: JobContext, o: SuggestOptions): void {
  if (o.serviceLevel !== undefined && !(o.serviceLevel > 0 && o.serviceLevel < 1)) throw new UsageError(`--service-level: ${o.serviceLevel} must be between 0 and 1 (e.g. 0.95)`);
  if (o.safetyMargin !== undefined && !(o.safetyMargin >= 0)) throw new UsageError(`--safety-margin: ${o.safetyMargin} must be >= 0 (a fraction of demand, e.g. 0.1)`);
  if (o.targetDate !== undefined) {
    if (!isIsoDate(o.targetDate)) throw new UsageError(`--target-date: "${o.targetDate}" is not a date (YYYY-MM-DD)`);
    if (o.targetDate < ctx.asOf) throw new UsageError(`--target-date: ${o.targetDate} is in the past (today is ${ctx.asOf})`);
  }
}

export function suggestOrder(ctx: JobContext, o: SuggestOptions) {
  validateSuggest(ctx, o);
  const location = o.location ?? 'MAIN';
  const ref = productRef(ctx.sqlite, o.sku, location);
  if (!ref) {
    const p = ctx.sqlite.prepare('select 1 from products where sku = ?').get(o.sku);
    throw new UsageError(p ? `--location: unknown location "${location}"` : `unknown SKU "${o.sku}"`);
  }
  const run = (ctx.sqlite.prepare('select max(run_date) as r from forecasts where product_id = ? and location_id = ? and run_date <= ?').get(ref.productId, ref.locationId, ctx.asOf) as { r: string | null }).r;
  if (!run) throw new MissingInputError(`a forecast for ${o.sku}@${location}`, `optiflow predict --as-of ${ctx.asOf}`);
  const s = new StateReader(ctx.sqlite, ctx.asOf, run).read(ref);
  const L = s.supplier?.leadTimeDays ?? ctx.config.leadTimeDefaultDays;
  const R = ctx.config.alerts.reviewPeriodDays;
  const targetDays = o.targetDate ? Math.max(1, daysBetween(ctx.asOf, o.targetDate)) : L + R;
  const serviceLevel = o.serviceLevel ?? s.policy?.serviceLevel ?? ctx.config.service.levelB;
  const { suggestion: sug, safetyStock: ss } = orderFor(s, { leadTime: L, targetDays, serviceLevel, safetyMargin: o.safetyMargin ?? 0, holdingRatePerYear: ctx.config.service.holdingRatePerYear });
  const p = projectStock(s.onHand, s.receipts, s.yhat);
  const orderBy = p.stockoutDay === null ? null : addDays(ctx.asOf, Math.max(0, p.stockoutDay - L));
  const result = {
    sku: s.sku, location: s.location, as_of: ctx.asOf, forecast_run: run,
    quantity: sug.quantity,
    order_by: sug.quantity > 0 ? orderBy ?? ctx.asOf : null,
    expected_arrival: sug.quantity > 0 ? addDays(ctx.asOf, L) : null,
    projected_stockout: p.stockoutDay === null ? null : addDays(ctx.asOf, p.stockoutDay),
    target_date: addDays(ctx.asOf, targetDays),
    supplier: s.supplier ? { code: s.supplier.code, name: s.supplier.name, lead_time_days: L, lead_time_sd_days: s.supplier.leadTimeSdDays, moq: s.supplier.moq, pack_size: s.supplier.packSize } : null,
    unit_cost: sug.unitCost,
    total_cost: sug.totalCost,
    on_hand: s.onHand,
    open_orders: s.openOrders,
    safety_stock: { units: roundTo(ss.units, 2), service_level: serviceLevel, method: ss.method, windows: ss.windows },
    alternatives: sug.alternatives.map((a) => ({ quantity: a.quantity, unit_cost: a.unitCost, total_cost: a.totalCost, cost_per_unit: roundTo(a.costPerUnit, 4), note: a.note })),
    why: sug.why,
    suggestion_id: null as number | null,
  };
  if (o.record && sug.quantity > 0) {
    result.suggestion_id = Number(
      ctx.sqlite
        .prepare('insert into suggestions (product_id, location_id, created_on, supplier_id, quantity, unit_cost, list_unit_cost, payload) values (?, ?, ?, ?, ?, ?, ?, ?)')
        .run(ref.productId, ref.locationId, ctx.asOf, s.supplier?.supplierId ?? null, sug.quantity, sug.unitCost, s.supplier?.unitCost ?? s.unitCost, JSON.stringify(result)).lastInsertRowid,
    );
  }
  return result;
}

// ---------------------------------------------------------------- optimize

export interface OptimizeOptions {
  /** Total stock budget (currency, average inventory value); none = unconstrained. */
  budget?: number;
  /** Per-location capacity in units (code -> units). */
  capacity?: Record<string, number>;
}

const LEVELS = [0.8, 0.85, 0.9, 0.93, 0.95, 0.97, 0.98, 0.99, 0.995];

/** Standard normal loss function G(z) = phi(z) - z (1 - Phi(z)). */
function normalLoss(z: number): number {
  const phi = Math.exp(-0.5 * z * z) / Math.sqrt(2 * Math.PI);
  const t = 1 / (1 + 0.2316419 * Math.abs(z));
  const tail = phi * t * (0.31938153 + t * (-0.356563782 + t * (1.781477937 + t * (-1.821255978 + t * 1.330274429))));
  const upper = z >= 0 ? tail : 1 - tail;
  return phi - z * upper;
}

/**
 * optimize: ABC by annual cost of demand (A = first 80 % of value, B next 15 %,
 * C last 5 %), XYZ by the coefficient of variation of weekly demand over the
 * last 52 weeks (X < 0.5 <= Y < 1 <= Z). Target service level per ABC class
 * (config service.levelA/B/C). Per series, with d = mean forecast demand per
 * day, L lead time, R review period, sigma_W the spread of demand over L + R:
 *   safety stock SS = the empirical/normal safety stock at the service level
 *   reorder point ROP = d x L + SS
 *   order quantity Q = max(d x R, EOQ), EOQ = sqrt(2 x 365 d x order cost / (holding rate x unit cost)), rounded up to the pack, >= MOQ
 *   order-up-to S = ROP + Q
 *   expected fill rate = 1 - sigma_W G(z) / Q    (normal loss function G)
 *   average stock value = (SS + Q / 2) x unit cost
 * Under a budget (or a location's capacity, in units of SS + Q), all series
 * start at the lowest level and the level of the series with the best fill-rate
 * gain per currency unit (per unit of capacity) is raised step by step while
 * the budget allows, never above its class target.
 */
export function optimizePolicies(ctx: JobContext, o: OptimizeOptions = {}) {
  const { sqlite, asOf, config } = ctx;
  const hist = loadHistory(sqlite, { asOf, days: 364, horizon: 0 });
  const reader = new StateReader(sqlite, asOf, (sqlite.prepare('select max(run_date) as r from forecasts where run_date <= ?').get(asOf) as { r: string | null }).r ?? asOf);
  const refs = productRefs(sqlite);
  if (!hist.series.length) throw new MissingInputError('sales history', 'optiflow import sales FILE');
  reader.preload();
  const R = Math.max(1, config.alerts.reviewPeriodDays);
  const items = hist.series.map((s, i) => {
    const ref = refs.get(s.id)!;
    const st = reader.read(ref);
    let known = 0;
    let total = 0;
    for (const v of s.y) if (!Number.isNaN(v)) {
      total += v;
      known++;
    }
    const d = st.yhat.length ? sum(st.yhat) / st.yhat.length : known ? total / known : 0;
    const weekly: number[] = [];
    for (let w = 0; w + 7 <= s.y.length; w += 7) {
      let t = 0;
      let n = 0;
      for (let k = w; k < w + 7; k++) if (!Number.isNaN(s.y[k])) {
        t += s.y[k];
        n++;
      }
      if (n >= 4) weekly.push((t * 7) / n);
    }
    const wm = weekly.reduce((a, b) => a + b, 0) / Math.max(1, weekly.length);
    const cv = wm > 0 ? Math.sqrt(weekly.reduce((a, b) => a + (b - wm) ** 2, 0) / Math.max(1, weekly.length - 1)) / wm : Infinity;
    const L = st.supplier?.leadTimeDays ?? config.leadTimeDefaultDays;
    const cost = st.supplier?.unitCost ?? ref.unitCost;
    const pack = st.supplier?.packSize ?? 1;
    const eoq = d > 0 && cost > 0 ? Math.sqrt((2 * 365 * d * (st.supplier?.orderCost ?? 0)) / (config.service.holdingRatePerYear * cost)) : 0;
    const Q = Math.max(Math.ceil(Math.max(d * R, eoq, st.supplier?.moq ?? 0) / pack - 1e-9) * pack, pack);
    const ssAt = (sl: number) => safetyStock({ errorRuns: st.errorRuns, errorLo: st.errorLo, errorHi: st.errorHi, errorLevel: st.errorLevel, leadTimeDays: L, reviewDays: R, leadTimeSdDays: st.supplier?.leadTimeSdDays ?? 0, meanDailyDemand: d, serviceLevel: sl }).units;
    const sigmaW = ssAt(0.8413) || Math.sqrt(Math.max(d, 0) * (L + R)); // SS at z = 1 is one sigma of demand over L + R
    return { i, ref, st, d, value: 365 * d * cost, cv, L, cost, Q, ssAt, sigmaW, level: 0 as number, abc: 'C', xyz: 'Z', target: config.service.levelC };
  });
  // ABC / XYZ.
  const byValue = [...items].sort((a, b) => b.value - a.value);
  const totalValue = byValue.reduce((s, x) => s + x.value, 0);
  let cum = 0;
  for (const it of byValue) {
    const share = totalValue > 0 ? cum / totalValue : 1;
    it.abc = share < 0.8 ? 'A' : share < 0.95 ? 'B' : 'C';
    cum += it.value;
    it.xyz = it.cv < 0.5 ? 'X' : it.cv < 1 ? 'Y' : 'Z';
    it.target = it.abc === 'A' ? config.service.levelA : it.abc === 'B' ? config.service.levelB : config.service.levelC;
  }
  const fill = (it: (typeof items)[number], sl: number) => (it.d > 0 ? Math.max(0, 1 - (it.sigmaW * normalLoss(normalQuantile(sl))) / it.Q) : 1);
  const avgValue = (it: (typeof items)[number], sl: number) => (it.ssAt(sl) + it.Q / 2) * it.cost;
  const units = (it: (typeof items)[number], sl: number) => it.ssAt(sl) + it.Q;
  const targetIdx = (it: (typeof items)[number]) => Math.max(0, LEVELS.findIndex((l) => l >= it.target - 1e-9));
  const constrained = o.budget !== undefined || (o.capacity && Object.keys(o.capacity).length > 0);
  for (const it of items) it.level = constrained ? 0 : targetIdx(it);
  if (constrained) {
    let spend = items.reduce((s, it) => s + avgValue(it, LEVELS[0]), 0);
    const used = new Map<string, number>();
    for (const it of items) used.set(it.ref.location, (used.get(it.ref.location) ?? 0) + units(it, LEVELS[0]));
    if (o.budget !== undefined && spend > o.budget) throw new UsageError(`--budget: ${o.budget} is below the ${Math.round(spend)} needed at the lowest service level (${LEVELS[0]})`);
    for (;;) {
      let best: (typeof items)[number] | null = null;
      let bestGain = 0;
      for (const it of items) {
        if (it.level >= targetIdx(it) || it.d <= 0) continue;
        const a = LEVELS[it.level];
        const b = LEVELS[it.level + 1];
        const dv = avgValue(it, b) - avgValue(it, a);
        const du = units(it, b) - units(it, a);
        if (o.budget !== undefined && spend + dv > o.budget) continue;
        const cap = o.capacity?.[it.ref.location];
        if (cap !== undefined && (used.get(it.ref.location) ?? 0) + du > cap) continue;
        // Fill-rate gain weighted by the series' demand, per currency unit (or per unit of capacity).
        const gain = ((fill(it, b) - fill(it, a)) * it.d) / Math.max(1e-9, o.budget !== undefined ? dv : du);
        if (gain > bestGain) {
          bestGain = gain;
          best = it;
        }
      }
      if (!best) break;
      const a = LEVELS[best.level];
      const b = LEVELS[best.level + 1];
      spend += avgValue(best, b) - avgValue(best, a);
      used.set(best.ref.location, (used.get(best.ref.location) ?? 0) + units(best, b) - units(best, a));
      best.level++;
    }
  }
  const rows = items.map((it) => {
    const sl = LEVELS[it.level];
    const ss = it.ssAt(sl);
    const rop = it.d * it.L + ss;
    return {
      sku: it.ref.sku, location: it.ref.location, abc: it.abc, xyz: it.xyz, service_level: sl, target_level: it.target, safety_stock: roundTo(ss, 2),
      reorder_point: roundTo(rop, 2), order_up_to: roundTo(rop + it.Q, 2), order_qty: it.Q, expected_fill_rate: roundTo(fill(it, sl), 4), avg_stock_value: roundTo(avgValue(it, sl), 2),
      product_id: it.ref.productId, location_id: it.ref.locationId,
    };
  });
  const ins = sqlite.prepare('insert or replace into inventory_policies (product_id, location_id, computed_on, abc, xyz, service_level, safety_stock, reorder_point, order_up_to) values (?, ?, ?, ?, ?, ?, ?, ?, ?)');
  sqlite.transaction(() => {
    for (const r of rows) ins.run(r.product_id, r.location_id, asOf, r.abc, r.xyz, r.service_level, r.safety_stock, r.reorder_point, r.order_up_to);
  })();
  const demandW = rows.reduce((s, r, k) => s + items[k].d, 0);
  const summary = {
    series: rows.length,
    A: rows.filter((r) => r.abc === 'A').length, B: rows.filter((r) => r.abc === 'B').length, C: rows.filter((r) => r.abc === 'C').length,
    avg_stock_value: roundTo(rows.reduce((s, r) => s + r.avg_stock_value, 0), 2),
    expected_fill_rate: roundTo(demandW > 0 ? rows.reduce((s, r, k) => s + r.expected_fill_rate * items[k].d, 0) / demandW : 1, 4),
    budget: o.budget ?? null,
  };
  return { summary, rows: rows.map(withoutIds) };
}

// ---------------------------------------------------------------- simulate

export interface SimulateOptions {
  policy?: 'optiflow' | 'minmax' | 'both';
  from?: string;
  to?: string;
  refitDays?: number;
  serviceLevel?: number;
  /** Let the optiflow policy take price breaks (bigger lots at lower cost); off by default, as min/max pays list price. */
  priceBreaks?: boolean;
}

export interface PolicyReport {
  policy: string;
  fill_rate: number;
  stockout_days: number;
  avg_stock_value: number;
  turns: number | null;
  orders: number;
  purchase_cost: number;
  demanded: number;
  served: number;
}

export async function simulatePolicies(ctx: JobContext, o: SimulateOptions = {}) {
  const { sqlite, asOf, config } = ctx;
  const to = o.to ?? addDays(asOf, -1);
  const from = o.from ?? addDays(to, -179);
  for (const [flag, v] of [['--from', from], ['--to', to]] as const) if (!isIsoDate(v)) throw new UsageError(`${flag}: "${v}" is not a date (YYYY-MM-DD)`);
  if (from > to) throw new UsageError(`--from ${from} is after --to ${to}`);
  if (to >= asOf) throw new UsageError(`--to ${to} must be before today (${asOf}): the simulation replays history`);
  const span = daysBetween(from, to) + 1;
  const pre = config.train.historyDays;
  const R = Math.max(1, config.alerts.reviewPeriodDays);
  const refit = o.refitDays ?? 7;
  await initBackend(ctx.log);
  const hist = loadHistory(sqlite, { asOf: addDays(to, 1), days: span + pre, horizon: 0 });
  if (!hist.series.length) throw new MissingInputError('sales history', 'optiflow import sales FILE');
  const refs = productRefs(sqlite);
  const reader = new StateReader(sqlite, from, from);
  const Tpre = pre;
  // Demand during the window: sales; censored days imputed by the same weekday of the previous 4 weeks.
  const demand = hist.series.map((s) => {
    const d = new Float64Array(span);
    for (let t = 0; t < span; t++) {
      const v = s.y[Tpre + t];
      if (!Number.isNaN(v)) d[t] = v;
      else {
        let a = 0;
        let n = 0;
        for (let w = 1; w <= 4; w++) {
          const u = Tpre + t - 7 * w;
          if (u >= 0 && !Number.isNaN(s.y[u])) {
            a += s.y[u];
            n++;
          }
        }
        d[t] = n ? a / n : 0;
      }
    }
    return d;
  });
  const states = hist.series.map((s) => reader.read(refs.get(s.id)!));
  // Open orders at the start: placed before `from`, arriving on or after it.
  const startPipes = hist.series.map((s) => {
    const [p, l] = s.id.split(':').map(Number);
    return (sqlite.prepare(`select quantity, coalesce(received_on, expected_on) as arrive from purchase_orders where product_id = ? and location_id = ? and ordered_on < ? and status != 'cancelled' and coalesce(received_on, expected_on) >= ?`).all(p, l, from, from) as { quantity: number; arrive: string }[])
      .map((x) => ({ arrive: daysBetween(from, x.arrive), qty: x.quantity }));
  });
  const startStock = hist.series.map((s) => {
    const [p, l] = s.id.split(':').map(Number);
    const r = sqlite.prepare('select on_hand from stock_levels where product_id = ? and location_id = ? and date < ? order by date desc limit 1').get(p, l, from) as { on_hand: number } | undefined;
    return r?.on_hand ?? 0;
  });
  const reports: PolicyReport[] = [];
  const perSeries: Record<string, { sku: string; fill_rate: number; avg_stock_value: number; orders: number }[]> = {};
  const keep = (name: string, res: SimResult[]) =>
    (perSeries[name] = res.map((r, i) => ({ sku: states[i].sku, fill_rate: roundTo(r.demanded > 0 ? r.served / r.demanded : 1, 4), avg_stock_value: roundTo((r.stockUnitsDays / span) * states[i].unitCost, 2), orders: r.orders })));
  const want = o.policy ?? 'both';
  const report = (name: string, res: SimResult[]): PolicyReport => {
    const demanded = res.reduce((a, r) => a + r.demanded, 0);
    const served = res.reduce((a, r) => a + r.served, 0);
    const stockValue = res.reduce((a, r, i) => a + (r.stockUnitsDays / span) * states[i].unitCost, 0);
    const cogs = res.reduce((a, r, i) => a + r.served * states[i].unitCost, 0);
    return {
      policy: name, fill_rate: roundTo(demanded > 0 ? served / demanded : 1, 4), stockout_days: res.reduce((a, r) => a + r.stockoutDays, 0),
      avg_stock_value: roundTo(stockValue, 2), turns: stockValue > 0 ? roundTo(((cogs * 365) / span) / stockValue, 2) : null, orders: res.reduce((a, r) => a + r.orders, 0),
      purchase_cost: roundTo(res.reduce((a, r) => a + r.purchaseCost, 0), 2),
      demanded: roundTo(demanded, 2), served: roundTo(served, 2),
    };
  };
  if (want !== 'minmax') {
    // Model choice and backtest errors from the data before the window only.
    const trainSeries = hist.series.map((s) => ({ ...s, y: s.y.subarray(0, Tpre), promo: s.promo, logPrice: s.logPrice }));
    const baseOpts = { startDay: hist.startDay, holidays: hist.holidays, nHolidays: hist.holidayNames.length, origins: config.train.origins, backtestHorizon: config.train.backtestHorizon, interval: config.interval };
    const trained = await forecastMany(trainSeries, { ...baseOpts, horizon: 1 });
    const algos = trained.map((t) => parseChoice(t.algorithm));
    const maxL = Math.max(...states.map((s) => s.supplier?.leadTimeDays ?? config.leadTimeDefaultDays));
    const H = refit + maxL + R + 2;
    const padded = hist.series.map((s) => {
      const pad = <A extends Uint8Array | Float32Array | Float64Array>(a: A | null): A | null => {
        if (!a) return null;
        const out = new (a.constructor as new (n: number) => A)(s.y.length + H);
        out.set(a.subarray(0, Math.min(a.length, out.length)));
        return out;
      };
      return { ...s, promo: pad(s.promo), logPrice: pad(s.logPrice) };
    });
    let block: Float64Array[] = [];
    let blockStart = 0;
    const sl = o.serviceLevel ?? 0.95;
    const ss = states.map((s, i) => {
      const L = s.supplier?.leadTimeDays ?? config.leadTimeDefaultDays;
      const mean = demandMean(hist.series[i].y, Tpre, 90);
      return safetyStock({ errorRuns: (trained[i].params.backtest_errors as (number | null)[][]) ?? [], leadTimeDays: L, reviewDays: R, leadTimeSdDays: s.supplier?.leadTimeSdDays ?? 0, meanDailyDemand: mean, serviceLevel: sl }).units;
    });
    const sims = states.map((st, i) => new StockSim(startStock[i], startPipes[i], st.supplier?.leadTimeDays ?? config.leadTimeDefaultDays, st.supplier?.unitCost ?? st.unitCost));
    for (let t = 0; t < span; t++) {
      // Refit on a schedule, on the data before day t only; all series in one batched fit.
      if (t % refit === 0) {
        block = await forecastWith(padded, algos, H, { ...baseOpts, horizon: H }, Tpre + t);
        blockStart = t;
      }
      sims.forEach((sim, i) => {
        const st = states[i];
        const L = sim.leadTime;
        sim.step(t, demand[i][t], (day, oh, _onOrder, pipeline) => {
          // Decide at the end of day `day` for the days from day + 1 on.
          const f = block[i].subarray(day + 1 - blockStart);
          const receipts = new Float64Array(f.length + 1);
          for (const p of pipeline) {
            const k = p.arrive - (day + 1);
            if (k >= 0 && k < receipts.length) receipts[k] += p.qty;
          }
          const sug = suggestQuantity({
            onHand: oh, receipts, demand: f, leadTimeDays: L, targetDays: L + R, safetyStock: ss[i], safetyMargin: 0, packSize: st.supplier?.packSize ?? 1,
            moq: st.supplier?.moq ?? 0, listUnitCost: st.supplier?.unitCost ?? st.unitCost, priceBreaks: o.priceBreaks ? st.supplier?.priceBreaks ?? [] : [],
            holdingRatePerYear: config.service.holdingRatePerYear, shelfLifeDays: st.shelfLifeDays,
          });
          return { order: sug.quantity, unitCost: sug.unitCost };
        });
      });
    }
    const res = sims.map((s) => s.result);
    reports.push(report('optiflow', res));
    keep('optiflow', res);
  }
  if (want !== 'optiflow') {
    const res = hist.series.map((s, i) => {
      const st = states[i];
      const L = st.supplier?.leadTimeDays ?? config.leadTimeDefaultDays;
      const avg = demandMean(s.y, Tpre, 90);
      return simulateSeries(demand[i], startStock[i], startPipes[i], L, minMaxPolicy(avg, L, 7, st.supplier?.packSize ?? 1, st.supplier?.moq ?? 0), st.supplier?.unitCost ?? st.unitCost);
    });
    reports.push(report('minmax', res));
    keep('minmax', res);
  }
  return { from, to, days: span, series: hist.series.length, refit_days: refit, service_level: o.serviceLevel ?? 0.95, price_breaks: !!o.priceBreaks, rows: reports, per_series: perSeries };
}

function demandMean(y: ArrayLike<number>, end: number, days: number): number {
  let s = 0;
  let n = 0;
  for (let t = Math.max(0, end - days); t < end; t++) if (!Number.isNaN(y[t])) {
    s += y[t];
    n++;
  }
  return n ? s / n : 0;
}

