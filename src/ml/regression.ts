/**
 * The Prophet-style additive regression, fitted for many series at once.
 *
 *   z_t = log(1 + y_t) = a + b t + sum_j d_j (t - c_j)+        piecewise-linear trend
 *         + weekday dummies + yearly Fourier (K harmonics)     seasonality
 *         + holiday dummies + promo flag + log relative price  regressors
 *
 * All series of a batch share the calendar design X (T + H rows); the large
 * products X'Z, X'P and X B run as batched TensorFlow.js matmuls, the small
 * k x k systems are solved per series in float64 (Cholesky, ridge penalty,
 * one factorisation shared by all series without own regressors).
 * Unknown days (stock-outs, before the first sale) are imputed by EM: filled
 * with the model's own fitted values and refitted.
 * Pooling: the trend's slope and changepoints and the weekday, yearly, month
 * and holiday coefficients are shrunk towards their group mean (category or
 * all series) by empirical Bayes, per coefficient, then the level and the
 * regressors are refitted given the pooled shape.
 * Forecasts are back-transformed with Duan's smearing factor, never negative.
 */
import { tf } from './backend.js';
import { dayOfYear, weekday } from '../dates.js';
import { firstKnownDay, type Demand } from './models.js';
import { levelShift, referenceStep, SHIFT_WINDOW, stepAdjusted, worthReference } from './level-shift.js';

export interface RegressionSeries {
  /** History, one value per day (length T); NaN = unknown demand (stock-out, before the first sale). */
  y: Demand;
  /** 0/1 promotion flags for history + horizon (length T + H), or null. */
  promo: Uint8Array | Float64Array | null;
  /** log(price / reference price) for history + horizon, or null. */
  logPrice: Float32Array | Float64Array | null;
  /** Pooling group: category. */
  group: string;
}

export interface RegressionOptions {
  /** Day number of y[0]. */
  startDay: number;
  T: number;
  H: number;
  /** Day number -> holiday index (0..nHolidays-1). */
  holidays: Map<number, number>;
  nHolidays: number;
  yearlyOrder?: number;
  changepoints?: number;
  /** Month-of-year effects (11 dummies) on top of the Fourier terms. */
  months?: boolean;
  pool?: boolean;
  /** EM passes for series with unknown days. */
  emPasses?: number;
  /** Test the series whose own fit may have absorbed a step against a fit that did not see the searched weeks (relevelSteps); default true. */
  stepCheck?: boolean;
  /** Ridge penalty per history day on the changepoints (default changepointPenalty(T)): a reference fit keeps its caller's (relevelSteps). */
  changepointPenalty?: number;
  /** Days whose first 80 % hold the changepoints (default T): a reference fit keeps its caller's (relevelSteps). */
  changepointSpan?: number;
  /** Fit from day 0 even when no series is known there (the design of a caller's fit, see relevelSteps). */
  keepStart?: boolean;
}

export interface RegressionFit {
  forecast: Float64Array[];
  /** Per series: weekday effect on the log scale (Mon..Sun, mean 0), promo and price coefficients, smearing factor. */
  weekly: Float64Array[];
  promoEffect: number[];
  priceEffect: number[];
  smear: number[];
  /** Per series: the level-shift ratio applied to its forecast (level-shift.ts; 1 = none). */
  shift: number[];
  /** Per series: the step found against a fit that did not see it (relevelSteps): its first day (index of the caller's history) and ratio; null = none. */
  relevel: ({ start: number; ratio: number } | null)[];
  columns: string[];
  /** Per series: the coefficients (calendar columns, then promo, log price) and the shared design rows (T + H) x k, for explanations. */
  beta: Float64Array[];
  /** Design rows from day `start` of the caller's history (see firstKnownDay): row T - start + h is forecast day h. */
  design: { X: Float64Array; k: number; names: string[]; start: number };
}

interface Design {
  X: Float64Array; // (T+H) x k row-major
  k: number;
  names: string[];
  penalty: Float64Array;
  pooled: Uint8Array; // 1 for pooled columns
  weekdayCols: number[];
}

