/**
 * The pooled seasonal model: one weekday profile and one yearly profile
 * learned across all series, each series with its own level and trend (the
 * cross-series lesson of M5: items at locations share the shape of the week
 * and of the year, while a single series is too noisy to learn the year from
 * two cycles).
 *
 *   log mu_it = a_i + b_i u_t + w_{weekday(t)} + sum_{k=1..K} (c_k cos(2 pi k d_t / 365.25) + s_k sin(2 pi k d_t / 365.25))
 *
 * mu_it = expected units of series i on day t; u_t = (t - T) / 365 (years from
 * the origin, so b_i is the log growth per year); d_t = day of the year;
 * w = 6 weekday effects (Monday 0). Fitted by maximum Poisson likelihood on
 * the known days of the last FIT_DAYS days, alternating exact Newton steps:
 * per series on (a_i, b_i) (a 2 x 2 system), then on the shared
 * coefficients theta = (w, c, s). The shared step needs only the daily totals
 * over series, sum_i y_it and sum_i mu_it (the design depends on the date
 * alone), so a fit costs a few passes over the data: O(series x days) per
 * iteration. Hand-written for that reason: a generic GLM (or a network)
 * would build the series x days design and cost orders of magnitude more.
 *
 * Each series' strength of the shared year (when the yearly terms are on):
 * with s_t = the yearly part of x_t theta, the series' own loading l_i,
 *
 *   log mu_it = a_i + b_i u_t + w_{weekday(t)} + l_i s_t,
 *
 * fitted per series after the shared fit (Newton on (a_i, b_i, l_i), a 3 x 3
 * system) under an empirical-Bayes prior l_i ~ N(m, tau^2): m and tau^2 from
 * the unpenalised loadings of all series (method of moments, their sampling
 * variance removed). Where products share one season (a supermarket aisle),
 * tau^2 is about 0 and every series, a slow mover too, keeps the shared
 * year; where they do not (a small shop of a summer product and flat ones),
 * tau^2 is large and each series follows its own data: a flat product gets
 * l ~ 0 instead of the season of the others (+37 % into a June peak before).
 *
 * Forecast: the level is recalibrated on the series' most recent weeks,
 * shrunk towards the fitted one by a Poisson-gamma (empirical Bayes) prior,
 *
 *   r_i = (sum_recent y + k_i) / (sum_recent mu + k_i),   k_i = PRIOR_DAYS x mean recent mu
 *
 *   forecast_i(T + h) = r_i mu_i(T + h)   (units per day)
 *
 * so a level shift of the last weeks is followed where the series sells
 * enough to show it, and a slow mover keeps the level of its whole fit. A
 * shift the test of level-shift.ts finds replaces r_i by the ratio since its
 * start (the prior's pace took a month to move halfway).
 */
import { dayOfYear, weekday } from '../dates.js';
import { cholesky, cholSolve } from './regression.js';
import { firstKnownDay, type Demand } from './models.js';
import { levelShift, referenceStep, SHIFT_WINDOW, stepAdjusted, worthReference } from './level-shift.js';

export interface PooledOptions {
  /** Day number of y[0]. */
  startDay: number;
  T: number;
  H: number;
  yearlyOrder?: number;
}

export interface PooledFit {
  forecast: Float64Array[];
  /** Weekday factors (Mon..Sun, multiplicative, mean 1) and the recalibration ratios, for explanations. */
  weekly: number[];
  ratio: number[];
  growth: number[];
  /** Per forecast series: its loading l_i on the shared yearly profile (1 = the shared year; null without yearly terms). */
  loading: (number | null)[];
  /** Per forecast series: a step its history was re-levelled from (first day, index of y; ratio), or null. */
  relevel: ({ start: number; ratio: number } | null)[];
}

