/**
 * Stage 4 of the engine: prediction intervals and error quantiles, conformal
 * from out-of-sample backtest errors that did not choose the model.
 *
 * Cross-fitting: for each backtest window j, the model is chosen again on the
 * other windows only, and its errors on window j are kept. Those errors are
 * out of sample for both the fit and the choice, which the chosen model's own
 * errors on its selection windows are not (they are the ones that made it win,
 * so they are optimistic).
 *
 * Errors are scaled by the level of the window's forecast so a year-old window
 * at a lower level still speaks for today:
 *
 *   r = (actual - forecast) / m,   m = max(mean forecast over the window, m_min)
 *   m_min = 0.1 x mean known demand before the origin (units/day): keeps r finite
 *           when a forecast is near zero; it only matters for such series.
 *
 * For horizon step h (days, 0-based) in block b = min(floor(h / 7), 3), the
 * bounds at level L are the conformal quantiles of the block's r (all blocks
 * pooled while a block holds fewer than 40 errors):
 *
 *   lo_h = max(0, f_h + m_now x r_(k_lo)),  k_lo = floor((n + 1)(1 - L) / 2)
 *   hi_h = max(lo_h, f_h + m_now x r_(k_hi)), k_hi = ceil((n + 1)(1 + L) / 2)
 *
 * (r_(k) the k-th smallest of n, clamped to 1..n). Censored days (unknown
 * demand) are not errors and are left out everywhere, including the error runs
 * that safety stock reads.
 */
import { mean } from './metrics.js';
import type { Demand } from './models.js';
import { SeriesBacktest, selectModel, type Choice } from './select.js';
import type { Algorithm } from './forecasters.js';

/** Days per horizon block: one week, so each block holds every weekday. */
const BLOCK = 7;
const BLOCKS = 4;
/** Errors a block needs for its own quantiles; below it, the blocks are pooled (40: the 95 % bounds then sit between the 1st and 2nd extreme). */
const MIN_BLOCK_ERRORS = 40;
/** m_min as a share of the mean demand (see the header). */
const MIN_SCALE_SHARE = 0.1;

export interface CalibrationErrors {
  /** Scaled errors r per horizon block. */
  byBlock: number[][];
  /** Unscaled errors (actual - forecast, units) per window, consecutive days; null = censored day. */
  runs: (number | null)[][];
}

export interface IntervalSpec {
  level: number;
  /** Error bounds in units per horizon block (block b covers days 7b..7b+6; the last block repeats). */
  lo: number[];
  hi: number[];
  /** First block's bounds (units): what older readers of the model take as the day's spread. */
  error_lo: number;
  error_hi: number;
  n_errors: number;
  /** m_now (units/day). */
  scale: number;
}

/** Conformal lower/upper order statistic of sorted values for a two-sided level L. */
export function conformalBounds(sorted: ArrayLike<number>, level: number): [number, number] {
  const n = sorted.length;
  if (!n) return [NaN, NaN];
  // The 1e-9 keeps exact ranks exact in floating point (20 x 0.2 / 2 must be 2, not 1.999...).
  const kLo = Math.min(n, Math.max(1, Math.floor(((n + 1) * (1 - level)) / 2 + 1e-9)));
  const kHi = Math.min(n, Math.max(1, Math.ceil(((n + 1) * (1 + level)) / 2 - 1e-9)));
  return [sorted[kLo - 1], sorted[kHi - 1]];
}

/** Conformal one-sided quantile at q (e.g. a service level): the ceil((n + 1) q)-th smallest, clamped to 1..n. */
export function conformalQuantile(sorted: ArrayLike<number>, q: number): number {
  const n = sorted.length;
  if (!n) return NaN;
  const k = Math.min(n, Math.max(1, Math.ceil((n + 1) * q - 1e-9)));
  return sorted[k - 1];
}

/** m: the level that scales errors (see the header). */
export function errorScale(forecast: ArrayLike<number>, history: Demand): number {
  let s = 0;
  for (let i = 0; i < forecast.length; i++) s += forecast[i];
  const f = forecast.length ? s / forecast.length : 0;
  const y = mean(history.subarray(Math.max(0, history.length - 365)));
  return Math.max(f, MIN_SCALE_SHARE * (Number.isFinite(y) ? y : 0), 1e-6);
}