/** Whether a fit on T days has the yearly terms (Fourier and months): a year and four weeks of history. */
function yearlyTerms(T: number): boolean {
  return T >= 365 + 28;
}

function buildDesign(o: RegressionOptions): Design {
  const { T, H } = o;
  const K = yearlyTerms(T) ? (o.yearlyOrder ?? 8) : 0;
  const span = o.changepointSpan ?? T;
  const ncp = o.changepoints ?? Math.min(8, Math.floor(span / 90));
  const names: string[] = ['intercept', 'trend'];
  const cps: number[] = [];
  for (let j = 1; j <= ncp; j++) {
    cps.push(Math.floor((j * 0.8 * span) / (ncp + 1)));
    names.push(`cp${j}`);
  }
  for (let d = 0; d < 6; d++) names.push(`dow${d}`);
  for (let k = 1; k <= K; k++) names.push(`ysin${k}`, `ycos${k}`);
  const months = K > 0 && o.months !== false;
  if (months) for (let m = 0; m < 11; m++) names.push(`mon${m}`);
  for (let h = 0; h < o.nHolidays; h++) names.push(`hol${h}`);
  const k = names.length;
  const n = T + H;
  const X = new Float64Array(n * k);
  for (let t = 0; t < n; t++) {
    const dn = o.startDay + t;
    const r = t * k;
    let c = 0;
    X[r + c++] = 1;
    X[r + c++] = t / T;
    for (const cp of cps) X[r + c++] = Math.max(0, t - cp) / T;
    const wd = weekday(dn);
    for (let d = 0; d < 6; d++) X[r + c++] = wd === d ? 1 : 0;
    const phase = (2 * Math.PI * dayOfYear(dn)) / 365.25;
    for (let kk = 1; kk <= K; kk++) {
      X[r + c++] = Math.sin(kk * phase);
      X[r + c++] = Math.cos(kk * phase);
    }
    if (months) {
      const mo = new Date(dn * 86_400_000).getUTCMonth();
      for (let m = 0; m < 11; m++) X[r + c++] = mo === m ? 1 : 0;
    }
    const hol = o.holidays.get(dn);
    for (let h = 0; h < o.nHolidays; h++) X[r + c++] = hol === h ? 1 : 0;
  }
  const penalty = new Float64Array(k);
  // Every column but the intercept is pooled across the group (see poolShape): the trend as much as the season.
  const pooled = new Uint8Array(k).fill(1);
  pooled[0] = 0;
  const weekdayCols: number[] = [];
  names.forEach((nm, j) => {
    if (nm.startsWith('cp')) penalty[j] = (o.changepointPenalty ?? changepointPenalty(T)) * T;
    else if (nm.startsWith('dow')) {
      penalty[j] = 1e-3 * T;
      weekdayCols.push(j);
    } else if (nm.startsWith('y')) penalty[j] = (2e-3 * T * (1 + Number(nm.slice(4)))) / 2;
    else if (nm.startsWith('mon')) penalty[j] = 1e-3 * T;
    else if (nm.startsWith('hol')) penalty[j] = 0.5;
    else if (nm === 'trend') penalty[j] = 1e-4 * T;
  });
  return { X, k, names, penalty, pooled, weekdayCols };
}

/**
 * Ridge penalty per history day on each changepoint's change of slope. The
 * changepoints are pooled across the group like the season, so the pooling,
 * not this penalty, is what keeps one series' noise out of its trend, and the
 * penalty can be light (0.001) once the history holds two full years: from
 * then on a bend of the trend cannot pass for a piece of the yearly cycle,
 * which the Fourier terms own. With less than two years the two are nearly
 * collinear and a flexible trend would trace part of a season and carry it
 * into the forecast, so the penalty stays heavy (0.02).
 */
export function changepointPenalty(T: number): number {
  return T >= 2 * 365 ? 0.001 : 0.02;
}

