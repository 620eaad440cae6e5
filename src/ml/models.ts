/**
 * The statistical models, each a pure function of arrays: history in (NaN =
 * unknown demand, e.g. a stock-out day), h forecasts out, never negative.
 */
/** Daily demand history: float32 (the history cache) or float64; NaN = unknown. */
export type Demand = Float32Array | Float64Array;

/**
 * The first day (index below T) on which any of the series has a known
 * demand, T when none has. The days before it are not history but the time
 * before the data begins (a shop whose sales start 120 days ago, loaded into a
 * 730-day window): the models that size their terms by the history's length
 * (the yearly terms need a full year of it, the trend's changepoints two
 * years) start their history there, or they fit a year of terms to 120 days.
 */
export function firstKnownDay(ys: ArrayLike<number>[], T: number): number {
  let first = T;
  for (const y of ys) for (let t = 0; t < first && t < y.length; t++) if (y[t] === y[t]) {
    first = t;
    break;
  }
  return first;
}

export type Forecaster = (y: Demand, h: number, params?: Record<string, number>) => Float64Array;

function lastFinite(y: Demand, from: number): number {
  for (let i = from; i >= 0; i--) if (!Number.isNaN(y[i])) return y[i];
  return 0;
}

/** Seasonal naive: each day repeats the same weekday of the last full week. */
export const seasonalNaive: Forecaster = (y, h, p = {}) => {
  const m = p.period ?? 7;
  const out = new Float64Array(h);
  const n = y.length;
  for (let i = 0; i < h; i++) {
    // Walk back whole seasons until a known value.
    let j = n - m + (i % m);
    while (j >= 0 && Number.isNaN(y[j])) j -= m;
    out[i] = Math.max(0, j >= 0 ? y[j] : lastFinite(y, n - 1));
  }
  return out;
};

/** Moving average of the last `window` known days. */
export const movingAverage: Forecaster = (y, h, p = {}) => {
  const w = p.window ?? 28;
  let s = 0;
  let k = 0;
  for (let i = y.length - 1; i >= 0 && k < w; i--) if (!Number.isNaN(y[i])) {
    s += y[i];
    k++;
  }
  return new Float64Array(h).fill(k ? Math.max(0, s / k) : 0);
};

/**
 * Additive Holt-Winters with damped trend and weekly seasonality (ETS(A,Ad,A)).
 * Unknown days are filled with the one-step forecast (no update from them).
 */
export function dampedHoltWinters(y: Demand, h: number, p: Record<string, number> = {}): Float64Array {
  const alpha = p.alpha ?? 0.1;
  const beta = p.beta ?? 0.01;
  const gamma = p.gamma ?? 0.05;
  const phi = p.phi ?? 0.9;
  const m = 7;
  const n = y.length;
  // Initialise on the first two known weeks.
  let first = 0;
  while (first < n && Number.isNaN(y[first])) first++;
  if (n - first < 2 * m) return movingAverage(y, h);
  let l0 = 0;
  let cnt = 0;
  for (let i = first; i < first + 2 * m; i++) if (!Number.isNaN(y[i])) {
    l0 += y[i];
    cnt++;
  }
  let level = cnt ? l0 / cnt : 0;
  let trend = 0;
  const season = new Float64Array(m);
  for (let i = first; i < first + 2 * m; i++) if (!Number.isNaN(y[i])) season[i % m] += (y[i] - level) / 2;
  for (let t = first; t < n; t++) {
    const s = season[t % m];
    const fc = level + phi * trend + s;
    const obs = Number.isNaN(y[t]) ? fc : y[t];
    const prevLevel = level;
    level = alpha * (obs - s) + (1 - alpha) * (prevLevel + phi * trend);
    trend = beta * (level - prevLevel) + (1 - beta) * phi * trend;
    season[t % m] = gamma * (obs - level) + (1 - gamma) * s;
  }
  const out = new Float64Array(h);
  let damp = 0;
  let pk = 1;
  for (let i = 0; i < h; i++) {
    pk *= phi;
    damp += pk;
    out[i] = Math.max(0, level + damp * trend + season[(n + i) % m]);
  }
  return out;
}

/** Fits the damped Holt-Winters smoothing parameters on a small grid by one-step squared error. */
export function fitHoltWinters(y: Demand): Record<string, number> {
  const grid = [
    { alpha: 0.05, beta: 0.005, gamma: 0.05, phi: 0.9 },
    { alpha: 0.15, beta: 0.01, gamma: 0.1, phi: 0.9 },
    { alpha: 0.3, beta: 0.01, gamma: 0.1, phi: 0.85 },
    { alpha: 0.1, beta: 0.02, gamma: 0.2, phi: 0.95 },
  ];
  let best = grid[0];
  let bestErr = Infinity;
  for (const g of grid) {
    const e = holtWintersSse(y, g);
    if (e < bestErr) {
      bestErr = e;
      best = g;
    }
  }
  return best;
}

