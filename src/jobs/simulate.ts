/**
 * simulate: replay history day by day with optiflow's policy and a static
 * min/max baseline, with nothing from the future.
 *
 * What each simulated morning knows (day t of the window):
 * - sales before t: models are chosen on the data before the window and
 *   refitted every `refitDays` days (default 7) on the data before the refit
 *   day; between refits the last forecast is used, shifted day by day;
 * - promotions: only planned ones (the `events` table), never the sales'
 *   own promotion flags after t;
 * - price: the last regular price before t, carried forward;
 * - stock, open orders: the simulation's own.
 * optiflow orders on each supplier's review days (every day when it has none):
 * every series of that supplier gets the shared order quantity (suggestion.ts)
 * for lead time + the days to the next review day, and the lines become one
 * purchase order per supplier (purchase-order.ts, minimum order value top-up
 * included). min/max checks every day; its lines of one supplier on one day
 * also make one purchase order. Both pay each order's order cost.
 * Lead times: the planning lead time as known at the start of the window
 * (learned from receipts or stated); orders arrive exactly after it.
 */
import { pipelinesOn, promotionsBetween } from '../db/planning.js';
import { stockOn } from '../db/snapshot.js';
import { addDays, daysBetween, dayNumber, isIsoDate } from '../dates.js';
import { loadHistory } from '../db/history.js';
import { productRefs, StateReader, type SeriesState } from '../db/state.js';
import { MissingInputError, UsageError } from '../errors.js';
import { initBackend } from '../ml/backend.js';
import { forecastMany, forecastWith, parseChoice, type EngineSeries } from '../ml/engine.js';
import { safetyStock } from '../inventory/safety-stock.js';
import { suggestQuantity } from '../inventory/suggestion.js';
import { buildDraft, type DraftCandidate } from '../inventory/purchase-order.js';
import { isReviewDay, longestReviewGap, reviewGap } from '../inventory/review.js';
import { minMaxQuantity, policyTotals, StockSim, type PolicyTotals, type SimResult } from '../inventory/simulation.js';
import { sum } from '../inventory/projection.js';
import { coverCapDays } from '../inventory/order.js';
import type { JobContext } from './types.js';
import { roundTo } from '../numbers.js';

export interface SimulateOptions {
  policy?: 'optiflow' | 'minmax' | 'both';
  from?: string;
  to?: string;
  refitDays?: number;
  serviceLevel?: number;
  /** Let the optiflow policy take price breaks (bigger lots at lower cost); off by default, as min/max pays list price. */
  priceBreaks?: boolean;
}

export type PolicyReport = { policy: string } & PolicyTotals;

