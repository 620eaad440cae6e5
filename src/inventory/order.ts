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
export function orderTiming(s: Pick<SeriesState, 'supplier'>, asOf: string, defaults: { leadTimeDays: number; reviewPeriodDays: number }): { L: number; R: number } {
  const L = s.supplier?.leadTimeDays ?? defaults.leadTimeDays;
  const R = reviewGap(s.supplier?.reviewDays ?? null, dayNumber(asOf), defaults.reviewPeriodDays);
  return { L, R };
}

export function orderFor(s: SeriesState, o: OrderOptions): { suggestion: Suggestion; safetyStock: SafetyStock } {
  const mean = s.yhat.length ? sum(s.yhat) / s.yhat.length : 0;
  const ss = safetyStock({
    errorRuns: s.errorRuns, errorLo: s.errorLo, errorHi: s.errorHi, leadTimeDays: o.leadTime, reviewDays: Math.max(0, o.targetDays - o.leadTime),
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