/** Prophet's default number of yearly harmonics for daily data: features about 18 days wide, finer than a 28-day horizon needs. */
const YEARLY_ORDER = 10;
/**
 * Days of data in the fit window from which the yearly terms are fitted: two full years. From one cycle a profile
 * shared across products cannot be told apart from their own growth b_i, and it gave a flat product the season of
 * the others (docs/forecasting.md).
 */
const MIN_YEARLY_DAYS = 730;
/** Fit window: two years, the least that separates a yearly cycle from a trend. */
const FIT_DAYS = 730;
/** Recent window of the level recalibration: 8 whole weeks, so every weekday counts equally. */
const RECENT = 56;
/** Prior strength of the fitted level, in days of the series' own expected demand (4 weeks: a shift must hold for about a month of sales to move the level halfway). */
const PRIOR_DAYS = 28;
/** Gaussian prior precision on the yearly log growth b (sd 0.5: an item at a location rarely grows or shrinks faster than 50 % a year); matters only for series with little demand. */
const GROWTH_PRECISION = 4;
/** Series from which the loadings' prior is estimated (see fitPooled). */
const PRIOR_SERIES = 2000;
/** Newton steps of each pass of the per-series loading fit: it starts at the shared fit (l = 1), which is already near the optimum of (a, b), and the 3-parameter Poisson likelihood is concave. */
const LOADING_STEPS = 4;
/** Days before the searched weeks from which a series' reference (a, b, l) is fitted: half a year, as the regression's (relevelSteps). */
const MIN_REFERENCE_DAYS = 182;
/** Most alternating Newton iterations: the Poisson likelihood is concave and the design centred, so about 7 to 10 steps reach the 1e-4 tolerance. */
const ITERATIONS = 25;

/** The shared design rows x_t for days [from, to) (6 weekday dummies, then cos/sin pairs). */
function design(startDay: number, from: number, to: number, K: number): { X: Float64Array; p: number } {
  const p = 6 + 2 * K;
  const X = new Float64Array((to - from) * p);
  for (let t = from; t < to; t++) {
    const r = (t - from) * p;
    const day = startDay + t;
    const wd = weekday(day);
    if (wd > 0) X[r + wd - 1] = 1;
    const d = dayOfYear(day);
    for (let k = 1; k <= K; k++) {
      const a = (2 * Math.PI * k * d) / 365.25;
      X[r + 6 + 2 * (k - 1)] = Math.cos(a);
      X[r + 7 + 2 * (k - 1)] = Math.sin(a);
    }
  }
  return { X, p };
}

// The loops of the fit, as small functions over typed arrays: the optimiser compiles each once and keeps it
// (inside one large function, each loop's exit into code not yet run sent it back to the interpreter).

/** sums = [sum mu, sum mu u, sum mu u^2] over the known days of [from, T), mu = exp(a + b u) g (units/day). */
function levelSums(y: Demand, g: Float64Array, from: number, T: number, u0: number, dayStep: number, a: number, b: number, sums: Float64Array): void {
  let S0 = 0;
  let S1 = 0;
  let S2 = 0;
  let e = Math.exp(a + b * u0);
  const step = Math.exp(b * dayStep);
  for (let t = from, u = u0; t < T; t++, u += dayStep, e *= step) {
    if (y[t] !== y[t]) continue;
    const mu = e * g[t - from];
    S0 += mu;
    S1 += mu * u;
    S2 += mu * u * u;
  }
  sums[0] = S0;
  sums[1] = S1;
  sums[2] = S2;
}

/**
 * One Newton step on every active series' (a_i, b_i) given the day factors g,
 * then the expected daily totals Mt at the new levels. Returns the largest
 * move (log level, or log growth per day).
 */