/** In-place Cholesky of an n x n SPD matrix (lower triangle). */
export function cholesky(A: Float64Array, n: number): Float64Array {
  const L = new Float64Array(n * n);
  for (let i = 0; i < n; i++) {
    for (let j = 0; j <= i; j++) {
      let s = A[i * n + j];
      for (let p = 0; p < j; p++) s -= L[i * n + p] * L[j * n + p];
      if (i === j) L[i * n + i] = Math.sqrt(Math.max(s, 1e-12));
      else L[i * n + j] = s / L[j * n + j];
    }
  }
  return L;
}

export function cholSolve(L: Float64Array, n: number, b: Float64Array): Float64Array {
  const x = new Float64Array(b);
  for (let i = 0; i < n; i++) {
    let s = x[i];
    for (let p = 0; p < i; p++) s -= L[i * n + p] * x[p];
    x[i] = s / L[i * n + i];
  }
  for (let i = n - 1; i >= 0; i--) {
    let s = x[i];
    for (let p = i + 1; p < n; p++) s -= L[p * n + i] * x[p];
    x[i] = s / L[i * n + i];
  }
  return x;
}

export async function fitRegression(series: RegressionSeries[], o: RegressionOptions): Promise<RegressionFit> {
  // The history starts on the first day any series of the batch is known (firstKnownDay): the days before would be
  // filled with each series' mean, flattening the yearly terms that a window of that length switches on.
  const start = o.keepStart ? 0 : firstKnownDay(series.map((s) => s.y), o.T);
  if (start > 0 && start < o.T) {
    const cut = series.map((s) => ({ ...s, y: s.y.subarray(start), promo: s.promo ? s.promo.subarray(start) : null, logPrice: s.logPrice ? s.logPrice.subarray(start) : null }));
    // A caller's changepoint span (relevelSteps) is in days of its history: the cut's start is taken from it.
    const span = o.changepointSpan === undefined ? undefined : o.changepointSpan - start;
    const fit = await fitRegression(cut, { ...o, startDay: o.startDay + start, T: o.T - start, changepointSpan: span });
    fit.design.start = start;
    for (const r of fit.relevel) if (r) r.start += start;
    return fit;
  }
  const { T, H } = o;
  const N = series.length;
  const D = buildDesign(o);
  const k = D.k;
  const X = D.X;
  const Xtrain32 = Float32Array.from(X.subarray(0, T * k));
  // Shared Gram matrix of the calendar columns, float64.
  const G = new Float64Array(k * k);
  for (let t = 0; t < T; t++) {
    const r = t * k;
    for (let i = 0; i < k; i++) {
      const xi = X[r + i];
      if (xi === 0) continue;
      for (let j = 0; j <= i; j++) G[i * k + j] += xi * X[r + j];
    }
  }
  for (let i = 0; i < k; i++) for (let j = 0; j < i; j++) G[j * k + i] = G[i * k + j];

  // Targets on the log scale, series-major; unknown days start at the mean of known days.
  const Z = new Float32Array(N * T);
  const known: Uint8Array[] = [];
  const hasUnknown: boolean[] = [];
  for (let s = 0; s < N; s++) {
    const kn = new Uint8Array(T);
    const cnt = logTargets(series[s].y, T, Z, s * T, kn);
    known.push(kn);
    hasUnknown.push(cnt < T);
  }

  // Own regressors: promo and log price, only where they vary.
  const extra = series.map((s) => ({ promo: !!s.promo && varies(s.promo, T), price: !!s.logPrice && varies(s.logPrice, T) }));
  const withExtra = extra.map((e, i) => (e.promo || e.price ? i : -1)).filter((i) => i >= 0);
  const K2 = k + 2;
  const sharedA = new Float64Array(K2 * K2);
  for (let i = 0; i < k; i++) for (let j = 0; j < k; j++) sharedA[i * K2 + j] = G[i * k + j];
  for (let i = 0; i < k; i++) sharedA[i * K2 + i] += D.penalty[i] + 1e-6;
  sharedA[k * K2 + k] = 1;
  sharedA[(k + 1) * K2 + k + 1] = 1;
  const sharedL = cholesky(sharedA, K2);
  const systems: { A: Float64Array; L: Float64Array }[] = series.map(() => ({ A: sharedA, L: sharedL }));
  if (withExtra.length) {
    const M = withExtra.length;
    const P = new Float32Array(2 * M * T);
    withExtra.forEach((s, j) => {
      for (let t = 0; t < T; t++) {
        if (extra[s].promo) P[2 * j * T + t] = series[s].promo![t];
        if (extra[s].price) P[(2 * j + 1) * T + t] = series[s].logPrice![t];
      }
    });
    const PtX = await rowsTimesX(P, 2 * M, T, Xtrain32, k);
    withExtra.forEach((s, j) => {
      const A = new Float64Array(sharedA);
      const pa = P.subarray(2 * j * T, (2 * j + 1) * T);
      const pb = P.subarray((2 * j + 1) * T, (2 * j + 2) * T);
      let aa = 0;
      let ab = 0;
      let bb = 0;
      for (let t = 0; t < T; t++) {
        aa += pa[t] * pa[t];
        ab += pa[t] * pb[t];
        bb += pb[t] * pb[t];
      }
      for (let i = 0; i < k; i++) {
        A[i * K2 + k] = A[k * K2 + i] = PtX[2 * j * k + i];
        A[i * K2 + k + 1] = A[(k + 1) * K2 + i] = PtX[(2 * j + 1) * k + i];
      }
      A[k * K2 + k] = aa + 0.01 * T;
      A[k * K2 + k + 1] = A[(k + 1) * K2 + k] = ab;
      A[(k + 1) * K2 + k + 1] = bb + 0.01 * T;
      systems[s] = { A, L: cholesky(A, K2) };
    });
  }
  // Own regressor values of series s on day t (0 where the series has none): read without allocating, fittedAt runs for every series x the last year.
  const promoOf = (s: number, t: number): number => (extra[s].promo ? series[s].promo![t] : 0);
  const priceOf = (s: number, t: number): number => (extra[s].price ? series[s].logPrice![t] : 0);

  /** Right-hand sides X'z (+ own regressors) for a subset, one TF matmul. */
  const rhsOf = async (subset: number[]): Promise<Float64Array[]> => {
    const M = subset.length;
    const Zs = M === N ? Z : new Float32Array(M * T);
    if (M !== N) subset.forEach((s, j) => Zs.set(Z.subarray(s * T, (s + 1) * T), j * T));
    const ZX = await rowsTimesX(Zs, M, T, Xtrain32, k);
    return subset.map((s, j) => {
      const b = new Float64Array(K2);
      for (let i = 0; i < k; i++) b[i] = ZX[j * k + i];
      if (extra[s].promo || extra[s].price) {
        const row = s * T;
        for (let t = 0; t < T; t++) {
          b[k] += promoOf(s, t) * Z[row + t];
          b[k + 1] += priceOf(s, t) * Z[row + t];
        }
      }
      return b;
    });
  };
  const fittedAt = (s: number, t: number, beta: Float64Array): number => {
    let v = 0;
    const r = t * k;
    for (let i = 0; i < k; i++) v += X[r + i] * beta[i];
    const own = extra[s];
    if (own.promo) v += beta[k] * series[s].promo![t];
    if (own.price) v += beta[k + 1] * series[s].logPrice![t];
    return v;
  };

  const all = series.map((_, s) => s);
  const beta: Float64Array[] = new Array(N);
  const rhs: Float64Array[] = new Array(N);
  let todo = all;
  const passes = o.emPasses ?? 3;
  for (let pass = 0; pass < passes && todo.length; pass++) {
    const bs = await rhsOf(todo);
    todo.forEach((s, j) => {
      rhs[s] = bs[j];
      beta[s] = cholSolve(systems[s].L, K2, bs[j]);
    });
    todo = todo.filter((s) => hasUnknown[s]);
    if (pass === passes - 1) break;
    // E-step: unknown days take the fitted value.
    for (const s of todo) for (let t = 0; t < T; t++) if (!known[s][t]) Z[s * T + t] = fittedAt(s, t, beta[s]);
  }

  // Residual variance from the normal equations: RSS = z'z - 2 b'beta + beta'(A - P)beta.
  const sigma2 = new Float64Array(N);
  for (let s = 0; s < N; s++) {
    const A = systems[s].A;
    const rss = residualSquares(Z, s * T, T, A, beta[s], rhs[s], D.penalty, k, K2, A === sharedA ? 1 : 0.01 * T);
    sigma2[s] = T > K2 ? rss / (T - K2) : 1;
  }

  if (o.pool !== false && N >= 5) poolShape(series, beta, rhs, systems, sigma2, sharedL, D, K2, k);

  // Smearing factor from the last year's residuals (known days), then the forecast.
  const forecast: Float64Array[] = [];
  const weekly: Float64Array[] = [];
  const smear: number[] = [];
  const shift: number[] = [];
  // Fitted log values over the last year and the horizon for every series: one batched matmul (coefficients x design
  // rows, float32; the smearing factor and the forecast read them), not a dot product per series and day.
  const from = Math.max(0, T - 365);
  const span = T + H - from;
  const XT = new Float32Array(k * span);
  for (let t = from; t < T + H; t++) for (let i = 0; i < k; i++) XT[i * span + t - from] = X[t * k + i];
  const B = new Float32Array(N * k);
  for (let s = 0; s < N; s++) for (let i = 0; i < k; i++) B[s * k + i] = beta[s][i];
  const fitted = await rowsTimesX(B, N, k, XT, span);
  // The in-sample expectation of one series at a time (units/day, days [from, T)), for the level-shift test.
  const m = new Float64Array(T - from);
  // Series whose own fit may have absorbed a step (relevelSteps), with their in-sample expectation.
  const screened: { s: number; m: Float64Array }[] = [];
  for (let s = 0; s < N; s++) {
    const b = beta[s];
    const fit = fitted.subarray(s * span, (s + 1) * span);
    if (extra[s].promo) for (let t = from; t < T + H; t++) fit[t - from] += b[k] * series[s].promo![t];
    if (extra[s].price) for (let t = from; t < T + H; t++) fit[t - from] += b[k + 1] * series[s].logPrice![t];
    const sm = smearing(Z, s * T, known[s], fit, from, T);
    smear.push(sm);
    // A level shift of the last weeks that the trend (bending only in the first 80 % of the history) does not follow.
    for (let t = from; t < T; t++) m[t - from] = Math.max(0, Math.exp(fit[t - from]) * sm - 1);
    const ls = levelShift(series[s].y, m, from, T);
    const r = ls.ratio;
    shift.push(r);
    if (o.stepCheck !== false && worthReference(series[s].y, ls, T)) screened.push({ s, m: Float64Array.from(m) });
    const f = new Float64Array(H);
    for (let h = 0; h < H; h++) f[h] = Math.max(0, (Math.exp(fit[T + h - from]) * sm - 1) * r);
    forecast.push(f);
    const w = new Float64Array(7);
    D.weekdayCols.forEach((j, d) => (w[d] = beta[s][j]));
    const mw = w.reduce((a, b) => a + b, 0) / 7;
    for (let d = 0; d < 7; d++) w[d] -= mw;
    weekly.push(w);
  }
  const fit: RegressionFit = {
    forecast,
    weekly,
    promoEffect: beta.map((b, s) => (extra[s].promo ? b[k] : 0)),
    priceEffect: beta.map((b, s) => (extra[s].price ? b[k + 1] : 0)),
    smear,
    shift,
    relevel: series.map(() => null),
    columns: [...D.names, 'promo', 'log_price'],
    beta,
    design: { X, k, names: D.names, start: 0 },
  };
  if (screened.length) await relevelSteps(fit, series, o, screened, from);
  return fit;
}

