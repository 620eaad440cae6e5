/**
 * The statistical models, each a pure function of arrays: history in (NaN =
 * unknown demand, e.g. a stock-out day), h forecasts out, never negative.
 */
/** Daily demand history: float32 (the history cache) or float64; NaN = unknown. */
export type Demand = Float32Array | Float64Array;

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
 */
export function croston(y: Demand, h: number, p: Record<string, number> = {}, variant: 'croston' | 'sba' | 'tsb' = 'croston'): Float64Array {
  const alpha = p.alpha ?? 0.1;
  const beta = p.beta ?? 0.05;
  let z = NaN;
  let interval = NaN;
  let prob = NaN;
  let since = 1;
  for (let t = 0; t < y.length; t++) {
    const v = y[t];
    if (Number.isNaN(v)) continue;
    if (variant === 'tsb') {
      const occ = v > 0 ? 1 : 0;
      prob = Number.isNaN(prob) ? occ : prob + beta * (occ - prob);
      if (v > 0) z = Number.isNaN(z) ? v : z + alpha * (v - z);
      continue;
    }
    if (v > 0) {
      if (Number.isNaN(z)) {
        z = v;
        interval = since;
      } else {
        z += alpha * (v - z);
        interval += alpha * (since - interval);
      }
      since = 1;
    } else since++;
  }
  let f: number;
  if (Number.isNaN(z)) f = 0;
  else if (variant === 'tsb') f = prob * z;
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
