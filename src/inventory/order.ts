/**
 * The order for one series in its current state: safety stock from the
 * series' own errors over lead time + review, then the order quantity. What
 * `alerts` suggests and what `suggest` answers are this one computation.
 */
import type { SeriesState } from '../db/state.js';
import { sum } from './projection.js';
import { safetyStock, type SafetyStock } from './safety-stock.js';
import { suggestQuantity, type Suggestion } from './suggestion.js';

export interface OrderOptions {
  leadTime: number;
  /** Days the order must cover from today (lead time + review period by default). */
  targetDays: number;
  serviceLevel: number;
  safetyMargin: number;
  holdingRatePerYear: number;
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
  });
  return { suggestion, safetyStock: ss };
}
