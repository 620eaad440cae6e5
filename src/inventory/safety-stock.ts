/**
 * Safety stock from the series' own forecast errors.
 *
 * Let W = lead time + review period (days), e_t = actual - forecast from the
 * rolling-origin backtest (consecutive days of each origin). The demand risk
 * over W is the distribution of S = sum of e_t over W consecutive days; we take
 * its empirical quantile at the service level q (units). Lead-time variability
 * adds sigma_L x mean daily demand (units) in quadrature:
 *
 *   SS = sqrt( max(0, Q_q(S))^2 + (z_q x dbar x sigma_L)^2 )
 *
 * When W exceeds the backtest horizon (28 days) the quantile of the 28-day
 * sums is scaled by sqrt(W / 28). When fewer than 10 windows exist, the
 * normal approximation is used: Q = z_q x sigma_d x sqrt(W), with sigma_d
 * from the model's 80 % interval (sigma_d = (e_hi - e_lo) / 2.563).
 */
import { quantile } from '../ml/metrics.js';

/** Standard normal quantile (Acklam's approximation, |error| < 1.2e-9). */
export function normalQuantile(p: number): number {
  if (p <= 0 || p >= 1) throw new RangeError('p must be in (0, 1)');
  const a = [-3.969683028665376e1, 2.209460984245205e2, -2.759285104469687e2, 1.38357751867269e2, -3.066479806614716e1, 2.506628277459239];
  const b = [-5.447609879822406e1, 1.615858368580409e2, -1.556989798598866e2, 6.680131188771972e1, -1.328068155288572e1];
  const c = [-7.784894002430293e-3, -3.223964580411365e-1, -2.400758277161838, -2.549732539343734, 4.374664141464968, 2.938163982698783];
  const d = [7.784695709041462e-3, 3.224671290700398e-1, 2.445134137142996, 3.754408661907416];
  const pl = 0.02425;
  if (p < pl) {
    const q = Math.sqrt(-2 * Math.log(p));
    return (((((c[0] * q + c[1]) * q + c[2]) * q + c[3]) * q + c[4]) * q + c[5]) / ((((d[0] * q + d[1]) * q + d[2]) * q + d[3]) * q + 1);
  }
  if (p > 1 - pl) return -normalQuantile(1 - p);
  const q = p - 0.5;
  const r = q * q;
  return ((((((a[0] * r + a[1]) * r + a[2]) * r + a[3]) * r + a[4]) * r + a[5]) * q) / (((((b[0] * r + b[1]) * r + b[2]) * r + b[3]) * r + b[4]) * r + 1);
}

export interface SafetyStockInput {
  /** Backtest errors per origin, consecutive days (actual - forecast). */
  errorRuns: number[][];
  /** Fallback spread: error quantiles of the 80 % interval. */
  errorLo?: number;
  errorHi?: number;
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
  const sums: number[] = [];
  const w = Math.min(W, ...i.errorRuns.map((r) => r.length).filter((n) => n > 0), 28);
  for (const run of i.errorRuns) {
    if (run.length < w) continue;
    let s = 0;
    for (let t = 0; t < w; t++) s += run[t];
    sums.push(s);
    for (let t = w; t < run.length; t++) {
      s += run[t] - run[t - w];
      sums.push(s);
    }
  }
  let demandRisk: number;
  let method: SafetyStock['method'];
  if (sums.length >= 10) {
    sums.sort((a, b) => a - b);
    demandRisk = Math.max(0, quantile(sums, i.serviceLevel)) * Math.sqrt(W / w);
    method = 'empirical';
  } else {
    const sd = i.errorHi !== undefined && i.errorLo !== undefined ? (i.errorHi - i.errorLo) / 2.563 : Math.sqrt(Math.max(i.meanDailyDemand, 0));
    demandRisk = Math.max(0, z) * sd * Math.sqrt(W);
    method = 'normal';
  }
  const leadTimeRisk = Math.max(0, z) * i.meanDailyDemand * i.leadTimeSdDays;
  return { units: Math.sqrt(demandRisk * demandRisk + leadTimeRisk * leadTimeRisk), method, windows: sums.length, demandRisk, leadTimeRisk };
}
