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
/**
 * The largest likelihood ratio against a model's own fit from which the regression tests a series again against a
 * fit that did not see the searched weeks (regression.ts, relevelSteps): half of SHIFT_LR. A fit that takes in
 * part of a step leaves part of it (a halving four weeks old, two thirds taken in by the month terms, left a ratio
 * of 14). Few series reach it (1.7 % of the regression's series fits over Store Item Demand's backtests), which
 * bounds the extra fits.
 */
export const SHIFT_SCREEN_LR = 8;
/**
 * The same step seen against last year: q_year = (A1 / B1) / (A0 / B0), with A1 = the known demand of [start, T),
 * B1 = that of the same days 364 days before (same weekdays), A0, B0 the same over [since, start); only days known
 * in both years count. A season that the reference placed wrong (a fit on little more than a year forecasting
 * 13 weeks into a turn of the season) turns the same way each year: q_year near 1. A product that halved has
 * q_year near the step. NaN without a year of history before `since` or without demand in a sum.
 */
export function yearOverYear(y: Demand, since: number, start: number, T: number): number {
  if (since - YEAR_DAYS < 0) return NaN;
  const sums = (a: number, b: number): [number, number] => {
    let cur = 0;
    let prev = 0;
    for (let t = a; t < b; t++) {
      const v = y[t];
      const w = y[t - YEAR_DAYS];
      if (v !== v || w !== w) continue;
      cur += v;
      prev += w;
    }
    return [cur, prev];
  };
  const [A1, B1] = sums(start, T);
  const [A0, B0] = sums(since, start);
  return A1 > 0 && B1 > 0 && A0 > 0 && B0 > 0 ? A1 / B1 / (A0 / B0) : NaN;
}

/** A step against a reference stands when last year does not show it (yearOverYear): q_year on the step's side of 1 and at least half of it on the log scale. */
export function stepStands(raw: number, qYear: number): boolean {
  if (!Number.isFinite(qYear)) return false;
  const a = Math.log(raw);
  const b = Math.log(qYear);
  return a * b > 0 && Math.abs(b) >= Math.abs(a) / 2;
}

/**
 * Whether a series is tested against a reference (regression.ts relevelSteps, pooled.ts): its largest LR against
 * its own fit reaches SHIFT_SCREEN_LR, and at the start of that LR last year's same weeks do not show the same
 * change (|ln q_year| >= ln 1.1; a step that can stand, at least 20 % by stepStands's half on the log scale, has
 * about that). Most series a season's turn sends past the LR fail the second condition, and the reference fit
 * they would cost (a third of the regression's series fits on the sample yearly family) is not made.
 */
export function worthReference(y: Demand, ls: LevelShift, T: number): boolean {
  if (ls.maxLr < SHIFT_SCREEN_LR || ls.maxStart < 0) return false;
  const q = yearOverYear(y, T - SHIFT_WINDOW, ls.maxStart, T);
  return Number.isFinite(q) && Math.abs(Math.log(q)) >= Math.log(1.1);
}

/** Likelihood ratio of a burst (recentBurst): above SHIFT_LR, as about a thousand windows are searched (Poisson: 6e-7 per window at 25). */
export const BURST_LR = 25;
/** The longest burst: two weeks (a promotion without its flag, a bulk order spread over days). */
export const BURST_MAX_DAYS = 14;
/**
 * Bursts searched end in the last four weeks: one that ended before has decayed out of a level with the small
 * smoothing that keeps a burst in it longest ((1 - 0.05)^28 = 24 % left, and under 5 % after two months), and the
 * search over every end in the 13 weeks cost a tenth of the engine's time.
 */
export const BURST_RECENT_DAYS = 28;
/** Known days after a burst that show it is over: three (fewer cannot tell a burst from the start of a step). */
export const BURST_AFTER_DAYS = 3;

/**
 * A burst of the last weeks that is over: days [start, end), end in [T - BURST_RECENT_DAYS, T - BURST_AFTER_DAYS], of at most
 * BURST_MAX_DAYS where demand was well above the reference m (units/day), by the likelihood ratio of levelShift's
 * header at least BURST_LR (with its overdispersion phi), and the known days since `end` back nearer the
 * reference than the burst (their ratio Y / M at most r^(1/3), r the burst's ratio: the lower third of the rise on
 * the log scale, so that days after a window that still hold part of the burst do not pass). A week of four times the
 * usual sales, ended three days ago, raised a 12-a-day product's AutoETS forecast to 22.8 (its level takes alpha
 * of each day's error); the level models are meant to learn a product's usual demand, which a one-off burst is not
 * (a burst that recurs makes the dispersion phi, and then passes the test less). Upward bursts only (a run of low
 * days is a stock-out or a closure, see zero-runs.ts). The largest such LR, or null.
 */