/** Cross-fitted out-of-sample errors of a series (see the header); `use` = windows with forecasts. */
export function crossFitErrors(bt: SeriesBacktest, candidates: Algorithm[], use: number[], final: Choice | null): CalibrationErrors {
  const byBlock: number[][] = Array.from({ length: BLOCKS }, () => []);
  const runs: (number | null)[][] = [];
  for (const j of use) {
    const others = use.filter((k) => k !== j);
    const c = (others.length ? selectModel(bt, candidates, others)?.choice : null) ?? final;
    if (!c) continue;
    const f = bt.forecastOf(c, j);
    if (!f) continue;
    const w = bt.windows[j];
    const m = errorScale(f, bt.y.subarray(0, w.trainEnd));
    const run: (number | null)[] = [];
    for (let t = w.trainEnd; t < w.testEnd; t++) {
      const a = bt.y[t];
      if (a !== a) {
        run.push(null);
        continue;
      }
      const e = a - f[t - w.trainEnd];
      run.push(Math.round(e * 100) / 100);
      byBlock[Math.min(BLOCKS - 1, Math.floor((t - w.trainEnd) / BLOCK))].push(e / m);
    }
    runs.push(run);
  }
  return { byBlock, runs };
}

/** Interval bounds (units per block) at `level` for a forecast of scale m_now; null when there are no errors. */
export function intervalSpec(errs: CalibrationErrors, level: number, scale: number): IntervalSpec | null {
  const n = errs.byBlock.reduce((a, b) => a + b.length, 0);
  if (!n) return null;
  const pooled = Float64Array.from(errs.byBlock.flat()).sort();
  const perBlock = errs.byBlock.every((b) => b.length >= MIN_BLOCK_ERRORS);
  const lo: number[] = [];
  const hi: number[] = [];
  for (const b of errs.byBlock) {
    const sorted = perBlock ? Float64Array.from(b).sort() : pooled;
    const [l, h] = conformalBounds(sorted, level);
    // Rounded outwards, so that storing the bounds never narrows the interval (a lower bound of 0.00004 would exclude a zero day).
    lo.push(Math.floor(l * scale * 1e4) / 1e4);
    hi.push(Math.ceil(h * scale * 1e4) / 1e4);
  }
  return { level, lo, hi, error_lo: lo[0], error_hi: hi[0], n_errors: n, scale: round4(scale) };
}

/** Bounds of a forecast from an interval spec (per block), or from scalar error bounds (older models). */
export function applyInterval(forecast: Float64Array, spec: { lo?: number[]; hi?: number[]; error_lo: number; error_hi: number }): { lo: Float64Array; hi: Float64Array } {
  const lo = new Float64Array(forecast.length);
  const hi = new Float64Array(forecast.length);
  for (let h = 0; h < forecast.length; h++) {
    const b = Math.floor(h / BLOCK);
    const el = spec.lo?.length ? spec.lo[Math.min(b, spec.lo.length - 1)] : spec.error_lo;
    const eh = spec.hi?.length ? spec.hi[Math.min(b, spec.hi.length - 1)] : spec.error_hi;
    lo[h] = Math.max(0, forecast[h] + el);
    hi[h] = Math.max(lo[h], forecast[h] + eh);
  }
  return { lo, hi };
}

/**
 * The q-quantile of the forecast error summed over `days` consecutive days
 * (units), from the stored out-of-sample error runs: every `days`-day stretch
 * of every run gives one sum; censored days are left out and the stretch's sum
 * is scaled up by days / known days (a stretch with fewer than half its days
 * known is skipped). For safety stock at any service level q.
 */
export function errorSumQuantile(runs: (number | null)[][], days: number, q: number): { value: number; windows: number } {
  const sums: number[] = [];
  for (const run of runs) {
    for (let s = 0; s + days <= run.length; s++) {
      let sum = 0;
      let k = 0;
      for (let t = s; t < s + days; t++) {
        const e = run[t];
        if (e === null || e === undefined || e !== e) continue;
        sum += e;
        k++;
      }
      if (k * 2 >= days) sums.push((sum * days) / k);
    }
  }
  if (!sums.length) return { value: NaN, windows: 0 };
  sums.sort((a, b) => a - b);
  return { value: conformalQuantile(sums, q), windows: sums.length };
}

function round4(x: number): number {
  return Math.round(x * 1e4) / 1e4;
}
