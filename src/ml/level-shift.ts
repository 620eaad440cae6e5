/**
 * A level shift in the last weeks that a model's fit does not follow.
 *
 * The regression's trend bends only in the first 80 % of its history (its
 * changepoints, as Prophet's), so a product whose sales halved four weeks ago
 * was forecast at 80 % of its old level, and, its trend being pooled with its
 * category's, the products of the category that had not changed were pulled
 * down with it. This test compares the last weeks' demand with the model's own
 * in-sample expectation m_t (units/day) and re-levels the forecast when they
 * part for good.
 *
 * For each start tau in the last SHIFT_WINDOW days (at least SHIFT_MIN_DAYS
 * before the origin T), with Y = sum of the known demand since tau and M =
 * sum of m_t over the same days, the Poisson likelihood ratio of "the level
 * changed by Y / M at tau" against "no change", scaled by the overdispersion
 * phi of the series against the fit:
 *
 *   LR(tau) = 2 (Y ln(Y / M) - (Y - M)) / phi,   phi = max(1, mean over weeks before the window of (Y_w - M_w)^2 / M_w)
 *
 * (Y_w, M_w: a whole week's known demand and expectation, in units).
 *
 * The largest LR(tau) over the window is a shift when it exceeds SHIFT_LR
 * (a chi-square with one degree of freedom passes 16 with probability 6e-5,
 * and the window holds about 70 starts, mostly overlapping: a steady series
 * is re-levelled about once in a few hundred) and the change is a step, not
 * a burst: the whole weeks since tau, counted back from T, share the ratio
 * r = Y / M, by the Poisson homogeneity test
 *
 *   sum_w (Y_w - r M_w)^2 / (r M_w) / phi <= the 0.99 quantile of chi-square with (weeks - 1) degrees of freedom
 *
 * (a week of a promotion without its flag, inside three weeks at the old
 * level, fails it; so does a start placed before the true step, and the
 * largest LR of the starts that pass it is the shift). The forecast is then
 * multiplied
 * by the rate ratio since tau, shrunk towards 1 by a Poisson-gamma prior of
 * SHIFT_PRIOR_DAYS days of the model's expectation:
 *
 *   r = (Y + k) / (M + k),   k = SHIFT_PRIOR_DAYS x M / (known days since tau)
 */
import type { Demand } from './models.js';

/** Days before the origin searched for a shift: 13 weeks, the span over which a planner reads "recent sales". */
export const SHIFT_WINDOW = 91;
/** The shortest run after a shift (and at least 14 known days in it): three weeks, so that a one-week burst (a promotion without its flag) leaves whole weeks at the old level in it, which the homogeneity test sees. */
export const SHIFT_MIN_DAYS = 21;
/** Threshold of the largest likelihood ratio (see the header). */
export const SHIFT_LR = 16;
/**
 * The least expectation, in units per day over the searched window, at which a series is tested: below about a
 * unit a day, 13 weeks hold a handful of sales, a single burst passes for a tenfold shift against a fit that
 * expects 0.05 a day, and the level models that adapt on their own (SES, TSB) are the candidates for such series.
 */
export const SHIFT_MIN_RATE = 1;
/** Chi-square quantiles at 0.99 for 1 to 12 degrees of freedom (the homogeneity test of the weeks since a shift). */
const CHI2_99 = [6.63, 9.21, 11.34, 13.28, 15.09, 16.81, 18.48, 20.09, 21.67, 23.21, 24.72, 26.22];
/** Prior strength of "no change", in days of the model's expectation. */
export const SHIFT_PRIOR_DAYS = 7;

/**
 * The level ratio to apply to a forecast from origin T, or 1 when the demand of the last weeks agrees with the
 * model's expectation. `m[t - from]` = the model's in-sample expected demand on day t (units/day) for t in
 * [from, T); y = the demand (NaN = unknown), read only before T.
 */
export function levelShiftRatio(y: Demand, m: ArrayLike<number>, from: number, T: number): number {
  const w0 = Math.max(from, T - SHIFT_WINDOW);
  // One pass over the fit's days: whole weeks counted back from T (week j = [T - 7j - 7, T - 7j): known demand,
  // expectation, known days), and the expectation over the searched window [w0, T).
  const nAll = Math.floor((T - from) / 7);
  const Yw = new Float64Array(nAll);
  const Mw = new Float64Array(nAll);
  const Kw = new Uint8Array(nAll);
  let windowM = 0;
  let windowN = 0;
  for (let t = Math.min(w0, T - 7 * nAll); t < T; t++) {
    const v = y[t];
    const mu = m[t - from];
    if (v !== v || !(mu > 0)) continue;
    if (t >= w0) {
      windowM += mu;
      windowN++;
    }
    if (t < T - 7 * nAll) continue;
    const j = Math.floor((T - 1 - t) / 7);
    Yw[j] += v;
    Mw[j] += mu;
    Kw[j]++;
  }
  // A slow mover (units per known day of the searched window) is not tested.
  if (windowM < SHIFT_MIN_RATE * windowN) return 1;
  // Weeks of the searched window (SHIFT_WINDOW is whole weeks, so the weeks before it are whole weeks of the array).
  const nWeeks = Math.floor((T - w0) / 7);
  // Overdispersion against the fit, from the whole weeks of known days before the searched window (all the fit's
  // weeks when those are few): the test sums two weeks and more, and daily ratios miss what makes such sums vary,
  // a single bulk purchase on a slow mover and runs of good and bad days.
  let q = 0;
  let nq = 0;
  const dispersion = (j0: number) => {
    for (let j = j0; j < nAll; j++) {
      if (Kw[j] < 7) continue;
      q += ((Yw[j] - Mw[j]) * (Yw[j] - Mw[j])) / Mw[j];
      nq++;
    }
  };
  dispersion(nWeeks);
  if (nq < 8) {
    q = 0;
    nq = 0;
    dispersion(0);
  }
  const phi = nq ? Math.max(1, q / nq) : 1;
  /** Whether the whole weeks since tau share the ratio r (the Poisson homogeneity test of the header). */
  const homogeneous = (tau: number, r: number): boolean => {
    let stat = 0;
    let weeks = 0;
    for (let j = 0; T - 7 * j - 7 >= tau && j < nWeeks; j++) {
      if (!(Mw[j] > 0)) continue;
      stat += (Yw[j] - r * Mw[j]) ** 2 / (r * Mw[j]);
      weeks++;
    }
    return weeks < 2 || stat / phi <= CHI2_99[Math.min(weeks - 1, CHI2_99.length) - 1];
  };
  let Y = 0;
  let M = 0;
  let n = 0;
  let best = 0;
  let bestY = 0;
  let bestM = 0;
  let bestN = 0;
  // The largest LR among the starts whose weeks are homogeneous (a start before the true step, or a burst, is not).
  for (let t = T - 1; t >= w0; t--) {
    const v = y[t];
    const mu = m[t - from];
    if (v === v && mu > 0) {
      Y += v;
      M += mu;
      n++;
    }
    if (T - t < SHIFT_MIN_DAYS || n < 14 || !(M > 0)) continue;
    const lr = (2 * ((Y > 0 ? Y * Math.log(Y / M) : 0) - (Y - M))) / phi;
    if (lr > best && lr >= SHIFT_LR && homogeneous(t, Y / M)) {
      best = lr;
      bestY = Y;
      bestM = M;
      bestN = n;
    }
  }
  if (!best) return 1;
  const k = (SHIFT_PRIOR_DAYS * bestM) / bestN;
  return (bestY + k) / (bestM + k);
}