function holtWintersSse(y: Demand, p: Record<string, number>): number {
  const { alpha, beta, gamma, phi } = p;
  const m = 7;
  const n = y.length;
  let first = 0;
  while (first < n && Number.isNaN(y[first])) first++;
  if (n - first < 2 * m) return Infinity;
  let level = 0;
  let cnt = 0;
  for (let i = first; i < first + 2 * m; i++) if (!Number.isNaN(y[i])) {
    level += y[i];
    cnt++;
  }
  level = cnt ? level / cnt : 0;
  let trend = 0;
  const season = new Float64Array(m);
  let sse = 0;
  for (let t = first; t < n; t++) {
    const s = season[t % m];
    const fc = level + phi * trend + s;
    const known = !Number.isNaN(y[t]);
    const obs = known ? y[t] : fc;
    if (known && t >= first + 2 * m) sse += (obs - fc) * (obs - fc);
    const prevLevel = level;
    level = alpha * (obs - s) + (1 - alpha) * (prevLevel + phi * trend);
    trend = beta * (level - prevLevel) + (1 - beta) * phi * trend;
    season[t % m] = gamma * (obs - level) + (1 - gamma) * s;
  }
  return sse;
}

/**
 * Croston's method for intermittent demand: smooths non-zero sizes z and the
 * intervals p between them; forecast z/p. variant 'sba' multiplies by
 * (1 - alpha/2) (Syntetos-Boylan bias correction); 'tsb' smooths the
 * probability of demand every day instead of the interval (Teunter-Syntetos-Babai),
 * so the forecast decays when demand stops.
 *
 * Start values are the means over the first demands (sizes, intervals,
 * occurrence) rather than the first observation alone: a first interval that
 * counts the quiet days before a product's first sale, or a first size that
 * happens to be small, otherwise biases the level for months with alpha 0.1.
 */
export function croston(y: Demand, h: number, p: Record<string, number> = {}, variant: 'croston' | 'sba' | 'tsb' = 'croston'): Float64Array {
  const alpha = p.alpha ?? 0.1;
  const beta = p.beta ?? 0.05;
  // Start values over the first (up to) 5 demands, and the occurrence rate over the days they span.
  let nz = 0;
  let sizeSum = 0;
  let firstDemand = -1;
  let spanKnown = 0;
  let intervals = 0;
  let nInt = 0;
  let gap = 0;
  for (let t = 0; t < y.length && nz < 5; t++) {
    const v = y[t];
    if (Number.isNaN(v)) continue;
    if (firstDemand >= 0) spanKnown++;
    gap++;
    if (v > 0) {
      if (firstDemand >= 0) {
        intervals += gap;
        nInt++;
      } else spanKnown = 1;
      if (firstDemand < 0) firstDemand = t;
      nz++;
      sizeSum += v;
      gap = 0;
    }
  }
  if (!nz) return new Float64Array(h);
  let z = sizeSum / nz;
  let interval = nInt ? intervals / nInt : Math.max(1, gap);
  let prob = nInt ? nz / Math.max(1, spanKnown) : 1 / Math.max(1, interval);
  let since = 1;
  for (let t = firstDemand + 1; t < y.length; t++) {
    const v = y[t];
    if (Number.isNaN(v)) continue;
    if (variant === 'tsb') {
      const occ = v > 0 ? 1 : 0;
      prob += beta * (occ - prob);
      if (v > 0) z += alpha * (v - z);
      continue;
    }
    if (v > 0) {
      z += alpha * (v - z);
      interval += alpha * (since - interval);
      since = 1;
    } else since++;
  }
  let f: number;
  if (variant === 'tsb') f = prob * z;
  else f = (z / Math.max(1, interval)) * (variant === 'sba' ? 1 - alpha / 2 : 1);
  return new Float64Array(h).fill(Math.max(0, f));
}

export const crostonClassic: Forecaster = (y, h, p) => croston(y, h, p, 'croston');
export const sba: Forecaster = (y, h, p) => croston(y, h, p, 'sba');
export const tsb: Forecaster = (y, h, p) => croston(y, h, p, 'tsb');

/** Share of known days with zero demand. */
export function zeroShare(y: Demand, last = 365): number {
  let z = 0;
  let n = 0;
  for (let i = Math.max(0, y.length - last); i < y.length; i++) if (!Number.isNaN(y[i])) {
    n++;
    if (y[i] === 0) z++;
  }
  return n ? z / n : 1;
}