function levelStep(
  ys: Demand[], active: Uint8Array, g: Float64Array, from: number, T: number, u0: number, dayStep: number,
  a: Float64Array, b: Float64Array, Y0s: Float64Array, Y1s: Float64Array, Mt: Float64Array, sums: Float64Array,
): number {
  let moved = 0;
  for (let i = 0; i < ys.length; i++) {
    if (!active[i]) continue;
    const y = ys[i];
    levelSums(y, g, from, T, u0, dayStep, a[i], b[i], sums);
    const S0 = sums[0];
    const S1 = sums[1];
    const S2 = sums[2];
    const ga = Y0s[i] - S0;
    const gb = Y1s[i] - S1 - GROWTH_PRECISION * b[i];
    const h11 = S0;
    const h12 = S1;
    const h22 = S2 + GROWTH_PRECISION;
    const det = h11 * h22 - h12 * h12;
    if (!(det > 0)) continue;
    let da = (h22 * ga - h12 * gb) / det;
    let db = (h11 * gb - h12 * ga) / det;
    // Damped steps from a poor start: the log level moves at most 1 (x e) per iteration.
    const big = Math.max(Math.abs(da), Math.abs(db));
    if (big > 1) {
      da /= big;
      db /= big;
    }
    a[i] += da;
    b[i] += db;
    moved = Math.max(moved, Math.abs(da), Math.abs(db) / 365);
    addExpected(y, g, from, T, Math.exp(a[i] + b[i] * u0), Math.exp(b[i] * dayStep), Mt);
  }
  return moved;
}

/** Mt[t - from] += e_t g_t on the known days, e_t = e0 step^(t - from). */
function addExpected(y: Demand, g: Float64Array, from: number, T: number, e0: number, step: number, Mt: Float64Array): void {
  let e = e0;
  for (let t = from; t < T; t++, e *= step) if (y[t] === y[t]) Mt[t - from] += e * g[t - from];
}

/** Gradient (and, when Hs is given, the lower triangle of the Hessian) of the shared coefficients from the daily totals. */
function sharedGradient(X: Float64Array, p: number, n: number, Mt: Float64Array, Yt: Float64Array, gr: Float64Array, Hs: Float64Array | null): void {
  if (Hs) Hs.fill(0);
  gr.fill(0);
  for (let t = 0; t < n; t++) {
    const m = Mt[t];
    if (!(m > 0)) continue;
    const r = t * p;
    const d = Yt[t] - m;
    for (let j = 0; j < p; j++) gr[j] += X[r + j] * d;
    if (!Hs) continue;
    for (let j = 0; j < p; j++) {
      const mx = m * X[r + j];
      for (let k = 0; k <= j; k++) Hs[j * p + k] += mx * X[r + k];
    }
  }
}

/** g_t = exp(x_t theta) for the rows of X. */
function dayFactors(X: Float64Array, p: number, rows: number, theta: Float64Array, g: Float64Array): void {
  for (let t = 0; t < rows; t++) {
    let z = 0;
    const r = t * p;
    for (let j = 0; j < p; j++) z += X[r + j] * theta[j];
    g[t] = Math.exp(z);
  }
}

/**
 * Newton steps on one series' (a, b, l) of log mu_t = a + b u_t + wz_t + l s_t over the known days of
 * [from, T) (wz = weekday part, s = yearly part of the shared log factors, indexed from `from`), with the
 * growth prior and, when prec > 0, the prior l ~ N(m, 1 / prec). Writes [a, b, l, var(l)] to out; var(l)
 * from the inverse Hessian without the loading prior on the first pass (prec = 0).
 */