export function recentBurst(y: Demand, m: ArrayLike<number>, from: number, T: number, since: number, phi: number): { start: number; end: number } | null {
  if (!(phi > 0)) return null;
  let best = 0;
  let bestA = -1;
  let bestB = -1;
  let Ya = 0;
  let Ma = 0;
  let na = 0;
  for (let b = T - 1; b > Math.max(since, T - BURST_RECENT_DAYS); b--) {
    // The days after the burst: [b, T).
    const v = y[b];
    const mu = m[b - from];
    if (v === v && mu > 0) {
      Ya += v;
      Ma += mu;
      na++;
    }
    if (na < BURST_AFTER_DAYS) continue;
    let Y = 0;
    let M = 0;
    for (let a = b - 1; a >= Math.max(since, b - BURST_MAX_DAYS); a--) {
      const w = y[a];
      const ma = m[a - from];
      if (w !== w || !(ma > 0)) continue;
      Y += w;
      M += ma;
      if (Y <= M) continue;
      const lr = poissonLr(Y, M, phi);
      if (lr < BURST_LR || lr <= best || Ya > Math.cbrt(Y / M) * Ma) continue;
      best = lr;
      bestA = a;
      bestB = b;
    }
  }
  return best ? { start: bestA, end: bestB } : null;
}

/** a ln(a / b), 0 at a = 0 (the Poisson likelihood's term). */
function xlogx(a: number, b: number): number {
  return a > 0 ? a * Math.log(a / b) : 0;
}

/** The Poisson likelihood ratio of Y units seen against M expected, over the overdispersion phi: 2 (Y ln(Y / M) - (Y - M)) / phi (see the header). */
function poissonLr(Y: number, M: number, phi: number): number {
  return (2 * (xlogx(Y, M) - (Y - M))) / phi;
}

/**
 * levelShift against a reference forecast from `since` (levelShift's header, `since`), and whether its step stands
 * against last year (stepStands): how the regression, the pooled model and AutoETS test a step their own fit may
 * have taken in. `ls` is levelShift's result whether or not the step stands.
 */
export function referenceStep(y: Demand, m: ArrayLike<number>, from: number, T: number, since: number): { ls: LevelShift; stands: boolean } {
  const ls = levelShift(y, m, from, T, since);
  return { ls, stands: ls.start >= 0 && stepStands(ls.raw, yearOverYear(y, since, ls.start, T)) };
}

/** The first T days of y with the days before a step at `start` put at its new level (y_t x ratio, units/day; unknown days stay unknown). */
export function stepAdjusted(y: Demand, T: number, start: number, ratio: number): Float64Array {
  const out = Float64Array.from(y.subarray(0, T));
  for (let t = 0; t < start; t++) out[t] *= ratio;
  return out;
}

/** levelShift's weekly sums (grown as needed; levelShift is not re-entrant and does not call out while it reads them). */
let SCRATCH_Y = new Float64Array(128);
let SCRATCH_M = new Float64Array(128);
let SCRATCH_K = new Uint8Array(128);

/** 52 weeks: last year's same weekdays. */
const YEAR_DAYS = 364;

/** Known days a step against a reference needs before it in the reference's weeks (two weeks, every weekday twice). */
export const SHIFT_BEFORE_DAYS = 14;
/** Prior strength of "no change", in days of the model's expectation. */
export const SHIFT_PRIOR_DAYS = 7;

/**
 * The level ratio to apply to a forecast from origin T, or 1 when the demand of the last weeks agrees with the
 * model's expectation. `m[t - from]` = the model's in-sample expected demand on day t (units/day) for t in
 * [from, T); y = the demand (NaN = unknown), read only before T.
 */
export function levelShiftRatio(y: Demand, m: ArrayLike<number>, from: number, T: number): number {
  return levelShift(y, m, from, T).ratio;
}

/** levelShiftRatio's test in full. */
export interface LevelShift {
  /** The ratio to apply (1 = no shift). */
  ratio: number;
  /** The shift's first day (index of y), or -1. */
  start: number;
  /** Y / M since the start, unshrunk (the size of the step as an intervention estimates it; 1 without a shift). */
  raw: number;
  /** The largest LR over the starts searched, whether or not their weeks are homogeneous (0 when the series is not tested). */
  maxLr: number;
  /** The start of maxLr, or -1. */
  maxStart: number;
  /** phi, the overdispersion the test used (0 when the series is not tested). */
  phi: number;
}