/**
 * A step that the fit took in. The month terms and the yearly harmonics of a
 * fit on two years can bend to a step of the last weeks: the current month's
 * term, fitted on two instances of that month, one of them at the new level,
 * took in most of a halving four weeks old, so the fit stood near the new
 * level over those weeks (nothing for the level-shift test to find) and the
 * forecast went back up with the next month's term (15.4 a day for a product
 * now selling 10). The test needs a reference that did not see the weeks it
 * searches (docs/forecasting.md, "A step the fit took in"):
 *
 * 1. Screen (worthReference): the series whose largest likelihood ratio
 *    against their own fit reaches SHIFT_SCREEN_LR (a step the fit half took
 *    in still shows there), where last year's same weeks do not show the
 *    same change.
 * 2. Reference: the regression fitted on the days before T1 = T -
 *    SHIFT_WINDOW with the fit's own changepoints and their penalty (a trend
 *    that cannot bend where the fit's did, or bends less, calls a bend a
 *    step), forecasting [T1, T) (units/day); only when it has the same kinds
 *    of terms (a reference without the yearly terms would call a season a
 *    step) and half a year of history.
 * 3. Test (referenceStep from T1): a change at tau of the ratio
 *    demand / reference, the reference's weeks before tau against the days
 *    since (the dispersion from the fit's earlier weeks), that last year's
 *    same weeks do not show (stepStands).
 * 4. A step found at tau with size q: the series' days before tau are put at
 *    the new level (y_t q, units/day) and the series is fitted again, with
 *    the same design, so the season is learned from a history without the
 *    step and the forecast carries the new level (an intervention whose size
 *    is the reference's estimate, unshrunk: the likelihood ratio, the
 *    homogeneity of the weeks and last year are the guard, and the refit
 *    weighs it against the whole history). The series re-levelled are fitted
 *    together (pooled among themselves), apart from their group.
 *
 * Backtests run the same code at their origins: what they score is what
 * production does.
 */