function loadingFit(y: Demand, wz: Float64Array, sy: Float64Array, from: number, T: number, u0: number, dayStep: number, a0: number, b0: number, l0: number, m: number, prec: number, out: Float64Array): void {
  let a = a0;
  let b = b0;
  let l = l0;
  let hll = 0;
  let det = 0;
  let c11 = 0;
  let c12 = 0;
  let c22 = 0;
  for (let it = 0; it < LOADING_STEPS; it++) {
    let ga = 0;
    let gb = 0;
    let gl = 0;
    let h11 = 0;
    let h12 = 0;
    let h13 = 0;
    let h22 = 0;
    let h23 = 0;
    let h33 = 0;
    for (let t = from, u = u0; t < T; t++, u += dayStep) {
      const v = y[t];
      if (v !== v) continue;
      const k = t - from;
      const st = sy[k];
      const mu = Math.exp(a + b * u + wz[k] + l * st);
      const d = v - mu;
      ga += d;
      gb += d * u;
      gl += d * st;
      h11 += mu;
      h12 += mu * u;
      h13 += mu * st;
      h22 += mu * u * u;
      h23 += mu * u * st;
      h33 += mu * st * st;
    }
    gb -= GROWTH_PRECISION * b;
    h22 += GROWTH_PRECISION;
    gl += prec * (m - l);
    h33 += prec;
    // Solve the 3 x 3 system by its adjugate (symmetric positive definite at a concave optimum).
    c11 = h22 * h33 - h23 * h23;
    c12 = h13 * h23 - h12 * h33;
    const c13 = h12 * h23 - h13 * h22;
    c22 = h11 * h33 - h13 * h13;
    const c23 = h12 * h13 - h11 * h23;
    const c33 = h11 * h22 - h12 * h12;
    det = h11 * c11 + h12 * c12 + h13 * c13;
    hll = c33;
    if (!(det > 0) || !(c33 > 0)) break;
    let da = (c11 * ga + c12 * gb + c13 * gl) / det;
    let db = (c12 * ga + c22 * gb + c23 * gl) / det;
    let dl = (c13 * ga + c23 * gb + c33 * gl) / det;
    const big = Math.max(Math.abs(da), Math.abs(db), Math.abs(dl));
    if (big > 1) {
      da /= big;
      db /= big;
      dl /= big;
    }
    a += da;
    b += db;
    l += dl;
    if (big < 1e-4) break;
  }
  out[0] = a;
  out[1] = b;
  out[2] = l;
  // var(l) = [H^-1]_ll = (h11 h22 - h12^2) / det, of the last Hessian (the prior's precision removed by the caller's choice of prec = 0).
  out[3] = det > 0 ? hll / det : Infinity;
}

/**
 * Fits the pooled model on the first T days of every series in `series`
 * (the shared profile learns from all of them) and forecasts H days for the
 * series `idx`. Days at or after T are never read.
 */