/** Average inter-demand interval (ADI): known days per non-zero day. */
export function adi(y: Demand, last = 365): number {
  let nz = 0;
  let n = 0;
  for (let i = Math.max(0, y.length - last); i < y.length; i++) if (!Number.isNaN(y[i])) {
    n++;
    if (y[i] > 0) nz++;
  }
  return nz ? n / nz : Infinity;
}

/**
 * Simple exponential smoothing (ETS(A,N,N)) level: l_t = l_{t-1} + alpha (y_t - l_{t-1});
 * unknown days leave the level unchanged. Start: mean of the first 7 known days.
 */
export function sesLevel(y: Demand, alpha: number): { level: number; sse: number; n: number } {
  let level = NaN;
  let sum = 0;
  let k = 0;
  let sse = 0;
  let n = 0;
  for (let t = 0; t < y.length; t++) {
    const v = y[t];
    if (Number.isNaN(v)) continue;
    if (k < 7) {
      sum += v;
      k++;
      level = sum / k;
      continue;
    }
    const e = v - level;
    sse += e * e;
    n++;
    level += alpha * e;
  }
  return { level: Number.isNaN(level) ? 0 : level, sse, n };
}

/** Smoothing constants tried by the level models: from a near-mean (0.02) to a fast follower (0.5). */
const ALPHAS = [0.02, 0.05, 0.1, 0.2, 0.3, 0.5];

/**
 * SES with alpha chosen by in-sample one-step squared error. All the
 * constants run in one pass over the history (the same recursions as
 * sesLevel, side by side: one read of each day instead of one per constant).
 */
export function sesFit(y: Demand): { level: number; alpha: number } {
  const A = ALPHAS.length;
  const lv = new Float64Array(A);
  const sse = new Float64Array(A);
  let sum = 0;
  let k = 0;
  let n = 0;
  for (let t = 0; t < y.length; t++) {
    const v = y[t];
    if (v !== v) continue;
    if (k < 7) {
      sum += v;
      k++;
      lv.fill(sum / k);
      continue;
    }
    n++;
    for (let j = 0; j < A; j++) {
      const e = v - lv[j];
      sse[j] += e * e;
      lv[j] += ALPHAS[j] * e;
    }
  }
  if (!k) return { level: 0, alpha: ALPHAS[0] };
  let best = 0;
  // Without a one-step error (7 known days or fewer) every constant ties: the first one (as sesLevel's n = 0 case).
  if (n) for (let j = 1; j < A; j++) if (sse[j] < sse[best]) best = j;
  return { level: lv[best], alpha: ALPHAS[best] };
}

export const ses: Forecaster = (y, h, p = {}) => {
  const level = p.alpha !== undefined ? sesLevel(y, p.alpha).level : sesFit(y).level;
  return new Float64Array(h).fill(Math.max(0, level));
};

/** Sums of consecutive blocks of k known days, the last block ending at the last known day (ADIDA's temporal aggregation). */
function aggregate(y: Demand, k: number, known = knownValues(y)): Float64Array {
  const nb = Math.floor(known.length / k);
  const out = new Float64Array(nb);
  const off = known.length - nb * k;
  for (let b = 0; b < nb; b++) {
    let s = 0;
    for (let j = 0; j < k; j++) s += known[off + b * k + j];
    out[b] = s;
  }
  return out;
}

/** The known days of a history, in order. */
function knownValues(y: Demand): Float64Array {
  let n = 0;
  for (let t = 0; t < y.length; t++) if (y[t] === y[t]) n++;
  const out = new Float64Array(n);
  n = 0;
  for (let t = 0; t < y.length; t++) if (y[t] === y[t]) out[n++] = y[t];
  return out;
}

/**
 * ADIDA (Nikolopoulos et al. 2011): sum demand into buckets of k = round(ADI)
 * days, forecast the bucket total with SES, spread it evenly over the k days.
 * Aggregation removes most zeros, so the level is an unbiased rate estimate.
 */
export const adida: Forecaster = (y, h, p = {}) => {
  const k = p.k ?? Math.max(1, Math.min(28, Math.round(adi(y))));
  const agg = aggregate(y, k);
  if (agg.length < 2) return movingAverage(y, h, { window: 28 });
  return new Float64Array(h).fill(Math.max(0, sesFit(agg).level / k));
};

/** IMAPA (Petropoulos and Kourentzes 2015): the mean of ADIDA over aggregation levels 1..max(2, round(ADI)). */
export const imapa: Forecaster = (y, h) => {
  const K = Math.max(2, Math.min(28, Math.round(adi(y))));
  let s = 0;
  let n = 0;
  const known = knownValues(y);
  for (let k = 1; k <= K; k++) {
    const agg = aggregate(y, k, known);
    if (agg.length < 2) continue;
    s += sesFit(agg).level / k;
    n++;
  }
  return n ? new Float64Array(h).fill(Math.max(0, s / n)) : movingAverage(y, h, { window: 28 });
};