async function relevelSteps(fit: RegressionFit, series: RegressionSeries[], o: RegressionOptions, screened: { s: number; m: Float64Array }[], from: number): Promise<void> {
  const { T } = o;
  const T1 = T - SHIFT_WINDOW;
  if (T1 < MIN_REFERENCE_DAYS || yearlyTerms(T1) !== yearlyTerms(T)) return;
  const ref = await fitRegression(
    screened.map(({ s }) => {
      const x = series[s];
      return { y: x.y.subarray(0, T1), promo: x.promo ? x.promo.subarray(0, T) : null, logPrice: x.logPrice ? x.logPrice.subarray(0, T) : null, group: x.group };
    }),
    { ...o, T: T1, H: SHIFT_WINDOW, stepCheck: false, keepStart: false, changepointPenalty: o.changepointPenalty ?? changepointPenalty(T), changepointSpan: o.changepointSpan ?? T },
  );
  const steps: { s: number; start: number; ratio: number }[] = [];
  screened.forEach(({ s, m }, j) => {
    const f = ref.forecast[j];
    for (let t = T1; t < T; t++) m[t - from] = f[t - T1];
    const { ls, stands } = referenceStep(series[s].y, m, from, T, T1);
    if (stands) steps.push({ s, start: ls.start, ratio: ls.raw });
  });
  if (!steps.length) return;
  const again = await fitRegression(
    steps.map(({ s, start, ratio }) => ({ ...series[s], y: stepAdjusted(series[s].y, T, start, ratio) })),
    { ...o, stepCheck: false, keepStart: true },
  );
  steps.forEach(({ s, start, ratio }, j) => {
    fit.forecast[s] = again.forecast[j];
    fit.weekly[s] = again.weekly[j];
    fit.promoEffect[s] = again.promoEffect[j];
    fit.priceEffect[s] = again.priceEffect[j];
    fit.smear[s] = again.smear[j];
    fit.shift[s] = again.shift[j];
    fit.beta[s] = again.beta[j];
    fit.relevel[s] = { start, ratio };
  });
}

