/**
 * Safety stock from the series' own forecast errors.
 *
 * Let W = lead time + review period (days), e_t = actual - forecast from the
 * out-of-sample (cross-fitted) backtest errors the engine stores with the
 * model (consecutive days of each window; stock-out days left out and a
 * stretch's sum scaled by W / known days, see src/ml/calibrate.ts). The demand risk
 * over W is the distribution of S = sum of e_t over W consecutive days; we take
 * its empirical quantile at the service level q (units). Lead-time variability
 * adds sigma_L x mean daily demand (units) in quadrature:
 *
 *   SS = sqrt( max(0, Q_q(S))^2 + (z_q x dbar x sigma_L)^2 )
 *
 * When W exceeds the backtest horizon (28 days) the quantile of the 28-day
 * sums is scaled by sqrt(W / 28). When fewer than 10 windows exist, the
 * normal approximation is used: Q = z_q x sigma_d x sqrt(W), with sigma_d
 * from the model's interval at level L (sigma_d = (e_hi - e_lo) / (2 z_((1+L)/2)),
 * 2.563 at 80 %).
 */
import { normalQuantile } from '../ml/metrics.js';
import { errorSumQuantile } from '../ml/calibrate.js';

export { normalQuantile } from '../ml/metrics.js';

export interface SafetyStockInput {
  /** Backtest errors per origin, consecutive days (actual - forecast). */
  errorRuns: (number | null)[][];
  /** Fallback spread: error bounds of the model's interval (units), at level `errorLevel` (default 0.8). */
  errorLo?: number;
  errorHi?: number;
  errorLevel?: number;
  leadTimeDays: number;
  reviewDays: number;
  leadTimeSdDays: number;
  meanDailyDemand: number;
  serviceLevel: number;
}

export interface SafetyStock {
  units: number;
  method: 'empirical' | 'normal';
  windows: number;
  demandRisk: number;
  leadTimeRisk: number;
}

export function safetyStock(i: SafetyStockInput): SafetyStock {
  const W = Math.max(1, Math.round(i.leadTimeDays + i.reviewDays));
  const z = normalQuantile(i.serviceLevel);
  const w = Math.min(W, ...i.errorRuns.map((r) => r.length).filter((n) => n > 0), 28);
  // Out-of-sample error sums over w days; censored (stock-out) days are left out (calibrate.ts).
  const q = errorSumQuantile(i.errorRuns, w, i.serviceLevel);
  let demandRisk: number;
  let method: SafetyStock['method'];
  if (q.windows >= 10) {
    demandRisk = Math.max(0, q.value) * Math.sqrt(W / w);
    method = 'empirical';
  } else {
    const width = 2 * normalQuantile((1 + (i.errorLevel ?? 0.8)) / 2);
    const sd = i.errorHi !== undefined && i.errorLo !== undefined ? (i.errorHi - i.errorLo) / width : Math.sqrt(Math.max(i.meanDailyDemand, 0));
    demandRisk = Math.max(0, z) * sd * Math.sqrt(W);
    method = 'normal';
  }
  const leadTimeRisk = Math.max(0, z) * i.meanDailyDemand * i.leadTimeSdDays;
  return { units: Math.sqrt(demandRisk * demandRisk + leadTimeRisk * leadTimeRisk), method, windows: q.windows, demandRisk, leadTimeRisk };
}