export function fitPooled(series: { y: Demand }[], idx: number[], o: PooledOptions): PooledFit {
  const { T, H } = o;
  // From the first day any series is known (firstKnownDay): the yearly terms need a full year of data, not of window.
  const from = Math.max(0, T - FIT_DAYS, Math.min(firstKnownDay(series.map((s) => s.y), T), T - 1));
  const n = T - from;
  // The yearly terms need a full cycle in the window: on a shorter one they would extrapolate a piece of a curve.
  const K = n >= MIN_YEARLY_DAYS ? o.yearlyOrder ?? YEARLY_ORDER : 0;
  const { X, p } = design(o.startDay, from, T + H, K);
  // Columns centred over the fit days: the shared block is then nearly orthogonal to the series levels, so the alternating steps converge in a few iterations instead of zig-zagging between the two.
  for (let j = 0; j < p; j++) {
    let m = 0;
    for (let t = 0; t < n; t++) m += X[t * p + j];
    m /= n;
    for (let t = 0; t < n + H; t++) X[t * p + j] -= m;
  }
  const N = series.length;
  // The histories as one array of typed arrays, read once: the series objects come in several shapes (views cut at
  // a backtest origin, loaded histories), and reading .y from them inside the loops kept the optimiser backing out.
  // Built the same way on every call (one array kind), so the optimised loops never meet another.
  const ys: Demand[] = new Array(N);
  for (let i = 0; i < N; i++) ys[i] = series[i].y;
  // Per day: exp(x_t theta) (g), the known total and the expected total over series.
  const g = new Float64Array(n + H).fill(1);
  const Yt = new Float64Array(n);
  const Mt = new Float64Array(n);
  const a = new Float64Array(N);
  const b = new Float64Array(N);
  const active = new Uint8Array(N);
  // Per series: sum of y and of y u over the known days of the window (u in years before T).
  const Y0s = new Float64Array(N);
  const Y1s = new Float64Array(N);
  const dayStep = 1 / 365;
  const u0 = (from - T) / 365;
  for (let i = 0; i < N; i++) {
    const y = ys[i];
    let s = 0;
    let y1 = 0;
    let c = 0;
    for (let t = from, u = u0; t < T; t++, u += dayStep) {
      const v = y[t];
      if (v !== v) continue;
      s += v;
      y1 += v * u;
      c++;
      Yt[t - from] += v;
    }
    // A series with no demand in the window has no level to fit (forecast 0); it still adds nothing to the totals.
    if (c >= 14 && s > 0) {
      active[i] = 1;
      a[i] = Math.log(s / c);
      Y0s[i] = s;
      Y1s[i] = y1;
    }
  }
  const theta = new Float64Array(p);
  const sums = new Float64Array(3);
  const Hs = new Float64Array(p * p);
  const gr = new Float64Array(p);
  let L: Float64Array = Hs;
  let ridge = 0;
  for (let it = 0; it < ITERATIONS; it++) {
    Mt.fill(0);
    const moved = levelStep(ys, active, g, from, T, u0, dayStep, a, b, Y0s, Y1s, Mt, sums);
    // Newton step on the shared coefficients from the daily totals. The Hessian (the costly part, days x p^2)
    // is recomputed on the first two iterations and every fourth after: near the optimum it barely changes,
    // and the gradient is always exact, so the fixed point is the exact maximum likelihood.
    const fresh = it < 2 || it % 4 === 0;
    sharedGradient(X, p, n, Mt, Yt, gr, fresh ? Hs : null);
    // A tiny ridge keeps the system positive definite when a weekday is missing from the window.
    if (fresh) {
      ridge = 0;
      for (let j = 0; j < p; j++) ridge += Hs[j * p + j];
      ridge = 1e-8 * ridge + 1e-9;
      for (let j = 0; j < p; j++) {
        for (let k = j + 1; k < p; k++) Hs[j * p + k] = Hs[k * p + j];
        Hs[j * p + j] += ridge;
      }
      L = cholesky(Hs, p);
    }
    for (let j = 0; j < p; j++) gr[j] -= ridge * theta[j];
    const dth = cholSolve(L, p, gr);
    let big = 0;
    for (let j = 0; j < p; j++) big = Math.max(big, Math.abs(dth[j]));
    const sc = big > 1 ? 1 / big : 1;
    for (let j = 0; j < p; j++) theta[j] += sc * dth[j];
    dayFactors(X, p, n + H, theta, g);
    // Converged: no log-level or log-factor moved by more than 1e-4 (0.01 % of a forecast).

    if (big < 1e-4 && moved < 1e-4) break;
  }
  // Each series' loading on the shared year (see the header): the unpenalised loadings of all active series give
  // the prior N(m, tau^2), then each forecast series' (a, b, l) is refitted under it.
  const loadingOf = new Map<number, number>();
  let wz: Float64Array | null = null;
  let sy: Float64Array | null = null;
  // The loadings' prior as the forecast series were fitted under it (mean, precision).
  let lm = 1;
  let lprec = 0;
  if (K > 0) {
    wz = new Float64Array(n + H);
    sy = new Float64Array(n + H);
    for (let t = 0; t < n + H; t++) {
      const r = t * p;
      let w = 0;
      for (let j = 0; j < 6; j++) w += X[r + j] * theta[j];
      let v = 0;
      for (let j = 6; j < p; j++) v += X[r + j] * theta[j];
      wz[t] = w;
      sy[t] = v;
    }
    const out = new Float64Array(4);
    const est: number[] = [];
    const vars: number[] = [];
    // The prior from at most PRIOR_SERIES active series, evenly spaced: two moments need no more, and the pass
    // over all 30,000 series of a large shop was most of the fit's time at predict.
    let nActive = 0;
    for (let i = 0; i < N; i++) nActive += active[i];
    const stride = Math.max(1, Math.ceil(nActive / PRIOR_SERIES));
    for (let i = 0, seen = 0; i < N; i++) {
      if (!active[i] || seen++ % stride) continue;
      loadingFit(ys[i], wz, sy, from, T, u0, dayStep, a[i], b[i], 1, 0, 0, out);
      if (Number.isFinite(out[2]) && Number.isFinite(out[3])) {
        est.push(out[2]);
        vars.push(out[3]);
      }
    }
    const prior = loadingPrior(est, vars);
    // tau^2 = 0: l fixed at m, (a, b) refitted with it (the prior's precision as a large finite number).
    const fixed = prior.prec === Infinity;
    lm = prior.m;
    lprec = fixed ? 1e12 : prior.prec;
    for (const i of idx) {
      if (!active[i]) continue;
      if (fixed) loadingOf.set(i, prior.m);
      loadingFit(ys[i], wz, sy, from, T, u0, dayStep, a[i], b[i], fixed ? prior.m : 1, prior.m, fixed ? 1e12 : prior.prec, out);
      if (!Number.isFinite(out[0]) || !Number.isFinite(out[1]) || !Number.isFinite(out[2])) continue;
      a[i] = out[0];
      b[i] = out[1];
      loadingOf.set(i, out[2]);
    }
  }
  const forecast: Float64Array[] = [];
  const ratio: number[] = [];
  const growth: number[] = [];
  const loading: (number | null)[] = [];
  const gi = new Float64Array(n + H);
  const fitted = new Float64Array(n);
  const relevel: ({ start: number; ratio: number } | null)[] = [];
  const lout = new Float64Array(4);
  /** fitted[t - from] = the expectation of days [t0, t1) under (a, b) and the day factors gs (units/day). */
  const expect = (ai: number, bi: number, gs: Float64Array, t0: number, t1: number) => {
    let e = Math.exp(ai + bi * ((t0 - T) / 365));
    const st = Math.exp(bi * dayStep);
    for (let t = t0; t < t1; t++, e *= st) fitted[t - from] = e * gs[t - from];
  };
  /** The day factors of a loading l (its own yearly strength) into gi. */
  const factorsOf = (l: number) => {
    for (let t = 0; t < n + H; t++) gi[t] = Math.exp(wz![t] + l * sy![t]);
    return gi;
  };
  for (const i of idx) {
    const f = new Float64Array(H);
    forecast.push(f);
    let li = loadingOf.get(i);
    if (!active[i]) {
      loading.push(li ?? null);
      ratio.push(1);
      growth.push(0);
      relevel.push(null);
      continue;
    }
    // The series' day factors: the shared ones, or with its own loading on the yearly part.
    let gs = li !== undefined && wz && sy ? factorsOf(li) : g;
    let y = ys[i];
    // A level shift of the last weeks (level-shift.ts), against the fit, or (a step the fit may have taken in, as
    // the regression's relevelSteps) against the series' (a, b, l) fitted on the days before the searched weeks.
    expect(a[i], b[i], gs, from, T);
    let ls = levelShift(y, fitted, from, T);
    const T1 = T - SHIFT_WINDOW;
    if (ls.start < 0 && li !== undefined && T1 - from >= MIN_REFERENCE_DAYS && worthReference(y, ls, T)) {
      loadingFit(y, wz!, sy!, from, T1, u0, dayStep, a[i], b[i], li, lm, lprec, lout);
      if (Number.isFinite(lout[0]) && Number.isFinite(lout[1]) && Number.isFinite(lout[2])) {
        expect(lout[0], lout[1], factorsOf(lout[2]), T1, T);
        const r = referenceStep(y, fitted, from, T, T1);
        ls = r.stands ? r.ls : { ...r.ls, ratio: 1, start: -1, raw: 1 };
        gs = factorsOf(li);
      }
    }
    // A step with loadings: the days before it are put at the new level and the series' (a, b, l) fitted again, so
    // that its loading does not carry the step (a loading of 2 on a shop's shared year took in a halving and sent the
    // forecast back up with the season); without loadings the ratio since the step is applied below.
    let relevelled = false;
    if (ls.start >= 0 && li !== undefined) {
      const adj = stepAdjusted(y, T, ls.start, ls.raw);
      loadingFit(adj, wz!, sy!, from, T, u0, dayStep, a[i], b[i], li, lm, lprec, lout);
      if (Number.isFinite(lout[0]) && Number.isFinite(lout[1]) && Number.isFinite(lout[2])) {
        a[i] = lout[0];
        b[i] = lout[1];
        li = lout[2];
        gs = factorsOf(li);
        y = adj;
        relevelled = true;
      }
    }
    loading.push(li ?? null);
    relevel.push(relevelled ? { start: ls.start, ratio: ls.raw } : null);
    const step = Math.exp(b[i] * dayStep);
    // Level recalibration on the last RECENT days (known ones), shrunk towards the fit.
    let sumY = 0;
    let sm = 0;
    let c = 0;
    const r0 = Math.max(from, T - RECENT);
    let e = Math.exp(a[i] + b[i] * ((r0 - T) / 365));
    for (let t = r0; t < T; t++, e *= step) {
      if (y[t] !== y[t]) continue;
      sumY += y[t];
      sm += e * gs[t - from];
      c++;
    }
    const k = c ? (PRIOR_DAYS * sm) / c : 0;
    let rr = sm + k > 0 ? (sumY + k) / (sm + k) : 1;
    // A level shift without loadings is followed from its start, not at the pace of the prior.
    if (ls.start >= 0 && !relevelled) rr = ls.ratio;
    ratio.push(rr);
    growth.push(b[i]);
    e = Math.exp(a[i]) * rr;
    for (let h = 0; h < H; h++, e *= step) {
      const v = e * gs[n + h];
      f[h] = Number.isFinite(v) ? Math.max(0, v) : 0;
    }
  }
  const wk = Float64Array.from([0, ...theta.subarray(0, 6)], Math.exp);
  const wm = wk.reduce((s, x) => s + x, 0) / 7;
  return { forecast, weekly: Array.from(wk, (x) => x / wm), ratio, growth, loading, relevel };
}

/**
 * The empirical-Bayes prior of the loadings from the unpenalised estimates l_i and their sampling variances v_i
 * (method of moments): tau^2 = max(0, var(l) - mean(v)), m = the precision-weighted mean, weights 1 / (v_i + tau^2).
 * tau^2 = 0 (the series' differences are all sampling noise): every series takes m (prec = Infinity). Fewer than 3
 * series cannot tell a spread from noise: m = 1 and no shrinkage (each series its own loading).
 */
export function loadingPrior(est: number[], vars: number[]): { m: number; prec: number } {
  const n = est.length;
  if (n < 3) return { m: 1, prec: 0 };
  const mean = est.reduce((s, x) => s + x, 0) / n;
  const spread = est.reduce((s, x) => s + (x - mean) ** 2, 0) / (n - 1);
  const noise = vars.reduce((s, x) => s + x, 0) / n;
  const tau2 = Math.max(0, spread - noise);
  let sw = 0;
  let swl = 0;
  for (let i = 0; i < n; i++) {
    const w = 1 / (vars[i] + tau2);
    sw += w;
    swl += w * est[i];
  }
  const m = sw > 0 ? swl / sw : 1;
  return { m, prec: tau2 > 0 ? 1 / tau2 : Infinity };
}