/** Days of history the reference of relevelSteps needs: half a year (a regression on less, forecasting 13 weeks, is too rough a reference). */
const MIN_REFERENCE_DAYS = 182;

/**
 * The second level of the pooling: a group mean m_g of a pooled coefficient
 * is an average of few series (a category of 10 products), itself noisy,
 * while the calendar (the weekday, the season) shapes the categories of a
 * shop alike. With G >= 3 groups, each m_g is shrunk towards the mean over
 * groups M = mean_g m_g by the same empirical Bayes as the series:
 *
 *   n_g = (within-group variance of the coefficient) / |g|   (noise of m_g)
 *   tau_B^2 = max(0, var_g(m_g) - mean_g(n_g))            (true spread of the groups)
 *   target_g = lam_g M + (1 - lam_g) m_g,  lam_g = n_g / (n_g + tau_B^2)
 *
 * (log-scale coefficients, unitless). Groups that truly differ keep their own
 * mean (tau_B^2 large); with fewer than 3 groups the target is m_g.
 */
export function groupTargets(groups: number[][], cols: number[], beta: Float64Array[]): Map<number, number>[] {
  const out = groups.map(() => new Map<number, number>());
  for (const j of cols) {
    const m = groups.map((g) => g.reduce((a, s) => a + beta[s][j], 0) / g.length);
    if (groups.length < 3) {
      groups.forEach((_, gi) => out[gi].set(j, m[gi]));
      continue;
    }
    const noise = groups.map((g, gi) => g.reduce((a, s) => a + (beta[s][j] - m[gi]) ** 2, 0) / Math.max(1, g.length - 1) / g.length);
    const M = m.reduce((a, b) => a + b, 0) / m.length;
    const V = m.reduce((a, b) => a + (b - M) ** 2, 0) / (m.length - 1);
    const tauB = Math.max(1e-9, V - noise.reduce((a, b) => a + b, 0) / noise.length);
    groups.forEach((_, gi) => {
      const lam = noise[gi] / (noise[gi] + tauB);
      out[gi].set(j, lam * M + (1 - lam) * m[gi]);
    });
  }
  return out;
}

