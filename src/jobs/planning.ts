/**
 * On-demand planning: suggest, optimize, simulate. They share the stock
 * projection, safety stock and order-quantity code with `alerts`.
 */
import { addDays, daysBetween, isIsoDate } from '../dates.js';
import { loadHistory } from '../db/history.js';
import { productRef, productRefs, StateReader } from '../db/state.js';
import { MissingInputError, UsageError } from '../errors.js';
import { projectStock, sum } from '../inventory/projection.js';
import { normalQuantile, safetyStock } from '../inventory/safety-stock.js';
import { suggestQuantity } from '../inventory/suggestion.js';
import { coverCapDays, orderFor, orderTiming } from '../inventory/order.js';
import { activeOverridesBySeries } from '../db/overrides.js';
import { insertSuggestion, latestForecastRun, productExists, upsertPolicies } from '../db/planning.js';
import { inTransaction } from '../db/query.js';
import { describeOverride } from '../inventory/overrides.js';
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

export async function suggestOrder(ctx: JobContext, o: SuggestOptions) {
  validateSuggest(ctx, o);
  const location = o.location ?? 'MAIN';
  const ref = await productRef(ctx.db, o.sku, location);
  if (!ref) {
    throw new UsageError((await productExists(ctx.db.kysely, o.sku)) ? `--location: unknown location "${location}"` : `unknown SKU "${o.sku}"`);
  }
  const run = await latestForecastRun(ctx.db.kysely, ctx.asOf, ref);
  if (!run) throw new MissingInputError(`a forecast for ${o.sku}@${location}`, `optiflow predict --as-of ${ctx.asOf}`);
  const s = await new StateReader(ctx.db, ctx.asOf, run).readOne(ref);
  const { L, R } = orderTiming(s, ctx.asOf, { leadTimeDays: ctx.config.leadTimeDefaultDays, reviewPeriodDays: ctx.config.alerts.reviewPeriodDays });
  const targetDays = o.targetDate ? Math.max(1, daysBetween(ctx.asOf, o.targetDate)) : L + R;
  const serviceLevel = o.serviceLevel ?? s.policy?.serviceLevel ?? ctx.config.service.levelB;
  const { suggestion: sug, safetyStock: ss } = orderFor(s, { leadTime: L, targetDays, serviceLevel, safetyMargin: o.safetyMargin ?? 0, holdingRatePerYear: ctx.config.service.holdingRatePerYear, maxCoverDays: coverCapDays({ overstockDays: ctx.config.alerts.overstockDays, horizonDays: ctx.config.horizon }, L, R) });
  const overrides = ((await activeOverridesBySeries(ctx.db.kysely, ctx.asOf, addDays(ctx.asOf, targetDays), ref)).get(`${ref.productId}:${ref.locationId}`) ?? []).map(describeOverride);
  const p = projectStock(s.onHand, s.receipts, s.yhat);
  const orderBy = p.stockoutDay === null ? null : addDays(ctx.asOf, Math.max(0, p.stockoutDay - L));
  const result = {
    sku: s.sku, location: s.location, as_of: ctx.asOf, forecast_run: run,
    quantity: sug.quantity,
    order_by: sug.quantity > 0 ? orderBy ?? ctx.asOf : null,
    expected_arrival: sug.quantity > 0 ? addDays(ctx.asOf, L) : null,
    projected_stockout: p.stockoutDay === null ? null : addDays(ctx.asOf, p.stockoutDay),
    target_date: addDays(ctx.asOf, targetDays),
    supplier: s.supplier ? { code: s.supplier.code, name: s.supplier.name, lead_time_days: L, lead_time_sd_days: s.supplier.leadTimeSdDays, lead_time_source: s.supplier.leadTimeSource, receipts: s.supplier.receipts, stated_lead_time_days: s.supplier.statedLeadTimeDays, review_period_days: R, order_cost: s.supplier.orderCost, moq: s.supplier.moq, pack_size: s.supplier.packSize } : null,
    overrides,
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
    result.suggestion_id = await insertSuggestion(ctx.db.kysely, {
      productId: ref.productId, locationId: ref.locationId, createdOn: ctx.asOf, supplierId: s.supplier?.supplierId ?? null, quantity: sug.quantity, unitCost: sug.unitCost,
      listUnitCost: s.supplier?.unitCost ?? s.unitCost, payload: JSON.stringify(result),
    });
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
 *   order quantity Q = the order quantity of one review cycle (R = 7 / review days a week, else the config review period)
 *     from the shared order-quantity code (src/inventory/suggestion.ts): d x R, or the EOQ or a price break when
 *     cheaper per unit, never more than sells within the shelf life or than the cover cap; pack, MOQ
 *   order-up-to S = ROP + Q
 *   expected fill rate = 1 - sigma_W G(z) / Q    (normal loss function G)
 *   average stock value = (SS + Q / 2) x unit cost
 * Under a budget (or a location's capacity, in units of SS + Q), all series
 * start at the lowest level and the level of the series with the best fill-rate
 * gain per currency unit (per unit of capacity) is raised step by step while
 * the budget allows, never above its class target.
 */
export async function optimizePolicies(ctx: JobContext, o: OptimizeOptions = {}) {
  const { asOf, config } = ctx;
  const hist = await loadHistory(ctx.db, { asOf, days: 364, horizon: 0 });
  const reader = new StateReader(ctx.db, asOf, (await latestForecastRun(ctx.db.kysely, asOf)) ?? asOf);
  const refs = await productRefs(ctx.db);
  if (!hist.series.length) throw new MissingInputError('sales history', 'optiflow import sales FILE');
  await reader.preload(hist.series.map((s) => refs.get(s.id)!));
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
    // The order quantity of one review cycle, by the same code as suggest, orders and simulate (EOQ, breaks, shelf life, cover cap).
    const Rs = st.supplier?.reviewDays ? 7 / st.supplier.reviewDays.length : R;
    const cycle = suggestQuantity({
      onHand: 0, receipts: [], demand: new Float64Array(Math.max(1, Math.ceil(L + Rs))).fill(d), leadTimeDays: L, targetDays: Rs, safetyStock: 0, safetyMargin: 0,
      packSize: pack, moq: st.supplier?.moq ?? 0, listUnitCost: cost, priceBreaks: st.supplier?.priceBreaks ?? [], holdingRatePerYear: config.service.holdingRatePerYear,
      shelfLifeDays: st.shelfLifeDays, orderCost: st.supplier?.lineOrderCost ?? 0, maxCoverDays: coverCapDays({ overstockDays: config.alerts.overstockDays, horizonDays: config.horizon }, L, Rs), unitPrice: st.unitPrice,
    });
    const Q = d > 0 ? Math.max(cycle.quantity, pack) : pack;
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
  await inTransaction(ctx.db, (trx) => upsertPolicies(trx, rows.map((r) => ({
    product_id: r.product_id, location_id: r.location_id, computed_on: asOf, abc: r.abc, xyz: r.xyz, service_level: r.service_level, safety_stock: r.safety_stock, reorder_point: r.reorder_point, order_up_to: r.order_up_to,
  }))));
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

export { simulatePolicies, type SimulateOptions } from './simulate.js';
