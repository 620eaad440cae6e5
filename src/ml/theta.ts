/**
 * Optimised Theta (Assimakopoulos and Nikolopoulos 2000; Hyndman and Billah
 * 2003; theta and alpha chosen by in-sample fit as in the optimised Theta of
 * Fiorucci et al. 2016).
 *
 * 1. Weekly seasonal indices: ratio of each day to its centred 7-day moving
 *    average, averaged per weekday (multiplicative; additive differences when
 *    the series has zeros); the series is deseasonalised.
 * 2. On the deseasonalised series x: the theta-0 line is the OLS trend
 *    a + b0 t; the theta line is extrapolated by SES with smoothing alpha. The
 *    forecast h days ahead (units per day) is
 *
 *      x_hat(n + h) = SES level l_n + (1 - 1 / theta) b0 ((1 - (1 - alpha)^n) / alpha + h - 1)
 *
 *    (theta = 2 is the classic method, theta = 1 is SES alone).
 * 3. theta in {1, 1.5, 2, 3} and alpha in a small grid are chosen by the
 *    one-step in-sample squared error; the forecast is reseasonalised.
 *
 * Hand-written (no library) for the same reason as AutoETS: speed over many
 * series and origins; it is a few linear passes over a typed array.
 */
import type { Demand } from './models.js';

const M = 7;
/** Fit window: the last 53 weeks (a few linear passes: cheap enough to take the whole year). */
const FIT_DAYS = 371;
const THETAS = [1, 1.5, 2, 3];
const ALPHAS = [0.02, 0.05, 0.1, 0.2, 0.3, 0.5, 0.8];

export interface ThetaFit {
  theta: number;
  alpha: number;
  level: number;
  b0: number;
  n: number;
  multiplicative: boolean;
  season: Float64Array;
  end: number;
}

/** Weekly indices by the ratio (or difference) to the centred 7-day moving average, normalised to mean 1 (or 0). */
export function weeklyIndices(y: Demand, from: number, to: number, multiplicative: boolean): Float64Array {
  const sum = new Float64Array(M);
  const cnt = new Float64Array(M);
  for (let t = from + 3; t < to - 3; t++) {
    let s = 0;
    let k = 0;
    for (let j = t - 3; j <= t + 3; j++) if (!Number.isNaN(y[j])) {
      s += y[j];
      k++;
    }
    if (k < 7 || Number.isNaN(y[t])) continue;
    const ma = s / 7;
    if (multiplicative) {
      if (ma <= 0) continue;
      sum[t % M] += y[t] / ma;
    } else sum[t % M] += y[t] - ma;
    cnt[t % M]++;
  }
  const idx = new Float64Array(M);
  let m = 0;
  for (let j = 0; j < M; j++) {
    idx[j] = cnt[j] ? sum[j] / cnt[j] : multiplicative ? 1 : 0;
    m += idx[j];
  }
  for (let j = 0; j < M; j++) idx[j] = multiplicative ? (m > 0 ? (idx[j] * M) / m : 1) : idx[j] - m / M;
  return idx;
}

export function fitTheta(y: Demand): ThetaFit {
  const to = y.length;
  const from = Math.max(0, to - FIT_DAYS);
  let positive = true;
  for (let t = from; t < to; t++) if (y[t] <= 0) positive = false;
  const season = weeklyIndices(y, from, to, positive);
  // Deseasonalised known values with their day index.
  // Typed arrays of the window's size (this runs for every series at every backtest window).
  const xs = new Float64Array(to - from);
  const ts = new Float64Array(to - from);
  let n = 0;
  for (let t = from; t < to; t++) if (!Number.isNaN(y[t])) {
    xs[n] = positive ? y[t] / season[t % M] : y[t] - season[t % M];
    ts[n++] = t - from;
  }
  if (n < 3) return { theta: 1, alpha: 0.1, level: n ? xs[n - 1] : 0, b0: 0, n, multiplicative: positive, season, end: to };
  let mt = 0;
  let mx = 0;
  for (let i = 0; i < n; i++) {
    mt += ts[i];
    mx += xs[i];
  }
  mt /= n;
  mx /= n;
  let stt = 0;
  let stx = 0;
  for (let i = 0; i < n; i++) {
    stt += (ts[i] - mt) ** 2;
    stx += (ts[i] - mt) * (xs[i] - mx);
  }
  const b0 = stt > 0 ? stx / stt : 0;
  let best: ThetaFit | null = null;
  let bestSse = Infinity;
  // One pass per alpha serves every theta: with e0_i the one-step error of SES alone (theta = 1) and
  // c_i = (1 - (1 - alpha)^i) / alpha, theta's error is e0_i - drift c_i, so its squared error is
  // sum e0^2 - 2 drift sum e0 c + drift^2 sum c^2 (drift = (1 - 1 / theta) b0).
  for (const alpha of ALPHAS) {
    let l = xs[0];
    let see = 0;
    let sec = 0;
    let scc = 0;
    let decay = 1;
    for (let i = 1; i < n; i++) {
      decay *= 1 - alpha;
      const c = (1 - decay) / alpha;
      const e0 = xs[i] - l;
      see += e0 * e0;
      sec += e0 * c;
      scc += c * c;
      l += alpha * (xs[i] - l);
    }
    for (const theta of THETAS) {
      const drift = (1 - 1 / theta) * b0;
      const sse = see - 2 * drift * sec + drift * drift * scc;
      if (sse < bestSse) {
        bestSse = sse;
        best = { theta, alpha, level: l, b0, n, multiplicative: positive, season, end: to };
      }
    }
  }
  return best!;
}

export function thetaForecast(fit: ThetaFit, h: number): Float64Array {
  const out = new Float64Array(h);
  const drift = (1 - 1 / fit.theta) * fit.b0;
  const base = (1 - Math.pow(1 - fit.alpha, fit.n)) / fit.alpha;
  for (let i = 0; i < h; i++) {
    const x = fit.level + drift * (base + i);
    const s = fit.season[(fit.end + i) % M];
    const v = fit.multiplicative ? x * s : x + s;
    out[i] = Math.max(0, Number.isFinite(v) ? v : 0);
  }
  return out;
}