/**
 * Empirical-Bayes pooling: each pooled coefficient (every one but the
 * intercept: trend, changepoints, weekday, yearly, months, holidays) is shrunk
 * towards its group's target with weight noise / (noise + between-series
 * variance), then the level and the series' own regressors are refitted given
 * the pooled shape. The target is the group mean, itself shrunk towards the
 * mean over the groups (see groupTargets): two levels, series within a
 * category and categories within the shop.
 */
function poolShape(
  series: RegressionSeries[], beta: Float64Array[], rhs: Float64Array[], systems: { A: Float64Array; L: Float64Array }[],
  sigma2: Float64Array, sharedL: Float64Array, D: Design, K2: number, k: number,
): void {
  const invDiag = new Float64Array(K2);
  for (let j = 0; j < K2; j++) {
    const e = new Float64Array(K2);
    e[j] = 1;
    invDiag[j] = cholSolve(sharedL, K2, e)[j];
  }
  const groups = new Map<string, number[]>();
  series.forEach((s, i) => {
    const g = groups.get(s.group) ?? [];
    g.push(i);
    groups.set(s.group, g);
  });
  const merged: number[][] = [];
  const small: number[] = [];
  for (const g of groups.values()) (g.length >= 5 ? merged.push(g) : small.push(...g));
  if (small.length) merged.push(small);
  const pooledIdx: number[] = [];
  const ownIdx: number[] = [];
  for (let j = 0; j < K2; j++) (j < k && D.pooled[j] ? pooledIdx : ownIdx).push(j);
  const target = groupTargets(merged, pooledIdx, beta);
  for (const [gi, g] of merged.entries()) {
    for (const j of pooledIdx) {
      let m = 0;
      for (const s of g) m += beta[s][j];
      m /= g.length;
      let v = 0;
      let noise = 0;
      for (const s of g) {
        v += (beta[s][j] - m) ** 2;
        noise += sigma2[s] * invDiag[j];
      }
      v /= Math.max(1, g.length - 1);
      noise /= g.length;
      const tau2 = Math.max(1e-9, v - noise);
      for (const s of g) {
        const nv = sigma2[s] * invDiag[j];
        const lam = nv / (nv + tau2);
        beta[s][j] = lam * target[gi].get(j)! + (1 - lam) * beta[s][j];
      }
    }
  }
  const ns = ownIdx.length;
  const cache = new Map<Float64Array, Float64Array>();
  for (let s = 0; s < beta.length; s++) {
    const A = systems[s].A;
    let L = cache.get(A);
    if (!L) {
      const sub = new Float64Array(ns * ns);
      for (let a = 0; a < ns; a++) for (let b = 0; b < ns; b++) sub[a * ns + b] = A[ownIdx[a] * K2 + ownIdx[b]];
      L = cholesky(sub, ns);
      cache.set(A, L);
    }
    const b = new Float64Array(ns);
    for (let a = 0; a < ns; a++) {
      const ia = ownIdx[a];
      let v = rhs[s][ia];
      for (const j of pooledIdx) v -= A[ia * K2 + j] * beta[s][j];
      b[a] = v;
    }
    const x = cholSolve(L, ns, b);
    for (let a = 0; a < ns; a++) beta[s][ownIdx[a]] = x[a];
  }
}