/**
 * `since` (a step against a reference forecast that did not see the searched weeks, regression.ts relevelSteps):
 * m on [since, T) is that forecast, whose level may be off by itself (a trend extrapolated 13 weeks). The test is
 * then of a change of the ratio demand / m at tau: the days [since, tau) (at least SHIFT_BEFORE_DAYS known) against
 * the days since tau, by the two-sample Poisson likelihood ratio
 *
 *   LR(tau) = 2 (Y1 ln(Y1 / (p M1)) + Y0 ln(Y0 / (p M0))) / phi,   p = (Y0 + Y1) / (M0 + M1)
 *
 * (Y0, M0 before tau, Y1, M1 since), and the step's size is raw = (Y1 / M1) / (Y0 / M0): a reference off by 10 %
 * on both sides of tau is no step, and the step is measured from the level the series had before it.
 */
export function levelShift(y: Demand, m: ArrayLike<number>, from: number, T: number, since?: number): LevelShift {
  const w0 = Math.max(from, T - SHIFT_WINDOW);
  // A slow mover (units per known day of the searched window) is not tested.
  let windowM = 0;
  let windowN = 0;
  for (let t = w0; t < T; t++) {
    const mu = m[t - from];
    if (y[t] !== y[t] || !(mu > 0)) continue;
    windowM += mu;
    windowN++;
  }
  if (windowM < SHIFT_MIN_RATE * windowN) return { ratio: 1, start: -1, raw: 1, maxLr: 0, maxStart: -1, phi: 0 };
  // Whole weeks counted back from T (week j = [T - 7j - 7, T - 7j)): known demand, expectation, known days, in
  // scratch arrays (this runs for every series of every fit, the backtests' included).
  const nAll = Math.floor((T - from) / 7);
  if (SCRATCH_Y.length < nAll) {
    SCRATCH_Y = new Float64Array(2 * nAll);
    SCRATCH_M = new Float64Array(2 * nAll);
    SCRATCH_K = new Uint8Array(2 * nAll);
  }
  const Yw = SCRATCH_Y;
  const Mw = SCRATCH_M;
  const Kw = SCRATCH_K;
  for (let j = 0; j < nAll; j++) {
    let ys = 0;
    let ms = 0;
    let k = 0;
    for (let t = T - 7 * j - 7; t < T - 7 * j; t++) {
      const v = y[t];
      const mu = m[t - from];
      if (v !== v || !(mu > 0)) continue;
      ys += v;
      ms += mu;
      k++;
    }
    Yw[j] = ys;
    Mw[j] = ms;
    Kw[j] = k;
  }
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
  let bestT = -1;
  let maxLr = 0;
  let maxStart = -1;
  let bestBefore = 1;
  // With a reference (since): the known demand and expectation of [since, T), then of [since, tau) as tau moves.
  let Ya = 0;
  let Ma = 0;
  let na = 0;
  if (since !== undefined) for (let t = Math.max(since, from); t < T; t++) {
    const v = y[t];
    const mu = m[t - from];
    if (v !== v || !(mu > 0)) continue;
    Ya += v;
    Ma += mu;
    na++;
  }
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
    let lr: number;
    let before = 1;
    if (since === undefined) lr = poissonLr(Y, M, phi);
    else {
      const Y0 = Ya - Y;
      const M0 = Ma - M;
      if (na - n < SHIFT_BEFORE_DAYS || !(M0 > 0) || !(Y0 > 0)) continue;
      const p = Ya / Ma;
      lr = (2 * (xlogx(Y, p * M) + xlogx(Y0, p * M0))) / phi;
      before = Y0 / M0;
    }
    if (lr > maxLr) {
      maxLr = lr;
      maxStart = t;
    }
    if (lr > best && lr >= SHIFT_LR && homogeneous(t, Y / M)) {
      best = lr;
      bestY = Y;
      bestM = M;
      bestN = n;
      bestT = t;
      bestBefore = before;
    }
  }
  if (!best) return { ratio: 1, start: -1, raw: 1, maxLr, maxStart, phi };
  const k = (SHIFT_PRIOR_DAYS * bestM) / bestN;
  return { ratio: (bestY + k) / (bestM + k), start: bestT, raw: bestY / bestM / bestBefore, maxLr, maxStart, phi };
}