interface Group {
  key: string;
  reviewDays: number[] | null;
  orderCost: number;
  minOrderValue: number;
  members: number[];
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

/** Promotions planned in `events`, per series, over the loaded days (index 0 = startDay). */
async function plannedPromotions(ctx: JobContext, states: SeriesState[], startDay: number, len: number): Promise<(Uint8Array | null)[]> {
  const ev = await promotionsBetween(ctx.db.kysely, addDays('1970-01-01', startDay), addDays('1970-01-01', startDay + len));
  return states.map((s) => {
    let out: Uint8Array | null = null;
    for (const e of ev) {
      if (e.product_id !== null && e.product_id !== s.productId) continue;
      if (e.category !== null && e.category !== s.category) continue;
      if (e.location_id !== null && e.location_id !== s.locationId) continue;
      out ??= new Uint8Array(len);
      for (let d = Math.max(dayNumber(e.start_date), startDay); d <= Math.min(dayNumber(e.end_date), startDay + len - 1); d++) out[d - startDay] = 1;
    }
    return out;
  });
}

export async function simulatePolicies(ctx: JobContext, o: SimulateOptions = {}) {
  const { asOf, config } = ctx;
  const to = o.to ?? addDays(asOf, -1);
  const from = o.from ?? addDays(to, -179);
  for (const [flag, v] of [['--from', from], ['--to', to]] as const) if (!isIsoDate(v)) throw new UsageError(`${flag}: "${v}" is not a date (YYYY-MM-DD)`);
  if (from > to) throw new UsageError(`--from ${from} is after --to ${to}`);
  if (to >= asOf) throw new UsageError(`--to ${to} must be before today (${asOf}): the simulation replays history`);
  const span = daysBetween(from, to) + 1;
  const pre = config.train.historyDays;
  const defaultR = Math.max(1, config.alerts.reviewPeriodDays);
  const h = config.service.holdingRatePerYear;
  const refit = Math.max(1, o.refitDays ?? 7);
  const sl = o.serviceLevel ?? config.service.levelB;
  await initBackend(ctx.log);
  const hist = await loadHistory(ctx.db, { asOf: addDays(to, 1), days: span + pre, horizon: 0 });
  if (!hist.series.length) throw new MissingInputError('sales history', 'optiflow import sales FILE');
  const refs = await productRefs(ctx.db);
  // Supplier terms, lead times and prices as known on the morning of the first day.
  const reader = await new StateReader(ctx.db, from, from).preload(hist.series.map((s) => refs.get(s.id)!));
  const Tpre = pre;
  const states = hist.series.map((s) => reader.read(refs.get(s.id)!));
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
  // Open purchase orders and current stock on the morning of the first day, one query each for all series.
  const pipes = await pipelinesOn(ctx.db.kysely, from);
  const stockOnFrom = await stockOn(ctx.db, from, states);
  const startPipes = states.map((st) => (pipes.get(`${st.productId}:${st.locationId}`) ?? []).map((x) => ({ arrive: daysBetween(from, x.arrive), qty: x.quantity })));
  const startStock = states.map((st) => stockOnFrom(st.productId, st.locationId)?.onHand ?? 0);
  const leadTime = states.map((st) => Math.max(1, st.supplier?.leadTimeDays ?? config.leadTimeDefaultDays));
  const econ = states.map((st) => ({ unitCost: st.supplier?.unitCost ?? st.unitCost, unitPrice: st.unitPrice }));
  // One group per supplier (and location): its lines of a day make one purchase order.
  const groups = new Map<string, Group>();
  states.forEach((st, i) => {
    const key = st.supplier ? `${st.supplier.supplierId}:${st.locationId}` : `none:${st.productId}:${st.locationId}`;
    const g = groups.get(key) ?? groups.set(key, { key, reviewDays: st.supplier?.reviewDays ?? null, orderCost: st.supplier?.orderCost ?? 0, minOrderValue: st.supplier?.minOrderValue ?? 0, members: [] }).get(key)!;
    g.members.push(i);
  });
  const day0 = dayNumber(from);
  const reports: PolicyReport[] = [];
  const perSeries: Record<string, { sku: string; fill_rate: number; avg_stock_value: number; order_lines: number }[]> = {};
  const finish = (name: string, res: SimResult[], orders: number, orderingCost: number) => {
    const t = policyTotals(res, econ, orders, orderingCost, span, h);
    reports.push({
      policy: name, ...t, fill_rate: roundTo(t.fill_rate, 4), avg_stock_value: roundTo(t.avg_stock_value, 2), turns: t.turns === null ? null : roundTo(t.turns, 2),
      purchase_cost: roundTo(t.purchase_cost, 2), expired_value: roundTo(t.expired_value, 2), closing_stock_value: roundTo(t.closing_stock_value, 2), purchase_cost_of_demand: roundTo(t.purchase_cost_of_demand, 2), holding_cost: roundTo(t.holding_cost, 2), ordering_cost: roundTo(t.ordering_cost, 2), lost_margin: roundTo(t.lost_margin, 2),
      total_cost: roundTo(t.total_cost, 2), demanded: roundTo(t.demanded, 2), served: roundTo(t.served, 2),
    });
    perSeries[name] = res.map((r, i) => ({ sku: states[i].sku, fill_rate: roundTo(r.demanded > 0 ? r.served / r.demanded : 1, 4), avg_stock_value: roundTo((r.stockUnitsDays / span) * econ[i].unitCost, 2), order_lines: r.lines }));
  };
  const want = o.policy ?? 'both';

  if (want !== 'minmax') {
    // Model choice and backtest errors from the data before the window only.
    const trainSeries = hist.series.map((s) => ({ ...s, y: s.y.subarray(0, Tpre), promo: s.promo ? s.promo.subarray(0, Tpre) : null, logPrice: s.logPrice ? s.logPrice.subarray(0, Tpre) : null }));
    const baseOpts = { startDay: hist.startDay, holidays: hist.holidays, nHolidays: hist.holidayNames.length, origins: config.train.origins, backtestHorizon: config.train.backtestHorizon, interval: config.interval };
    const trained = await forecastMany(trainSeries, { ...baseOpts, horizon: 1 });
    const algos = trained.map((t) => parseChoice(t.algorithm));
    const maxR = Math.max(defaultR, ...[...groups.values()].map((g) => longestReviewGap(g.reviewDays, defaultR)));
    const H = refit + Math.max(...leadTime) + maxR + 2;
    const planned = await plannedPromotions(ctx, states, hist.startDay, Tpre + span + H);
    const ss = states.map((st, i) => {
      const g = [...groups.values()].find((x) => x.members.includes(i))!;
      const mean = demandMean(hist.series[i].y, Tpre, 90);
      const params = trained[i].params as { backtest_errors?: (number | null)[][] };
      return safetyStock({ errorRuns: params.backtest_errors ?? [], leadTimeDays: leadTime[i], reviewDays: longestReviewGap(g.reviewDays, defaultR), leadTimeSdDays: st.supplier?.leadTimeSdDays ?? 0, meanDailyDemand: mean, serviceLevel: sl }).units;
    });
    const sims = states.map((_, i) => new StockSim(startStock[i], startPipes[i], leadTime[i], states[i].shelfLifeDays));
    let block: Float64Array[] = [];
    let blockStart = 0;
    let orders = 0;
    let orderingCost = 0;
    for (let t = 0; t < span; t++) {
      // Refit on a schedule, on the data before day t only; all series in one batched fit.
      if (t % refit === 0) {
        block = await forecastWith(knownOn(hist.series, planned, Tpre + t, H), algos, H, { ...baseOpts, horizon: H }, Tpre + t);
        blockStart = t;
      }
      sims.forEach((sim, i) => sim.serve(t, demand[i][t]));
      for (const g of groups.values()) {
        if (!isReviewDay(g.reviewDays, day0 + t)) continue;
        const R = reviewGap(g.reviewDays, day0 + t, defaultR);
        const cands: DraftCandidate[] = g.members.map((i) => {
          const st = states[i];
          const sim = sims[i];
          // Decide at the end of day t for the days from t + 1 on.
          const f = block[i].subarray(t + 1 - blockStart);
          const L = leadTime[i];
          const sug = suggestQuantity({
            onHand: sim.onHand, receipts: sim.receiptsFrom(t + 1, f.length + 1), demand: f, leadTimeDays: L, targetDays: L + R, safetyStock: ss[i], safetyMargin: 0,
            packSize: st.supplier?.packSize ?? 1, moq: st.supplier?.moq ?? 0, listUnitCost: econ[i].unitCost, priceBreaks: o.priceBreaks ? st.supplier?.priceBreaks ?? [] : [],
            holdingRatePerYear: h, shelfLifeDays: st.shelfLifeDays, orderCost: st.supplier?.lineOrderCost ?? g.orderCost, maxCoverDays: coverCapDays({ overstockDays: config.alerts.overstockDays, horizonDays: config.horizon }, L, R), unitPrice: econ[i].unitPrice,
          });
          const rate = f.length ? sum(f) / f.length : 0;
          return {
            key: String(i), sku: st.sku, quantity: sug.quantity, reason: '', listUnitCost: econ[i].unitCost, priceBreaks: o.priceBreaks ? st.supplier?.priceBreaks ?? [] : [],
            packSize: st.supplier?.packSize ?? 1, moq: st.supplier?.moq ?? 0, rate, maxQuantity: Math.max(sug.quantity, Math.min(sug.maxSellable ?? Infinity, coverCapDays({ overstockDays: config.alerts.overstockDays, horizonDays: config.horizon }, L, R) * rate - sim.onHand - sim.onOrder())),
          };
        });
        const draft = buildDraft(cands, { minOrderValue: g.minOrderValue, orderCost: g.orderCost, holdingRatePerYear: h });
        if (!draft.lines.length) continue;
        for (const l of draft.lines) sims[Number(l.key)].order(t, l.quantity, l.unitCost);
        orders++;
        orderingCost += g.orderCost;
      }
    }
    finish('optiflow', sims.map((s) => s.result), orders, orderingCost);
  }
  if (want !== 'optiflow') {
    const sims = states.map((_, i) => new StockSim(startStock[i], startPipes[i], leadTime[i], states[i].shelfLifeDays));
    const avg = hist.series.map((s) => demandMean(s.y, Tpre, 90));
    let orders = 0;
    let orderingCost = 0;
    for (let t = 0; t < span; t++) {
      sims.forEach((sim, i) => sim.serve(t, demand[i][t]));
      for (const g of groups.values()) {
        let any = false;
        for (const i of g.members) {
          const st = states[i];
          const q = minMaxQuantity(sims[i].onHand + sims[i].onOrder(), avg[i], leadTime[i], 7, st.supplier?.packSize ?? 1, st.supplier?.moq ?? 0);
          if (q > 0) {
            sims[i].order(t, q, econ[i].unitCost);
            any = true;
          }
        }
        if (any) {
          orders++;
          orderingCost += g.orderCost;
        }
      }
    }
    finish('minmax', sims.map((s) => s.result), orders, orderingCost);
  }
  return {
    from, to, days: span, series: hist.series.length, suppliers: groups.size, refit_days: refit, service_level: sl, price_breaks: !!o.priceBreaks, holding_rate_per_year: h,
    rows: reports, per_series: perSeries,
  };
}

/**
 * The series as known on the morning of day `T` (index into the loaded
 * history), with `H` days of regressors: sales before T; after it, planned
 * promotions only and the last regular price before T carried forward.
 */
export function knownOn(series: EngineSeries[], planned: (Uint8Array | null)[], T: number, H: number): EngineSeries[] {
  return series.map((s, i) => {
    let promo: Uint8Array | null = null;
    if (s.promo || planned[i]) {
      promo = new Uint8Array(T + H);
      if (s.promo) promo.set(s.promo.subarray(0, Math.min(T, s.promo.length)));
      const p = planned[i];
      if (p) for (let t = T; t < T + H; t++) promo[t] = p[t] ?? 0;
    }
    let logPrice: Float32Array | null = null;
    if (s.logPrice) {
      logPrice = new Float32Array(T + H);
      logPrice.set(s.logPrice.subarray(0, Math.min(T, s.logPrice.length)));
      let last = 0;
      for (let t = T - 1; t >= 0; t--) if (!(s.promo && s.promo[t])) {
        last = s.logPrice[t];
        break;
      }
      for (let t = T; t < T + H; t++) logPrice[t] = last;
    }
    return { ...s, promo, logPrice };
  });
}