/** R (rows x T) times X (T x k) on TF: rows x k row-major, float64. */
async function rowsTimesX(R: Float32Array, rows: number, T: number, X: Float32Array, k: number): Promise<Float64Array> {
  const out = tf.tidy(() => tf.matMul(tf.tensor2d(R, [rows, T]), tf.tensor2d(X, [T, k])));
  const d = await out.data();
  out.dispose();
  return Float64Array.from(d);
}

// Per-series loops of the fit as small functions over typed arrays: inside the one large (async) fitting
// function the optimiser kept backing out of them.

/** Z[row + t] = log(1 + y_t) on known days (kn[t] = 1), the mean of those elsewhere; returns the known days. */
function logTargets(y: Demand, T: number, Z: Float32Array, row: number, kn: Uint8Array): number {
  let sum = 0;
  let cnt = 0;
  for (let t = 0; t < T; t++) {
    const v = y[t];
    if (v === v) {
      kn[t] = 1;
      const z = log1pCount(v);
      Z[row + t] = z;
      sum += z;
      cnt++;
    }
  }
  const m = cnt ? sum / cnt : 0;
  if (cnt < T) for (let t = 0; t < T; t++) if (!kn[t]) Z[row + t] = m;
  return cnt;
}

/**
 * Residual sum of squares from the normal equations, RSS = z'z - 2 b'beta + beta'(A - P)beta, with P the
 * penalties (calendar columns: `penalty` + 1e-6; own regressors: `ownPenalty`).
 */
function residualSquares(
  Z: Float32Array, row: number, T: number, A: Float64Array, b: Float64Array, rhs: Float64Array, penalty: Float64Array, k: number, K2: number, ownPenalty: number,
): number {
  let zz = 0;
  for (let t = 0; t < T; t++) zz += Z[row + t] * Z[row + t];
  let bAb = 0;
  let bb = 0;
  for (let i = 0; i < K2; i++) {
    bb += b[i] * rhs[i];
    let acc = 0;
    for (let j = 0; j < K2; j++) acc += A[i * K2 + j] * b[j];
    bAb += b[i] * acc;
    if (i < k) bAb -= (penalty[i] + 1e-6) * b[i] * b[i];
    else bAb -= ownPenalty * b[i] * b[i];
  }
  return Math.max(0, zz - 2 * bb + bAb);
}

/** Duan's smearing factor: mean of exp(z_t - fitted_t) over the known days of [from, T) (fit indexed from `from`). */
function smearing(Z: Float32Array, row: number, kn: Uint8Array, fit: Float64Array, from: number, T: number): number {
  let acc = 0;
  let c = 0;
  for (let t = from; t < T; t++) if (kn[t]) {
    acc += Math.exp(Z[row + t] - fit[t - from]);
    c++;
  }
  return c ? acc / c : 1;
}

/**
 * log(1 + v) of whole counts from a table (demand is mostly small counts and
 * the regression takes the log of every known day of every series), the same
 * values as Math.log1p; other values go to Math.log1p.
 */
const LOG1P_TABLE = Float64Array.from({ length: 4096 }, (_, i) => Math.log1p(i));
function log1pCount(v: number): number {
  return v >= 0 && v < 4096 && (v | 0) === v ? LOG1P_TABLE[v] : Math.log1p(v);
}

function varies(x: ArrayLike<number>, T: number): boolean {
  const v0 = x[0];
  for (let t = 1; t < T; t++) if (x[t] !== v0) return true;
  return false;
}
