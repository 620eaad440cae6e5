/**
 * The order for one series in its current state: safety stock from the
 * series' own errors over lead time + review, then the order quantity. What
 * `alerts` suggests, what `suggest` answers and each line of `orders` are this
 * one computation.
 */
import type { SeriesState } from '../db/state.js';
import { dayNumber } from '../dates.js';
import { sum } from './projection.js';
import { reviewGap } from './review.js';
import { safetyStock, type SafetyStock } from './safety-stock.js';
import { suggestQuantity, type Suggestion } from './suggestion.js';

export interface OrderOptions {
  leadTime: number;
  /** Days the order must cover from today (lead time + review period by default). */
  targetDays: number;
  serviceLevel: number;
  safetyMargin: number;
  holdingRatePerYear: number;
  /** Cap on the position after ordering, in days of demand (the overstock threshold). */
  maxCoverDays?: number;
}

/**
 * Lead time L (days: learned from receipts or stated, see lead-times.ts) and
 * review period R (days until the supplier's next review day after today;
 * `defaultReview` when the supplier takes orders every day).
 */
/**
 * The most days of demand an order may bring the position to: the forecast
 * horizon plus the order's own lead time and review period (beyond that the
 * quantity would rest on an extrapolated mean, not a forecast), and never past
 * the overstock threshold (an order never creates the overstock it would be
 * warned about).   cap = min(overstock days, horizon + L + R)      [days]
 */
export function coverCapDays(t: { overstockDays: number; horizonDays?: number }, L: number, R: number): number {
  return Math.min(t.overstockDays, (t.horizonDays ?? 30) + L + R);
}

export function orderTiming(s: Pick<SeriesState, 'supplier'>, asOf: string, defaults: { leadTimeDays: number; reviewPeriodDays: number }): { L: number; R: number } {
  const L = s.supplier?.leadTimeDays ?? defaults.leadTimeDays;
  const R = reviewGap(s.supplier?.reviewDays ?? null, dayNumber(asOf), defaults.reviewPeriodDays);
  return { L, R };
}

export function orderFor(s: SeriesState, o: OrderOptions): { suggestion: Suggestion; safetyStock: SafetyStock } {
  const mean = s.yhat.length ? sum(s.yhat) / s.yhat.length : 0;
  const ss = safetyStock({
    errorRuns: s.errorRuns, errorLo: s.errorLo, errorHi: s.errorHi, errorLevel: s.errorLevel, leadTimeDays: o.leadTime, reviewDays: Math.max(0, o.targetDays - o.leadTime),
    leadTimeSdDays: s.supplier?.leadTimeSdDays ?? 0, meanDailyDemand: mean, serviceLevel: o.serviceLevel,
  });
  const suggestion = suggestQuantity({
    onHand: Math.max(0, s.onHand), receipts: s.receipts, demand: s.yhat, leadTimeDays: o.leadTime, targetDays: o.targetDays,
    safetyStock: ss.units, safetyMargin: o.safetyMargin, packSize: s.supplier?.packSize ?? 1, moq: s.supplier?.moq ?? 0,
    listUnitCost: s.supplier?.unitCost ?? s.unitCost, priceBreaks: s.supplier?.priceBreaks ?? [], holdingRatePerYear: o.holdingRatePerYear, shelfLifeDays: s.shelfLifeDays,
    orderCost: s.supplier?.lineOrderCost ?? 0, maxCoverDays: o.maxCoverDays, unitPrice: s.unitPrice,
  });
  return { suggestion, safetyStock: ss };
}

/** Out of stock longer than this, the forecast has no recent sales behind it: the order is sized on the rate before. */
export const LONG_STOCKOUT_DAYS = 28;

/**
 * The order for a series out of stock for more than LONG_STOCKOUT_DAYS: today's
 * forecast learned nothing recent, so the quantity covers L + R days at the
 * mean daily sales of the 28 days before the stock-out, with no safety stock,
 * price break or economic lot (the demand may be gone). Null when the rule
 * does not apply; quantity 0 with a reason when no rate is known.
 */
export function longStockoutOrder(s: SeriesState, out: { since: string; days: number; lastRate: number | null } | null | undefined, o: { leadTime: number; targetDays: number; holdingRatePerYear: number; maxCoverDays?: number }): { suggestion: Suggestion; note: string } | null {
  if (!(s.onHand <= 0) || !out || out.days <= LONG_STOCKOUT_DAYS) return null;
  const head = `out of stock since ${out.since} (${out.days} days), no sale since, so demand now is unknown`;
  if (!(out.lastRate && out.lastRate > 0)) {
    return { suggestion: { quantity: 0, need: 0, unitCost: s.supplier?.unitCost ?? s.unitCost, totalCost: 0, maxSellable: null, alternatives: [], why: `${head}; no sales on record before it` }, note: 'no sales on record before it: confirm the product is still sold before ordering' };
  }
  const rate = out.lastRate;
  const suggestion = suggestQuantity({
    onHand: 0, receipts: s.receipts, demand: new Float64Array(Math.max(o.targetDays, 1)).fill(rate), leadTimeDays: o.leadTime, targetDays: o.targetDays, safetyStock: 0, safetyMargin: 0,
    packSize: s.supplier?.packSize ?? 1, moq: s.supplier?.moq ?? 0, listUnitCost: s.supplier?.unitCost ?? s.unitCost, priceBreaks: [], holdingRatePerYear: o.holdingRatePerYear,
    shelfLifeDays: s.shelfLifeDays, orderCost: 0, maxCoverDays: o.maxCoverDays, unitPrice: s.unitPrice,
  });
  suggestion.why = `${head}; sized on the ${rate.toFixed(1)}/day it sold before: ${suggestion.why}`;
  return { suggestion, note: `at the ${fmtRate(rate)}/day it sold before, ${suggestion.quantity > 0 ? `order ${suggestion.quantity.toLocaleString('en-US')}` : 'open orders cover it'} once you confirm it is still sold` };
}

function fmtRate(x: number): string {
  return x.toLocaleString('en-US', { maximumFractionDigits: 1 });
}
